//! `mach opt-in`, `mach opt-out`, `mach avs status`: the operator and the MACH AVS, configured
//! by the variables of the reference `.env.opt`.

use crate::envfile::{parse_quorums, Env};
use crate::operator::block_on;
use anyhow::{bail, Context, Result};
use clap::Args;
use mach_chain::{avs, AvsAddresses, Connection};
use mach_keys::{KeyFile, KeyType, PublicKeyInfo};
use std::path::PathBuf;

use alloy::primitives::Address;

/// Where the opt-in settings come from. Each flag overrides its variable; a variable set in the
/// environment overrides the env file.
#[derive(Args, Debug)]
pub struct OptArgs {
    /// Env file with the reference `.env.opt` variables [default: ./.env.opt if present].
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Deployment record to take the AVS addresses from instead of
    /// AVS_REGISTRY_COORDINATOR_ADDRESS / OPERATOR_STATE_RETRIEVER_ADDRESS / SERVICE_MANAGER_ADDRESS.
    #[arg(long, value_name = "FILE")]
    avs_deployment: Option<PathBuf>,
    /// Quorums to join or leave (REG_QUORUM_NUMBERS; default 0).
    #[arg(long, value_name = "QUORUMS")]
    quorums: Option<String>,
    /// L1 RPC URL (ETH_RPC_URL).
    #[arg(long, value_name = "URL")]
    rpc_url: Option<String>,
    /// ECDSA key file (NODE_ECDSA_KEY_FILE_HOST).
    #[arg(long, value_name = "FILE")]
    ecdsa_key_file: Option<PathBuf>,
    /// BLS key file (NODE_BLS_KEY_FILE_HOST).
    #[arg(long, value_name = "FILE")]
    bls_key_file: Option<PathBuf>,
}

/// The resolved settings.
struct Settings {
    env: Env,
    rpc_url: String,
    chain_id: Option<u64>,
    quorums: Vec<u8>,
    ecdsa_key_file: Option<PathBuf>,
    bls_key_file: Option<PathBuf>,
    deployment: Option<AvsAddresses>,
}

impl Settings {
    fn load(args: &OptArgs) -> Result<Self> {
        let env = Env::load(args.env_file.as_deref(), ".env.opt")?;
        let rpc_url = match &args.rpc_url {
            Some(url) => url.clone(),
            None => env.require("ETH_RPC_URL")?,
        };
        let quorums = match args.quorums.clone().or_else(|| {
            env.get("REG_QUORUM_NUMBERS")
                .filter(|v| !v.trim().is_empty())
        }) {
            Some(text) => parse_quorums(&text)?,
            None => vec![0],
        };
        let path = |flag: &Option<PathBuf>, var: &str| {
            flag.clone()
                .or_else(|| env.get(var).filter(|v| !v.is_empty()).map(PathBuf::from))
        };
        let deployment = args
            .avs_deployment
            .as_deref()
            .map(AvsAddresses::load)
            .transpose()?;
        Ok(Self {
            rpc_url,
            chain_id: env.parse("LAYER1_CHAIN_ID")?,
            quorums,
            ecdsa_key_file: path(&args.ecdsa_key_file, "NODE_ECDSA_KEY_FILE_HOST"),
            bls_key_file: path(&args.bls_key_file, "NODE_BLS_KEY_FILE_HOST"),
            deployment,
            env,
        })
    }

    fn ecdsa_key_file(&self) -> Result<&PathBuf> {
        self.ecdsa_key_file
            .as_ref()
            .context("no ECDSA key file: set NODE_ECDSA_KEY_FILE_HOST or pass --ecdsa-key-file")
    }

    /// Checks the endpoint's chain against LAYER1_CHAIN_ID and resolves the AVS addresses.
    async fn avs(&self, conn: &Connection) -> Result<AvsAddresses> {
        if let Some(expected) = self.chain_id {
            if conn.chain_id != expected {
                bail!("{} is chain {}, but LAYER1_CHAIN_ID is {expected}; fix ETH_RPC_URL or LAYER1_CHAIN_ID", self.rpc_url, conn.chain_id);
            }
        }
        if let Some(addresses) = self.deployment {
            return Ok(addresses);
        }
        let coordinator: Address = self
            .env
            .parse("AVS_REGISTRY_COORDINATOR_ADDRESS")?
            .context("AVS_REGISTRY_COORDINATOR_ADDRESS is not set: set it in .env.opt or pass --avs-deployment FILE")?;
        Ok(avs::resolve_addresses(
            conn,
            coordinator,
            self.env.parse("OPERATOR_STATE_RETRIEVER_ADDRESS")?,
            self.env.parse("SERVICE_MANAGER_ADDRESS")?,
        )
        .await?)
    }

