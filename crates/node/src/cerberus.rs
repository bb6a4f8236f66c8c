//! A client of Cerberus, Layr-Labs' remote BLS signer (the signer EigenDA operators use), over
//! its published gRPC API.
//!
//! Wire facts (Layr-Labs/cerberus `internal/services/signing`, `internal/middleware`, and
//! bn254-keystore-go `curve/ops.go`):
//! - `signer.v1.Signer/SignGeneric` takes the key's name `public_key_g1` (hex of gnark-crypto's
//!   compressed G1 point, 32 bytes; the signer strips a `0x`), `data` (at most 32 bytes, padded
//!   to 32: our sign hash) and `password` (for keys kept in encrypted files). It signs
//!   `sk · MapToCurve(data)`, the middleware's `BN254.hashToG1`, and returns the signature as
//!   gnark-crypto's raw G1 bytes: X ++ Y, 32 bytes each, big-endian, which is our wire form.
//! - The API key goes in the gRPC metadata `authorization`; a missing or wrong key is answered
//!   `UNAUTHENTICATED`. An unknown key or a wrong password is `INTERNAL`.
//!
//! Every signature the signer returns is verified here against the operator's registered G2
//! key before it is used: a signer holding another key, or a malicious one, gives an error, never
//! a bad signature.

use crate::signer::SignerError;
use alloy::primitives::B256;
use mach_keys::{BlsSignature, G1PublicKey, G2PublicKey};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Status};

pub use tonic;

/// Code generated from `proto/cerberus/*.proto` (our copy of the published API).
pub mod proto {
    /// `signer.v1`: the signing service.
    #[allow(missing_docs, clippy::all, clippy::unwrap_used, clippy::expect_used)]
    pub mod signer {
        tonic::include_proto!("signer.v1");
    }
    /// `keymanager.v1`: the key listing service.
    #[allow(missing_docs, clippy::all, clippy::unwrap_used, clippy::expect_used)]
    pub mod keymanager {
        tonic::include_proto!("keymanager.v1");
    }
}

use proto::keymanager::key_manager_client::KeyManagerClient;
use proto::keymanager::GetKeyMetadataRequest;
use proto::signer::signer_client::SignerClient;
use proto::signer::{SignG1Request, SignGenericRequest};

/// The default deadline of one signing call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach the operator's key in a Cerberus signer (`NODE_BLS_CERBERUS_*`).
#[derive(Clone)]
pub struct CerberusSettings {
    /// The signer's gRPC URL, `http://host:port` or `https://host:port`
    /// (`NODE_BLS_CERBERUS_URL`).
    pub url: String,
    /// The operator's G1 public key, the key the signer signs with
    /// (`NODE_BLS_CERBERUS_PUBLIC_KEY_G1`).
    pub public_key_g1: G1PublicKey,
    /// The API key sent as `authorization` metadata (`NODE_BLS_CERBERUS_API_KEY`).
    pub api_key: Option<String>,
    /// A PEM file of the CA that signed the signer's TLS certificate; without it, the system's
    /// roots (`NODE_BLS_CERBERUS_CA_FILE`).
    pub ca_file: Option<PathBuf>,
    /// The key's password, for signers keeping keys in encrypted files
    /// (`NODE_BLS_CERBERUS_PASSWORD`).
    pub password: Option<String>,
    /// The deadline of one call (`NODE_BLS_CERBERUS_TIMEOUT_SECS`, default 10 s).
    pub timeout: Duration,
}

