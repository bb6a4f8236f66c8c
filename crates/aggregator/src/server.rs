//! The aggregator's JSON-RPC server (`aggregator_initOperator`, `aggregator_createTask`,
//! `aggregator_processSignedTaskResponse`), served through [`mach_jsonrpc::http::serve`]: the
//! reference's host and CORS allowlists (`rpc_vhosts`, `rpc_cors`) and the shared limits.

use crate::service::{Aggregator, AggregatorError};
use alloy::primitives::{Address, B256};
use axum::body::Bytes as BodyBytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use mach_jsonrpc::http::{Access, Limits};
use mach_jsonrpc::{self as jsonrpc, codes, RpcError};
use mach_keys::BlsSignature;
use mach_primitives::rpc::{self, methods, InitOperatorResponse, SignedTaskResponseReply};
use mach_runtime::Supervisor;
use serde_json::Value;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Aggregator error codes, after the standard JSON-RPC ones.
pub mod error_codes {
    /// No such task, or not the current one for the alert.
    pub const UNKNOWN_TASK: i64 = -32010;
    /// The task expired.
    pub const EXPIRED: i64 = -32011;
    /// The operator was not registered at the reference block.
    pub const NOT_REGISTERED: i64 = -32012;
    /// The operator already signed.
    pub const DUPLICATE: i64 = -32013;
    /// The signature does not verify.
    pub const BAD_SIGNATURE: i64 = -32014;
    /// L1 or the store failed; retry later.
    pub const UNAVAILABLE: i64 = -32015;
}

fn rpc_error(e: AggregatorError) -> RpcError {
    let code = match &e {
        AggregatorError::UnknownTask(_) => error_codes::UNKNOWN_TASK,
        AggregatorError::Expired { .. } => error_codes::EXPIRED,
        AggregatorError::NotRegistered { .. } => error_codes::NOT_REGISTERED,
        AggregatorError::Duplicate { .. } => error_codes::DUPLICATE,
        AggregatorError::BadSignature { .. } => error_codes::BAD_SIGNATURE,
        AggregatorError::Chain(_)
        | AggregatorError::Store(_)
        | AggregatorError::Stopping
        | AggregatorError::Internal(_)
        | AggregatorError::Metrics(_) => error_codes::UNAVAILABLE,
    };
    RpcError::new(code, e.to_string())
}

fn invalid(e: impl std::fmt::Display) -> RpcError {
    RpcError::new(codes::INVALID_PARAMS, format!("invalid params: {e}"))
}

fn to_value<T: serde::Serialize>(value: T) -> Result<Value, RpcError> {
    serde_json::to_value(value).map_err(|e| RpcError::new(codes::INTERNAL_ERROR, e.to_string()))
}

/// Handles one call.
pub async fn dispatch(agg: &Aggregator, method: &str, params: &Value) -> Result<Value, RpcError> {
    match method {
        methods::CREATE_TASK => {
            let hash = params
                .as_array()
                .and_then(|p| p.first())
                .ok_or_else(|| invalid("expected [alertHash]"))?;
            let hash = rpc::hash_value(hash).map_err(|e| invalid(format!("alertHash: {e}")))?;
            to_value(agg.create_task(hash).await.map_err(rpc_error)?)
        }
        methods::PROCESS_SIGNED_TASK_RESPONSE => {
            let p = rpc::ProcessSignedParams::from_params(params).map_err(invalid)?;
            let signature = BlsSignature::from_bytes(&p.signature)
                .map_err(|e| invalid(format!("signature: {e}")))?;
            let tx_hash = agg
                .process_signed(&p.alert_info, signature, p.operator_id)
                .await
                .map_err(rpc_error)?;
            to_value(SignedTaskResponseReply {
                reply: true,
                tx_hash,
            })
        }
        methods::INIT_OPERATOR => {
            let p = params
                .as_array()
                .filter(|p| p.len() == 6)
                .ok_or_else(|| invalid("expected six params: [layer1ChainId, chainId, operatorId, operatorAddress, operatorStateRetrieverAddr, registryCoordinatorAddr]"))?;
            let number = |i: usize, name: &str| {
                p[i].as_u64().ok_or_else(|| {
                    invalid(format!(
                        "{name} must be a chain ID: an integer from 0 to 2^64-1, got {}",
                        p[i]
                    ))
                })
            };
            let address = |i: usize, name: &str| {
                serde_json::from_value::<Address>(p[i].clone())
                    .map_err(|e| invalid(format!("{name}: {e}")))
            };
            let operator_id: B256 =
                rpc::hash_value(&p[2]).map_err(|e| invalid(format!("operatorId: {e}")))?;
            let refusal = agg
                .init_operator(
                    number(0, "layer1ChainId")?,
                    number(1, "chainId")?,
                    operator_id,
                    address(3, "operatorAddress")?,
                    address(4, "operatorStateRetrieverAddr")?,
                    address(5, "registryCoordinatorAddr")?,
                )
                .await
                .map_err(rpc_error)?;
            to_value(InitOperatorResponse {
                ok: refusal.is_none(),
                reason: refusal.unwrap_or_default(),
            })
        }
        other => Err(RpcError::new(
            codes::METHOD_NOT_FOUND,
            format!("method {other} does not exist on the aggregator"),
        )),
    }
}

async fn handle(State(agg): State<Aggregator>, body: BodyBytes) -> Response {
    let agg = &agg;
    let answer = jsonrpc::answer_body(&body, |call| async move {
        dispatch(agg, &call.method, &call.params).await
    })
    .await;
    jsonrpc::http::reply(answer)
}

/// The name of the JSON-RPC server's critical task.
pub const AGGREGATOR_SERVER: &str = "aggregator JSON-RPC server";

/// Binds the server and spawns it under `supervisor` as the critical task [`AGGREGATOR_SERVER`];
/// it runs until the supervisor's shutdown token is cancelled, then waits for the task actors
/// (which stop on the same token) so that the store is closed when the supervisor is done.
pub async fn serve(
    agg: Aggregator,
    supervisor: &mut Supervisor,
) -> Result<SocketAddr, std::io::Error> {
    let config = agg.config();
    let listen = &config.aggregator_jsonrpc_server_ip_port_address;
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {listen} (aggregator_jsonrpc_server_ip_port_address): {e}"),
        )
    })?;
    let address = listener.local_addr()?;
    let access = Access {
        vhosts: config.rpc_vhosts.clone(),
        cors: config.rpc_cors.clone(),
    };
    let limits =
        Limits::from_env().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let app = Router::new()
        .route("/", post(handle))
        .with_state(agg.clone());
    let shutdown = supervisor.shutdown();
    supervisor.spawn(AGGREGATOR_SERVER, async move {
        let served = jsonrpc::http::serve(
            listener,
            app,
            access,
            limits,
            shutdown.clone().cancelled_owned(),
        )
        .await;
        if shutdown.is_cancelled() {
            agg.stopped().await;
        }
        served
    });
    Ok(address)
}
