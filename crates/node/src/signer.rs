//! The node's BLS signer: the decrypted key file in memory, or a Cerberus remote signer
//! ([`crate::cerberus`]). Chosen by `NODE_BLS_SIGNER` ([`crate::config::BlsSignerConfig`]).

use crate::cerberus::CerberusSigner;
use crate::config::{BlsSignerConfig, NodeConfig};
use alloy::primitives::B256;
use mach_keys::{BlsSecretKey, BlsSignature, G1PublicKey, G2PublicKey};
use mach_primitives::OperatorId;
use std::sync::Arc;
use std::time::Duration;

/// Why a signature could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The signer's settings are wrong or incomplete (names the variable).
    #[error("{0}")]
    Config(String),
    /// The signer could not be reached (network, TLS, unavailable): retried.
    #[error("the Cerberus signer at {url} is unreachable: {reason}")]
    Unreachable {
        /// The signer's URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The signer did not answer in time: retried.
    #[error("the Cerberus signer at {url} did not answer within {after:?}")]
    Timeout {
        /// The signer's URL.
        url: String,
        /// The deadline.
        after: Duration,
    },
    /// The signer refused the request: authentication (names the API key setting).
    #[error("{0}")]
    Refused(String),
    /// The signer answered with an error other than authentication (unknown key, password).
    #[error("{0}")]
    Rejected(String),
    /// The signer's answer is not a valid signature by the configured key.
    #[error("{0}")]
    Mismatch(String),
}

impl SignerError {
    /// Whether trying again later may succeed (the signer was unreachable or slow).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Timeout { .. })
    }
}

/// How many times one alert's signature is asked of an unreachable signer before the alert is
/// answered with an error (which the verifier retries), and the first pause between them.
const SIGN_ATTEMPTS: u32 = 3;
const SIGN_RETRY: Duration = Duration::from_millis(250);

/// The operator's BLS signer.
#[derive(Clone, Debug)]
pub enum BlsSigner {
    /// The key itself, decrypted from the key file.
    Local(BlsSecretKey),
    /// A key held by a Cerberus remote signer.
    Cerberus(Arc<CerberusSigner>),
}

impl From<BlsSecretKey> for BlsSigner {
    fn from(key: BlsSecretKey) -> Self {
        Self::Local(key)
    }
}

impl From<CerberusSigner> for BlsSigner {
    fn from(signer: CerberusSigner) -> Self {
        Self::Cerberus(Arc::new(signer))
    }
}

impl BlsSigner {
    /// The signer `config` selects: the key file decrypted with its password
    /// (`NODE_BLS_SIGNER=keystore`, the default) or a Cerberus client (`cerberus`). Call it inside
    /// a tokio runtime.
    pub fn open(config: &NodeConfig) -> Result<Self, SignerError> {
        match &config.bls_signer {
            BlsSignerConfig::Keystore => {
                mach_keys::open_bls(&config.bls_key_file, None, config.bls_key_password.clone())
                    .map(Self::Local)
                    .map_err(|e| SignerError::Config(e.to_string()))
            }
            BlsSignerConfig::Cerberus(settings) => {
                CerberusSigner::new(settings.clone()).map(Self::from)
            }
        }
    }

    /// The G1 public key (registered in the BLSApkRegistry; its hash is the operator ID).
    pub fn public_key_g1(&self) -> G1PublicKey {
        match self {
            Self::Local(key) => key.public_key(),
            Self::Cerberus(remote) => remote.public_key_g1(),
        }
    }

    /// The operator ID.
    pub fn operator_id(&self) -> OperatorId {
        self.public_key_g1().operator_id()
    }

    /// Where the key is, for messages: the setting that names it.
    pub fn describe(&self, config: &NodeConfig) -> String {
        match self {
            Self::Local(_) => format!("the BLS key file {}", config.bls_key_file.display()),
            Self::Cerberus(remote) => format!(
                "the Cerberus key NODE_BLS_CERBERUS_PUBLIC_KEY_G1={} at {}",
                crate::cerberus::hex_g1(&remote.public_key_g1()),
                remote.settings().url
            ),
        }
    }

    /// What to set to point at another key, for messages.
    pub fn key_setting(&self) -> &'static str {
        match self {
            Self::Local(_) => "NODE_BLS_KEY_FILE_HOST",
            Self::Cerberus(_) => "NODE_BLS_CERBERUS_PUBLIC_KEY_G1",
        }
    }

    /// Signs `hash` (`sk · hashToG1(hash)`). A remote signature is verified before it is
    /// returned; an unreachable or slow signer is asked again with backoff (a few times: the
    /// caller's own retries take over after that).
    pub async fn sign(&self, hash: B256) -> Result<BlsSignature, SignerError> {
        match self {
            Self::Local(key) => Ok(key.sign(&hash)),
            Self::Cerberus(remote) => {
                let mut wait = SIGN_RETRY;
                let mut attempt = 1;
                loop {
                    match remote.sign(hash).await {
                        Err(e) if e.is_transient() && attempt < SIGN_ATTEMPTS => {
                            tracing::warn!(error = %e, attempt, retry_in_ms = wait.as_millis() as u64, "BLS signer unavailable; retrying");
                            tokio::time::sleep(wait).await;
                            wait *= 2;
                            attempt += 1;
                        }
                        other => return other,
                    }
                }
            }
        }
    }

    /// The start-up check of a signer against the keys registered for the operator: the G1 key
    /// must be the registered one, and a remote signer must answer with a test signature that
    /// verifies against the registered G2 key.
    pub async fn preflight(
        &self,
        registered_g1: &G1PublicKey,
        registered_g2: &G2PublicKey,
    ) -> Result<(), SignerError> {
        let Self::Cerberus(remote) = self else {
            return Ok(());
        };
        let configured = remote.public_key_g1();
        if configured != *registered_g1 {
            return Err(SignerError::Mismatch(format!(
                "NODE_BLS_CERBERUS_PUBLIC_KEY_G1 is {} ({configured}), but the operator registered {} ({registered_g1}) in the BLSApkRegistry",
                crate::cerberus::hex_g1(&configured),
                crate::cerberus::hex_g1(registered_g1),
            )));
        }
        remote.set_public_key_g2(*registered_g2)?;
        let test = alloy::primitives::keccak256(b"mach-node: Cerberus signer preflight");
        remote.sign(test).await.map(|_| ())
    }
}

/// The node's signer registers the operator too (`mach opt-in`): a Cerberus key is asked for
/// its G2 key and signs the registration point remotely, so it never has to leave the signer.
impl mach_chain::operator::RegistrationKey for BlsSigner {
    fn public_key_g1(&self) -> G1PublicKey {
        BlsSigner::public_key_g1(self)
    }

    async fn public_key_g2(&self) -> Result<G2PublicKey, mach_chain::ChainError> {
        match self {
            Self::Local(key) => Ok(key.public_key_g2()),
            Self::Cerberus(remote) => remote
                .fetch_public_key_g2()
                .await
                .map_err(|e| mach_chain::ChainError::Refused(e.to_string())),
        }
    }

    async fn sign_registration_point(
        &self,
        x: alloy::primitives::U256,
        y: alloy::primitives::U256,
    ) -> Result<BlsSignature, mach_chain::ChainError> {
        match self {
            Self::Local(key) => key.sign_g1_point(x, y).map_err(mach_chain::ChainError::Key),
            Self::Cerberus(remote) => remote
                .sign_g1_point(x, y)
                .await
                .map_err(|e| mach_chain::ChainError::Refused(e.to_string())),
        }
    }
}
