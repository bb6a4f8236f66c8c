//! `mach`: the one binary of MACH in Rust. It parses arguments and hands each subcommand to the
//! crate that owns the role.

mod aggregator;
mod avs;
mod bench;
mod devnet;
mod doctor;
mod keys;
mod node;
mod operator;
mod rpc;
mod verifier;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// MACH AVS in Rust: fast finality for Ethereum rollups, run by EigenLayer operators.
///
/// Operators re-validate every rollup block; when a block is invalid they BLS-sign an alert, an
/// aggregator collects signatures from enough stake and confirms the alert on Ethereum. Start
/// with `mach keys create` (step one of the operator guide).
///
/// Logs go to standard error; set RUST_LOG (for example RUST_LOG=debug) to change the level.
#[derive(Parser, Debug)]
#[command(name = "mach", version, about, long_about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create, list, show, import and export operator keys (files compatible with the
    /// `eigenlayer` CLI).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Register with EigenLayer as an operator (step two of the operator guide).
    #[command(subcommand)]
    Operator(operator::OperatorCommand),
    /// Run the operator node: alert JSON-RPC, EigenLayer node API and metrics, signing alerts
    /// for the aggregator. Configured by the reference `.env` variables and `avs_configs.json`.
    Node(node::NodeArgs),
    /// Run the operator proxy: route `/<avs_name>` to the node and forward one work proof in
    /// `work_proofs_mod` blocks (reference `operator_proxy.yaml`).
    Proxy(node::ProxyArgs),
    /// Run the aggregator (AVS teams): collect operators' signatures on alert tasks and confirm
    /// alerts on L1 once the quorum thresholds are met.
    Aggregator(aggregator::AggregatorArgs),
    /// Opt in to the MACH AVS: register the BLS key with the AVS's RegistryCoordinator.
    ///
    /// Reads the reference `.env.opt` variables (AVS_REGISTRY_COORDINATOR_ADDRESS, ETH_RPC_URL,
    /// LAYER1_CHAIN_ID, NODE_ECDSA_KEY_FILE_HOST, NODE_BLS_KEY_FILE_HOST, the two key passwords,
    /// REG_QUORUM_NUMBERS, OPERATOR_SOCKET). Everything that would make the transaction fail is
    /// checked and explained before it is sent.
    OptIn(avs::OptArgs),
    /// Opt out of the MACH AVS (deregister from the quorums).
    OptOut(avs::OptArgs),
    /// The operator's standing with the MACH AVS.
    #[command(subcommand)]
    Avs(AvsCommand),
    /// Deploy EigenLayer and MACH to an L1, or run a whole MACH network locally (`devnet up`).
    #[command(subcommand)]
    Devnet(devnet::DevnetCommand),
    /// Measure performance figures and record them in docs/benchmarks.md.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Validate rollup blocks: with --config and --genesis-config, follow a rollup and alert on
    /// invalid blocks (reference `mach-config.toml`, strict when it sets no mode); `fixture`
    /// runs Ethereum BlockchainTests through the validator.
    Verifier(verifier::VerifierArgs),
    /// Serve the finality RPC for dApps, bridges and exchanges: the rollup's JSON-RPC with
    /// `safe` resolved to the newest block MACH validated, `mach_blockStatus`,
    /// `mach_finalizedBlock`, `mach_alerts`, and a circuit breaker that refuses state reads
    /// once an alert is confirmed on L1 or the local verifier finds an invalid block.
    Rpc(rpc::RpcArgs),
    /// Check an operator's setup before starting: env file, key files and passwords, L1 RPC and
    /// chain ID, registration and allowlist per AVS, free ports, and the verifier's config and
    /// rollup RPC. Prints `ok|FAIL <check>: <detail>` per check; exits non-zero on any FAIL.
    Doctor(doctor::DoctorArgs),
}

#[derive(Subcommand, Debug)]
enum AvsCommand {
    /// Registered or not, operator ID, quorums and stake, allowlist.
    Status {
        #[command(flatten)]
        args: avs::OptArgs,
        /// The operator to look up [default: OPERATOR_ECDSA_ADDRESS, else the ECDSA key file's].
        #[arg(long, value_name = "ADDRESS")]
        operator: Option<alloy::primitives::Address>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The devnet's console shows the supervisor's own summary (`mach_devnet::up`); the details
    // of its watcher and of the deployment are in the components' log files.
    let quiet = match &cli.command {
        Command::Devnet(devnet::DevnetCommand::Up(_)) => {
            ",mach_verifier=warn,mach_devnet=warn,mach_devnet::up=info"
        }
        _ => "",
    };
    init_logging(quiet);
    let result = match cli.command {
        Command::Keys(cmd) => keys::run(cmd),
        Command::Operator(cmd) => operator::run(cmd),
        Command::Node(args) => node::node(args),
        Command::Proxy(args) => node::proxy(args),
        Command::Aggregator(args) => aggregator::run(args),
        Command::OptIn(args) => avs::opt_in(args),
        Command::OptOut(args) => avs::opt_out(args),
        Command::Avs(AvsCommand::Status { args, operator }) => avs::status(args, operator),
        Command::Devnet(cmd) => devnet::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Verifier(args) => verifier::main(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Rpc(args) => rpc::main(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Human-readable logs on standard error (colored only on a terminal); the level comes from
/// `RUST_LOG` (default `info`, with `quiet` appended).
fn init_logging(quiet: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("info{quiet}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
