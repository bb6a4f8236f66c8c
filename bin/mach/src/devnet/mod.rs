//! `mach devnet …`: deploy EigenLayer + MACH to an L1 (local anvil or a public testnet).

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use mach_devnet::deploy::{DeployConfig, DEFAULT_ROLLUP_CHAIN_ID};
use std::path::PathBuf;

use alloy::primitives::Address;

#[derive(Subcommand, Debug)]
pub enum DevnetCommand {
    /// Deploy EigenLayer core and middleware, a restaking token and strategy, and the
    /// MachServiceManager to an L1, and write the deployment record.
    ///
    /// Contracts are deployed behind proxies as EigenLayer deploys them; the deploying account
    /// owns them and, unless told otherwise, is the alert confirmer and the allowlist's
    /// whitelister. Quorum 0 weighs the strategy's shares.
    Deploy(DeployArgs),
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// L1 JSON-RPC endpoint.
    #[arg(long, env = "ETH_RPC_URL", value_name = "URL")]
    rpc_url: String,
    #[command(flatten)]
    key: crate::keys::AccountKey,
    /// Chain ID of the rollup the service manager watches.
    #[arg(long, default_value_t = DEFAULT_ROLLUP_CHAIN_ID)]
    rollup_chain_id: u64,
    /// Where to write the deployment record.
    #[arg(long, default_value = "deployment.json", value_name = "FILE")]
    out: PathBuf,
    /// Account allowed to call confirmAlert (the aggregator's) [default: the deployer].
    #[arg(long, value_name = "ADDRESS")]
    alert_confirmer: Option<Address>,
    /// Account that manages the operator allowlist [default: the deployer].
    #[arg(long, value_name = "ADDRESS")]
    whitelister: Option<Address>,
    /// Minimum stake to join quorum 0 (strategy shares, 18 decimals).
    #[arg(long, default_value_t = 0)]
    min_stake: u128,
    /// Most operators quorum 0 admits.
    #[arg(long, default_value_t = DeployConfig::default().max_operator_count)]
    max_operators: u32,
}

pub fn run(cmd: DevnetCommand) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    match cmd {
        DevnetCommand::Deploy(args) => runtime.block_on(deploy(args)),
    }
}

async fn deploy(args: DeployArgs) -> Result<()> {
    let signer = args.key.signer()?;
    let conn = mach_chain::connect(&args.rpc_url, signer).await?;
    tracing::info!(
        rpc = %conn.url,
        chain_id = conn.chain_id,
        deployer = %conn.sender,
        rollup_chain_id = args.rollup_chain_id,
        "deploying EigenLayer and MACH"
    );
    let config = DeployConfig {
        rollup_chain_id: args.rollup_chain_id,
        alert_confirmer: args.alert_confirmer,
        whitelister: args.whitelister,
        min_stake: args.min_stake,
        max_operator_count: args.max_operators,
        ..DeployConfig::default()
    };
    let started = std::time::Instant::now();
    let deployment = mach_devnet::deploy(&conn, &config).await?;
    deployment.save(&args.out)?;
    println!(
        "Deployed EigenLayer and MACH to chain {} in {:.1} s; record written to {}",
        deployment.l1_chain_id,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    println!(
        "MachServiceManager:     {}",
        deployment.mach_service_manager
    );
    println!(
        "RegistryCoordinator:    {}",
        deployment.registry_coordinator
    );
    println!(
        "OperatorStateRetriever: {}",
        deployment.operator_state_retriever
    );
    println!(
        "Strategy (token {}): {}",
        deployment.token, deployment.strategy
    );
    Ok(())
}
