//! `mach verifier …`: block validation. Without a subcommand it follows a rollup
//! (`--config mach-config.toml --genesis-config genesis.json`); `fixture` runs the Ethereum test
//! suite's BlockchainTests through the same validator.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use mach_verifier::schedule::ScheduleSource;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct VerifierArgs {
    #[command(subcommand)]
    command: Option<VerifierCommand>,
    /// The verifier configuration (reference `mach-config.toml`; old section names accepted).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The rollup's geth-style genesis file (its `config` gives the chain rules).
    #[arg(long, value_name = "FILE")]
    genesis_config: Option<PathBuf>,
    /// Directory of the verifier's store (progress and unsent alerts).
    #[arg(long, value_name = "DIR", default_value = "verifier-db")]
    db: PathBuf,
    /// Validate from the block after this one on a fresh store [default: the latest block].
    #[arg(long, value_name = "N")]
    start_block: Option<u64>,
    /// The AVS name put in alerts (leave empty when [operator].url ends in /<avs_name>).
    #[arg(long, default_value = "")]
    avs_name: String,
    /// Where the OP Stack fork schedule comes from: the genesis file (checked against the
    /// bundled Superchain registry; strict and safe mode refuse to start when they differ), or
    /// the registry's entry for the chain ID.
    #[arg(long, value_enum, default_value_t = ChainRulesSource::Genesis)]
    chain_rules: ChainRulesSource,
}

/// `--chain-rules`: which OP Stack fork schedule to validate by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ChainRulesSource {
    /// The genesis file's, checked against the Superchain registry.
    Genesis,
    /// The Superchain registry's for the genesis file's chain ID.
    Registry,
}

impl From<ChainRulesSource> for ScheduleSource {
    fn from(source: ChainRulesSource) -> Self {
        match source {
            ChainRulesSource::Genesis => Self::Genesis,
            ChainRulesSource::Registry => Self::Registry,
        }
    }
}

/// The chain rules to validate by: the genesis file's, settled against the bundled Superchain
/// registry by `source` (see `mach_verifier::schedule`). `judges_blocks` (strict and safe
/// mode) makes a genesis file that differs from the registry an error. Logs where the schedule
/// came from.
pub fn chain_rules(
    genesis: &Path,
    source: ChainRulesSource,
    judges_blocks: bool,
) -> Result<mach_verifier::ChainRules> {
    let genesis_text = std::fs::read_to_string(genesis)
        .with_context(|| format!("cannot read {}", genesis.display()))?;
    let rules = mach_verifier::ChainRules::from_genesis_json(&genesis_text)
        .with_context(|| format!("{} is not a usable genesis file", genesis.display()))?;
    let resolved = mach_verifier::schedule::resolve(rules, source.into(), judges_blocks)
        .with_context(|| format!("chain rules from {}", genesis.display()))?;
    if resolved.warning {
        tracing::warn!("{}", resolved.note);
    } else {
        tracing::info!("{}", resolved.note);
    }
    Ok(resolved.rules)
}

pub fn main(args: VerifierArgs) -> Result<()> {
    if let Some(cmd) = args.command {
        return run(cmd);
    }
    let (Some(config), Some(genesis)) = (&args.config, &args.genesis_config) else {
        bail!("pass --config mach-config.toml and --genesis-config genesis.json (or a subcommand, e.g. `mach verifier fixture`)");
    };
    let config = mach_verifier::live::VerifierConfig::load(config)?;
    let judges_blocks = config.validator.mode != mach_verifier::live::Mode::Unsafe;
    let rules = chain_rules(genesis, args.chain_rules, judges_blocks)?;
    crate::operator::block_on(follow(
        config,
        rules,
        args.db,
        args.start_block,
        args.avs_name,
    ))
}

async fn follow(
    config: mach_verifier::live::VerifierConfig,
    rules: mach_verifier::ChainRules,
    db: PathBuf,
    start_block: Option<u64>,
    avs_name: String,
) -> Result<()> {
    use mach_verifier::live::follow::{follow, Follower, NoSink, OnError, Pace};
    use std::sync::Arc;
    let interval = std::time::Duration::from_millis(config.collector.interval_ms);
    let retry = std::time::Duration::from_millis(config.scheduler.retry_wait_timout_ms);
    let store = mach_verifier::live::store::Store::open(&db)?;
    let resumed = store.last_validated()?;
    tracing::info!(mode = ?config.validator.mode, rpc = %config.collector.url, chain_id = rules.chain_id, db = %db.display(), resumed = ?resumed.map(|b| b.number), "verifier started");
    let prometheus = config.clone();
    let follower = Arc::new(Follower::new(config, rules, store, &avs_name).await?);
    mach_verifier::live::metrics::serve(&prometheus, follower.metrics().clone()).await?;
    let start = match (resumed, start_block) {
        (Some(_), _) => 0,
        (None, Some(n)) => n,
        (None, None) => follower.latest().await?,
    };
    let mut supervisor = mach_runtime::Supervisor::new();
    supervisor.spawn_loop(
        "rollup head watcher",
        watch_heads(follower.clone(), start, interval),
    );
    let shutdown = supervisor.shutdown();
    let pace = Pace {
        up_to_date: interval,
        undecided: retry,
        on_error: OnError::Stop,
    };
    supervisor.spawn("block follower", async move {
        let mut sink = NoSink;
        tokio::select! {
            _ = shutdown.cancelled() => Ok(()),
            result = follow(&follower, start, pace, &mut sink) => result.map(|never| match never {}),
        }
    });
    Ok(supervisor.run().await?)
}

