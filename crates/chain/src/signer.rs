//! ECDSA transaction signers, wherever the key lives: in this process ([`EcdsaSigner::Local`],
//! from a key file or a raw key), in AWS KMS ([`EcdsaSigner::Kms`], alloy's `AwsSigner`), or in a
//! web3signer ([`EcdsaSigner::Web3Signer`], over its eth1 HTTP API). One [`EcdsaSigner`] goes into
//! [`crate::connect`]; [`EcdsaSignerConfig`] says which one to build.
//!
//! Every remote signature is checked before it leaves: the address it recovers to must be the
//! configured one, so a wrong key is an error here, never a transaction the chain rejects (or
//! worse, accepts from another account).

use alloy::consensus::SignableTransaction;
use alloy::network::TxSigner;
use alloy::primitives::{keccak256, Address, Signature, B256};
use alloy::signers::aws::AwsSigner;
use alloy::signers::local::PrivateKeySigner;
use std::path::PathBuf;
use std::time::Duration;

/// How long one request to a remote signer (web3signer, AWS KMS) may take by default.
pub const DEFAULT_SIGNER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a signer could not be built or could not sign.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The configuration is incomplete or malformed; the message names the setting.
    #[error("{0}")]
    Config(String),
    /// The remote signer did not answer (connection refused, DNS, TLS).
    #[error(
        "cannot reach the {kind} at {url}: {reason}; check {setting} and that the signer is up"
    )]
    Unreachable {
        /// `web3signer` or `AWS KMS`.
        kind: &'static str,
        /// The endpoint.
        url: String,
        /// The transport's reason.
        reason: String,
        /// The flag / variable that names the endpoint.
        setting: &'static str,
    },
    /// The remote signer did not answer within the timeout.
    #[error("the {kind} at {url} did not answer within {} ms; check that it is up and not overloaded", .timeout.as_millis())]
    Timeout {
        /// `web3signer` or `AWS KMS`.
        kind: &'static str,
        /// The endpoint.
        url: String,
        /// The limit that was hit.
        timeout: Duration,
    },
    /// The remote signer answered with an error status.
    #[error("the {kind} at {url} refused to {what}: HTTP {status}: {body}")]
    Refused {
        /// `web3signer` or `AWS KMS`.
        kind: &'static str,
        /// The endpoint.
        url: String,
        /// What was asked.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The remote signer answered something that is not what its API promises.
    #[error("the {kind} at {url} answered {what} with something unexpected: {reason}")]
    BadResponse {
        /// `web3signer` or `AWS KMS`.
        kind: &'static str,
        /// The endpoint.
        url: String,
        /// What was asked.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// web3signer holds no key for the configured address.
    #[error(
        "the web3signer at {url} holds no key for {address} (it holds: {loaded}); add that key's \
         configuration file to web3signer's key store, or set --signer-address / \
         MACH_SIGNER_ADDRESS to one of these"
    )]
    KeyNotLoaded {
        /// The endpoint.
        url: String,
        /// The configured address.
        address: Address,
        /// The addresses of the keys it holds, comma-separated (or "none").
        loaded: String,
    },
    /// A signature recovers to another account than the configured one.
    #[error(
        "the {kind} signed with the key of {actual}, not of the configured {expected}; nothing was \
         sent. Point the signer at {expected}'s key, or configure {actual}"
    )]
    WrongKey {
        /// `web3signer` or `AWS KMS`.
        kind: &'static str,
        /// The configured address.
        expected: Address,
        /// The address the signature recovers to.
        actual: Address,
    },
    /// AWS KMS refused or failed.
    #[error("AWS KMS key {key_id}: {reason}; check --kms-key-id / MACH_KMS_KEY_ID, the region and endpoint, the credentials, and that the key policy allows kms:GetPublicKey and kms:Sign on an ECC_SECG_P256K1 SIGN_VERIFY key")]
    Kms {
        /// The key.
        key_id: String,
        /// What AWS said.
        reason: String,
    },
    /// A key file could not be read or decrypted.
    #[error(transparent)]
    Key(#[from] mach_keys::KeyError),
}

/// A transaction signer for one account, local or remote. Give it to [`crate::connect`].
#[derive(Clone, Debug)]
pub enum EcdsaSigner {
    /// The key is in this process's memory.
    Local(PrivateKeySigner),
    /// The key is in AWS KMS (an `ECC_SECG_P256K1` `SIGN_VERIFY` key); each signature is one
    /// `kms:Sign` call.
    Kms(AwsSigner),
    /// The key is in a web3signer; each signature is one HTTP request.
    Web3Signer(Web3Signer),
}

