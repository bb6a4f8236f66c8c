//! The operator node: checks its registration on L1, announces itself to each AVS's aggregator,
//! and turns alerts from verifiers into BLS signatures on aggregator tasks.

use crate::config::{AvsConfig, NodeConfig};
use crate::health::{Health, ServiceStatus};
use crate::metrics::Metrics;
use crate::signer::BlsSigner;
use alloy::primitives::{Address, B256};
use axum::body::Bytes as BodyBytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use axum::Router;
use mach_chain::AvsAddresses;
use mach_contracts::MachServiceManager;
use mach_jsonrpc::http::Access;
use mach_jsonrpc::{self as jsonrpc, codes, CallError, Client, RpcError};
use mach_primitives::alert::Alert;
use mach_primitives::rpc::{
    self, api, methods, AlertResponse, HealthCheckParams, InitOperatorParams, ProcessSignedParams,
};
use mach_runtime::{Running, Stopped, Supervisor};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A configuration or registration problem, with the fix.
    #[error("{0}")]
    Refused(String),
    /// L1 could not be read.
    #[error(transparent)]
    Chain(#[from] mach_chain::ChainError),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        /// Which server.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Metrics could not be set up.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The BLS signer failed its start-up check.
    #[error("BLS signer: {0}")]
    Signer(#[from] crate::signer::SignerError),
}

/// The alert RPC's error code when the BLS signer could not sign (unreachable, refused, or a
/// signature that does not verify); the verifier keeps the alert and retries.
pub const BLS_SIGNER_ERROR: i64 = -32003;

/// One AVS as the running node serves it.
#[derive(Debug)]
struct AvsRuntime {
    config: AvsConfig,
    addresses: AvsAddresses,
    rollup_chain_id: u64,
    aggregator: Client,
}

/// Shared state of the node's servers.
#[derive(Debug)]
struct Inner {
    bls: BlsSigner,
    operator: Address,
    layer1_chain_id: u64,
    avs: BTreeMap<String, AvsRuntime>,
    health: Health,
    metrics: Metrics,
}

/// Where a node started by [`start_supervised`] listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Started {
    /// Where the alert JSON-RPC server listens.
    pub alert_addr: SocketAddr,
    /// Where the node API listens, when enabled.
    pub api_addr: Option<SocketAddr>,
    /// Where the metrics server listens, when enabled.
    pub metrics_addr: Option<SocketAddr>,
}

/// A node running in-process under a supervisor of its own ([`start`]). Dropping it (or
/// [`NodeHandle::shutdown`]) stops its servers.
#[derive(Debug)]
pub struct NodeHandle {
    /// Where the alert JSON-RPC server listens.
    pub alert_addr: SocketAddr,
    /// Where the node API listens, when enabled.
    pub api_addr: Option<SocketAddr>,
    /// Where the metrics server listens, when enabled.
    pub metrics_addr: Option<SocketAddr>,
    running: Running,
}

impl NodeHandle {
    /// Stops the servers and waits for them.
    pub async fn shutdown(self) {
        if let Err(e) = self.running.stop().await {
            tracing::warn!(error = %e, "the node had stopped before");
        }
    }

    /// Waits until the node stops, which it does only when one of its servers ends on its own
    /// (the error naming it) or another holder of its token stops it.
    pub async fn wait(self) -> Result<(), Stopped> {
        self.running.wait().await
    }
}

/// How long the node waits for the aggregator; processing a signature can include waiting for
/// the `confirmAlert` receipt.
const AGGREGATOR_TIMEOUT: Duration = Duration::from_secs(120);
/// Pause between attempts to announce the operator to an unavailable aggregator.
const INIT_RETRY: Duration = Duration::from_secs(10);

/// The name of the alert server's critical task.
pub const ALERT_SERVER: &str = "alert server";
/// The name of the node API server's critical task.
pub const NODE_API_SERVER: &str = "node API server";
/// The name of the metrics server's critical task.
pub const METRICS_SERVER: &str = "metrics server";

/// [`start_supervised`] under a supervisor of the node's own, running in the background: for
/// in-process callers (tests, benchmarks). `mach node` uses [`start_supervised`].
pub async fn start(config: NodeConfig, bls: impl Into<BlsSigner>) -> Result<NodeHandle, NodeError> {
    let mut supervisor = Supervisor::new();
    let started = start_supervised(config, bls, &mut supervisor).await?;
    Ok(NodeHandle {
        alert_addr: started.alert_addr,
        api_addr: started.api_addr,
        metrics_addr: started.metrics_addr,
        running: supervisor.run_in_background(),
    })
}

