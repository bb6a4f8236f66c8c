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

    /// Signs keccak256(`preimage`): the form every signer can make, since web3signer hashes
    /// what it is given and signs no bare digest. For an EIP-712 digest the preimage is
    /// `0x1901 ‖ domain separator ‖ struct hash`. A remote signature is checked to recover to
    /// [`Self::address`].
    pub async fn sign_keccak_preimage(&self, preimage: &[u8]) -> Result<Signature, SignerError> {
        let hash = keccak256(preimage);
        match self {
            Self::Local(signer) => {
                use alloy::signers::SignerSync;
                signer
                    .sign_hash_sync(&hash)
                    .map_err(|e| SignerError::Config(format!("cannot sign: {e}")))
            }
            Self::Kms(signer) => {
                let signature = alloy::signers::Signer::sign_hash(signer, &hash)
                    .await
                    .map_err(|e| SignerError::Kms {
                        key_id: format!("{signer:?}"),
                        reason: error_chain(&e),
                    })?;
                check_signer(
                    "AWS KMS",
                    alloy::signers::Signer::address(signer),
                    &signature,
                    &hash,
                )?;
                Ok(signature)
            }
            Self::Web3Signer(signer) => signer.sign(preimage).await,
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

    /// Signs where the key is. How long it took and whether it succeeded go to the calling
    /// task's [`SignatureObserver`], if it runs inside [`observe_signatures`].
    async fn sign_transaction(
        &self,
        tx: &mut dyn SignableTransaction<Signature>,
    ) -> alloy::signers::Result<Signature> {
        let started = std::time::Instant::now();
        let signed: alloy::signers::Result<Signature> = async {
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
        .await;
        report_signature(SignatureEvent {
            signer: self.metric_label(),
            took: started.elapsed(),
            ok: signed.is_ok(),
        });
        signed
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

/// Where an ECDSA key lives, as `--signer` / `MACH_ECDSA_SIGNER` name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerKind {
    /// A v3 key file on this machine (`--ecdsa-key-file`, `--password-file`).
    Keystore,
    /// A raw private key (`--private-key`).
    PrivateKey,
    /// An AWS KMS key (`--kms-key-id`, `--kms-region`, `--kms-endpoint`).
    AwsKms,
    /// A key held by web3signer (`--web3signer-url`, `--signer-address`).
    Web3signer,
}

impl SignerKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [SignerKind; 4] = [
        Self::Keystore,
        Self::PrivateKey,
        Self::AwsKms,
        Self::Web3signer,
    ];

    /// The name `--signer` takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Keystore => "keystore",
            Self::PrivateKey => "private-key",
            Self::AwsKms => "aws-kms",
            Self::Web3signer => "web3signer",
        }
    }
}

impl std::fmt::Display for SignerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SignerKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let wanted = text.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|k| k.name()).collect();
                format!("unknown signer {text:?}; use one of {}", names.join(", "))
            })
    }
}

/// Variables of an env file that select the signer, one per field of [`SignerChoice`] (the
/// same names as the flags' environment variables).
pub const SIGNER_VARIABLES: [&str; 6] = [
    "MACH_ECDSA_SIGNER",
    "MACH_KMS_KEY_ID",
    "MACH_KMS_REGION",
    "MACH_KMS_ENDPOINT",
    "MACH_WEB3SIGNER_URL",
    "MACH_SIGNER_ADDRESS",
];

/// The signer settings as given (flags, variables, a file's fields), before the selection
/// rules of [`SignerChoice::config`] pick one signer from them.
#[derive(Clone, Debug, Default)]
pub struct SignerChoice {
    /// `--signer` / `MACH_ECDSA_SIGNER`; without it, keystore or private-key, whichever of
    /// their settings is given.
    pub kind: Option<SignerKind>,
    /// `--private-key`.
    pub private_key: Option<String>,
    /// `--ecdsa-key-file`.
    pub ecdsa_key_file: Option<PathBuf>,
    /// `--password-file`, for the key file.
    pub password_file: Option<PathBuf>,
    /// The key file's password when an env file holds it (`OPERATOR_ECDSA_KEY_PASSWORD`).
    pub password: Option<String>,
    /// `--kms-key-id` / `MACH_KMS_KEY_ID`.
    pub kms_key_id: Option<String>,
    /// `--kms-region` / `MACH_KMS_REGION`.
    pub kms_region: Option<String>,
    /// `--kms-endpoint` / `MACH_KMS_ENDPOINT`.
    pub kms_endpoint: Option<String>,
    /// `--web3signer-url` / `MACH_WEB3SIGNER_URL`.
    pub web3signer_url: Option<String>,
    /// `--signer-address` / `MACH_SIGNER_ADDRESS`.
    pub signer_address: Option<Address>,
}

