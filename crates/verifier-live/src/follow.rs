//! Following a rollup block by block: fetch the next block, check it links to the last
//! validated one (rewinding to the common ancestor after a reorg), validate it in the configured
//! mode with its pre-state over RPC, record progress, and report: a work proof for a valid
//! block, a queued alert for a provably invalid one (strict mode). A block that could not be
//! validated (RPC trouble, unsupported rule) is retried, never alerted.
//!
//! Ethereum-format and OP Stack rollups alike ([`crate::blocks`]); an invalid OP Stack block is
//! alerted with its output root and ours (`alert_blockMismatch`) when ours is known.
//!
//! While a block is validated, up to `[collector].max_fetcher - 1` of the blocks after it are
//! read ahead in tasks of their own. They are a cache, not a source of truth: each is checked
//! against its hash when taken, like a block read on demand, and linked to its parent by the
//! step that validates it, so a reorg between reading and use is still caught.

use crate::alerts::{alert, AlertSender, Evidence, NodeClient};
use crate::blocks::{evidence, fetch_block};
use crate::config::{Mode, VerifierConfig};
use crate::metrics::VerifierMetrics;
use crate::rpc_state::{PhaseClock, RpcState, StateCache};
use crate::store::{BlockRef, Store, StoreError};
use alloy_consensus::{Header, Sealed};
use alloy_primitives::B256;
use mach_jsonrpc::{CallError, Client, Retry};
use mach_verifier::header::validate_header;
use mach_verifier::witness::{ExecutionWitness, WitnessState};
use mach_verifier::{validate_block, BlockError, ChainBlock, ChainRules};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What happened to one block.
#[derive(Debug)]
pub enum Outcome {
    /// Valid (or, in unsafe mode, linked and well-formed).
    Valid(BlockRef),
    /// Proven invalid; in strict mode with alerts enabled, an alert was queued.
    Invalid(BlockRef, BlockError),
    /// Not decided (RPC trouble, unsupported rule); retried later.
    Undecided(u64, String),
    /// The chain reorganized; progress went back to this ancestor.
    Reorg(BlockRef),
    /// Nothing new to validate.
    UpToDate,
}

