//! `mach opt-in`, `mach opt-out`, `mach avs status`: the operator and the MACH AVS, configured
//! by the variables of the reference `.env.opt`.

use anyhow::Result;
use clap::Args;
use mach_chain::avs;
use mach_chain::optin::{OptFlags, OptSettings};
use mach_node::signer::BlsSigner;
use mach_runtime::block_on;
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
    /// The operator's ECDSA signer; --ecdsa-key-file overrides NODE_ECDSA_KEY_FILE_HOST, and
    /// the env file's MACH_* signer variables work as the flags' do. Default: the key file
    /// NODE_ECDSA_KEY_FILE_HOST with OPERATOR_ECDSA_KEY_PASSWORD.
    #[command(flatten)]
    signer: crate::keys::SignerArgs,
    /// BLS key file (NODE_BLS_KEY_FILE_HOST); with NODE_BLS_SIGNER=cerberus the key stays in
    /// Cerberus (NODE_BLS_CERBERUS_*) and this is not used.
    #[arg(long, value_name = "FILE")]
    bls_key_file: Option<PathBuf>,
}

impl OptArgs {
    /// The settings, the flags over the env file's variables.
    fn settings(&self) -> Result<OptSettings> {
        Ok(OptSettings::load(&OptFlags {
            env_file: self.env_file.clone(),
            avs_deployment: self.avs_deployment.clone(),
            quorums: self.quorums.clone(),
            rpc_url: self.rpc_url.clone(),
            signer: self.signer.choice(),
            bls_key_file: self.bls_key_file.clone(),
        })?)
    }
}

pub fn opt_in(args: OptArgs) -> Result<()> {
    block_on(async move {
        let settings = args.settings()?;
        let signer = settings.signer(args.signer.timeout()).await?;
        let bls = bls_key(&settings)?;
        let conn = mach_chain::connect(&settings.rpc_url, signer).await?;
        let addresses = settings.avs(&conn).await?;
        let socket = settings.env.get("OPERATOR_SOCKET").unwrap_or_default();
        avs::opt_in(&conn, &bls, &addresses, &settings.quorums, &socket).await?;
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
        let settings = args.settings()?;
        let signer = settings.signer(args.signer.timeout()).await?;
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
        let settings = args.settings()?;
        let operator = settings.operator(operator)?;
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

/// The BLS key to register: the key file, or the key in Cerberus when the env file says
/// `NODE_BLS_SIGNER=cerberus` (read as the node reads it).
fn bls_key(settings: &OptSettings) -> Result<BlsSigner> {
    use mach_node::config::{bls_signer_config, BlsSignerConfig};
    match bls_signer_config(&|name| settings.env.get(name))? {
        BlsSignerConfig::Cerberus(cerberus) => {
            Ok(mach_node::cerberus::CerberusSigner::new(cerberus)?.into())
        }
        BlsSignerConfig::Keystore => Ok(settings.bls_key()?.into()),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
