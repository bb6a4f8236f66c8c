//! The aggregator's JSON-RPC server (`aggregator_initOperator`, `aggregator_createTask`,
//! `aggregator_processSignedTaskResponse`), with the reference's host and CORS allowlists.

use crate::service::{Aggregator, AggregatorError};
use alloy::primitives::{Address, B256};
use axum::body::Bytes as BodyBytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use mach_jsonrpc::{self as jsonrpc, codes, RpcError};
use mach_keys::BlsSignature;
use mach_primitives::rpc::{self, methods, InitOperatorResponse, SignedTaskResponseReply};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
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
        AggregatorError::Chain(_) | AggregatorError::Store(_) | AggregatorError::Stopping => {
            error_codes::UNAVAILABLE
        }
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
                p[i].as_u64()
                    .ok_or_else(|| invalid(format!("{name} must be a number")))
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
    Json(answer).into_response()
}

/// Host and origin allowlists (`rpc_vhosts`, `rpc_cors`).
#[derive(Clone, Debug)]
struct Allow {
    vhosts: Vec<String>,
    cors: Vec<String>,
}

fn allowed(list: &[String], value: &str) -> bool {
    list.iter()
        .any(|v| v == "*" || v.eq_ignore_ascii_case(value))
}

async fn guard(State(allow): State<Arc<Allow>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            h.rsplit_once(':')
                .map_or(h, |(name, _)| name)
                .trim_matches(['[', ']'])
                .to_string()
        })
        .unwrap_or_default();
    if !allowed(&allow.vhosts, &host) {
        return (
            StatusCode::FORBIDDEN,
            format!("host {host:?} is not in rpc_vhosts"),
        )
            .into_response();
    }
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let cors = origin
        .as_deref()
        .filter(|o| allowed(&allow.cors, o))
        .map(str::to_string);
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Some(origin) = &cors {
            add_cors(&mut response, origin);
        }
        return response;
    }
    let mut response = next.run(request).await;
    if let Some(origin) = &cors {
        add_cors(&mut response, origin);
    }
    response
}

fn add_cors(response: &mut Response, origin: &str) {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
}

/// Binds the server; it runs until `stop` turns true.
pub async fn serve(
    agg: Aggregator,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), std::io::Error> {
    let config = agg.config();
    let listen = &config.aggregator_jsonrpc_server_ip_port_address;
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {listen} (aggregator_jsonrpc_server_ip_port_address): {e}"),
        )
    })?;
    let address = listener.local_addr()?;
    let allow = Arc::new(Allow {
        vhosts: config.rpc_vhosts.clone(),
        cors: config.rpc_cors.clone(),
    });
    let app = Router::new()
        .route("/", post(handle))
        .with_state(agg)
        .layer(middleware::from_fn_with_state(allow, guard));
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "aggregator server failed");
        }
    });
    Ok((address, task))
}
