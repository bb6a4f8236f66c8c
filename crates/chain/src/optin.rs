//! The settings of `mach opt-in`, `mach opt-out` and `mach avs status`: the variables of the
//! reference `.env.opt`, each overridden by its flag, and a variable set in the environment
//! overriding the env file.

use crate::signer::{EcdsaSigner, EcdsaSignerConfig, SignerChoice};
use crate::{avs, AvsAddresses, ChainError, Connection};
use alloy::primitives::Address;
use mach_keys::{BlsSecretKey, KeyFile, KeyType, PublicKeyInfo};
use mach_primitives::env::{parse_quorums, Env, EnvError};
use std::path::PathBuf;
use std::time::Duration;

/// What the command line gives; each set field overrides its variable.
#[derive(Clone, Debug, Default)]
pub struct OptFlags {
    /// Env file with the reference `.env.opt` variables [default: ./.env.opt if present].
    pub env_file: Option<PathBuf>,
    /// Deployment record to take the AVS addresses from instead of the address variables.
    pub avs_deployment: Option<PathBuf>,
    /// Quorums to join or leave (`REG_QUORUM_NUMBERS`; default 0).
    pub quorums: Option<String>,
    /// L1 RPC URL (`ETH_RPC_URL`).
    pub rpc_url: Option<String>,
    /// The ECDSA signer's flags; `ecdsa_key_file` overrides `NODE_ECDSA_KEY_FILE_HOST`, and the
    /// env file's `MACH_*` signer variables fill what is not given. With none of them, the key
    /// file `NODE_ECDSA_KEY_FILE_HOST` with `OPERATOR_ECDSA_KEY_PASSWORD`.
    pub signer: SignerChoice,
    /// BLS key file (`NODE_BLS_KEY_FILE_HOST`).
    pub bls_key_file: Option<PathBuf>,
}

/// The resolved settings.
#[derive(Debug)]
pub struct OptSettings {
    /// The env file merged with the environment.
    pub env: Env,
    /// The L1 RPC.
    pub rpc_url: String,
    /// `LAYER1_CHAIN_ID`, checked against the endpoint when set.
    pub chain_id: Option<u64>,
    /// Quorums to join or leave.
    pub quorums: Vec<u8>,
    /// The ECDSA key file, if named.
    pub ecdsa_key_file: Option<PathBuf>,
    /// The ECDSA signer settings: the flags over the env file's `MACH_*` variables, the key file
    /// and its password when nothing else is chosen.
    pub signer: SignerChoice,
    /// The BLS key file, if named.
    pub bls_key_file: Option<PathBuf>,
    /// AVS addresses from a deployment record, if one was given.
    pub deployment: Option<AvsAddresses>,
}

fn env_error(e: EnvError) -> ChainError {
    ChainError::Refused(e.to_string())
}

impl OptSettings {
    /// Reads the env file and resolves every setting.
    pub fn load(flags: &OptFlags) -> Result<Self, ChainError> {
        let env = Env::load(flags.env_file.as_deref(), ".env.opt").map_err(env_error)?;
        let rpc_url = match &flags.rpc_url {
            Some(url) => url.clone(),
            None => env.require("ETH_RPC_URL").map_err(env_error)?,
        };
        let quorums = match flags.quorums.clone().or_else(|| {
            env.get("REG_QUORUM_NUMBERS")
                .filter(|v| !v.trim().is_empty())
        }) {
            Some(text) => parse_quorums(&text).map_err(env_error)?,
            None => vec![0],
        };
        let path = |flag: &Option<PathBuf>, var: &str| {
            flag.clone()
                .or_else(|| env.get(var).filter(|v| !v.is_empty()).map(PathBuf::from))
        };
        let deployment = flags
            .avs_deployment
            .as_deref()
            .map(AvsAddresses::load)
            .transpose()?;
        let ecdsa_key_file = path(&flags.signer.ecdsa_key_file, "NODE_ECDSA_KEY_FILE_HOST");
        let mut signer = flags.signer.clone().or_env(&env)?;
        if signer.is_empty() {
            signer.ecdsa_key_file = ecdsa_key_file.clone();
        }
        if signer.ecdsa_key_file.is_some() && signer.password_file.is_none() {
            signer.password = env.get("OPERATOR_ECDSA_KEY_PASSWORD");
        }
        Ok(Self {
            rpc_url,
            chain_id: env.parse("LAYER1_CHAIN_ID").map_err(env_error)?,
            quorums,
            signer,
            ecdsa_key_file,
            bls_key_file: path(&flags.bls_key_file, "NODE_BLS_KEY_FILE_HOST"),
            deployment,
            env,
        })
    }