impl EcdsaSigner {
    /// The account the signer signs for.
    pub fn address(&self) -> Address {
        match self {
            Self::Local(signer) => signer.address(),
            Self::Kms(signer) => alloy::signers::Signer::address(signer),
            Self::Web3Signer(signer) => signer.address,
        }
    }

    /// Where the key is, for logs: `local key`, `AWS KMS key …`, `web3signer at …`.
    pub fn describe(&self) -> String {
        match self {
            Self::Local(_) => "local key".into(),
            Self::Kms(signer) => format!("AWS KMS key ({signer:?})"),
            Self::Web3Signer(signer) => format!("web3signer at {}", signer.url),
        }
    }
}

impl From<PrivateKeySigner> for EcdsaSigner {
    fn from(signer: PrivateKeySigner) -> Self {
        Self::Local(signer)
    }
}

impl From<AwsSigner> for EcdsaSigner {
    fn from(signer: AwsSigner) -> Self {
        Self::Kms(signer)
    }
}

impl From<Web3Signer> for EcdsaSigner {
    fn from(signer: Web3Signer) -> Self {
        Self::Web3Signer(signer)
    }
}

#[async_trait::async_trait]
impl TxSigner<Signature> for EcdsaSigner {
    fn address(&self) -> Address {
        EcdsaSigner::address(self)
    }

    async fn sign_transaction(
        &self,
        tx: &mut dyn SignableTransaction<Signature>,
    ) -> alloy::signers::Result<Signature> {
        match self {
            Self::Local(signer) => signer.sign_transaction(tx).await,
            Self::Kms(signer) => {
                let expected = alloy::signers::Signer::address(signer);
                let hash = tx.signature_hash();
                let signature = signer.sign_transaction(tx).await?;
                check_signer("AWS KMS", expected, &signature, &hash)
                    .map_err(alloy::signers::Error::other)?;
                Ok(signature)
            }
            Self::Web3Signer(signer) => {
                let mut payload = Vec::new();
                tx.encode_for_signing(&mut payload);
                signer
                    .sign(&payload)
                    .await
                    .map_err(alloy::signers::Error::other)
            }
        }
    }
}

/// Checks that `signature` over `hash` recovers to `expected`.
fn check_signer(
    kind: &'static str,
    expected: Address,
    signature: &Signature,
    hash: &B256,
) -> Result<(), SignerError> {
    let actual =
        signature
            .recover_address_from_prehash(hash)
            .map_err(|e| SignerError::BadResponse {
                kind,
                url: String::new(),
                what: "a signature".into(),
                reason: format!("it recovers to no key: {e}"),
            })?;
    if actual != expected {
        return Err(SignerError::WrongKey {
            kind,
            expected,
            actual,
        });
    }
    Ok(())
}

/// A client of web3signer's Ethereum (eth1) signing API for one key.
///
/// - `GET {url}/api/v1/eth1/publicKeys` lists the secp256k1 public keys it holds (at
///   [`Web3Signer::connect`], to find the configured address's key: the preflight);
/// - `POST {url}/api/v1/eth1/sign/{public key}` with `{"data": "0x…"}` answers `0x` + r ‖ s ‖ v
///   (65 bytes, v = 27/28). web3signer hashes `data` with keccak256 itself (its
///   `CredentialSigner` signs with hashing on), so the transaction's signing payload is sent, not
///   its hash.
#[derive(Clone, Debug)]
pub struct Web3Signer {
    http: reqwest::Client,
    url: String,
    /// The key's identifier as web3signer lists it (its public key in web3signer's hex form).
    identifier: String,
    address: Address,
    timeout: Duration,
}

const WEB3SIGNER: &str = "web3signer";
const WEB3SIGNER_SETTING: &str = "--web3signer-url / MACH_WEB3SIGNER_URL";