/// Why following stopped.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The RPC is for another chain.
    #[error("the rollup RPC {url} is chain {got} but the genesis file is chain {expected}; fix [collector].url or --genesis-config")]
    ChainId {
        /// The endpoint.
        url: String,
        /// Genesis chain ID.
        expected: u64,
        /// RPC chain ID.
        got: u64,
    },
    /// The RPC failed beyond retries.
    #[error("rollup RPC: {0}")]
    Rpc(#[from] CallError),
    /// The metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// A follower of one rollup.
pub struct Follower {
    config: VerifierConfig,
    rules: ChainRules,
    rpc: Arc<Client>,
    store: Arc<Store>,
    /// The node, for work proofs.
    node: Arc<NodeClient>,
    /// Delivers queued alerts beside validation (when alerts are sent at all).
    alerts: Option<AlertSender>,
    avs_name: String,
    retry: Retry,
    metrics: Arc<VerifierMetrics>,
    /// What the last validated block proved of its post-state, for the next block.
    carried: std::sync::Mutex<Option<StateCache>>,
    /// The newest block read, which the next step reads again as its parent.
    last_read: std::sync::Mutex<Option<(u64, ChainBlock, B256)>>,
    clock: Arc<PhaseClock>,
    /// Whether the RPC serves `debug_executionWitness` (0 not asked yet, 1 yes, 2 no).
    witness: std::sync::atomic::AtomicU8,
    /// Blocks read ahead of the one being validated.
    ahead: ReadAhead,
    /// The latest block number the RPC reported, while steps decide blocks up to it (0: ask).
    known_latest: std::sync::atomic::AtomicU64,
}

/// A block read ahead: the task fetching it, which yields it with the hash the RPC claims.
type Fetch = tokio::task::JoinHandle<Result<(ChainBlock, B256), String>>;

/// Blocks read ahead of validation, by number, fetched or still in flight; at most
/// `[collector].max_fetcher - 1` of them. Dropping one aborts its fetch.
#[derive(Default)]
struct ReadAhead(std::sync::Mutex<BTreeMap<u64, Fetch>>);

impl ReadAhead {
    fn fetches(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Fetch>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fetch of block `number`, taken out of the cache.
    fn take(&self, number: u64) -> Option<Fetch> {
        self.fetches().remove(&number)
    }

    /// Keeps the blocks in `wanted` and starts a fetch with `fetch` for each of them not
    /// fetched or in flight yet; drops the others.
    fn keep(&self, wanted: std::ops::RangeInclusive<u64>, fetch: impl Fn(u64) -> Fetch) {
        let mut fetches = self.fetches();
        fetches.retain(|number, task| {
            let keep = wanted.contains(number);
            if !keep {
                task.abort();
            }
            keep
        });
        for number in wanted {
            fetches.entry(number).or_insert_with(|| fetch(number));
        }
    }

    /// Drops every block read ahead (after a reorg).
    fn clear(&self) {
        for (_, task) in std::mem::take(&mut *self.fetches()) {
            task.abort();
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.clear();
    }
}

impl Follower {
    /// A follower over `store`; checks the RPC serves the genesis chain. `avs_name` goes into
    /// alerts (empty when the node URL names the AVS).
    pub async fn new(
        config: VerifierConfig,
        rules: ChainRules,
        store: Store,
        avs_name: &str,
    ) -> Result<Self, FollowError> {
        let rpc = Arc::new(Client::paced(
            &config.collector.url,
            config.rpc_rate(),
            std::time::Duration::from_secs(30),
        ));
        let retry = Retry::default();
        let chain_id: alloy_primitives::U64 =
            rpc.call_retrying("eth_chainId", json!([]), retry).await?;
        if chain_id.to::<u64>() != rules.chain_id {
            return Err(FollowError::ChainId {
                url: config.collector.url.clone(),
                expected: rules.chain_id,
                got: chain_id.to::<u64>(),
            });
        }
        let node = Arc::new(NodeClient::new(&config.operator.url));
        let metrics = Arc::new(VerifierMetrics::new()?);
        if let Some(last) = store.last_validated()? {
            metrics.set_validated(last.number);
        }
        let store = Arc::new(store);
        let alerts = config.sends_alerts().then(|| {
            AlertSender::start(
                node.clone(),
                &store,
                metrics.clone(),
                std::time::Duration::from_millis(config.scheduler.retry_wait_timout_ms),
            )
        });
        Ok(Self {
            config,
            rules,
            rpc,
            store,
            node,
            alerts,
            avs_name: avs_name.to_string(),
            retry,
            metrics,
            carried: std::sync::Mutex::new(None),
            last_read: std::sync::Mutex::new(None),
            known_latest: std::sync::atomic::AtomicU64::new(0),
            clock: Arc::default(),
            witness: std::sync::atomic::AtomicU8::new(0),
            ahead: ReadAhead::default(),
        })
    }

    /// The metrics this follower records (serve them with [`crate::metrics::serve`]).
    pub fn metrics(&self) -> &Arc<VerifierMetrics> {
        &self.metrics
    }

    /// The rollup RPC client (shared, so one rate limit covers every caller).
    pub fn rpc(&self) -> &Arc<Client> {
        &self.rpc
    }

    /// This follower with a rollup RPC client that waits at most `timeout` for each answer
    /// (30 s by default), for RPCs slower than that and for tests.
    pub fn with_rpc_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.rpc = Arc::new(Client::paced(
            &self.config.collector.url,
            self.config.rpc_rate(),
            timeout,
        ));
        self
    }

    /// The rollup's latest block number.
    pub async fn latest(&self) -> Result<u64, FollowError> {
        let latest: alloy_primitives::U64 = self
            .rpc
            .call_retrying("eth_blockNumber", json!([]), self.retry)
            .await?;
        Ok(latest.to::<u64>())
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Time spent fetching, executing and computing roots so far.
    pub fn phases(&self) -> &PhaseClock {
        &self.clock
    }

    async fn block(&self, number: u64) -> Result<(ChainBlock, B256), String> {
        let reread = self
            .last_read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|(n, ..)| *n == number)
            .map(|(_, block, hash)| (block.clone(), *hash));
        if let Some(read) = reread {
            return Ok(read);
        }
        let (decoded, claimed) = match self.read_ahead(number).await {
            Some(read) => read,
            None => {
                let started = std::time::Instant::now();
                let fetched = fetch_block(&self.rpc, &self.rules, number, self.retry).await;
                self.clock.add_block_fetch(started.elapsed());
                fetched?
            }
        };
        if let Err(e) = source_consistency(&decoded, claimed) {
            tracing::error!(rpc = %self.rpc.url(), block = %format!("#{number}({claimed})"), rule = e.rule(), reason = %e, "the rollup RPC is inconsistent: its block does not match its own hash; not a verdict on the block, asking again");
            return Err(format!(
                "the rollup RPC is inconsistent about block #{number}({claimed}), rule {}: {e}",
                e.rule()
            ));
        }
        *self.last_read.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((number, decoded.clone(), claimed));
        Ok((decoded, claimed))
    }

    /// Block `number` as read ahead, waiting for it when its fetch is still in flight (that wait
    /// counts as block fetching; the fetch time it overlapped does not). `None` when it was not
    /// read ahead or its fetch failed: the caller then reads it on demand.
    async fn read_ahead(&self, number: u64) -> Option<(ChainBlock, B256)> {
        let fetch = self.ahead.take(number)?;
        let started = std::time::Instant::now();
        let fetched = fetch.await;
        self.clock.add_block_fetch(started.elapsed());
        match fetched {
            Ok(Ok(read)) => Some(read),
            Ok(Err(e)) => {
                tracing::debug!(block = number, error = %e, "block read ahead failed; reading it again");
                None
            }
            Err(e) => {
                tracing::debug!(block = number, error = %e, "block read ahead stopped; reading it again");
                None
            }
        }
    }

    /// Starts reading ahead the blocks after `next` (the one being validated), up to
    /// `[collector].max_fetcher - 1` of them and no further than `latest`; drops those read
    /// ahead outside that range. A read-ahead fetch is tried once: a failure is not retried in
    /// the background but read again on demand.
    fn read_ahead_from(&self, next: u64, latest: u64) {
        let ahead = self.config.collector.max_fetcher.max(1) as u64 - 1;
        let last = next.saturating_add(ahead).min(latest);
        let retry = Retry {
            attempts: 1,
            ..self.retry
        };
        self.ahead.keep(next + 1..=last, |number| {
            let (rpc, rules) = (self.rpc.clone(), self.rules.clone());
            tokio::spawn(async move { fetch_block(&rpc, &rules, number, retry).await })
        });
    }

    /// The evidence an alert about `block`, found invalid by `error` (from
    /// [`Outcome::Invalid`]), carries: what [`step`](Self::step) sends when it alerts, for
    /// callers that judge blocks without alerting. `Err` when the block can no longer be read
    /// as it was.
    pub async fn evidence(&self, block: BlockRef, error: &BlockError) -> Result<Evidence, String> {
        let (decoded, claimed) = self.block(block.number).await?;
        if claimed != block.hash {
            return Err(format!(
                "block #{} is now {claimed}, not {}",
                block.number, block.hash
            ));
        }
        Ok(evidence(&self.rpc, &self.rules, &decoded, claimed, error, self.retry).await)
    }

    /// Validates the block after the last validated one (starting after `start` on a fresh
    /// store). Returns what happened; call again for the next block.
    pub async fn step(&self, start: u64) -> Result<Outcome, FollowError> {
        let outcome = self.step_once(start).await;
        if !matches!(outcome, Ok(Outcome::Valid(_) | Outcome::Invalid(..))) {
            // Up to date, a reorg or an undecided block: ask for the head again next time.
            self.known_latest.store(0, Ordering::Relaxed);
        }
        outcome
    }

    /// The latest block number: the one last reported while `next` is not past it (catching
    /// up asks once, not at every block), else the RPC's.
    async fn latest_for(&self, next: u64) -> Result<u64, CallError> {
        let known = self.known_latest.load(Ordering::Relaxed);
        if next <= known {
            return Ok(known);
        }
        let latest: alloy_primitives::U64 = self
            .rpc
            .call_retrying("eth_blockNumber", json!([]), self.retry)
            .await?;
        let latest = latest.to::<u64>();
        self.known_latest.store(latest, Ordering::Relaxed);
        self.metrics.latest(latest);
        Ok(latest)
    }

    async fn step_once(&self, start: u64) -> Result<Outcome, FollowError> {
        let last = self.store.last_validated()?;
        let next = last.map_or(start + 1, |b| b.number + 1);
        // An RPC that stays down past the retries delays validation; it must not stop it.
        let latest = match self.latest_for(next).await {
            Ok(latest) => latest,
            Err(e) => {
                self.metrics.rpc_errors(self.rpc.failures());
                return Ok(Outcome::Undecided(
                    next,
                    format!("latest block number: {e}"),
                ));
            }
        };
        self.metrics.rpc_errors(self.rpc.failures());
        if next > latest {
            // Up to date. A reorg to a chain no longer than ours shows only as another hash
            // at our head: look, and rewind at once rather than when a longer chain appears.
            if let Some(last) = last {
                if self.head_replaced(last).await {
                    *self.last_read.lock().unwrap_or_else(|e| e.into_inner()) = None;
                    return self.rewind(last).await;
                }
            }
            return Ok(Outcome::UpToDate);
        }
        let (parent, parent_hash) = match self.block(next - 1).await {
            Ok(p) => p,
            Err(e) => return Ok(Outcome::Undecided(next, e)),
        };
        if let Some(last) = last {
            if parent_hash != last.hash {
                return self.rewind(last).await;
            }
        }
        let (block, claimed) = match self.block(next).await {
            Ok(b) => b,
            Err(e) => return Ok(Outcome::Undecided(next, e)),
        };
        let this = BlockRef {
            number: next,
            hash: claimed,
        };
        if block.header().parent_hash != parent_hash {
            // The parent we hold (read earlier, or kept from the last step) was replaced: a reorg
            // at or below it. Walk back from the last validated block; on a fresh store, ask
            // again.
            *self.last_read.lock().unwrap_or_else(|e| e.into_inner()) = None;
            self.ahead.clear();
            return match last {
                Some(last) => self.rewind(last).await,
                None => Ok(Outcome::Undecided(
                    next,
                    "the chain moved while reading".into(),
                )),
            };
        }
        tracing::info!("Pre validate block #{}({}) passed", this.number, this.hash);
        self.read_ahead_from(next, latest);
        let parent_header = Sealed::new_unchecked(parent.header().clone(), parent_hash);
        let started = std::time::Instant::now();
        let verdict = match self.config.validator.mode {
            Mode::Unsafe => unsafe_checks(&self.rules, &parent_header, &block, claimed),
            Mode::Safe | Mode::Strict => self.execute(&parent_header, &block, claimed).await,
        };
        let executed = match self.config.validator.mode {
            Mode::Unsafe => 0,
            Mode::Safe | Mode::Strict => block.header().gas_used,
        };
        let took = started.elapsed();
        match verdict {
            Ok(()) => {
                self.store.record_validated(this)?;
                self.metrics.validated(this.number, took, executed);
                tracing::info!("Validate block #{}({}) passed", this.number, this.hash);
                if self.config.operator.enable
                    && next % self.config.scheduler.verify_block_interval == 0
                {
                    // Fire and forget: a slow node must not hold back validation.
                    let node = self.node.clone();
                    tokio::spawn(async move { node.work_proof(this).await });
                }
                Ok(Outcome::Valid(this))
            }
            Err(e) if e.is_verdict() => {
                tracing::error!(block = %format!("#{}({})", this.number, this.hash), rule = e.rule(), reason = %e, "invalid block");
                if self.config.sends_alerts() {
                    let evidence =
                        evidence(&self.rpc, &self.rules, &block, claimed, &e, self.retry).await;
                    let queued = alert(&self.avs_name, this, evidence, &e.to_string());
                    self.store.queue_alert(&queued)?;
                    // Delivery runs beside validation, which goes on at once.
                    if let Some(alerts) = &self.alerts {
                        alerts.wake();
                    }
                } else {
                    tracing::warn!(mode = ?self.config.validator.mode, "not alerting (mode or [operator] settings)");
                }
                // The chain goes on from the sequencer's state; so does validation.
                self.store.record_validated(this)?;
                self.metrics.invalid();
                self.metrics.validated(this.number, took, executed);
                Ok(Outcome::Invalid(this, e))
            }
            Err(e @ BlockError::ConfigOutOfDate(_)) => {
                self.metrics.config_out_of_date();
                tracing::error!(block = %format!("#{}({})", this.number, this.hash), reason = %e, "could not validate: the chain config is out of date; not alerting, retrying");
                Ok(Outcome::Undecided(next, e.to_string()))
            }
            Err(e) => Ok(Outcome::Undecided(next, e.to_string())),
        }
    }

    /// Re-executes `block` on its parent's state, starting from what the previous block
    /// carried. A verdict reached on carried state is checked again on the RPC's state alone:
    /// if that finds the block valid, the carried state was wrong and the block is not accused.
    async fn execute(
        &self,
        parent: &Sealed<Header>,
        block: &ChainBlock,
        claimed: B256,
    ) -> Result<(), BlockError> {
        // A block of a fork the config does not know is not worth any state read.
        mach_verifier::header::later_fork_fields(&self.rules, block.header())?;
        if let Some(verdict) = self.execute_on_witness(parent, block, claimed).await {
            return verdict;
        }
        let carried = self
            .carried
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let from_carried = carried.is_some();
        let (verdict, next) = self.execute_on(parent, block, claimed, carried).await;
        let (verdict, next) = match verdict {
            Err(e) if e.is_verdict() && from_carried => {
                let (fresh, next) = self.execute_on(parent, block, claimed, None).await;
                match fresh {
                    Ok(()) => {
                        tracing::error!(block = parent.number + 1, carried = %e, "the state carried from the previous block disagrees with the RPC's, which proves this block valid; not accusing it");
                        (Ok(()), next)
                    }
                    Err(_) => (Err(e), None),
                }
            }
            other => (other, next),
        };
        *self.carried.lock().unwrap_or_else(|e| e.into_inner()) = next;
        verdict
    }

    /// Validates `block` on the node's `debug_executionWitness` when it serves one. `None` when
    /// it does not (asked once; a node without the method is not asked again) or when the
    /// witness could not decide the block: the caller then reads state with `eth_getProof`.
    async fn execute_on_witness(
        &self,
        parent: &Sealed<Header>,
        block: &ChainBlock,
        claimed: B256,
    ) -> Option<Result<(), BlockError>> {
        const UNKNOWN: u8 = 0;
        const SERVED: u8 = 1;
        const NOT_SERVED: u8 = 2;
        if self.witness.load(Ordering::Relaxed) == NOT_SERVED {
            return None;
        }
        let number = parent.number + 1;
        let started = std::time::Instant::now();
        let answer: Result<ExecutionWitness, CallError> = self
            .rpc
            .call_retrying(
                "debug_executionWitness",
                json!([format!("{number:#x}")]),
                self.retry,
            )
            .await;
        self.clock.add_block_fetch(started.elapsed());
        let witness = match answer {
            Ok(witness) => witness,
            Err(e) if !e.retryable() || refuses_method(&e) => {
                if self.witness.swap(NOT_SERVED, Ordering::Relaxed) != NOT_SERVED {
                    tracing::info!(error = %e, "the rollup RPC does not serve debug_executionWitness; reading state with eth_getProof");
                }
                return None;
            }
            Err(e) => {
                tracing::debug!(block = number, error = %e, "no execution witness this time");
                return None;
            }
        };
        if self.witness.swap(SERVED, Ordering::Relaxed) == UNKNOWN {
            tracing::info!("the rollup RPC serves debug_executionWitness: one call per block");
        }
        let pre = WitnessState::new(parent, witness);
        let (rules, parent, block) = (self.rules.clone(), parent.clone(), block.clone());
        let clock = self.clock.clone();
        let verdict = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let verdict = validate_block(&rules, &parent, &pre, &block, Some(claimed)).map(|_| ());
            clock.add_total(started.elapsed());
            verdict
        })
        .await
        .unwrap_or_else(|e| Err(BlockError::Internal(e.to_string())));
        match verdict {
            Err(e) if !e.is_verdict() => {
                tracing::warn!(block = number, reason = %e, "the execution witness could not decide the block; reading state with eth_getProof");
                None
            }
            decided => Some(decided),
        }
    }

    /// One validation of `block` on an [`RpcState`] resumed from `carried`; returns the verdict
    /// and what to carry on (the next state after a valid block, this one after an undecided
    /// attempt).
    async fn execute_on(
        &self,
        parent: &Sealed<Header>,
        block: &ChainBlock,
        claimed: B256,
        carried: Option<StateCache>,
    ) -> (Result<(), BlockError>, Option<StateCache>) {
        let number = parent.number + 1;
        let state = RpcState::resume(
            self.rpc.clone(),
            tokio::runtime::Handle::current(),
            parent.number,
            parent.state_root,
            carried,
        )
        .with_block_hash(parent.number, parent.hash())
        .with_clock(self.clock.clone());
        let rules = self.rules.clone();
        let parent = parent.clone();
        let block = block.clone();
        let clock = self.clock.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let verdict = state.validate(&rules, &parent, &block, claimed);
            clock.add_total(started.elapsed());
            match verdict {
                Ok(valid) => {
                    let next = state.advance(&valid.changes, number, valid.state_root);
                    (Ok(()), next)
                }
                Err(e) if e.is_verdict() => (Err(e), None),
                Err(e) => (Err(e), state.into_cache()),
            }
        })
        .await
        .unwrap_or_else(|e| (Err(BlockError::Internal(e.to_string())), None))
    }

    /// Whether the RPC now has another block than `last` at its height (a failed or empty answer
    /// is not taken as a reorg).
    async fn head_replaced(&self, last: BlockRef) -> bool {
        let answer: Result<serde_json::Value, _> = self
            .rpc
            .call(
                "eth_getBlockByNumber",
                json!([format!("{:#x}", last.number), false]),
            )
            .await;
        let hash = answer
            .ok()
            .and_then(|block| block.get("hash").cloned())
            .and_then(|hash| serde_json::from_value::<B256>(hash).ok());
        hash.is_some_and(|hash| hash != last.hash)
    }

    /// Walks back from `last` to the newest validated block the node still has.
    async fn rewind(&self, last: BlockRef) -> Result<Outcome, FollowError> {
        self.ahead.clear();
        let mut number = last.number;
        while number > 0 {
            number -= 1;
            let Some(ours) = self.store.validated_hash(number)? else {
                break;
            };
            let theirs = match self.block(number).await {
                Ok((_, hash)) => hash,
                Err(e) => return Ok(Outcome::Undecided(number, e)),
            };
            if ours == theirs {
                let ancestor = BlockRef { number, hash: ours };
                tracing::warn!(
                    from = last.number,
                    to = number,
                    "reorg: re-validating from the common ancestor"
                );
                self.store.rewind_to(ancestor)?;
                self.metrics.set_validated(number);
                return Ok(Outcome::Reorg(ancestor));
            }
        }
        Ok(Outcome::Undecided(
            last.number,
            "reorg deeper than the validated blocks kept".into(),
        ))
    }
}

