//! The live verifier as a service: what `mach verifier --config … --genesis-config …` runs,
//! started from the library.
//!
//! [`chain_rules`] settles the rules to validate by from the genesis file and the Superchain
//! registry; [`start`] opens the store, connects to the rollup, serves the metrics and hands the
//! two critical tasks to the caller's [`Supervisor`]: the block follower (alerts and work proofs
//! to the node) and the head watcher (head gauges, progress logs, store pruning).

use crate::follow::{follow, Follower, NoSink, OnError, Pace};
use crate::store::Store;
use crate::{Mode, VerifierConfig};
use alloy_primitives::B256;
use mach_jsonrpc::{CallError, Client};
use mach_runtime::Supervisor;
use mach_verifier::schedule::{self, ScheduleSource};
use mach_verifier::ChainRules;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Validated block hashes kept below the finalized block, for reorg checks.
const KEEP_BELOW_FINALIZED: u64 = 256;

/// Everything the verifier runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `mach-config.toml`.
    pub config: VerifierConfig,
    /// The rollup's chain rules ([`chain_rules`]).
    pub rules: ChainRules,
    /// Directory of the store (progress and unsent alerts).
    pub db: PathBuf,
    /// Validate from the block after this one on a fresh store (the latest block when `None`).
    pub start_block: Option<u64>,
    /// The AVS name put in alerts (empty when `[operator].url` ends in `/<avs_name>`).
    pub avs_name: String,
}

/// Why the verifier could not start; the message names the part and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// `context: e` with `e`'s sources ([`mach_primitives::error_text`]).
fn failed(context: Option<String>, e: &dyn std::error::Error) -> StartError {
    let text = mach_primitives::error_text(e);
    StartError(match context {
        Some(context) => format!("{context}: {text}"),
        None => text,
    })
}

/// The chain rules to validate by: the genesis file's, settled against the bundled Superchain
/// registry by `source` (see [`mach_verifier::schedule`]). `judges_blocks` (strict and safe
/// mode) makes a genesis file that differs from the registry an error. Logs where the schedule
/// came from.
pub fn chain_rules(
    genesis: &Path,
    source: ScheduleSource,
    judges_blocks: bool,
) -> Result<ChainRules, StartError> {
    let genesis_text = std::fs::read_to_string(genesis)
        .map_err(|e| failed(Some(format!("cannot read {}", genesis.display())), &e))?;
    let rules = ChainRules::from_genesis_json(&genesis_text).map_err(|e| {
        let context = format!("{} is not a usable genesis file", genesis.display());
        failed(Some(context), &e)
    })?;
    let resolved = schedule::resolve(rules, source, judges_blocks)
        .map_err(|e| failed(Some(format!("chain rules from {}", genesis.display())), &e))?;
    if resolved.warning {
        tracing::warn!("{}", resolved.note);
    } else {
        tracing::info!("{}", resolved.note);
    }
    Ok(resolved.rules)
}

/// Whether a verifier in `mode` judges blocks (strict and safe mode), so that its chain rules
/// must agree with the registry.
pub fn judges_blocks(mode: Mode) -> bool {
    mode != Mode::Unsafe
}

/// Starts the verifier under `supervisor`: opens the store, connects to the rollup, serves the
/// metrics, and spawns the block follower and the head watcher. The caller runs the supervisor
/// (`supervisor.run_until(mach_runtime::signal()).await`, with the signal taken before starting).
pub async fn start(settings: Settings, supervisor: &mut Supervisor) -> Result<(), StartError> {
    let Settings {
        config,
        rules,
        db,
        start_block,
        avs_name,
    } = settings;
    let interval = Duration::from_millis(config.collector.interval_ms);
    let retry = Duration::from_millis(config.scheduler.retry_wait_timout_ms);
    let store = Store::open(&db).map_err(|e| failed(None, &e))?;
    let resumed = store.last_validated().map_err(|e| failed(None, &e))?;
    tracing::info!(mode = ?config.validator.mode, rpc = %config.collector.url, chain_id = rules.chain_id, db = %db.display(), resumed = ?resumed.map(|b| b.number), "verifier started");
    let prometheus = config.clone();
    let follower = Follower::new(config, rules, store, &avs_name)
        .await
        .map_err(|e| failed(None, &e))?;
    let follower = Arc::new(follower);
    crate::metrics::serve(&prometheus, follower.metrics().clone())
        .await
        .map_err(|e| failed(None, &e))?;
    let start = match (resumed, start_block) {
        (Some(_), _) => 0,
        (None, Some(n)) => n,
        (None, None) => follower.latest().await.map_err(|e| failed(None, &e))?,
    };
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
    Ok(())
}

/// Every `interval`: reads the rollup's latest and finalized blocks, logs each when it changes
/// (`Latest block #N(hash)`, `Finalized block #N(hash)`) with the validation backlog (counted
/// from `start` until the first block is validated), sets the head gauges and the RPC-error
/// counter, and prunes the store's validated hashes below the finalized block (less
/// [`KEEP_BELOW_FINALIZED`]). Runs until the runtime ends; a failed read is only asked again at
/// the next tick. An RPC that rejects the `finalized` tag is not asked for it again.
async fn watch_heads(follower: Arc<Follower>, start: u64, interval: Duration) {
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
async fn head(rpc: &Client, tag: &'static str) -> Result<(u64, B256), CallError> {
    let block: serde_json::Value = rpc
        .call("eth_getBlockByNumber", serde_json::json!([tag, false]))
        .await?;
    let number = block["number"]
        .as_str()
        .and_then(|n| n.strip_prefix("0x"))
        .and_then(|n| u64::from_str_radix(n, 16).ok());
    let hash = block["hash"].as_str().and_then(|h| h.parse().ok());
    number.zip(hash).ok_or_else(|| CallError::Malformed {
        url: rpc.url().to_string(),
        reason: format!("the {tag} block has no readable number and hash"),
    })
}

/// Drops validated hashes below the finalized block, keeping [`KEEP_BELOW_FINALIZED`] under it
/// (and under the newest validated block, if validation is behind).
fn prune(store: &Store, finalized: u64) {
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