impl SignerChoice {
    /// Whether nothing names a signer (a password alone does not): the caller's default applies
    /// (an `operator.yaml`'s key, an env file's key file).
    pub fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.private_key.is_none()
            && self.ecdsa_key_file.is_none()
            && !self.remote_settings()
    }

    fn remote_settings(&self) -> bool {
        self.kms_key_id.is_some()
            || self.kms_region.is_some()
            || self.kms_endpoint.is_some()
            || self.web3signer_url.is_some()
            || self.signer_address.is_some()
    }

    /// Fills the settings not given from an env file's `MACH_*` variables (`MACH_ECDSA_SIGNER`,
    /// `MACH_KMS_KEY_ID`, …), so a `.env.opt` can select a remote signer as the flags do.
    pub fn or_env(mut self, env: &mach_primitives::env::Env) -> Result<Self, SignerError> {
        let get = |name: &str| env.get(name).filter(|v| !v.trim().is_empty());
        let [kind, key_id, region, endpoint, url, address] = SIGNER_VARIABLES;
        if self.kind.is_none() {
            if let Some(text) = get(kind) {
                self.kind = Some(
                    text.parse()
                        .map_err(|e| SignerError::Config(format!("{kind}: {e}")))?,
                );
            }
        }
        self.kms_key_id = self.kms_key_id.or_else(|| get(key_id));
        self.kms_region = self.kms_region.or_else(|| get(region));
        self.kms_endpoint = self.kms_endpoint.or_else(|| get(endpoint));
        self.web3signer_url = self.web3signer_url.or_else(|| get(url));
        if self.signer_address.is_none() {
            if let Some(text) = get(address) {
                self.signer_address = Some(text.trim().parse().map_err(|e| {
                    SignerError::Config(format!("{address}={text:?} is not an address: {e}"))
                })?);
            }
        }
        Ok(self)
    }

    /// The signer these settings select, refusing a missing or misplaced setting by name.
    pub fn config(&self) -> Result<EcdsaSignerConfig, SignerError> {
        let kind = match (self.kind, &self.private_key, &self.ecdsa_key_file) {
            (Some(kind), _, _) => kind,
            (None, Some(_), _) => SignerKind::PrivateKey,
            (None, None, Some(_)) => SignerKind::Keystore,
            (None, None, None) => {
                return Err(SignerError::Config(
                    "choose the signer: --ecdsa-key-file FILE, --private-key KEY, or --signer \
                     aws-kms|web3signer (MACH_ECDSA_SIGNER) with its options"
                        .into(),
                ))
            }
        };
        let local = self.private_key.is_some() || self.ecdsa_key_file.is_some();
        let kms =
            self.kms_key_id.is_some() || self.kms_region.is_some() || self.kms_endpoint.is_some();
        let web3 = self.web3signer_url.is_some() || self.signer_address.is_some();
        let stray = match kind {
            SignerKind::Keystore | SignerKind::PrivateKey if kms || web3 => {
                Some("--kms-* or --web3signer-url/--signer-address")
            }
            SignerKind::PrivateKey if self.ecdsa_key_file.is_some() => Some("--ecdsa-key-file"),
            SignerKind::Keystore if self.private_key.is_some() => Some("--private-key"),
            SignerKind::AwsKms if local || web3 => {
                Some("--private-key, --ecdsa-key-file or --web3signer-url/--signer-address")
            }
            SignerKind::Web3signer if local || kms => {
                Some("--private-key, --ecdsa-key-file or --kms-*")
            }
            _ if kind != SignerKind::Keystore && self.password_file.is_some() => {
                Some("--password-file")
            }
            _ => None,
        };
        if let Some(stray) = stray {
            return Err(SignerError::Config(format!(
                "--signer {kind} does not use {stray}; remove them (or their MACH_* variables), \
                 or choose the signer they belong to"
            )));
        }
        let missing = |flag: &str, variable: &str| {
            SignerError::Config(format!("--signer {kind} needs {flag} (or {variable})"))
        };
        Ok(match kind {
            SignerKind::Keystore => EcdsaSignerConfig::Keystore {
                path: self.ecdsa_key_file.clone().ok_or_else(|| {
                    SignerError::Config("--signer keystore needs --ecdsa-key-file".into())
                })?,
                password_file: self.password_file.clone(),
                password: self.password.clone(),
            },
            SignerKind::PrivateKey => {
                EcdsaSignerConfig::PrivateKey(self.private_key.clone().ok_or_else(|| {
                    SignerError::Config("--signer private-key needs --private-key".into())
                })?)
            }
            SignerKind::AwsKms => EcdsaSignerConfig::AwsKms {
                key_id: self
                    .kms_key_id
                    .clone()
                    .ok_or_else(|| missing("--kms-key-id", "MACH_KMS_KEY_ID"))?,
                region: self.kms_region.clone(),
                endpoint_url: self.kms_endpoint.clone(),
            },
            SignerKind::Web3signer => EcdsaSignerConfig::Web3Signer {
                url: self
                    .web3signer_url
                    .clone()
                    .ok_or_else(|| missing("--web3signer-url", "MACH_WEB3SIGNER_URL"))?,
                address: self
                    .signer_address
                    .ok_or_else(|| missing("--signer-address", "MACH_SIGNER_ADDRESS"))?,
            },
        })
    }
}