/// Starts the node under `supervisor`: checks on L1 that the operator is registered with every
/// AVS under the BLS key's operator ID (refusing to start otherwise; a remote signer must also
/// sign a test message that verifies against the registered key), binds its servers and
/// spawns them as critical tasks ([`ALERT_SERVER`], and [`NODE_API_SERVER`] and
/// [`METRICS_SERVER`] when enabled), and announces the operator to each aggregator in the
/// background (retrying while one is unavailable; not critical: an announcer ends once the
/// aggregator answered). Everything stops on the supervisor's shutdown token; the caller runs
/// the supervisor.
pub async fn start_supervised(
    config: NodeConfig,
    bls: impl Into<BlsSigner>,
    supervisor: &mut Supervisor,
) -> Result<Started, NodeError> {
    let bls: BlsSigner = bls.into();
    let operator_id = bls.operator_id();
    tracing::info!(operator = %config.operator_address, operator_id = %operator_id, avs = config.avs.len(), "Start operator");
    let conn = mach_chain::connect_read_only(&config.eth_rpc_url, config.operator_address).await?;
    if let Some(expected) = config.layer1_chain_id {
        if conn.chain_id != expected {
            return Err(NodeError::Refused(format!(
                "ETH_RPC_URL {} is chain {}, but LAYER1_CHAIN_ID is {expected}",
                config.eth_rpc_url, conn.chain_id
            )));
        }
    }
    let mut avs = BTreeMap::new();
    for entry in &config.avs {
        let runtime = check_registration(&conn, &config, entry, &bls).await?;
        avs.insert(entry.avs_name.clone(), runtime);
    }
    let names: Vec<String> = avs.keys().cloned().collect();
    let inner = Arc::new(Inner {
        bls,
        operator: config.operator_address,
        layer1_chain_id: conn.chain_id,
        avs,
        health: Health::new(&names, config.verifier_liveness),
        metrics: Metrics::new(env!("CARGO_PKG_VERSION"))?,
    });

    let bind = |what: &'static str, addr: SocketAddr| async move {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| NodeError::Bind { what, addr, source })?;
        let local =
            listener
                .local_addr()
                .map_err(|source| NodeError::Bind { what, addr, source })?;
        Ok::<_, NodeError>((listener, local))
    };
    // Every listener is bound before any server is spawned: a refusal leaves nothing running.
    let (alert_listener, alert_addr) =
        bind("alert server, OPERATOR_SERVER_URL", config.server_addr).await?;
    let api = match config.node_api_addr {
        Some(addr) => Some(bind("node API, NODE_API_URL", addr).await?),
        None => None,
    };
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(bind("metrics, EIGEN_METRICS_URL", addr).await?),
        None => None,
    };
    let limits = config.http_limits.clone();
    let shutdown = supervisor.shutdown();

    let alert_router = Router::new()
        .route("/", post(alert_root))
        .route("/{avs}", post(alert_path))
        .with_state(inner.clone());
    tracing::info!(address = %alert_addr, "start rpc server for got alert");
    supervisor.spawn(
        ALERT_SERVER,
        jsonrpc::http::serve(
            alert_listener,
            alert_router,
            config.server_access.clone(),
            limits.clone(),
            shutdown.clone().cancelled_owned(),
        ),
    );
    inner.health.set_alert_server(ServiceStatus::Up);

    let mut api_addr = None;
    if let Some((listener, local)) = api {
        tracing::info!(address = %local, "Starting node api server at address {local}");
        let router = Router::new()
            .route("/eigen/node", get(api_node))
            .route("/eigen/node/health", get(api_health))
            .route("/eigen/node/services", get(api_services))
            .route("/eigen/node/services/{id}/health", get(api_service_health))
            .with_state(inner.clone());
        supervisor.spawn(
            NODE_API_SERVER,
            jsonrpc::http::serve(
                listener,
                router,
                Access::any(),
                limits.clone(),
                shutdown.clone().cancelled_owned(),
            ),
        );
        api_addr = Some(local);
    }

    let mut metrics_addr = None;
    if let Some((listener, local)) = metrics_listener {
        tracing::info!(address = %local, "Starting metrics server at port {}", local.port());
        let router = Router::new()
            .route("/metrics", get(metrics))
            .with_state(inner.clone());
        supervisor.spawn(
            METRICS_SERVER,
            jsonrpc::http::serve(
                listener,
                router,
                Access::any(),
                limits,
                shutdown.clone().cancelled_owned(),
            ),
        );
        metrics_addr = Some(local);
    }

    for name in inner.avs.keys().cloned().collect::<Vec<_>>() {
        let inner = inner.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    announced = init_operator(&inner, &name) => if announced { break },
                    _ = shutdown.cancelled() => break,
                }
                tokio::select! {
                    _ = tokio::time::sleep(INIT_RETRY) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
        });
    }
    Ok(Started {
        alert_addr,
        api_addr,
        metrics_addr,
    })
}