/// Whether an RPC's answer is the block with the hash it claims: the header fields hash to it,
/// and the body is the one the header commits to (transactions root; withdrawals root on
/// Ethereum-format chains). A mismatch is the RPC's inconsistency, never a verdict: alerting the
/// claimed hash would accuse the sequencer's real block of what the RPC made up.
fn source_consistency(block: &ChainBlock, claimed: B256) -> Result<(), BlockError> {
    use alloy_consensus::proofs::{calculate_transaction_root, calculate_withdrawals_root};
    let header = block.header();
    let computed = header.hash_slow();
    if computed != claimed {
        return Err(BlockError::Hash { computed, claimed });
    }
    let (transactions_root, withdrawals_root) = match block {
        ChainBlock::Ethereum(b) => (
            calculate_transaction_root(&b.body.transactions),
            Some(
                b.body
                    .withdrawals
                    .as_ref()
                    .map(|w| calculate_withdrawals_root(w)),
            ),
        ),
        // OP Stack (Isthmus) puts a storage root in the header field: execution checks it.
        ChainBlock::Optimism(b) => (calculate_transaction_root(&b.body.transactions), None),
    };
    if transactions_root != header.transactions_root {
        return Err(BlockError::TransactionsRoot {
            expected: transactions_root,
            got: header.transactions_root,
        });
    }
    match withdrawals_root {
        Some(body) if body != header.withdrawals_root => Err(BlockError::WithdrawalsRoot {
            expected: body.unwrap_or_default(),
            got: header.withdrawals_root.unwrap_or_default(),
        }),
        _ => Ok(()),
    }
}

