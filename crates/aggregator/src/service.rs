//! The aggregator service: tasks per alert hash, one owning task (actor) per open alert that
//! verifies incoming signatures in batches, tracks signed stake and submits `confirmAlert`
//! once the thresholds are met.
//!
//! A task made by `aggregator_createTask` costs a few hundred bytes of memory and nothing else:
//! it has no actor and is not stored until a registered operator's valid signature arrives.
//! Unsigned tasks are forgotten after `pending_task_seconds`, and at most `max_pending_tasks`
//! are held (the oldest is forgotten first).
//!
//! Path of a signature: [`Aggregator::process_signed`] checks the task it names against the
//! store (or the unsigned tasks), hands the signature to the alert's actor and waits; the actor
//! verifies what has queued up in one pairing check ([`crate::quorum::verify_batch`]), stores
//! accepted signatures before answering, and when the quorum is reached marks the task
//! `Submitting` (stored), sends the transaction and stores `Confirmed`. Every signer's call then
//! answers with the transaction. A signer that sends the signature it already sent (its answer
//! was lost, or the aggregator restarted) is answered as the first time, with the task's state.
//! An actor ends when nothing waits on it; finished and expired tasks are pruned from the store.

use crate::config::AggregatorConfig;
use crate::metrics::Metrics;
use crate::quorum::{verify_batch, Member, QuorumView, SignatureIndices};
use crate::store::{SignatureRecord, Store, StoreError, TaskRecord, TaskStatus};
use alloy::primitives::{Address, Bytes, B256};
use mach_chain::quorum::{self as l1, AlertHeader, AvsContracts, OperatorKeys};
use mach_chain::{ChainError, Connection};
use mach_keys::BlsSignature;
use mach_primitives::rpc::AlertTaskInfo;
use mach_runtime::{Shutdown, Supervisor};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::task::TaskTracker;

/// Why the aggregator refused a request; each names the fix where there is one.
#[derive(Debug, thiserror::Error)]
pub enum AggregatorError {
    /// No task exists for the alert hash, or the task named differs from the stored one.
    #[error("{0}")]
    UnknownTask(String),
    /// The task no longer accepts signatures.
    #[error("task {task_index} for alert {alert_hash} expired; call aggregator_createTask again for a new task")]
    Expired {
        /// The task.
        task_index: u32,
        /// Its alert.
        alert_hash: B256,
    },
    /// The operator was not registered in the task's quorums at its reference block.
    #[error("operator {operator_id} was not registered in quorums {quorums:?} at reference block {block}; opt in with `mach opt-in` and sign a newer task")]
    NotRegistered {
        /// The operator.
        operator_id: B256,
        /// The task's quorums.
        quorums: Vec<u8>,
        /// The reference block.
        block: u32,
    },
    /// The operator already signed this task.
    #[error("operator {operator_id} already signed task {task_index}")]
    Duplicate {
        /// The operator.
        operator_id: B256,
        /// The task.
        task_index: u32,
    },
    /// The signature does not verify against the operator's registered key.
    #[error("invalid signature from operator {operator_id} for task {task_index}: it does not verify against the operator's registered BLS key and the task's sign hash")]
    BadSignature {
        /// The operator.
        operator_id: B256,
        /// The task.
        task_index: u32,
    },
    /// Reading or writing L1 failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The aggregator is stopping.
    #[error("the aggregator is shutting down; retry shortly")]
    Stopping,
    /// The aggregator failed in a way that says nothing about the request (a bug): the signer
    /// should retry, and the log has the details.
    #[error("the aggregator could not check the signature ({0}); retry shortly")]
    Internal(String),
    /// The metrics could not be set up (a bug: a family registered twice).
    #[error("cannot register the aggregator's metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Shared state of the service.
struct Inner {
    config: AggregatorConfig,
    thresholds: Vec<u8>,
    conn: Connection,
    avs: AvsContracts,
    store: Store,
    /// Registered keys by operator address; keys never change once registered.
    keys: Mutex<HashMap<Address, OperatorKeys>>,
    /// Live actors by alert hash.
    actors: Mutex<HashMap<B256, ActorHandle>>,
    /// Tasks handed out that no valid signature has reached yet.
    pending: Mutex<PendingTasks>,
    /// Serializes task creation; holds the next task index.
    create: tokio::sync::Mutex<u32>,
    /// The latest L1 block read for a reference block, and when it was read.
    latest: Mutex<Option<(u32, Instant)>>,
    /// When the unsigned-task limit was last reported.
    evictions_reported: Mutex<Option<Instant>>,
    /// The actors, so that shutting down can wait for them.
    tasks: TaskTracker,
    next_actor: AtomicU64,
    /// The supervisor's token: the actors stop on it.
    shutdown: Shutdown,
    /// What `/metrics` shows; also told of every signature the actors' transactions need.
    metrics: Arc<Metrics>,
}

/// How long a read of the latest L1 block serves as the reference block of new tasks.
const REFERENCE_BLOCK_REUSE: Duration = Duration::from_secs(1);
/// How often unsigned tasks are forgotten and the store is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How often an idle actor checks whether anyone still waits on it.
const ACTOR_IDLE_CHECK: Duration = Duration::from_secs(1);

/// The name of the critical task that forgets unsigned tasks past their time and prunes the
/// store.
pub const TASK_PRUNER: &str = "task pruner";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A task handed out by `aggregator_createTask` and not signed yet.
#[derive(Clone, Debug)]
struct PendingTask {
    info: AlertTaskInfo,
    /// Unix seconds, as stored once it is signed.
    created_at: u64,
    born: Instant,
}

/// The unsigned tasks by alert hash; `order` holds the same hashes, oldest first.
#[derive(Debug, Default)]
struct PendingTasks {
    tasks: HashMap<B256, PendingTask>,
    order: VecDeque<B256>,
}

impl PendingTasks {
    /// Adds `task` (replacing an older one of the same alert); forgets the oldest beyond `max`
    /// and returns how many were forgotten.
    fn insert(&mut self, task: PendingTask, max: usize) -> usize {
        let hash = task.info.alert_hash;
        if self.tasks.insert(hash, task).is_some() {
            self.order.retain(|h| *h != hash);
        }
        self.order.push_back(hash);
        let mut forgotten = 0;
        while self.tasks.len() > max {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.tasks.remove(&oldest);
            forgotten += 1;
        }
        forgotten
    }