/// Refuses unless the operator is registered with the AVS under the BLS key's operator ID.
async fn check_registration(
    conn: &mach_chain::Connection,
    config: &NodeConfig,
    entry: &AvsConfig,
    bls: &BlsSigner,
) -> Result<AvsRuntime, NodeError> {
    let name = &entry.avs_name;
    let addresses = entry.addresses(conn).await?;
    let status = mach_chain::avs::status(conn, &addresses, config.operator_address).await?;
    if !status.registered {
        return Err(NodeError::Refused(format!(
            "operator {} is not registered with the AVS {name} (RegistryCoordinator {}); run `mach opt-in` first",
            config.operator_address, addresses.registry_coordinator
        )));
    }
    if status.operator_id != bls.operator_id().0 {
        return Err(NodeError::Refused(format!(
            "operator {} is registered with the AVS {name} as operator ID {}, but {} has operator ID {}; point {} at the key used for `mach opt-in`",
            config.operator_address,
            status.operator_id,
            bls.describe(config),
            bls.operator_id(),
            bls.key_setting(),
        )));
    }
    if let BlsSigner::Cerberus(_) = bls {
        let contracts = mach_chain::quorum::avs_contracts(conn, &addresses).await?;
        let keys = mach_chain::quorum::operator_keys(
            conn,
            contracts.bls_apk_registry,
            config.operator_address,
        )
        .await?;
        bls.preflight(&keys.g1, &keys.g2).await.map_err(|e| {
            NodeError::Refused(format!(
                "the BLS signer failed its start-up check for the AVS {name} (operator {} registered G1 key {} in the BLSApkRegistry {}): {e}",
                config.operator_address,
                crate::cerberus::hex_g1(&keys.g1),
                contracts.bls_apk_registry,
            ))
        })?;
        tracing::info!(avs = %name, signer = %bls.describe(config), "the remote BLS signer signs with the registered key");
    }
    let rollup_chain_id = MachServiceManager::new(addresses.mach_service_manager, &conn.provider)
        .rollupChainId()
        .call()
        .await
        .map(|v| v.to::<u64>())
        .map_err(|e| {
            NodeError::Refused(format!(
                "cannot read rollupChainId of the AVS {name}'s service manager: {e}"
            ))
        })?;
    let url = entry
        .aggregator_url
        .clone()
        .or_else(|| config.aggregator_url.clone())
        .unwrap_or_default();
    tracing::info!(avs = %name, rollup_chain_id, quorums = ?status.quorums, aggregator = %url, "operator registered with AVS");
    Ok(AvsRuntime {
        config: entry.clone(),
        addresses,
        rollup_chain_id,
        aggregator: Client::new(&url, AGGREGATOR_TIMEOUT),
    })
}

/// Announces the operator to the AVS's aggregator; true when it answered (ok or not).
async fn init_operator(inner: &Inner, name: &str) -> bool {
    let Some(avs) = inner.avs.get(name) else {
        return true;
    };
    let params = InitOperatorParams {
        layer1_chain_id: inner.layer1_chain_id,
        chain_id: avs.rollup_chain_id,
        operator_id: inner.bls.operator_id().0,
        operator_address: inner.operator,
        operator_state_retriever: avs.addresses.operator_state_retriever,
        registry_coordinator: avs.addresses.registry_coordinator,
    };
    let started = Instant::now();
    let result = avs.aggregator.request(api::INIT_OPERATOR, &params).await;
    inner
        .metrics
        .observe_rpc(methods::INIT_OPERATOR, "aggregator", started.elapsed());
    match result {
        Ok(reply) if reply.ok => {
            tracing::info!(
                avs = name,
                aggregator = avs.aggregator.url(),
                "operator initialized with the aggregator"
            );
            inner.health.set_aggregator(name, ServiceStatus::Up);
            true
        }
        Ok(reply) => {
            tracing::error!(avs = name, reason = %reply.reason, "the aggregator refused the operator");
            inner.health.set_aggregator(name, ServiceStatus::Down);
            true
        }
        Err(e) => {
            inner
                .metrics
                .aggregator_errors
                .with_label_values(&[name])
                .inc();
            tracing::warn!(avs = name, error = %e, "aggregator unavailable; retrying in {} s", INIT_RETRY.as_secs());
            inner.health.set_aggregator(name, ServiceStatus::Down);
            false
        }
    }
}