impl std::fmt::Debug for CerberusSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CerberusSettings")
            .field("url", &self.url)
            .field("public_key_g1", &hex_g1(&self.public_key_g1))
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("ca_file", &self.ca_file)
            .field("password", &self.password.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Cerberus's name of a G1 key: lowercase hex of the compressed point, without `0x`.
pub fn hex_g1(key: &G1PublicKey) -> String {
    hex::encode(key.to_compressed())
}

/// Parses a G1 key as an operator writes it: Cerberus's hex (with or without `0x`) or a key
/// file's `E([X,Y])`.
pub fn parse_g1(text: &str) -> Result<G1PublicKey, String> {
    let text = text.trim();
    if text.starts_with("E(") {
        return text.parse().map_err(|e| format!("{e}"));
    }
    let bytes = hex::decode(text.trim_start_matches("0x").trim_start_matches("0X"))
        .map_err(|e| format!("not hex: {e}"))?;
    G1PublicKey::from_compressed(&bytes).map_err(|e| e.to_string())
}

/// A connection to one key in a Cerberus signer. The connection is made on first use and
/// remade after failures; the signer's G2 key is set once the registered keys are known
/// ([`CerberusSigner::set_public_key_g2`]), and no signature is used before.
pub struct CerberusSigner {
    settings: CerberusSettings,
    key_name: String,
    client: SignerClient<Channel>,
    keys: KeyManagerClient<Channel>,
    g2: OnceLock<G2PublicKey>,
}

impl std::fmt::Debug for CerberusSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CerberusSigner")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl CerberusSigner {
    /// Sets up the client (TLS for `https://` URLs, with the CA file if given); connects on
    /// first use. Must be called inside a tokio runtime.
    pub fn new(settings: CerberusSettings) -> Result<Self, SignerError> {
        let config = |reason: String| SignerError::Config(reason);
        let mut endpoint = Endpoint::from_shared(settings.url.clone()).map_err(|e| {
            config(format!(
                "NODE_BLS_CERBERUS_URL={:?} is not a URL: {e}",
                settings.url
            ))
        })?;
        endpoint = endpoint
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout);
        let https = settings.url.starts_with("https://");
        if let Some(ca_file) = &settings.ca_file {
            if !https {
                return Err(config(format!(
                    "NODE_BLS_CERBERUS_CA_FILE is set but NODE_BLS_CERBERUS_URL {} is not https://",
                    settings.url
                )));
            }
            let pem = std::fs::read(ca_file).map_err(|e| {
                config(format!(
                    "cannot read NODE_BLS_CERBERUS_CA_FILE {}: {e}",
                    ca_file.display()
                ))
            })?;
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
                .map_err(|e| config(format!("TLS for {}: {e}", settings.url)))?;
        } else if https {
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().with_native_roots())
                .map_err(|e| config(format!("TLS for {}: {e}", settings.url)))?;
        }
        let channel = endpoint.connect_lazy();
        Ok(Self {
            key_name: hex_g1(&settings.public_key_g1),
            settings,
            client: SignerClient::new(channel.clone()),
            keys: KeyManagerClient::new(channel),
            g2: OnceLock::new(),
        })
    }

    /// The settings it was made with.
    pub fn settings(&self) -> &CerberusSettings {
        &self.settings
    }

    /// The G1 key it signs with.
    pub fn public_key_g1(&self) -> G1PublicKey {
        self.settings.public_key_g1
    }

    /// The G2 key signatures are verified against, once set.
    pub fn public_key_g2(&self) -> Option<G2PublicKey> {
        self.g2.get().copied()
    }

    /// Sets the G2 key signatures are verified against (the operator's registered one); refuses
    /// a key that is not the G1 key's partner, or that differs from one set before.
    pub fn set_public_key_g2(&self, g2: G2PublicKey) -> Result<(), SignerError> {
        if !self.settings.public_key_g1.matches_g2(&g2) {
            return Err(SignerError::Config(format!(
                "the G2 key registered for NODE_BLS_CERBERUS_PUBLIC_KEY_G1 {} is not its partner",
                self.key_name
            )));
        }
        let set = self.g2.get_or_init(|| g2);
        if *set != g2 {
            return Err(SignerError::Config(
                "the G2 key differs from the one set before (two AVSs register different keys)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// A request carrying the API key, bounded by the timeout.
    fn request<T>(&self, message: T) -> Result<Request<T>, SignerError> {
        let mut request = Request::new(message);
        request.set_timeout(self.settings.timeout);
        if let Some(key) = &self.settings.api_key {
            let value: MetadataValue<_> = key.parse().map_err(|_| {
                SignerError::Config(
                    "NODE_BLS_CERBERUS_API_KEY is not a valid gRPC metadata value".into(),
                )
            })?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }

    /// Waits for a call at most the timeout, turning its failure into a [`SignerError`].
    async fn call<R>(
        &self,
        call: impl std::future::Future<Output = Result<tonic::Response<R>, Status>>,
    ) -> Result<R, SignerError> {
        Ok(tokio::time::timeout(self.settings.timeout, call)
            .await
            .map_err(|_| SignerError::Timeout {
                url: self.settings.url.clone(),
                after: self.settings.timeout,
            })?
            .map_err(|status| self.status_error(status))?
            .into_inner())
    }

    /// Asks the signer for the key's G2 public key (`KeyManager/GetKeyMetadata`), checks it is
    /// the G1 key's partner, and keeps it for verifying signatures. Used before the operator
    /// registers, when no registered G2 key exists yet.
    pub async fn fetch_public_key_g2(&self) -> Result<G2PublicKey, SignerError> {
        let request = self.request(GetKeyMetadataRequest {
            public_key_g1: self.key_name.clone(),
        })?;
        let mut keys = self.keys.clone();
        let reply = self.call(keys.get_key_metadata(request)).await?;
        let bytes = hex::decode(reply.public_key_g2.trim_start_matches("0x")).map_err(|e| {
            SignerError::Mismatch(format!(
                "the Cerberus signer at {} gave a G2 key that is not hex ({e})",
                self.settings.url
            ))
        })?;
        let g2 = G2PublicKey::from_compressed(&bytes).map_err(|e| {
            SignerError::Mismatch(format!(
                "the Cerberus signer at {} gave a G2 key that is not a point of G2 ({e})",
                self.settings.url
            ))
        })?;
        if !self.settings.public_key_g1.matches_g2(&g2) {
            return Err(SignerError::Mismatch(format!(
                "the Cerberus signer at {} holds, under NODE_BLS_CERBERUS_PUBLIC_KEY_G1={}, a key \
                 whose G2 part is not the partner of that G1 key: it holds another key than the \
                 configured one",
                self.settings.url, self.key_name
            )));
        }
        self.set_public_key_g2(g2)?;
        Ok(g2)
    }

    /// Signs a message that is already a point of G1 (`Signer/SignG1`): the RegistryCoordinator's
    /// proof-of-possession message at registration. The caller verifies the signature.
    pub async fn sign_g1_point(
        &self,
        x: alloy::primitives::U256,
        y: alloy::primitives::U256,
    ) -> Result<BlsSignature, SignerError> {
        let mut data = x.to_be_bytes::<32>().to_vec();
        data.extend_from_slice(&y.to_be_bytes::<32>());
        let request = self.request(SignG1Request {
            public_key_g1: self.key_name.clone(),
            data,
            password: self.settings.password.clone().unwrap_or_default(),
        })?;
        let mut client = self.client.clone();
        let reply = self.call(client.sign_g1(request)).await?;
        BlsSignature::from_bytes(&reply.signature).map_err(|e| {
            SignerError::Mismatch(format!(
                "the Cerberus signer at {} returned something that is not a signature ({e})",
                self.settings.url
            ))
        })
    }

    /// One signing call: asks the signer to sign `hash`, then verifies the signature against
    /// the G2 key (refusing it when it does not verify).
    pub async fn sign(&self, hash: B256) -> Result<BlsSignature, SignerError> {
        let g2 = self.g2.get().copied().ok_or_else(|| {
            SignerError::Config(
                "the Cerberus signer's G2 key is not known yet (the node sets it from the registration at start)".into(),
            )
        })?;
        let request = self.request(SignGenericRequest {
            public_key_g1: self.key_name.clone(),
            data: hash.to_vec(),
            password: self.settings.password.clone().unwrap_or_default(),
        })?;
        let mut client = self.client.clone();
        let reply = self.call(client.sign_generic(request)).await?;
        let signature = BlsSignature::from_bytes(&reply.signature).map_err(|e| {
            SignerError::Mismatch(format!(
                "the Cerberus signer at {} returned something that is not a signature ({e})",
                self.settings.url
            ))
        })?;
        if !mach_keys::bls::verify(&g2, &hash, &signature) {
            return Err(SignerError::Mismatch(format!(
                "the Cerberus signer at {} returned a signature of {hash} that does not verify against the configured key NODE_BLS_CERBERUS_PUBLIC_KEY_G1={} ({}): it signs with another key, or is not a faithful signer",
                self.settings.url,
                self.key_name,
                self.settings.public_key_g1,
            )));
        }
        Ok(signature)
    }

    fn status_error(&self, status: Status) -> SignerError {
        let url = self.settings.url.clone();
        let message = status.message().to_string();
        // tonic reports its own deadline (the endpoint's or the request's) as a status whose
        // message says so.
        if message.contains("Timeout expired") {
            return SignerError::Timeout {
                url,
                after: self.settings.timeout,
            };
        }
        match status.code() {
            Code::Unauthenticated | Code::PermissionDenied => SignerError::Refused(format!(
                "the Cerberus signer at {url} refused the request ({message}): check NODE_BLS_CERBERUS_API_KEY (the API key Cerberus gave for key {})",
                self.key_name
            )),
            Code::Unavailable | Code::Cancelled | Code::ResourceExhausted | Code::Aborted => {
                SignerError::Unreachable { url, reason: message }
            }
            Code::DeadlineExceeded => SignerError::Timeout {
                url,
                after: self.settings.timeout,
            },
            code => SignerError::Rejected(format!(
                "the Cerberus signer at {url} could not use key {} ({code:?}: {message}); check NODE_BLS_CERBERUS_PUBLIC_KEY_G1 and NODE_BLS_CERBERUS_PASSWORD",
                self.key_name
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mach_keys::BlsSecretKey;

    #[test]
    fn g1_names_parse_in_both_forms() {
        let key = BlsSecretKey::random().public_key();
        let name = hex_g1(&key);
        assert_eq!(name.len(), 64);
        assert_eq!(parse_g1(&name).unwrap(), key);
        assert_eq!(parse_g1(&format!("0x{name}")).unwrap(), key);
        assert_eq!(parse_g1(&key.to_string()).unwrap(), key);
        assert!(parse_g1("0x1234").is_err());
        assert!(parse_g1("zz").is_err());
    }
}