    /// Forgets the task of `alert_hash` if it has `task_index`.
    fn remove(&mut self, alert_hash: &B256, task_index: u32) {
        if self
            .tasks
            .get(alert_hash)
            .is_some_and(|t| t.info.task_index == task_index)
        {
            self.tasks.remove(alert_hash);
            self.order.retain(|h| h != alert_hash);
        }
    }

    /// Forgets the tasks older than `lifetime`; returns how many.
    fn expire(&mut self, lifetime: Duration) -> usize {
        let before = self.tasks.len();
        self.tasks.retain(|_, t| t.born.elapsed() < lifetime);
        let tasks = &self.tasks;
        self.order.retain(|h| tasks.contains_key(h));
        before - self.tasks.len()
    }
}

#[derive(Clone)]
struct ActorHandle {
    id: u64,
    task_index: u32,
    requests: mpsc::Sender<SignRequest>,
    status: watch::Receiver<TaskStatus>,
}

struct SignRequest {
    operator_id: B256,
    signature: BlsSignature,
    reply: oneshot::Sender<Result<(), AggregatorError>>,
}

/// A running aggregator service (without its HTTP server; see [`crate::server`]).
#[derive(Clone)]
pub struct Aggregator {
    inner: Arc<Inner>,
}

/// The settings resolved at start.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The contracts.
    pub avs: AvsContracts,
    /// Threshold per quorum.
    pub thresholds: Vec<u8>,
}

impl Aggregator {
    /// Checks the chain against the configuration (chain IDs, confirmer key, thresholds),
    /// opens the store, resumes every unfinished task and spawns the pruner as the critical
    /// task [`TASK_PRUNER`] under `supervisor`. The actors (one per open alert, not critical
    /// tasks) stop on the supervisor's shutdown token; [`Aggregator::stopped`] waits for them.
    pub async fn start(
        config: AggregatorConfig,
        conn: Connection,
        avs: AvsContracts,
        supervisor: &mut Supervisor,
    ) -> Result<Self, AggregatorError> {
        if conn.chain_id != config.layer1_chain_id {
            return Err(ChainError::Refused(format!(
                "{} is chain {} but layer1_chain_id is {}; fix eth_rpc_url or layer1_chain_id",
                conn.url, conn.chain_id, config.layer1_chain_id
            ))
            .into());
        }
        let rollup = mach_contracts::MachServiceManager::new(avs.service_manager, &conn.provider)
            .rollupChainId()
            .call()
            .await
            .map_err(|e| {
                ChainError::Refused(format!(
                    "cannot read rollupChainId of the MachServiceManager at {}: {e}; is --avs-deployment for this chain?",
                    avs.service_manager
                ))
            })?;
        if rollup != alloy::primitives::U256::from(config.layer2_chain_id) {
            return Err(ChainError::Refused(format!(
                "the MachServiceManager at {} serves rollup {rollup} but layer2_chain_id is {}",
                avs.service_manager, config.layer2_chain_id
            ))
            .into());
        }
        let confirmer = l1::alert_confirmer(&conn, avs.service_manager).await?;
        if confirmer != conn.sender {
            return Err(ChainError::Refused(format!(
                "the aggregator's signer signs for {}, which is not the alert confirmer: the MachServiceManager at {} has alertConfirmer() {confirmer}, so confirmAlert would revert. Point the signer at {confirmer}'s key (--ecdsa-key-file / --private-key, or --signer aws-kms --kms-key-id / --signer web3signer --signer-address), or have the owner call setConfirmer({})",
                conn.sender, avs.service_manager, conn.sender
            ))
            .into());
        }
        let minimum = l1::minimum_threshold(&conn, avs.service_manager).await?;
        let thresholds = if config.quorum_threshold_percentages.is_empty() {
            vec![minimum; config.quorum_nums.len()]
        } else {
            config.quorum_threshold_percentages.clone()
        };
        if let Some(low) = thresholds.iter().find(|t| **t < minimum) {
            return Err(ChainError::Refused(format!(
                "quorum threshold {low} % is below the contract's minimum of {minimum} %: confirmAlert would revert; raise quorum_threshold_percentages"
            ))
            .into());
        }
        let store = Store::open(&config.db_path)?;
        let next_index = store.next_task_index()?;
        let pruned = store.prune(|r| keep(&config, r))?;
        if pruned > 0 {
            tracing::info!(
                pruned,
                "removed finished, expired and unsigned tasks from the store"
            );
        }
        let unfinished = store.unfinished()?;
        let inner = Arc::new(Inner {
            config,
            thresholds,
            conn,
            avs,
            store,
            keys: Mutex::default(),
            actors: Mutex::default(),
            pending: Mutex::default(),
            create: tokio::sync::Mutex::new(next_index),
            latest: Mutex::default(),
            evictions_reported: Mutex::default(),
            tasks: TaskTracker::new(),
            next_actor: AtomicU64::new(0),
            shutdown: supervisor.shutdown(),
            metrics: Arc::new(Metrics::new()?),
        });
        for record in unfinished {
            tracing::info!(
                task_index = record.info.task_index,
                alert_hash = %record.info.alert_hash,
                signatures = record.signatures.len(),
                status = ?record.status,
                "resuming task"
            );
            spawn_actor(&inner, record);
        }
        // Weak: the service (and its store) lives as long as its handles, not its pruner.
        let pruner = Arc::downgrade(&inner);
        supervisor.spawn_loop(TASK_PRUNER, async move {
            loop {
                tokio::time::sleep(PRUNE_EVERY).await;
                let Some(inner) = pruner.upgrade() else { break };
                prune(&inner);
            }
        });
        Ok(Self { inner })
    }