impl Web3Signer {
    /// Connects to the web3signer at `url` and finds the key of `address` among the keys it
    /// holds; refuses when it is unreachable, refuses, or does not hold that key. Every request
    /// waits at most `timeout`.
    pub async fn connect(
        url: &str,
        address: Address,
        timeout: Duration,
    ) -> Result<Self, SignerError> {
        let parsed: url::Url = url.parse().map_err(|e| {
            SignerError::Config(format!(
                "the web3signer URL {url:?} is not a URL ({e}); set {WEB3SIGNER_SETTING} to for \
                 example http://127.0.0.1:9000"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(SignerError::Config(format!(
                "the web3signer URL {url:?} is not http(s); set {WEB3SIGNER_SETTING} to for example \
                 http://127.0.0.1:9000"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| SignerError::Config(format!("cannot build an HTTP client: {e}")))?;
        let url = url.trim_end_matches('/').to_string();
        let mut signer = Self {
            http,
            url,
            identifier: String::new(),
            address,
            timeout,
        };
        let keys = signer.public_keys().await?;
        let mut loaded = Vec::new();
        for key in keys {
            let key_address =
                public_key_address(&key).map_err(|reason| SignerError::BadResponse {
                    kind: WEB3SIGNER,
                    url: signer.url.clone(),
                    what: "the list of public keys".into(),
                    reason: format!("{key:?} is not a secp256k1 public key: {reason}"),
                })?;
            if key_address == address {
                signer.identifier = key;
                return Ok(signer);
            }
            loaded.push(key_address.to_string());
        }
        Err(SignerError::KeyNotLoaded {
            url: signer.url,
            address,
            loaded: if loaded.is_empty() {
                "none".into()
            } else {
                loaded.join(", ")
            },
        })
    }

    /// The account this signer signs for.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The public keys web3signer holds, as it lists them.
    async fn public_keys(&self) -> Result<Vec<String>, SignerError> {
        let what = "list its public keys";
        let endpoint = format!("{}/api/v1/eth1/publicKeys", self.url);
        let response = self
            .http
            .get(&endpoint)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let body = self.success_body(what, response).await?;
        serde_json::from_str(&body).map_err(|e| SignerError::BadResponse {
            kind: WEB3SIGNER,
            url: self.url.clone(),
            what: what.into(),
            reason: format!("not a JSON list of strings ({e})"),
        })
    }

    /// Signs keccak256(`data`) (web3signer hashes) and checks the signature recovers to the
    /// configured address.
    pub async fn sign(&self, data: &[u8]) -> Result<Signature, SignerError> {
        let what = "sign";
        let endpoint = format!("{}/api/v1/eth1/sign/{}", self.url, self.identifier);
        let body = serde_json::json!({ "data": alloy::primitives::hex::encode_prefixed(data) });
        let response = self
            .http
            .post(&endpoint)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let text = self.success_body(what, response).await?;
        let bad = |reason: String| SignerError::BadResponse {
            kind: WEB3SIGNER,
            url: self.url.clone(),
            what: what.into(),
            reason,
        };
        let bytes = alloy::primitives::hex::decode(text.trim().trim_matches('"'))
            .map_err(|e| bad(format!("not hex ({e})")))?;
        let signature = Signature::from_raw(&bytes)
            .map_err(|e| bad(format!("not a 65-byte r ‖ s ‖ v signature ({e})")))?;
        let signature = signature.normalize_s().unwrap_or(signature);
        check_signer(WEB3SIGNER, self.address, &signature, &keccak256(data))?;
        Ok(signature)
    }

    fn transport_error(&self, e: &reqwest::Error) -> SignerError {
        if e.is_timeout() {
            SignerError::Timeout {
                kind: WEB3SIGNER,
                url: self.url.clone(),
                timeout: self.timeout,
            }
        } else {
            SignerError::Unreachable {
                kind: WEB3SIGNER,
                url: self.url.clone(),
                reason: error_chain(e),
                setting: WEB3SIGNER_SETTING,
            }
        }
    }

    async fn success_body(
        &self,
        what: &str,
        response: reqwest::Response,
    ) -> Result<String, SignerError> {
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| self.transport_error(&e))?;
        if !status.is_success() {
            return Err(SignerError::Refused {
                kind: WEB3SIGNER,
                url: self.url.clone(),
                what: what.into(),
                status: status.as_u16(),
                body: body.chars().take(200).collect(),
            });
        }
        Ok(body)
    }
}

/// The address of a secp256k1 public key in hex: 33 bytes compressed, 65 bytes uncompressed,
/// or 64 bytes (uncompressed without the `04` prefix, as web3signer has listed eth1 keys).
fn public_key_address(hex_key: &str) -> Result<Address, String> {
    let bytes = alloy::primitives::hex::decode(hex_key).map_err(|e| e.to_string())?;
    let sec1 = if bytes.len() == 64 {
        let mut full = vec![4u8];
        full.extend_from_slice(&bytes);
        full
    } else {
        bytes
    };
    let key = alloy::signers::k256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
        .map_err(|e| e.to_string())?;
    Ok(alloy::signers::utils::public_key_to_address(&key))
}

/// The messages of an error and its sources, joined.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Which ECDSA signer to build, and its settings. Each variant's fields are what its flags and
/// variables set (`--signer`, `MACH_ECDSA_SIGNER`, …; see docs/production.md).
#[derive(Clone, Debug)]
pub enum EcdsaSignerConfig {
    /// A v3 ECDSA key file; its password from `password_file`, else `password`, else
    /// `OPERATOR_ECDSA_KEY_PASSWORD`, else a prompt ([`mach_keys::open_ecdsa`]).
    Keystore {
        /// The key file.
        path: PathBuf,
        /// A file holding the password.
        password_file: Option<PathBuf>,
        /// The password, when read from an env file.
        password: Option<String>,
    },
    /// A raw 32-byte private key in hex.
    PrivateKey(String),
    /// An AWS KMS key.
    AwsKms {
        /// Key ID, ARN or alias (`alias/…`).
        key_id: String,
        /// AWS region; `None` takes the SDK's (`AWS_REGION`, the profile).
        region: Option<String>,
        /// Another endpoint than AWS's (a VPC endpoint, a test server).
        endpoint_url: Option<String>,
    },
    /// A key held by web3signer.
    Web3Signer {
        /// web3signer's HTTP address, e.g. `http://127.0.0.1:9000`.
        url: String,
        /// The account whose key web3signer holds.
        address: Address,
    },
}

impl EcdsaSignerConfig {
    /// Builds the signer and checks it is usable: a key file decrypts, a KMS key's public key
    /// can be read, web3signer is reachable and holds the address's key. Remote requests wait at
    /// most `timeout`.
    pub async fn build(&self, timeout: Duration) -> Result<EcdsaSigner, SignerError> {
        match self {
            Self::Keystore {
                path,
                password_file,
                password,
            } => {
                let key = mach_keys::open_ecdsa(path, password_file.clone(), password.clone())?;
                Ok(EcdsaSigner::Local(crate::tx::signer(&key)))
            }
            Self::PrivateKey(hex) => Ok(EcdsaSigner::Local(crate::tx::signer(
                &mach_keys::EcdsaSecretKey::from_hex(hex)?,
            ))),
            Self::AwsKms {
                key_id,
                region,
                endpoint_url,
            } => {
                let client = kms_client(region.as_deref(), endpoint_url.as_deref(), timeout).await;
                let signer =
                    tokio::time::timeout(timeout, AwsSigner::new(client, key_id.clone(), None))
                        .await
                        .map_err(|_| SignerError::Timeout {
                            kind: "AWS KMS",
                            url: endpoint_url.clone().unwrap_or_else(|| "AWS".into()),
                            timeout,
                        })?
                        .map_err(|e| SignerError::Kms {
                            key_id: key_id.clone(),
                            reason: format!("cannot read its public key: {}", error_chain(&e)),
                        })?;
                Ok(EcdsaSigner::Kms(signer))
            }
            Self::Web3Signer { url, address } => Ok(EcdsaSigner::Web3Signer(
                Web3Signer::connect(url, *address, timeout).await?,
            )),
        }
    }

    /// The signer's kind, as `--signer` names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Keystore { .. } => "keystore",
            Self::PrivateKey(_) => "private-key",
            Self::AwsKms { .. } => "aws-kms",
            Self::Web3Signer { .. } => "web3signer",
        }
    }
}

/// A KMS client from the SDK's usual configuration (credentials from the environment, profile,
/// web identity or instance role), with `region` and `endpoint_url` when given, and every
/// operation bounded by `timeout`.
pub async fn kms_client(
    region: Option<&str>,
    endpoint_url: Option<&str>,
    timeout: Duration,
) -> aws_sdk_kms::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(timeout)
            .connect_timeout(timeout)
            .build(),
    );
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_string()));
    }
    if let Some(endpoint) = endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader.load().await;
    aws_sdk_kms::Client::new(&config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::SignerSync;

    #[test]
    fn public_keys_in_every_hex_form_give_the_address() {
        let signer = PrivateKeySigner::random();
        let key = signer.credential().verifying_key();
        let compressed = alloy::primitives::hex::encode(key.to_encoded_point(true).as_bytes());
        let uncompressed = alloy::primitives::hex::encode(key.to_encoded_point(false).as_bytes());
        let raw = uncompressed[2..].to_string();
        for form in [compressed, format!("0x{uncompressed}"), raw] {
            assert_eq!(
                public_key_address(&form).unwrap(),
                signer.address(),
                "{form}"
            );
        }
        assert!(public_key_address("0x1234").is_err());
    }

    #[test]
    fn a_signature_by_another_key_is_named() {
        let expected = PrivateKeySigner::random();
        let other = PrivateKeySigner::random();
        let hash = keccak256(b"payload");
        let signature = other.sign_hash_sync(&hash).unwrap();
        let err = check_signer(WEB3SIGNER, expected.address(), &signature, &hash).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&expected.address().to_string()), "{text}");
        assert!(text.contains(&other.address().to_string()), "{text}");
    }
}