    /// Decrypts the ECDSA key, checking it against OPERATOR_ECDSA_ADDRESS when that is set.
    fn signer(&self) -> Result<alloy::signers::local::PrivateKeySigner> {
        let file = self.ecdsa_key_file()?;
        let signer =
            crate::keys::ecdsa_signer(file, None, self.env.get("OPERATOR_ECDSA_KEY_PASSWORD"))?;
        if let Some(expected) = self.env.parse::<Address>("OPERATOR_ECDSA_ADDRESS")? {
            if expected != signer.address() {
                bail!(
                    "the key file {} is for {}, but OPERATOR_ECDSA_ADDRESS is {expected}; point NODE_ECDSA_KEY_FILE_HOST at the operator's key or fix the address",
                    file.display(),
                    signer.address()
                );
            }
        }
        Ok(signer)
    }
}

pub fn opt_in(args: OptArgs) -> Result<()> {
    block_on(async move {
        let settings = Settings::load(&args)?;
        let signer = settings.signer()?;
        let bls_file = settings
            .bls_key_file
            .as_ref()
            .context("no BLS key file: set NODE_BLS_KEY_FILE_HOST or pass --bls-key-file")?;
        let bls = crate::keys::bls_key(
            bls_file,
            None,
            settings.env.get("OPERATOR_BLS_KEY_PASSWORD"),
        )?;
        let conn = mach_chain::connect(&settings.rpc_url, signer.clone()).await?;
        let addresses = settings.avs(&conn).await?;
        let socket = settings.env.get("OPERATOR_SOCKET").unwrap_or_default();
        avs::opt_in(&conn, &signer, &bls, &addresses, &settings.quorums, &socket).await?;
        println!(
            "Operator {} opted in to the AVS (service manager {}) for quorums {:?} with operator ID {}",
            conn.sender,
            addresses.mach_service_manager,
            settings.quorums,
            bls.operator_id()
        );
        Ok(())
    })
}

pub fn opt_out(args: OptArgs) -> Result<()> {
    block_on(async move {
        let settings = Settings::load(&args)?;
        let signer = settings.signer()?;
        let conn = mach_chain::connect(&settings.rpc_url, signer).await?;
        let addresses = settings.avs(&conn).await?;
        avs::opt_out(&conn, &addresses, &settings.quorums).await?;
        println!(
            "Operator {} opted out of quorums {:?}",
            conn.sender, settings.quorums
        );
        Ok(())
    })
}

pub fn status(args: OptArgs, operator: Option<Address>) -> Result<()> {
    block_on(async move {
        let settings = Settings::load(&args)?;
        let operator = match operator {
            Some(a) => a,
            None => match settings.env.parse::<Address>("OPERATOR_ECDSA_ADDRESS")? {
                Some(a) => a,
                None => match KeyFile::read(settings.ecdsa_key_file()?, Some(KeyType::Ecdsa))?
                    .public()
                {
                    PublicKeyInfo::Ecdsa { address } => *address,
                    PublicKeyInfo::Bls { .. } => {
                        bail!("NODE_ECDSA_KEY_FILE_HOST is a BLS key file")
                    }
                },
            },
        };
        let conn = mach_chain::connect_read_only(&settings.rpc_url, operator).await?;
        let addresses = settings.avs(&conn).await?;
        let s = avs::status(&conn, &addresses, operator).await?;
        println!("Operator: {}", s.operator);
        println!("Service manager: {}", addresses.mach_service_manager);
        println!("EigenLayer operator: {}", yes_no(s.el_operator));
        println!("Opted in: {}", yes_no(s.registered));
        if s.operator_id != alloy::primitives::B256::ZERO {
            println!("Operator ID: {}", s.operator_id);
        }
        for (quorum, stake) in &s.stakes {
            println!("Quorum {quorum}: stake {stake}");
        }
        let allowlist = match (s.allowlist_enabled, s.allowlisted) {
            (false, _) => "disabled (anyone may opt in)",
            (true, true) => "enabled; operator is allowlisted",
            (true, false) => "enabled; operator is NOT allowlisted (ask the AVS team)",
        };
        println!("Allowlist: {allowlist}");
        if s.paused_flags.is_zero() {
            println!("Paused: no");
        } else {
            println!(
                "Paused: yes (flags {:#x}): opting in and out of the last quorum wait for the AVS team to unpause",
                s.paused_flags
            );
        }
        Ok(())
    })
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
