//! `mach rpc`: the finality RPC for dApps, bridges and exchanges (see `crates/finality`), and
//! `mach rpc reset`, which closes its circuit breaker.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use mach_finality::service::Settings;
use mach_finality::{BreakerMode, Options, TagSource};
use mach_runtime::block_on;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RpcArgs {
    #[command(subcommand)]
    command: Option<RpcCommand>,
    /// The verifier configuration (reference `mach-config.toml`): its `[collector]` names the
    /// rollup RPC. `[operator]` is ignored: the finality RPC never alerts.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The rollup's genesis file (its chain rules).
    #[arg(long, value_name = "FILE")]
    genesis_config: Option<PathBuf>,
    /// The L1 JSON-RPC, where alerts are confirmed.
    #[arg(long, env = "ETH_RPC_URL", value_name = "URL")]
    l1_rpc: Option<String>,
    /// The rollup's MachServiceManager on L1.
    #[arg(long, value_name = "ADDRESS")]
    service_manager: Option<alloy::primitives::Address>,
    /// Where to serve JSON-RPC over HTTP and WebSocket. Bind a public address only behind a
    /// proxy you trust: the reset method is accepted from loopback peers only.
    #[arg(long, default_value = "127.0.0.1:8547", value_name = "ADDR")]
    listen: SocketAddr,
    /// `Host` names answered, comma-separated (`*` for any); others get HTTP 403. Add the
    /// name clients use when the RPC is behind a load balancer.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "localhost,127.0.0.1,::1",
        value_name = "HOSTS"
    )]
    rpc_vhosts: Vec<String>,
    /// Browser origins allowed to call the RPC (CORS), comma-separated (`*` for any); by
    /// default none: requests carrying another `Origin` are refused.
    #[arg(long, value_delimiter = ',', value_name = "ORIGINS")]
    rpc_cors: Vec<String>,
    /// Directory of the verifier's progress and the finality state.
    #[arg(long, default_value = "mach-rpc-db", value_name = "DIR")]
    db: PathBuf,
    /// Validate from the block after this one on a fresh store [default: the latest block].
    #[arg(long, value_name = "N")]
    start_block: Option<u64>,
    /// Whose view the `safe` block tag takes: MACH's finalized head, or the rollup's own.
    #[arg(long, value_enum, default_value_t = Source::Mach)]
    safe_tag: Source,
    /// Whose view the `finalized` block tag takes.
    #[arg(long, value_enum, default_value_t = Source::Rollup)]
    finalized_tag: Source,
    /// What an open circuit breaker does to state reads: refuse them, or only warn.
    #[arg(long, value_enum, default_value_t = Breaker::Enforce)]
    breaker: Breaker,
    /// Where the OP Stack fork schedule comes from (as `mach verifier --chain-rules`): the
    /// genesis file, which must agree with the bundled Superchain registry, or the registry.
    #[arg(long, value_enum, default_value_t = crate::verifier::ChainRulesSource::Genesis)]
    chain_rules: crate::verifier::ChainRulesSource,
}

#[derive(Subcommand, Debug)]
enum RpcCommand {
    /// Close the circuit breaker of a running `mach rpc` (acknowledging the alerts and invalid
    /// blocks seen so far); must run on the same machine.
    Reset {
        /// The finality RPC's URL.
        #[arg(long, default_value = "http://127.0.0.1:8547", value_name = "URL")]
        url: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Source {
    Mach,
    Rollup,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Breaker {
    Enforce,
    Warn,
}

pub fn main(args: RpcArgs) -> Result<()> {
    if let Some(RpcCommand::Reset { url }) = args.command {
        return block_on(reset(url));
    }
    let (Some(config), Some(genesis), Some(l1_rpc), Some(service_manager)) = (
        &args.config,
        &args.genesis_config,
        args.l1_rpc,
        args.service_manager,
    ) else {
        bail!("pass --config mach-config.toml --genesis-config genesis.json --l1-rpc URL --service-manager ADDRESS (or `mach rpc reset`)");
    };
    let mut verifier = mach_verifier_live::VerifierConfig::load(config)?;
    verifier.operator.enable = false;
    verifier.validator.mode = mach_verifier_live::Mode::Strict;
    let tag = |source| match source {
        Source::Mach => TagSource::Mach,
        Source::Rollup => TagSource::Rollup,
    };
    let settings = Settings {
        rules: mach_verifier_live::service::chain_rules(genesis, args.chain_rules.into(), true)?,
        options: Options {
            rollup_url: verifier.collector.url.clone(),
            safe: tag(args.safe_tag),
            finalized: tag(args.finalized_tag),
            breaker: match args.breaker {
                Breaker::Enforce => BreakerMode::Enforce,
                Breaker::Warn => BreakerMode::Warn,
            },
        },
        verifier,
        l1_rpc,
        service_manager,
        db: args.db,
        start_block: args.start_block,
        listen: args.listen,
        access: mach_jsonrpc::http::Access {
            vhosts: args.rpc_vhosts,
            cors: args.rpc_cors,
        },
        limits: mach_jsonrpc::http::Limits::from_env().map_err(anyhow::Error::msg)?,
    };
    block_on(async move {
        // Listen first: a signal while starting stops the process in order.
        let stop = mach_runtime::signal();
        let mut supervisor = mach_runtime::Supervisor::new();
        mach_finality::service::start(settings, &mut supervisor).await?;
        Ok(supervisor.run_until(stop).await?)
    })
}

async fn reset(url: String) -> Result<()> {
    let client = mach_jsonrpc::Client::new(&url, Duration::from_secs(10));
    let answer: serde_json::Value = client
        .call("mach_resetCircuitBreaker", serde_json::json!([]))
        .await
        .with_context(|| format!("the finality RPC at {url} did not reset its circuit breaker"))?;
    match answer.get("reason").and_then(|r| r.as_str()) {
        Some(reason) => println!("circuit breaker closed (it was open: {reason})"),
        None => println!("the circuit breaker was not open"),
    }
    Ok(())
}