/// An HTTP client error other than a rate limit: the node refuses the method itself.
fn refuses_method(e: &CallError) -> bool {
    matches!(e, CallError::Http { status, .. } if (400..500).contains(status) && *status != 429)
}

/// Unsafe mode: the block's hash, linkage and header rules only.
fn unsafe_checks(
    rules: &ChainRules,
    parent: &Sealed<Header>,
    block: &ChainBlock,
    claimed: B256,
) -> Result<(), BlockError> {
    let hash = block.header().hash_slow();
    if hash != claimed {
        return Err(BlockError::Hash {
            computed: hash,
            claimed,
        });
    }
    validate_header(rules, parent.inner(), parent.hash(), block.header())
}

/// What [`follow`] does besides validating: the verifier alerts from inside [`Follower::step`]
/// and needs nothing more ([`NoSink`]), the finality RPC records verdicts in its state, the
/// devnet's watcher records the evidence of invalid blocks.
pub trait OutcomeSink: Send {
    /// Called after each step that decided something: a valid or invalid block, or a reorg.
    fn decided(
        &mut self,
        follower: &Follower,
        outcome: &Outcome,
    ) -> impl std::future::Future<Output = ()> + Send;
}

/// A sink that does nothing: for `mach verifier`, whose alerts go out from [`Follower::step`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSink;