#[cfg(test)]
mod choice_tests {
    use super::*;

    fn web3() -> SignerChoice {
        SignerChoice {
            kind: Some(SignerKind::Web3signer),
            web3signer_url: Some("http://127.0.0.1:9000".into()),
            signer_address: Some(Address::repeat_byte(7)),
            ..SignerChoice::default()
        }
    }

    #[test]
    fn the_kind_follows_the_options_given() {
        let file = SignerChoice {
            ecdsa_key_file: Some("k.json".into()),
            ..SignerChoice::default()
        };
        assert_eq!(file.config().unwrap().kind(), "keystore");
        let raw = SignerChoice {
            private_key: Some("0x01".into()),
            ..SignerChoice::default()
        };
        assert_eq!(raw.config().unwrap().kind(), "private-key");
        assert_eq!(web3().config().unwrap().kind(), "web3signer");
        let text = SignerChoice::default().config().unwrap_err().to_string();
        assert!(text.contains("choose the signer"), "{text}");
        assert!(SignerChoice::default().is_empty());
        let password_only = SignerChoice {
            password_file: Some("pw".into()),
            ..SignerChoice::default()
        };
        assert!(password_only.is_empty());
    }

    #[test]
    fn misplaced_and_missing_options_are_named() {
        let mut stray = web3();
        stray.kms_key_id = Some("alias/k".into());
        let text = stray.config().unwrap_err().to_string();
        assert!(text.contains("--signer web3signer does not use"), "{text}");
        let mut stray = web3();
        stray.password_file = Some("pw".into());
        let text = stray.config().unwrap_err().to_string();
        assert!(text.contains("--password-file"), "{text}");
        let mut missing = web3();
        missing.signer_address = None;
        let text = missing.config().unwrap_err().to_string();
        assert!(text.contains("MACH_SIGNER_ADDRESS"), "{text}");
        let kms = SignerChoice {
            kind: Some(SignerKind::AwsKms),
            ..SignerChoice::default()
        };
        let text = kms.config().unwrap_err().to_string();
        assert!(text.contains("--kms-key-id"), "{text}");
        assert!("vault"
            .parse::<SignerKind>()
            .unwrap_err()
            .contains("aws-kms"));
        assert_eq!("AWS-KMS".parse::<SignerKind>().unwrap(), SignerKind::AwsKms);
    }

