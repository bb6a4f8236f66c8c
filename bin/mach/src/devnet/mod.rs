//! `mach devnet …`: deploy EigenLayer + MACH to an L1 (local anvil or a public testnet), and run
//! a whole MACH network on this machine (`up`, `fault`, `status`, `down`).

mod ctl;
pub mod record;
mod up;

use anyhow::Result;
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
    /// Run a whole MACH network locally: an L1 and a rollup (anvil), EigenLayer and MACH
    /// deployed, N operators registered and opted in, the aggregator, and per operator a node
    /// and a verifier, with a load on the rollup. Writes DIR/devnet.json when ready.
    Up(up::UpArgs),
    /// Stop the devnet started with `mach devnet up` in DIR, and every process it started.
    Down(ctl::DirArgs),
    /// Act as a malicious sequencer: change the rollup's state between two blocks and print the
    /// block that became invalid; the operators alert it and the aggregator confirms on L1.
    Fault(ctl::FaultArgs),
    /// Heads, validated heads, node health, and the alerts confirmed on L1 with their latency.
    Status(ctl::StatusArgs),
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
    match cmd {
        DevnetCommand::Deploy(args) => crate::operator::block_on(deploy(args)),
        DevnetCommand::Up(args) => up::up(args),
        DevnetCommand::Down(args) => ctl::down(args),
        DevnetCommand::Fault(args) => ctl::fault(args),
        DevnetCommand::Status(args) => ctl::status(args),
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