    /// The ECDSA key file, or how to name one.
    pub fn ecdsa_key_file(&self) -> Result<&PathBuf, ChainError> {
        self.ecdsa_key_file.as_ref().ok_or_else(|| {
            ChainError::Refused(
                "no ECDSA key file: set NODE_ECDSA_KEY_FILE_HOST or pass --ecdsa-key-file, or \
                 choose a remote signer (MACH_ECDSA_SIGNER=aws-kms|web3signer or --signer)"
                    .into(),
            )
        })
    }

    /// Checks the endpoint's chain against `LAYER1_CHAIN_ID` and resolves the AVS addresses.
    pub async fn avs(&self, conn: &Connection) -> Result<AvsAddresses, ChainError> {
        if let Some(expected) = self.chain_id {
            if conn.chain_id != expected {
                return Err(ChainError::Refused(format!("{} is chain {}, but LAYER1_CHAIN_ID is {expected}; fix ETH_RPC_URL or LAYER1_CHAIN_ID", self.rpc_url, conn.chain_id)));
            }
        }
        if let Some(addresses) = self.deployment {
            return Ok(addresses);
        }
        let coordinator: Address = self
            .env
            .parse("AVS_REGISTRY_COORDINATOR_ADDRESS")
            .map_err(env_error)?
            .ok_or_else(|| ChainError::Refused("AVS_REGISTRY_COORDINATOR_ADDRESS is not set: set it in .env.opt or pass --avs-deployment FILE".into()))?;
        avs::resolve_addresses(
            conn,
            coordinator,
            self.env
                .parse("OPERATOR_STATE_RETRIEVER_ADDRESS")
                .map_err(env_error)?,
            self.env
                .parse("SERVICE_MANAGER_ADDRESS")
                .map_err(env_error)?,
        )
        .await
    }

    /// The ECDSA signer the settings select (a key file, AWS KMS, web3signer), built and
    /// checked (`timeout` bounds each remote request), and checked against
    /// `OPERATOR_ECDSA_ADDRESS` when that is set.
    pub async fn signer(&self, timeout: Duration) -> Result<EcdsaSigner, ChainError> {
        if self.signer.is_empty() {
            self.ecdsa_key_file()?;
        }
        let config = self.signer.config()?;
        let signer = config.build(timeout).await?;
        if let Some(expected) = self.expected_operator()? {
            if expected != signer.address() {
                let (what, setting) = match &config {
                    EcdsaSignerConfig::Keystore { path, .. } => (
                        format!("the key file {}", path.display()),
                        "NODE_ECDSA_KEY_FILE_HOST (or --ecdsa-key-file)".to_string(),
                    ),
                    _ => (
                        format!("the {} signer", config.kind()),
                        format!("the {} signer", config.kind()),
                    ),
                };
                return Err(ChainError::Refused(format!(
                    "{what} is for {}, but OPERATOR_ECDSA_ADDRESS is {expected}; point {setting} \
                     at the operator's key or fix the address",
                    signer.address()
                )));
            }
        }
        Ok(signer)
    }

    /// Decrypts the BLS key.
    pub fn bls_key(&self) -> Result<BlsSecretKey, ChainError> {
        let file = self.bls_key_file.as_ref().ok_or_else(|| {
            ChainError::Refused(
                "no BLS key file: set NODE_BLS_KEY_FILE_HOST or pass --bls-key-file".into(),
            )
        })?;
        let password = self.env.get("OPERATOR_BLS_KEY_PASSWORD");
        Ok(mach_keys::open_bls(file, None, password)?)
    }

    /// `OPERATOR_ECDSA_ADDRESS`, if set.
    fn expected_operator(&self) -> Result<Option<Address>, ChainError> {
        self.env.parse("OPERATOR_ECDSA_ADDRESS").map_err(env_error)
    }

    /// The operator to look up: `given`, else `OPERATOR_ECDSA_ADDRESS`, else web3signer's
    /// `MACH_SIGNER_ADDRESS`, else the ECDSA key file's address (read without its password).
    pub fn operator(&self, given: Option<Address>) -> Result<Address, ChainError> {
        if let Some(address) = given {
            return Ok(address);
        }
        if let Some(address) = self.expected_operator()? {
            return Ok(address);
        }
        if let Some(address) = self.signer.signer_address {
            return Ok(address);
        }
        match KeyFile::read(self.ecdsa_key_file()?, Some(KeyType::Ecdsa))?.public() {
            PublicKeyInfo::Ecdsa { address } => Ok(*address),
            PublicKeyInfo::Bls { .. } => Err(ChainError::Refused(
                "NODE_ECDSA_KEY_FILE_HOST is a BLS key file".into(),
            )),
        }
    }
}