impl OutcomeSink for NoSink {
    async fn decided(&mut self, _: &Follower, _: &Outcome) {}
}

/// What [`follow`] does when [`Follower::step`] fails (the store, or the RPC beyond its
/// retries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Return the error: the caller stops (`mach verifier`, whose orchestrator restarts it).
    Stop,
    /// Log it and step again after this long (the finality RPC and the devnet keep going).
    RetryAfter(std::time::Duration),
}

/// How [`follow`] paces itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// Wait when up to date (the collector's `interval_ms`).
    pub up_to_date: std::time::Duration,
    /// Wait when a block could not be decided yet.
    pub undecided: std::time::Duration,
    /// What to do when a step fails.
    pub on_error: OnError,
}

/// The follow loop: validates block after block from after `start` (or where the store
/// resumes), handing each decided outcome to `sink`, pausing as `pace` says. Returns only with
/// the error that stopped it (`OnError::Stop`); otherwise runs until dropped.
pub async fn follow(
    follower: &Follower,
    start: u64,
    pace: Pace,
    sink: &mut impl OutcomeSink,
) -> Result<std::convert::Infallible, FollowError> {
    loop {
        match follower.step(start).await {
            Ok(Outcome::UpToDate) => tokio::time::sleep(pace.up_to_date).await,
            Ok(Outcome::Undecided(number, reason)) => {
                tracing::warn!(block = number, %reason, "could not validate yet; retrying in {} ms", pace.undecided.as_millis());
                tokio::time::sleep(pace.undecided).await;
            }
            Ok(outcome) => sink.decided(follower, &outcome).await,
            Err(e) => match pace.on_error {
                OnError::Stop => return Err(e),
                OnError::RetryAfter(wait) => {
                    tracing::error!(error = %e, "validation stopped; trying again in {} ms", wait.as_millis());
                    tokio::time::sleep(wait).await;
                }
            },
        }
    }
}