    #[test]
    fn an_env_file_fills_what_the_flags_leave() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env.opt");
        std::fs::write(
            &path,
            "MACH_ECDSA_SIGNER=web3signer\nMACH_WEB3SIGNER_URL=http://signer:9000\n\
             MACH_SIGNER_ADDRESS=0x0707070707070707070707070707070707070707\nMACH_KMS_REGION=\n",
        )
        .unwrap();
        let env = mach_primitives::env::Env::load(Some(&path), ".env.opt").unwrap();
        let flags = SignerChoice {
            web3signer_url: Some("http://flag:9000".into()),
            ..SignerChoice::default()
        };
        let choice = flags.or_env(&env).unwrap();
        assert_eq!(choice.kind, Some(SignerKind::Web3signer));
        assert_eq!(choice.web3signer_url.as_deref(), Some("http://flag:9000"));
        assert_eq!(choice.signer_address, Some(Address::repeat_byte(7)));
        assert_eq!(choice.kms_region, None);
        std::fs::write(&path, "MACH_SIGNER_ADDRESS=0x12\n").unwrap();
        let env = mach_primitives::env::Env::load(Some(&path), ".env.opt").unwrap();
        let text = SignerChoice::default()
            .or_env(&env)
            .unwrap_err()
            .to_string();
        assert!(text.contains("MACH_SIGNER_ADDRESS"), "{text}");
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

impl EcdsaSigner {
    /// The signer's kind as metrics label it: `local` (a key file or a raw key in this
    /// process), `aws-kms` or `web3signer`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Local(_) => "local",
            Self::Kms(_) => "aws-kms",
            Self::Web3Signer(_) => "web3signer",
        }
    }
}

/// One transaction signature an [`EcdsaSigner`] made or failed to make, as told to a
/// [`SignatureObserver`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureEvent {
    /// [`EcdsaSigner::metric_label`]: `local`, `aws-kms` or `web3signer`.
    pub signer: &'static str,
    /// From the request to the checked signature, or to the failure.
    pub took: Duration,
    /// Whether a signature came back and recovered to the signer's address.
    pub ok: bool,
}

/// Told of every transaction signature made inside [`observe_signatures`]. mach-chain keeps no
/// metrics itself: a role that exports them (the aggregator) implements this and wraps the work
/// that sends its transactions.
pub trait SignatureObserver: Send + Sync {
    /// One signature was made, or failed.
    fn signed(&self, event: SignatureEvent);
}

impl<F: Fn(SignatureEvent) + Send + Sync> SignatureObserver for F {
    fn signed(&self, event: SignatureEvent) {
        self(event)
    }
}

tokio::task_local! {
    /// The observer of the task running inside [`observe_signatures`].
    static SIGNATURE_OBSERVER: std::sync::Arc<dyn SignatureObserver>;
}

/// Runs `work` with `observer` told of every transaction an [`EcdsaSigner`] signs while `work`
/// runs, local or remote, successful or not. The observer belongs to the task polling `work`:
/// tasks spawned from it are not observed, and signatures made outside it reach no observer.
pub async fn observe_signatures<F: std::future::Future>(
    observer: std::sync::Arc<dyn SignatureObserver>,
    work: F,
) -> F::Output {
    SIGNATURE_OBSERVER.scope(observer, work).await
}

/// Tells the calling task's observer, if it has one.
fn report_signature(event: SignatureEvent) {
    let _ = SIGNATURE_OBSERVER.try_with(|observer| observer.signed(event));
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

    #[tokio::test]
    async fn signatures_reach_the_observer_of_their_task_only() {
        let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = events.clone();
        let observer: std::sync::Arc<dyn SignatureObserver> =
            std::sync::Arc::new(move |event: SignatureEvent| seen.lock().unwrap().push(event));
        let local = EcdsaSigner::Local(PrivateKeySigner::random());
        // Nothing listens to a signature made outside observe_signatures.
        let mut tx = alloy::consensus::TxLegacy::default();
        local.sign_transaction(&mut tx).await.unwrap();
        assert!(events.lock().unwrap().is_empty());

        // A web3signer nobody listens on fails at once: reported as a failure of its kind.
        let unreachable = EcdsaSigner::Web3Signer(Web3Signer {
            http: reqwest::Client::new(),
            url: "http://127.0.0.1:1".into(),
            identifier: "0x00".into(),
            address: Address::repeat_byte(1),
            timeout: Duration::from_secs(5),
        });
        observe_signatures(observer, async {
            local.sign_transaction(&mut tx).await.unwrap();
            let err = unreachable.sign_transaction(&mut tx).await.unwrap_err();
            assert!(err.to_string().contains("MACH_WEB3SIGNER_URL"), "{err}");
        })
        .await;
        let events = events.lock().unwrap();
        let kinds: Vec<_> = events.iter().map(|e| (e.signer, e.ok)).collect();
        assert_eq!(kinds, [("local", true), ("web3signer", false)]);
    }
}
