//! The aggregator service: tasks per alert hash, one owning task (actor) per open alert that
//! verifies incoming signatures in batches, tracks signed stake and submits `confirmAlert`
//! once the thresholds are met.
//!
//! Path of a signature: [`Aggregator::process_signed`] checks the task it names against the
//! store, hands the signature to the alert's actor and waits; the actor verifies what has queued
//! up in one pairing check ([`crate::quorum::verify_batch`]), stores accepted signatures before
//! answering, and when the quorum is reached marks the task `Submitting` (stored), sends the
//! transaction and stores `Confirmed`. Every signer's call then answers with the transaction.

use crate::config::AggregatorConfig;
use crate::quorum::{verify_batch, Member, QuorumView, SignatureIndices};
use crate::store::{SignatureRecord, Store, StoreError, TaskRecord, TaskStatus};
use alloy::primitives::{Address, Bytes, B256};
use mach_chain::quorum::{self as l1, AlertHeader, AvsContracts, OperatorKeys};
use mach_chain::{ChainError, Connection};
use mach_keys::BlsSignature;
use mach_primitives::rpc::AlertTaskInfo;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch};

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
    /// Serializes task creation (read store, maybe create, spawn actor).
    create: tokio::sync::Mutex<()>,
    stop: watch::Receiver<bool>,
}