/// Validated block hashes kept below the finalized block, for reorg checks.
const KEEP_BELOW_FINALIZED: u64 = 256;

/// Every `interval`: reads the rollup's latest and finalized blocks, logs each when it changes
/// (`Latest block #N(hash)`, `Finalized block #N(hash)`) with the validation backlog (counted
/// from `start` until the first block is validated), sets the head gauges and the RPC-error
/// counter, and prunes the store's validated hashes below the finalized block (less
/// [`KEEP_BELOW_FINALIZED`]). Runs until the runtime ends; a failed read is only asked again at
/// the next tick. An RPC that rejects the `finalized` tag is not asked for it again.
async fn watch_heads(
    follower: std::sync::Arc<mach_verifier::live::follow::Follower>,
    start: u64,
    interval: std::time::Duration,
) {
    let rpc = follower.rpc();
    let metrics = follower.metrics();
    let mut latest_seen = None;
    let mut finalized_seen = None;
    let mut ask_finalized = true;
    let mut finalized_noted = false;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match head(rpc, "latest").await {
            Ok((number, hash)) => {
                metrics.latest(number);
                if latest_seen != Some(number) {
                    latest_seen = Some(number);
                    tracing::info!("Latest block #{number}({hash})");
                    if let Ok(validated) = follower.store().last_validated() {
                        let validated = validated.map_or(start, |b| b.number);
                        let waiting = number.saturating_sub(validated);
                        if waiting > 0 {
                            tracing::info!(
                                "There are {waiting} block validation tasks waiting for result"
                            );
                        }
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot read the latest block; asking again"),
        }
        if ask_finalized {
            match head(rpc, "finalized").await {
                Ok((number, hash)) => {
                    metrics.finalized(number);
                    if finalized_seen != Some(number) {
                        finalized_seen = Some(number);
                        tracing::info!("Finalized block #{number}({hash})");
                        prune(follower.store(), number);
                    }
                }
                Err(e) => {
                    if !finalized_noted {
                        finalized_noted = true;
                        tracing::debug!(error = %e, "the rollup RPC gives no finalized block; the finalized gauge waits and validated hashes are kept");
                    }
                    // A rejected method or tag will stay rejected: stop asking.
                    ask_finalized = e.retryable();
                }
            }
        }
        metrics.rpc_errors(rpc.failures());
    }
}

/// The number and hash of the rollup's `tag` block (`latest`, `finalized`).
async fn head(
    rpc: &mach_verifier::live::rpc::RollupRpc,
    tag: &'static str,
) -> Result<(u64, alloy::primitives::B256), mach_verifier::live::rpc::RpcFailure> {
    let block: serde_json::Value = rpc
        .call("eth_getBlockByNumber", serde_json::json!([tag, false]))
        .await?;
    let number = block["number"]
        .as_str()
        .and_then(|n| n.strip_prefix("0x"))
        .and_then(|n| u64::from_str_radix(n, 16).ok());
    let hash = block["hash"].as_str().and_then(|h| h.parse().ok());
    number.zip(hash).ok_or_else(|| {
        mach_verifier::live::rpc::RpcFailure::Malformed(format!(
            "the {tag} block has no readable number and hash"
        ))
    })
}

/// Drops validated hashes below the finalized block, keeping [`KEEP_BELOW_FINALIZED`] under it
/// (and under the newest validated block, if validation is behind).
fn prune(store: &mach_verifier::live::store::Store, finalized: u64) {
    let Ok(Some(validated)) = store.last_validated() else {
        return;
    };
    let below = finalized
        .min(validated.number)
        .saturating_sub(KEEP_BELOW_FINALIZED);
    if below > 0 {
        if let Err(e) = store.prune_below(below) {
            tracing::warn!(error = %e, below, "cannot prune the store's validated hashes");
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum VerifierCommand {
    /// Run fixture files (or directories searched recursively for `.json` and `.json.gz`)
    /// through the block validator: Ethereum BlockchainTests files and real OP Stack blocks,
    /// told apart by their content.
    ///
    /// Prints `PASS name` or `FAIL name: reason` per test case and a last line
    /// `N passed, M failed`; exits non-zero unless every case passed. A BlockchainTests case
    /// passes when each block without `expectException` is accepted, each block with it is
    /// rejected, and the chain ends at `lastblockhash`. An OP Stack block passes when the block
    /// rebuilt from its parent and payload attributes on its witness hashes to
    /// `expected_block_hash` and the validator accepts it (or, with `"expect": "invalid"`, when
    /// it is rejected; with `"expect": "undecided"`, when it cannot be decided).
    Fixture {
        /// Fixture files or directories, e.g. crates/verifier/tests/data/op-stack.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Also print, under each case, every block the validator rejected and why.
        #[arg(long, short)]
        verbose: bool,
    },
}

pub fn run(cmd: VerifierCommand) -> Result<()> {
    match cmd {
        VerifierCommand::Fixture { paths, verbose } => {
            let stdout = std::io::stdout();
            let summary = mach_verifier::fixture::run_paths(&paths, |result| {
                let mut out = stdout.lock();
                let _ = writeln!(out, "{result}");
                if verbose {
                    for r in &result.rejections {
                        let expected = r.expected.as_deref().unwrap_or("no exception");
                        let _ = writeln!(
                            out,
                            "  block {} rejected (fixture expects {expected}): {}",
                            r.block, r.reason
                        );
                    }
                }
            })?;
            println!("{summary}");
            if summary.failed > 0 {
                bail!(
                    "{} of {} test cases failed",
                    summary.failed,
                    summary.passed + summary.failed
                );
            }
            Ok(())
        }
    }
}