async fn alert_root(State(inner): State<Arc<Inner>>, body: BodyBytes) -> Response {
    handle_body(inner, None, &body).await
}

async fn alert_path(
    State(inner): State<Arc<Inner>>,
    Path(avs): Path<String>,
    body: BodyBytes,
) -> Response {
    handle_body(inner, Some(avs), &body).await
}

async fn handle_body(inner: Arc<Inner>, path_avs: Option<String>, body: &[u8]) -> Response {
    let answer = jsonrpc::answer_body(body, |call| {
        let inner = &inner;
        let path_avs = path_avs.as_deref();
        async move { dispatch(inner, path_avs, &call.method, &call.params).await }
    })
    .await;
    jsonrpc::http::reply(answer)
}

async fn dispatch(
    inner: &Inner,
    path_avs: Option<&str>,
    method: &str,
    params: &Value,
) -> Result<Value, RpcError> {
    let (named, alert) = match method {
        methods::ALERT_BLOCK_MISMATCH => {
            let p: rpc::BlockMismatchParams = jsonrpc::object_param(params)?;
            (p.avs_name.clone(), p.alert())
        }
        methods::ALERT_BLOCK_HASH => {
            let p: rpc::BlockHashParams = jsonrpc::object_param(params)?;
            (p.avs_name.clone(), p.alert())
        }
        methods::ALERT_BLOCK_OUTPUT_ORACLE_MISMATCH => {
            let p: rpc::OutputOracleMismatchParams = jsonrpc::object_param(params)?;
            (p.avs_name.clone(), p.alert())
        }
        methods::HEALTH_CHECK => {
            let p: HealthCheckParams = jsonrpc::object_param(params)?;
            let avs = select_avs(inner, path_avs, &p.avs_name)?;
            let block = p.block_number.saturating_to::<u64>();
            inner.health.work_proof(&avs.config.avs_name, block);
            inner
                .metrics
                .last_work_proof_block
                .with_label_values(&[&avs.config.avs_name])
                .set(block as i64);
            tracing::debug!(avs = %avs.config.avs_name, block = format!("#{block}({})", short(&p.block_hash)), "work proof");
            return Ok(Value::Null);
        }
        other => {
            return Err(RpcError::new(
                codes::METHOD_NOT_FOUND,
                format!("method {other} does not exist"),
            ))
        }
    };
    let avs = select_avs(inner, path_avs, &named)?;
    let result = handle_alert(inner, avs, &alert).await;
    let name = avs.config.avs_name.as_str();
    match &result {
        Ok(_) => inner.metrics.alerts_signed.with_label_values(&[name]).inc(),
        Err(_) => inner.metrics.alerts_failed.with_label_values(&[name]).inc(),
    }
    result.and_then(|r| {
        serde_json::to_value(r).map_err(|e| RpcError::new(codes::INTERNAL_ERROR, e.to_string()))
    })
}

/// The AVS named by the URL path, else by `avs_name`, else the only one served.
fn select_avs<'a>(
    inner: &'a Inner,
    path_avs: Option<&str>,
    named: &str,
) -> Result<&'a AvsRuntime, RpcError> {
    let name = path_avs
        .filter(|n| !n.is_empty())
        .or(Some(named).filter(|n| !n.is_empty()));
    match name {
        Some(name) => inner.avs.get(name).ok_or_else(|| {
            let served: Vec<&str> = inner.avs.keys().map(String::as_str).collect();
            RpcError::new(
                codes::UNKNOWN_AVS,
                format!("this node does not serve the AVS {name:?} (it serves {served:?})"),
            )
        }),
        None if inner.avs.len() == 1 => inner
            .avs
            .values()
            .next()
            .ok_or_else(|| RpcError::new(codes::UNKNOWN_AVS, "no AVS")),
        None => Err(RpcError::new(
            codes::UNKNOWN_AVS,
            "which AVS? give avs_name in the params or post to /<avs_name>",
        )),
    }
}