#[derive(Clone)]
struct ActorHandle {
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
    /// opens the store and resumes every unfinished task.
    pub async fn start(
        config: AggregatorConfig,
        conn: Connection,
        avs: AvsContracts,
        stop: watch::Receiver<bool>,
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
                "the aggregator key {} is not the alert confirmer of the MachServiceManager ({confirmer}); use the confirmer's key or have the owner call setConfirmer({})",
                conn.sender, conn.sender
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
        let unfinished = store.unfinished()?;
        let inner = Arc::new(Inner {
            config,
            thresholds,
            conn,
            avs,
            store,
            keys: Mutex::default(),
            actors: Mutex::default(),
            create: tokio::sync::Mutex::new(()),
            stop,
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
        Ok(Self { inner })
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

    /// The task for `alert_hash`: the existing one, or a new one (next index, reference block =
    /// the latest L1 block, so `confirmAlert` lands strictly after it) if there is none or the
    /// old one expired unconfirmed.
    pub async fn create_task(&self, alert_hash: B256) -> Result<AlertTaskInfo, AggregatorError> {
        let inner = &self.inner;
        let _guard = inner.create.lock().await;
        if let Some(record) = inner.store.get(&alert_hash)? {
            if record.status.is_final() || !expired(&inner.config, &record) {
                ensure_actor(inner, &record);
                return Ok(record.info);
            }
            tracing::info!(task_index = record.info.task_index, %alert_hash, "task expired unconfirmed; creating a new one");
        }
        let latest = l1::block_number(&inner.conn).await?;
        let reference_block_number = u32::try_from(latest).map_err(|_| {
            ChainError::Refused(format!(
                "L1 block {latest} does not fit a uint32 reference block"
            ))
        })?;
        let record = inner.store.create(|task_index| TaskRecord {
            info: AlertTaskInfo {
                alert_hash,
                quorum_numbers: inner.config.quorum_nums.clone(),
                quorum_threshold_percentages: inner.thresholds.clone(),
                task_index,
                reference_block_number,
            },
            created_at: now(),
            signatures: Vec::new(),
            status: TaskStatus::Open,
        })?;
        tracing::info!(
            task_index = record.info.task_index,
            %alert_hash,
            reference_block = reference_block_number,
            quorums = ?record.info.quorum_numbers,
            thresholds = ?record.info.quorum_threshold_percentages,
            "task created"
        );
        let info = record.info.clone();
        spawn_actor(inner, record);
        Ok(info)
    }

    /// Accepts `signature` by `operator_id` on the task `info` names, then waits up to the
    /// configured time for the confirmation. Returns the `confirmAlert` transaction, or zero if
    /// the quorum was not reached in time (the task stays open).
    pub async fn process_signed(
        &self,
        info: &AlertTaskInfo,
        signature: BlsSignature,
        operator_id: B256,
    ) -> Result<B256, AggregatorError> {
        let inner = &self.inner;
        let record = inner.store.get(&info.alert_hash)?.ok_or_else(|| {
            AggregatorError::UnknownTask(format!(
                "no task for alert {}; call aggregator_createTask first",
                info.alert_hash
            ))
        })?;
        if record.info != *info {
            return Err(AggregatorError::UnknownTask(format!(
                "the signed task (index {}, reference block {}) is not the current task for alert {} (index {}, reference block {}); call aggregator_createTask again and sign what it returns",
                info.task_index,
                info.reference_block_number,
                info.alert_hash,
                record.info.task_index,
                record.info.reference_block_number
            )));
        }
        let handle = ensure_actor(inner, &record);
        let (reply, answer) = oneshot::channel();
        handle
            .requests
            .send(SignRequest {
                operator_id,
                signature,
                reply,
            })
            .await
            .map_err(|_| AggregatorError::Stopping)?;
        answer.await.map_err(|_| AggregatorError::Stopping)??;
        let mut status = handle.status;
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

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn expired(config: &AggregatorConfig, record: &TaskRecord) -> bool {
    now().saturating_sub(record.created_at) >= config.task_expiry_seconds
}

/// The live actor of the record's alert, started if there is none (or a stale one).
fn ensure_actor(inner: &Arc<Inner>, record: &TaskRecord) -> ActorHandle {
    if let Ok(actors) = inner.actors.lock() {
        if let Some(handle) = actors.get(&record.info.alert_hash) {
            if handle.task_index == record.info.task_index && !handle.requests.is_closed() {
                return handle.clone();
            }
        }
    }
    spawn_actor(inner, record.clone())
}

fn spawn_actor(inner: &Arc<Inner>, record: TaskRecord) -> ActorHandle {
    let (requests, receiver) = mpsc::channel(1024);
    let (status_tx, status) = watch::channel(record.status.clone());
    let handle = ActorHandle {
        task_index: record.info.task_index,
        requests,
        status,
    };
    if let Ok(mut actors) = inner.actors.lock() {
        actors.insert(record.info.alert_hash, handle.clone());
    }
    let actor = Actor {
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
    };
    tokio::spawn(actor.run(receiver));
    handle
}

/// How long to wait before resubmitting after a failed `confirmAlert`.
const RETRY: Duration = Duration::from_secs(5);

/// The owner of one alert's task.
struct Actor {
    inner: Arc<Inner>,
    record: TaskRecord,
    signed: BTreeMap<B256, BlsSignature>,
    view: Option<Arc<QuorumView>>,
    status: watch::Sender<TaskStatus>,
    retry_at: Option<tokio::time::Instant>,
}

impl Actor {
    async fn run(mut self, mut requests: mpsc::Receiver<SignRequest>) {
        let mut stop = self.inner.stop.clone();
        // A task resumed after a restart may already have its quorum, or be mid-submission.
        if self.record.status == TaskStatus::Submitting || self.record.status == TaskStatus::Open {
            self.maybe_submit().await;
        }
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
                _ = async { let _ = stop.wait_for(|s| *s).await; } => break,
            }
        }
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
        let verdicts = tokio::task::spawn_blocking(move || verify_batch(&hash, &items))
            .await
            .unwrap_or_default();
        let mut accepted = Vec::new();
        for (request, ok) in candidates
            .into_iter()
            .zip(verdicts.into_iter().chain(std::iter::repeat(false)))
        {
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
        self.record = record;
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
            Err(e) => {
                tracing::error!(task_index = info.task_index, alert_hash = %info.alert_hash, error = %e, "confirmAlert failed; retrying in {} s", RETRY.as_secs());
                self.retry_at = Some(tokio::time::Instant::now() + RETRY);
                TaskStatus::Open
            }
        };
        if let TaskStatus::Confirmed { tx_hash } = &status {
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