    /// Waits until every actor has ended (after the shutdown token is cancelled), so that the
    /// store is closed once the last handle of the service is dropped.
    pub async fn stopped(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    /// How many tasks are held in memory unsigned.
    pub fn pending_tasks(&self) -> usize {
        lock(&self.inner.pending).tasks.len()
    }

    /// How many task actors are running.
    pub fn running_actors(&self) -> usize {
        lock(&self.inner.actors).len()
    }

    /// What the service resolved at start.
    pub fn resolved(&self) -> Resolved {
        Resolved {
            avs: self.inner.avs,
            thresholds: self.inner.thresholds.clone(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AggregatorConfig {
        &self.inner.config
    }

    /// The L1 connection.
    pub fn connection(&self) -> &Connection {
        &self.inner.conn
    }

    /// The metrics (served at `/metrics` when `metrics_ip_port_address` is set).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.inner.metrics.clone()
    }

    /// The task for `alert_hash`: the stored one while it accepts signatures (or once it is
    /// final), else the unsigned one handed out before, else a new one (next index, reference
    /// block = the latest L1 block, so `confirmAlert` lands strictly after it), held in memory
    /// until a valid signature arrives.
    pub async fn create_task(&self, alert_hash: B256) -> Result<AlertTaskInfo, AggregatorError> {
        let inner = &self.inner;
        let mut next = inner.create.lock().await;
        if let Some(record) = inner.store.get(&alert_hash)? {
            if record.status.is_final() || !expired(&inner.config, &record) {
                return Ok(record.info);
            }
            tracing::info!(task_index = record.info.task_index, %alert_hash, "task expired unconfirmed; creating a new one");
        }
        if let Some(task) = lock(&inner.pending).tasks.get(&alert_hash) {
            if task.born.elapsed() < inner.config.pending_task() {
                return Ok(task.info.clone());
            }
        }
        let reference_block_number = inner.reference_block().await?;
        let task_index = *next;
        *next = task_index.checked_add(1).ok_or_else(|| {
            ChainError::Refused("the task index space is exhausted; start a new db_path".into())
        })?;
        let info = AlertTaskInfo {
            alert_hash,
            quorum_numbers: inner.config.quorum_nums.clone(),
            quorum_threshold_percentages: inner.thresholds.clone(),
            task_index,
            reference_block_number,
        };
        let task = PendingTask {
            info: info.clone(),
            created_at: now(),
            born: Instant::now(),
        };
        let forgotten = lock(&inner.pending).insert(task, inner.config.max_pending_tasks);
        if forgotten > 0 {
            let mut reported = lock(&inner.evictions_reported);
            if reported.is_none_or(|at| at.elapsed() > PRUNE_EVERY) {
                *reported = Some(Instant::now());
                tracing::warn!(
                    max_pending_tasks = inner.config.max_pending_tasks,
                    "more unsigned tasks than max_pending_tasks: forgetting the oldest (a flood of aggregator_createTask?)"
                );
            }
        }
        tracing::debug!(task_index, %alert_hash, reference_block = reference_block_number, "task handed out");
        Ok(info)
    }

    /// Accepts `signature` by `operator_id` on the task `info` names, then waits up to the
    /// configured time for the confirmation. Returns the `confirmAlert` transaction, or zero if
    /// the quorum was not reached in time (the task stays open). A signature the task already
    /// holds is answered the same way.
    pub async fn process_signed(
        &self,
        info: &AlertTaskInfo,
        signature: BlsSignature,
        operator_id: B256,
    ) -> Result<B256, AggregatorError> {
        let inner = &self.inner;
        // An actor may end between lookup and hand-over; then the next attempt starts another.
        let mut attempts = 0;
        let mut status = loop {
            attempts += 1;
            let record = inner.task_for(info)?;
            let handle = ensure_actor(inner, &record);
            let (reply, answer) = oneshot::channel();
            let request = SignRequest {
                operator_id,
                signature,
                reply,
            };
            let handed = handle.requests.send(request).await.is_ok();
            match answer.await {
                Ok(result) if handed => {
                    result?;
                    break handle.status;
                }
                _ if inner.shutdown.is_cancelled() || attempts >= 3 => {
                    return Err(AggregatorError::Stopping)
                }
                _ => continue,
            }
        };
        let wait = async move { status.wait_for(|s| s.is_final()).await.map(|s| s.clone()) };
        match tokio::time::timeout(inner.config.response_wait(), wait).await {
            Ok(Ok(TaskStatus::Confirmed { tx_hash })) => Ok(tx_hash),
            Ok(Ok(_)) | Err(_) => Ok(B256::ZERO),
            Ok(Err(_)) => Err(AggregatorError::Stopping),
        }
    }

    /// `aggregator_initOperator`: whether the operator's view of the AVS matches ours and the
    /// operator is registered under `operator_id`.
    pub async fn init_operator(
        &self,
        layer1_chain_id: u64,
        chain_id: u64,
        operator_id: B256,
        operator: Address,
        operator_state_retriever: Address,
        registry_coordinator: Address,
    ) -> Result<Option<String>, AggregatorError> {
        let inner = &self.inner;
        let c = &inner.config;
        if layer1_chain_id != c.layer1_chain_id {
            return Ok(Some(format!(
                "layer 1 chain {layer1_chain_id} is not this aggregator's {}; check LAYER1_CHAIN_ID",
                c.layer1_chain_id
            )));
        }
        if chain_id != c.layer2_chain_id {
            return Ok(Some(format!(
                "rollup chain {chain_id} is not this aggregator's {}; check the AVS entry in avs_configs.json",
                c.layer2_chain_id
            )));
        }
        if registry_coordinator != inner.avs.registry_coordinator
            || operator_state_retriever != inner.avs.operator_state_retriever
        {
            return Ok(Some(format!(
                "this aggregator serves RegistryCoordinator {} and OperatorStateRetriever {}, not {registry_coordinator} and {operator_state_retriever}; check avs_configs.json",
                inner.avs.registry_coordinator, inner.avs.operator_state_retriever
            )));
        }
        let status = mach_chain::avs::status(
            &inner.conn,
            &mach_chain::AvsAddresses {
                registry_coordinator: inner.avs.registry_coordinator,
                operator_state_retriever: inner.avs.operator_state_retriever,
                mach_service_manager: inner.avs.service_manager,
            },
            operator,
        )
        .await?;
        if !status.registered {
            return Ok(Some(format!(
                "operator {operator} is not registered with the AVS; run `mach opt-in`"
            )));
        }
        if status.operator_id != operator_id {
            return Ok(Some(format!(
                "operator {operator} is registered with operator ID {}, not {operator_id}: the node uses another BLS key",
                status.operator_id
            )));
        }
        tracing::info!(%operator, %operator_id, "operator initialized");
        Ok(None)
    }

    /// The stored task for `alert_hash`.
    pub fn task(&self, alert_hash: &B256) -> Result<Option<TaskRecord>, AggregatorError> {
        Ok(self.inner.store.get(alert_hash)?)
    }
}

impl Inner {
    /// The task `info` names: the stored task of its alert, or the unsigned one handed out
    /// (as a record without signatures, stored with its first).
    fn task_for(&self, info: &AlertTaskInfo) -> Result<TaskRecord, AggregatorError> {
        let stored = self.store.get(&info.alert_hash)?;
        if let Some(record) = &stored {
            if record.info == *info {
                return Ok(record.clone());
            }
        }
        if let Some(task) = lock(&self.pending).tasks.get(&info.alert_hash) {
            if task.info == *info {
                if task.born.elapsed() >= self.config.pending_task() {
                    return Err(AggregatorError::Expired {
                        task_index: info.task_index,
                        alert_hash: info.alert_hash,
                    });
                }
                let record = TaskRecord {
                    info: task.info.clone(),
                    created_at: task.created_at,
                    signatures: Vec::new(),
                    status: TaskStatus::Open,
                };
                return Ok(record);
            }
        }
        Err(AggregatorError::UnknownTask(match stored {
            Some(record) => format!(
                "the signed task (index {}, reference block {}) is not the current task for alert {} (index {}, reference block {}); call aggregator_createTask again and sign what it returns",
                info.task_index,
                info.reference_block_number,
                info.alert_hash,
                record.info.task_index,
                record.info.reference_block_number
            ),
            None => format!(
                "no task {} for alert {} (it was never created, was not signed in time, or the aggregator restarted before it was signed); call aggregator_createTask and sign what it returns",
                info.task_index, info.alert_hash
            ),
        }))
    }

    /// The reference block for a new task: the latest L1 block, read at most once a second.
    async fn reference_block(&self) -> Result<u32, AggregatorError> {
        if let Some((block, at)) = *lock(&self.latest) {
            if at.elapsed() < REFERENCE_BLOCK_REUSE {
                return Ok(block);
            }
        }
        let latest = l1::block_number(&self.conn).await?;
        let block = u32::try_from(latest).map_err(|_| {
            ChainError::Refused(format!(
                "L1 block {latest} does not fit a uint32 reference block"
            ))
        })?;
        *lock(&self.latest) = Some((block, Instant::now()));
        Ok(block)
    }
}

/// Whether a stored task stays: one being submitted always does; otherwise one with a signature
/// until its expiry (after that a finished task has nothing more to tell and an open one
/// accepts nothing more).
fn keep(config: &AggregatorConfig, record: &TaskRecord) -> bool {
    record.status == TaskStatus::Submitting
        || (!record.signatures.is_empty() && !expired(config, record))
}

/// Forgets unsigned tasks past their time and prunes the store.
fn prune(inner: &Inner) {
    let forgotten = lock(&inner.pending).expire(inner.config.pending_task());
    match inner.store.prune(|r| keep(&inner.config, r)) {
        Ok(pruned) if pruned + forgotten > 0 => {
            tracing::info!(pruned, forgotten, "pruned finished and expired tasks")
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "cannot prune the task store"),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn expired(config: &AggregatorConfig, record: &TaskRecord) -> bool {
    now().saturating_sub(record.created_at) >= config.task_expiry_seconds
}

/// The live actor of the record's alert, started if there is none (or a stale one).
/// The live actor of the task, started if there is none. Looking up and starting happen under
/// one lock: two signers arriving together must reach the same actor. (With two, the one whose
/// map entry was replaced would end as soon as its signer stopped sending, and that signer, still
/// waiting for the confirmation, would be told the aggregator is stopping.)
fn ensure_actor(inner: &Arc<Inner>, record: &TaskRecord) -> ActorHandle {
    let mut actors = lock(&inner.actors);
    if let Some(handle) = actors.get(&record.info.alert_hash) {
        if handle.task_index == record.info.task_index && !handle.requests.is_closed() {
            return handle.clone();
        }
    }
    let (handle, actor, receiver) = new_actor(inner, record.clone());
    actors.insert(record.info.alert_hash, handle.clone());
    drop(actors);
    run_actor(inner, actor, receiver);
    handle
}

/// Starts an actor for `record` (a task resumed at start), replacing any listed one.
fn spawn_actor(inner: &Arc<Inner>, record: TaskRecord) -> ActorHandle {
    let (handle, actor, receiver) = new_actor(inner, record);
    lock(&inner.actors).insert(actor.record.info.alert_hash, handle.clone());
    run_actor(inner, actor, receiver);
    handle
}

/// An actor for `record` and its handle, not running yet.
fn new_actor(
    inner: &Arc<Inner>,
    record: TaskRecord,
) -> (ActorHandle, Actor, mpsc::Receiver<SignRequest>) {
    let (requests, receiver) = mpsc::channel(1024);
    let (status_tx, status) = watch::channel(record.status.clone());
    let handle = ActorHandle {
        id: inner.next_actor.fetch_add(1, Ordering::Relaxed),
        task_index: record.info.task_index,
        requests,
        status,
    };
    let actor = Actor {
        id: handle.id,
        inner: inner.clone(),
        signed: record
            .signatures
            .iter()
            .filter_map(|s| {
                BlsSignature::from_bytes(&s.signature)
                    .ok()
                    .map(|sig| (s.operator_id, sig))
            })
            .collect(),
        record,
        view: None,
        status: status_tx,
        retry_at: None,
        failures: 0,
    };
    (handle, actor, receiver)
}

/// Runs `actor` until it retires or the aggregator stops.
fn run_actor(inner: &Arc<Inner>, actor: Actor, receiver: mpsc::Receiver<SignRequest>) {
    // The shutdown token ends an actor at whatever it awaits, as a crash would: what it stored
    // is what a restart resumes from. Every transaction the aggregator sends is an actor's
    // confirmAlert: its signatures are counted here.
    let shutdown = inner.shutdown.clone();
    let observer: Arc<dyn mach_chain::signer::SignatureObserver> = inner.metrics.clone();
    inner.tasks.spawn(mach_chain::signer::observe_signatures(
        observer,
        async move {
            tokio::select! {
                _ = actor.run(receiver) => {}
                _ = shutdown.cancelled() => {}
            }
        },
    ));
}

/// How long to wait before resubmitting after a failed `confirmAlert` (doubled after each
/// further failure in a row, up to [`MAX_RETRY`]), and before asking L1 again for what it could
/// not answer.
const RETRY: Duration = Duration::from_secs(5);
/// The longest wait between `confirmAlert` attempts.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// The wait after `failures` failed `confirmAlert` attempts in a row (at least one).
fn confirm_backoff(failures: u32) -> Duration {
    RETRY
        .saturating_mul(1 << failures.saturating_sub(1).min(8))
        .min(MAX_RETRY)
}

/// The owner of one alert's task.
struct Actor {
    id: u64,
    inner: Arc<Inner>,
    record: TaskRecord,
    signed: BTreeMap<B256, BlsSignature>,
    view: Option<Arc<QuorumView>>,
    status: watch::Sender<TaskStatus>,
    retry_at: Option<tokio::time::Instant>,
    /// `confirmAlert` attempts that failed in a row (the backoff).
    failures: u32,
}

impl Actor {
    async fn run(mut self, mut requests: mpsc::Receiver<SignRequest>) {
        // A task resumed after a restart may already have its quorum, or be mid-submission.
        if !self.record.status.is_final() {
            self.maybe_submit().await;
        }
        let mut idle = tokio::time::interval(ACTOR_IDLE_CHECK);
        idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let retry = self.retry_at;
            tokio::select! {
                request = requests.recv() => {
                    let Some(first) = request else { break };
                    let mut batch = vec![first];
                    while let Ok(more) = requests.try_recv() {
                        batch.push(more);
                    }
                    self.process(batch).await;
                }
                _ = async { if let Some(at) = retry { tokio::time::sleep_until(at).await } }, if retry.is_some() => {
                    self.retry_at = None;
                    self.maybe_submit().await;
                }
                _ = idle.tick(), if retry.is_none() => {
                    if self.retire(&requests) {
                        break;
                    }
                }
            }
        }
    }

    /// Ends the actor when nothing needs it: no retry due, no request queued and no signer
    /// waiting on its status (the handle in the actor map holds one receiver). Its state is in
    /// the store, so the next signature starts a new actor from there.
    fn retire(&self, requests: &mpsc::Receiver<SignRequest>) -> bool {
        let mut actors = lock(&self.inner.actors);
        let hash = self.record.info.alert_hash;
        let listed = actors.get(&hash).is_some_and(|h| h.id == self.id);
        if !requests.is_empty() || self.status.receiver_count() > usize::from(listed) {
            return false;
        }
        if listed {
            actors.remove(&hash);
        }
        true
    }

    /// The task's operator set, read once from L1.
    async fn view(&mut self) -> Result<Arc<QuorumView>, AggregatorError> {
        if let Some(view) = &self.view {
            return Ok(view.clone());
        }
        let inner = &self.inner;
        let info = &self.record.info;
        let operators = l1::operators_at(
            &inner.conn,
            &inner.avs,
            &info.quorum_numbers,
            info.reference_block_number,
        )
        .await?;
        let mut members = BTreeMap::new();
        for op in operators {
            let cached = inner
                .keys
                .lock()
                .ok()
                .and_then(|k| k.get(&op.operator).copied());
            let keys = match cached {
                Some(keys) => keys,
                None => {
                    let keys =
                        l1::operator_keys(&inner.conn, inner.avs.bls_apk_registry, op.operator)
                            .await?;
                    if let Ok(mut cache) = inner.keys.lock() {
                        cache.insert(op.operator, keys);
                    }
                    keys
                }
            };
            members.insert(
                op.operator_id,
                Member {
                    operator: op.operator,
                    stakes: op.stakes,
                    keys,
                },
            );
        }
        let view = Arc::new(QuorumView::new(info.quorum_numbers.clone(), members));
        self.view = Some(view.clone());
        Ok(view)
    }

    async fn process(&mut self, batch: Vec<SignRequest>) {
        let info = self.record.info.clone();
        if !self.record.status.is_final() && expired(&self.inner.config, &self.record) {
            for request in batch {
                let _ = request.reply.send(Err(AggregatorError::Expired {
                    task_index: info.task_index,
                    alert_hash: info.alert_hash,
                }));
            }
            return;
        }
        let view = match self.view().await {
            Ok(view) => view,
            Err(e) => {
                tracing::error!(task_index = info.task_index, error = %e, "cannot read the operator set");
                let reason = e.to_string();
                for request in batch {
                    let _ = request.reply.send(Err(ChainError::Rpc {
                        what: "read the task's operator set".into(),
                        reason: reason.clone(),
                    }
                    .into()));
                }
                return;
            }
        };
        let mut candidates = Vec::new();
        for request in batch {
            let id = request.operator_id;
            if self.signed.get(&id) == Some(&request.signature) {
                // Sent again (the answer was lost, or we restarted): answer as the first time.
                tracing::info!(task_index = info.task_index, operator_id = %id, "signature already accepted; answering with the task's state");
                let _ = request.reply.send(Ok(()));
                continue;
            }
            let refusal = if view.member(&id).is_none() {
                Some(AggregatorError::NotRegistered {
                    operator_id: id,
                    quorums: info.quorum_numbers.clone(),
                    block: info.reference_block_number,
                })
            } else if self.signed.contains_key(&id)
                || candidates.iter().any(|c: &SignRequest| c.operator_id == id)
            {
                Some(AggregatorError::Duplicate {
                    operator_id: id,
                    task_index: info.task_index,
                })
            } else {
                None
            };
            match refusal {
                Some(e) => {
                    tracing::warn!(task_index = info.task_index, operator_id = %id, error = %e, "signature refused");
                    let _ = request.reply.send(Err(e));
                }
                None => candidates.push(request),
            }
        }
        if candidates.is_empty() {
            return;
        }
        let items: Vec<_> = candidates
            .iter()
            .filter_map(|c| {
                view.member(&c.operator_id)
                    .map(|m| (m.keys.g2, c.signature))
            })
            .collect();
        let hash = info.sign_hash();
        let count = candidates.len();
        let verified = tokio::task::spawn_blocking(move || verify_batch(&hash, &items)).await;
        let verdicts = match checked_verdicts(verified, count) {
            Ok(verdicts) => verdicts,
            Err(reason) => {
                // Not the signers' fault: none of them is told its signature is bad.
                tracing::error!(task_index = info.task_index, %reason, "signature verification failed; the signers are asked to retry");
                for request in candidates {
                    let _ = request
                        .reply
                        .send(Err(AggregatorError::Internal(reason.clone())));
                }
                return;
            }
        };
        let mut accepted = Vec::new();
        for (request, ok) in candidates.into_iter().zip(verdicts) {
            if ok {
                accepted.push(request);
            } else {
                let e = AggregatorError::BadSignature {
                    operator_id: request.operator_id,
                    task_index: info.task_index,
                };
                tracing::warn!(task_index = info.task_index, operator_id = %request.operator_id, "invalid signature refused");
                let _ = request.reply.send(Err(e));
            }
        }
        if accepted.is_empty() {
            return;
        }
        let mut record = self.record.clone();
        for request in &accepted {
            record.signatures.push(SignatureRecord {
                operator_id: request.operator_id,
                signature: Bytes::from(request.signature.to_bytes().to_vec()),
            });
        }
        if let Err(e) = self.inner.store.put(&record) {
            tracing::error!(task_index = info.task_index, error = %e, "cannot store signatures");
            let reason = e.to_string();
            for request in accepted {
                let _ = request.reply.send(Err(AggregatorError::Store(StoreError {
                    path: e.path.clone(),
                    reason: reason.clone(),
                })));
            }
            return;
        }
        let opened = self.record.signatures.is_empty();
        self.record = record;
        if opened {
            lock(&self.inner.pending).remove(&info.alert_hash, info.task_index);
            tracing::info!(
                task_index = info.task_index,
                alert_hash = %info.alert_hash,
                reference_block = info.reference_block_number,
                quorums = ?info.quorum_numbers,
                thresholds = ?info.quorum_threshold_percentages,
                "task opened by its first valid signature"
            );
        }
        for request in accepted {
            tracing::info!(
                task_index = info.task_index,
                operator_id = %request.operator_id,
                signatures = self.record.signatures.len(),
                "signature accepted"
            );
            self.signed.insert(request.operator_id, request.signature);
            let _ = request.reply.send(Ok(()));
        }
        if self.record.status == TaskStatus::Open {
            self.maybe_submit().await;
        }
    }

    fn set_status(&mut self, status: TaskStatus) -> Result<(), StoreError> {
        let mut record = self.record.clone();
        record.status = status.clone();
        self.inner.store.put(&record)?;
        self.record = record;
        self.status.send_replace(status);
        Ok(())
    }

    /// Submits `confirmAlert` if the thresholds are met (or a submission was interrupted),
    /// after checking whether the alert is already on L1.
    async fn maybe_submit(&mut self) {
        if self.record.status.is_final() {
            return;
        }
        let info = self.record.info.clone();
        let interrupted = self.record.status == TaskStatus::Submitting;
        if !interrupted && self.signed.is_empty() {
            return;
        }
        let view = match self.view().await {
            Ok(view) => view,
            Err(e) => {
                tracing::error!(task_index = info.task_index, error = %e, "cannot read the operator set; retrying");
                self.retry_at = Some(tokio::time::Instant::now() + RETRY);
                return;
            }
        };
        let signers: Vec<B256> = self.signed.keys().copied().collect();
        let met = view.threshold_met(&signers, &info.quorum_threshold_percentages);
        if !met && !interrupted {
            let signed = view.signed_stakes(&signers);
            let total = view.total_stakes();
            tracing::info!(task_index = info.task_index, signed = ?signed, total = ?total, thresholds = ?info.quorum_threshold_percentages, "quorum not reached yet");
            return;
        }
        if let Err(e) = self.set_status(TaskStatus::Submitting) {
            tracing::error!(task_index = info.task_index, error = %e, "cannot store the submission state; not submitting");
            return;
        }
        let outcome = self.submit(&view, met).await;
        let status = match outcome {
            Ok(Some(status)) => status,
            Ok(None) => TaskStatus::Open,
            Err(e) if e.to_string().contains("Pausable: contract is paused") => {
                self.inner.metrics.confirm_failures.inc();
                // An emergency stop by the AVS's pausers, not a fault of ours: the alert waits.
                tracing::warn!(task_index = info.task_index, alert_hash = %info.alert_hash, "the service manager is paused, which stops confirmAlert; the alert waits until its unpauser clears the flags (retrying every {} s)", RETRY.as_secs());
                self.retry_at = Some(tokio::time::Instant::now() + RETRY);
                TaskStatus::Open
            }
            Err(e) => {
                self.inner.metrics.confirm_failures.inc();
                self.failures += 1;
                let wait = confirm_backoff(self.failures);
                tracing::error!(task_index = info.task_index, alert_hash = %info.alert_hash, error = %e, attempts = self.failures, "confirmAlert failed; retrying in {} s", wait.as_secs());
                self.retry_at = Some(tokio::time::Instant::now() + wait);
                TaskStatus::Open
            }
        };
        if status.is_final() {
            self.failures = 0;
        }
        if let TaskStatus::Confirmed { tx_hash } = &status {
            self.inner.metrics.alerts_confirmed.inc();
            tracing::info!(task_index = info.task_index, alert_hash = %info.alert_hash, %tx_hash, signers = signers.len(), "alert confirmed on L1");
        }
        if let Err(e) = self.set_status(status) {
            tracing::error!(task_index = info.task_index, error = %e, "cannot store the task state");
        }
    }

    /// The final status after submitting, `None` if the quorum is not met (an interrupted
    /// submission whose alert is not on L1).
    async fn submit(
        &self,
        view: &QuorumView,
        met: bool,
    ) -> Result<Option<TaskStatus>, AggregatorError> {
        let inner = &self.inner;
        let info = &self.record.info;
        let sm = inner.avs.service_manager;
        if l1::alert_confirmed(&inner.conn, sm, info.alert_hash).await? {
            return Ok(Some(self.confirmed_elsewhere().await?));
        }
        if !met {
            return Ok(None);
        }
        let non_signers: Vec<B256> = view
            .non_signers(&self.signed)
            .into_iter()
            .map(|(id, _)| *id)
            .collect();
        let indices = l1::check_signatures_indices(
            &inner.conn,
            &inner.avs,
            info.reference_block_number,
            &info.quorum_numbers,
            &non_signers,
        )
        .await?;
        let params = view.signature_params(
            &self.signed,
            SignatureIndices {
                non_signer_quorum_bitmap_indices: indices.nonSignerQuorumBitmapIndices,
                quorum_apk_indices: indices.quorumApkIndices,
                total_stake_indices: indices.totalStakeIndices,
                non_signer_stake_indices: indices.nonSignerStakeIndices,
            },
        );
        let header = AlertHeader {
            messageHash: info.alert_hash,
            quorumNumbers: info.quorum_numbers.clone().into(),
            quorumThresholdPercentages: info.quorum_threshold_percentages.clone().into(),
            referenceBlockNumber: info.reference_block_number,
        };
        tracing::info!(task_index = info.task_index, alert_hash = %info.alert_hash, signers = self.signed.len(), non_signers = non_signers.len(), "quorum reached; sending confirmAlert");
        match l1::confirm_alert(&inner.conn, sm, header, params).await {
            Ok(tx_hash) => Ok(Some(TaskStatus::Confirmed { tx_hash })),
            Err(ChainError::Reverted { reason, .. }) if reason.contains("AlreadyAdded") => {
                Ok(Some(self.confirmed_elsewhere().await?))
            }
            Err(ChainError::Reverted { reason, .. }) if reason.contains("ResolvedAlert") => {
                Ok(Some(TaskStatus::Rejected { reason }))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The alert is already on L1: find the transaction that put it there.
    async fn confirmed_elsewhere(&self) -> Result<TaskStatus, AggregatorError> {
        let info = &self.record.info;
        let tx_hash = l1::find_confirmation(
            &self.inner.conn,
            self.inner.avs.service_manager,
            info.alert_hash,
            u64::from(info.reference_block_number),
        )
        .await?
        .unwrap_or_default();
        tracing::info!(task_index = info.task_index, alert_hash = %info.alert_hash, %tx_hash, "alert already confirmed on L1");
        Ok(TaskStatus::Confirmed { tx_hash })
    }
}

/// The verdicts of a batch verification of `count` signatures, or why there are none: the
/// verification panicked, or (a bug) gave a different number of verdicts.
fn checked_verdicts(
    verified: Result<Vec<bool>, tokio::task::JoinError>,
    count: usize,
) -> Result<Vec<bool>, String> {
    match verified {
        Ok(verdicts) if verdicts.len() == count => Ok(verdicts),
        Ok(verdicts) => Err(format!(
            "batch verification gave {} verdicts for {count} signatures",
            verdicts.len()
        )),
        Err(e) if e.is_panic() => Err("batch verification panicked".into()),
        Err(e) => Err(format!("batch verification did not finish: {e}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]

    use super::*;

    #[tokio::test]
    async fn a_failed_verification_is_an_internal_error_not_bad_signatures() {
        let panicked = tokio::task::spawn_blocking(|| -> Vec<bool> {
            panic!("a bug in the pairing code");
        })
        .await;
        assert_eq!(
            checked_verdicts(panicked, 3),
            Err("batch verification panicked".to_string())
        );
        assert_eq!(
            checked_verdicts(Ok(vec![true]), 2),
            Err("batch verification gave 1 verdicts for 2 signatures".to_string())
        );
        assert_eq!(
            checked_verdicts(Ok(vec![true, false]), 2),
            Ok(vec![true, false])
        );
        // What the signer is told: retry (-32015), not that its signature is bad (-32014).
        let e = AggregatorError::Internal("batch verification panicked".into());
        assert_eq!(
            e.to_string(),
            "the aggregator could not check the signature (batch verification panicked); retry shortly"
        );
    }

    #[test]
    fn confirm_alert_retries_back_off_to_a_minute() {
        let waits: Vec<u64> = (1..=7).map(|n| confirm_backoff(n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60, 60]);
        assert_eq!(confirm_backoff(u32::MAX), MAX_RETRY);
    }
}