/// Creates (or joins) the alert's task, signs it and hands the signature to the aggregator.
async fn handle_alert(
    inner: &Inner,
    avs: &AvsRuntime,
    alert: &Alert,
) -> Result<AlertResponse, RpcError> {
    let name = avs.config.avs_name.as_str();
    inner
        .metrics
        .alerts_received
        .with_label_values(&[name])
        .inc();
    let message_hash = alert.message_hash();
    tracing::info!(avs = name, message_hash = %message_hash, alert = ?alert, "alert received");

    let aggregator_error = |what: &str, e: CallError| {
        inner
            .metrics
            .aggregator_errors
            .with_label_values(&[name])
            .inc();
        // Unreachable or refusing: either way alerts are not getting through, which the node
        // API and the performance score must show until one does again.
        inner.health.set_aggregator(name, ServiceStatus::Down);
        tracing::error!(avs = name, message_hash = %message_hash, error = %e, "{what} failed");
        RpcError::new(codes::AGGREGATOR, format!("{what} failed: {e}"))
    };

    let started = Instant::now();
    let task = avs
        .aggregator
        .request(api::CREATE_TASK, &message_hash)
        .await;
    inner
        .metrics
        .observe_rpc(methods::CREATE_TASK, "aggregator", started.elapsed());
    let task = task.map_err(|e| aggregator_error("aggregator_createTask", e))?;
    if task.alert_hash != message_hash.0 {
        return Err(RpcError::new(
            codes::AGGREGATOR,
            format!(
                "the aggregator returned a task for {} instead of {message_hash}",
                task.alert_hash
            ),
        ));
    }

    let started = Instant::now();
    let signature = inner.bls.sign(task.sign_hash()).await;
    let signer = match &inner.bls {
        BlsSigner::Local(_) => "keystore",
        BlsSigner::Cerberus(_) => "cerberus",
    };
    inner
        .metrics
        .bls_sign_duration
        .with_label_values(&[signer])
        .observe(started.elapsed().as_secs_f64());
    let signature = signature.map_err(|e| {
        inner
            .metrics
            .bls_signer_errors
            .with_label_values(&[name])
            .inc();
        tracing::error!(avs = name, message_hash = %message_hash, error = %e, "BLS signing failed");
        RpcError::new(BLS_SIGNER_ERROR, format!("BLS signing failed: {e}"))
    })?;
    let started = Instant::now();
    let signed = ProcessSignedParams {
        alert_info: task,
        signature: signature.to_bytes().to_vec(),
        operator_id: inner.bls.operator_id().0,
    };
    let reply = avs
        .aggregator
        .request(api::PROCESS_SIGNED_TASK_RESPONSE, &signed)
        .await;
    inner.metrics.observe_rpc(
        methods::PROCESS_SIGNED_TASK_RESPONSE,
        "aggregator",
        started.elapsed(),
    );
    let reply = reply.map_err(|e| aggregator_error("aggregator_processSignedTaskResponse", e))?;
    if !reply.reply {
        inner.health.set_aggregator(name, ServiceStatus::Down);
        return Err(RpcError::new(
            codes::AGGREGATOR,
            "the aggregator did not accept the signature",
        ));
    }
    inner.health.set_aggregator(name, ServiceStatus::Up);
    tracing::info!(
        avs = name,
        message_hash = %message_hash,
        task_index = signed.alert_info.task_index,
        reference_block = signed.alert_info.reference_block_number,
        tx_hash = %reply.tx_hash,
        "alert signed"
    );
    Ok(AlertResponse {
        task_index: signed.alert_info.task_index,
        tx_hash: reply.tx_hash,
        alert_hash: message_hash.0,
    })
}

fn short(hash: &B256) -> String {
    let text = hash.to_string();
    format!("{}…", &text[..text.len().min(10)])
}

async fn api_node() -> Json<Value> {
    Json(json!({
        "node_name": "mach-rs",
        "spec_version": "v0.0.1",
        "node_version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn api_health(State(inner): State<Arc<Inner>>) -> StatusCode {
    StatusCode::from_u16(inner.health.http_status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

async fn api_services(State(inner): State<Arc<Inner>>) -> Json<Value> {
    Json(json!({ "services": inner.health.services() }))
}

async fn api_service_health(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> StatusCode {
    match inner.health.services().into_iter().find(|s| s.id == id) {
        None => StatusCode::NOT_FOUND,
        Some(s) if s.status == ServiceStatus::Up => StatusCode::OK,
        Some(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn metrics(State(inner): State<Arc<Inner>>) -> Response {
    inner
        .metrics
        .performance_score
        .set(inner.health.performance_score());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        inner.metrics.render(),
    )
        .into_response()
}
