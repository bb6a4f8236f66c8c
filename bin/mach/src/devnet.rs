//! `mach devnet …`: deploy EigenLayer + MACH to an L1 (local anvil or a public testnet), and run
//! a whole MACH network on this machine (`up`, `fault`, `status`, `down`) with the supervisor of
//! `mach_devnet::up` and the commands of `mach_devnet::control`.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use mach_devnet::deploy::{DeployConfig, DEFAULT_ROLLUP_CHAIN_ID};
use mach_devnet::{control, rollup::Network, up, UpConfig};
use mach_runtime::block_on;
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
    Deploy(Box<DeployArgs>),
    /// Run a whole MACH network locally: an L1 and a rollup (anvil), EigenLayer and MACH
    /// deployed, N operators registered and opted in, the aggregator, and per operator a node
    /// and a verifier, with a load on the rollup. Writes DIR/devnet.json when ready.
    Up(UpArgs),
    /// Stop the devnet started with `mach devnet up` in DIR, and every process it started.
    Down(DirArgs),
    /// Act as a malicious sequencer: change the rollup's state between two blocks and print the
    /// block that became invalid; the operators alert it and the aggregator confirms on L1.
    Fault(FaultArgs),
    /// Heads, validated heads, node health, and the alerts confirmed on L1 with their latency.
    Status(StatusArgs),
}

#[derive(Args, Debug)]
pub struct UpArgs {
    /// The devnet directory: configs, keys, databases and logs of every component. Wiped and
    /// recreated on each `up` (only if an earlier `up` made it).
    #[arg(long, default_value = ".devnet", value_name = "DIR")]
    dir: PathBuf,
    /// Number of operators (each runs a node and a verifier).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=50))]
    operators: u16,
    /// Seconds between rollup blocks.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=60), value_name = "S")]
    block_time: u64,
    /// Load on the rollup, in transactions per second (transfers, storage writes and logs,
    /// reverts, deployments, self-destructs; deposits too on optimism).
    #[arg(long, default_value_t = 10, value_name = "TPS")]
    load: u32,
    /// What kind of rollup: `optimism` (OP Stack blocks with deposits; alerts are output root
    /// mismatches) or `ethereum` (alerts name the block hash).
    #[arg(long, default_value = "optimism", value_name = "NETWORK")]
    l2_network: Network,
    /// Keep operator0's BLS key in a Cerberus stand-in run by the devnet (Cerberus's gRPC API
    /// on 127.0.0.1, with a random API key) instead of a key file: its node signs every alert
    /// through the remote-signer path (`NODE_BLS_SIGNER=cerberus` in its `.env`), and no BLS key
    /// file is written for it.
    #[arg(long)]
    remote_bls_operator: bool,
    /// Return once the devnet is ready and leave it running; stop it with `mach devnet down`.
    #[arg(long)]
    detach: bool,
    /// Internal: run as the supervisor of a directory already prepared by `up --detach`.
    #[arg(long, hide = true)]
    supervise: bool,
}

#[derive(Args, Debug)]
pub struct DirArgs {
    /// The devnet directory given to `mach devnet up`.
    #[arg(long, default_value = ".devnet", value_name = "DIR")]
    dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct FaultArgs {
    /// Which state the malicious sequencer changes between two blocks: balance, storage, code
    /// or nonce.
    #[arg(long, value_name = "KIND")]
    kind: mach_devnet::rollup::FaultKind,
    #[command(flatten)]
    dir: DirArgs,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// L1 JSON-RPC endpoint.
    #[arg(long, env = "ETH_RPC_URL", value_name = "URL")]
    rpc_url: String,
    /// The deployer's signer (it owns the contracts and pays for the deployment).
    #[command(flatten)]
    signer: crate::keys::SignerArgs,
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
        DevnetCommand::Deploy(args) => block_on(deploy(*args)),
        DevnetCommand::Up(args) => {
            let config = UpConfig {
                dir: args.dir,
                operators: args.operators,
                block_time: args.block_time,
                load: args.load,
                l2_network: args.l2_network,
                mach: std::env::current_exe().context("cannot find the mach binary")?,
                remote_bls_operator: args.remote_bls_operator,
            };
            match (args.supervise, args.detach) {
                (true, _) => up::supervise(&config),
                (false, true) => {
                    print!("{}", up::detach(&config)?.ready_text());
                    Ok(())
                }
                (false, false) => up::run(&config),
            }
        }
        DevnetCommand::Down(DirArgs { dir }) => {
            let down = control::down(&dir);
            if down.supervisor.is_none() {
                let stopped = match down.leftovers {
                    0 => String::new(),
                    n => format!(" (stopped {n} leftover processes)"),
                };
                println!("no devnet is running in {}{stopped}", dir.display());
                return Ok(());
            }
            if let (true, Some(pid)) = (down.killed, down.supervisor) {
                eprintln!(
                    "the devnet supervisor (process {pid}) did not stop within 30 s; killing it"
                );
            }
            if down.leftovers > 0 {
                eprintln!(
                    "killed {} processes the supervisor left behind",
                    down.leftovers
                );
            }
            println!("devnet in {} stopped", dir.display());
            Ok(())
        }
        DevnetCommand::Fault(FaultArgs { kind, dir }) => {
            let fault = block_on(control::fault(&dir.dir, kind))?;
            println!("{}", fault.description);
            println!(
                "invalid block: #{} ({})",
                fault.invalid_block, fault.invalid_block_hash
            );
            println!(
                "watch its alert with `mach devnet status --dir {}`",
                dir.dir.display()
            );
            Ok(())
        }
        DevnetCommand::Status(args) => {
            let status = block_on(control::status(&args.dir.dir))?;
            match args.json {
                true => println!("{}", serde_json::to_string_pretty(&status)?),
                false => print!("{status}"),
            }
            Ok(())
        }
    }
}

async fn deploy(args: DeployArgs) -> Result<()> {
    let signer = args.signer.signer().await?;
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
