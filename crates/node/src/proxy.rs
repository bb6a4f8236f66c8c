//! The operator proxy of the reference deployment (`operator_proxy.yaml`): verifiers post to
//! `/<avs_name>`; the proxy attaches the AVS name, forwards alerts to the node, and forwards a
//! verifier's `health_check` only every `work_proofs_mod[name]` blocks.

use axum::body::Bytes as BodyBytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use axum::Router;
use mach_jsonrpc::{self as jsonrpc, codes, Body, CallError, RpcError};
use mach_primitives::rpc::methods;
use mach_runtime::{Running, Stopped, Supervisor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long the node may take to answer a forwarded call (an alert waits for its L1
/// confirmation).
const NODE_TIMEOUT: Duration = Duration::from_secs(180);

/// `operator_proxy.yaml`.
#[derive(Clone, Debug, Deserialize)]
pub struct ProxyConfig {
    /// The contract method the AVSs use (`confirmAlert`).
    #[serde(alias = "Method", default)]
    pub method: String,
    /// The node's alert endpoint, e.g. `http://operator:8901`.
    pub generic_operator_addr: String,
    /// Where the proxy listens.
    pub rpc_cfg: RpcConfig,
    /// Rollup chain ID per AVS name.
    #[serde(default)]
    pub chain_ids: BTreeMap<String, u64>,
    /// Forward one `health_check` in this many blocks, per AVS name (absent or 0: every one).
    #[serde(default)]
    pub work_proofs_mod: BTreeMap<String, u64>,
}

/// The `rpc_cfg` section.
#[derive(Clone, Debug, Deserialize)]
pub struct RpcConfig {
    /// Listen address, e.g. `0.0.0.0:8902`.
    pub rpc_addr: String,
    /// `Host` names answered (`*` for any; empty or absent: any, as the reference proxy).
    #[serde(default)]
    pub rpc_vhosts: Vec<String>,
    /// Browser origins allowed (`*` for any; empty: none, verifiers are not browsers).
    #[serde(default)]
    pub rpc_cors: Vec<String>,
}

impl ProxyConfig {
    /// Parses the YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        use mach_primitives::nesting::{check_nesting, MAX_NESTING};
        check_nesting(text, MAX_NESTING)?;
        serde_yaml::from_str(text).map_err(|e| e.to_string())
    }

    /// The listen address.
    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        self.rpc_cfg
            .rpc_addr
            .parse()
            .map_err(|e| format!("rpc_cfg.rpc_addr {:?}: {e}", self.rpc_cfg.rpc_addr))
    }
}

struct Inner {
    config: ProxyConfig,
    avs_names: Vec<String>,
    /// The node's endpoint of each AVS (`<generic_operator_addr>/<avs_name>`).
    nodes: HashMap<String, jsonrpc::Client>,
}

/// A proxy running in-process under a supervisor of its own ([`start`]); dropping it (or
/// [`ProxyHandle::shutdown`]) stops it.
#[derive(Debug)]
pub struct ProxyHandle {
    /// Where it listens.
    pub addr: SocketAddr,
    running: Running,
}

impl ProxyHandle {
    /// Stops the server and waits for it.
    pub async fn shutdown(self) {
        if let Err(e) = self.running.stop().await {
            tracing::warn!(error = %e, "the proxy had stopped before");
        }
    }

    /// Waits until the server stops, which it does only when it ends on its own (the error
    /// naming it) or another holder of its token stops it.
    pub async fn wait(self) -> Result<(), Stopped> {
        self.running.wait().await
    }
}

/// The name of the proxy server's critical task.
pub const PROXY_SERVER: &str = "proxy server";

/// [`start_supervised`] under a supervisor of the proxy's own, running in the background: for
/// in-process callers. `mach proxy` uses [`start_supervised`].
pub async fn start(config: ProxyConfig, avs_names: Vec<String>) -> Result<ProxyHandle, String> {
    let mut supervisor = Supervisor::new();
    let addr = start_supervised(config, avs_names, &mut supervisor).await?;
    Ok(ProxyHandle {
        addr,
        running: supervisor.run_in_background(),
    })
}

/// Starts the proxy for the AVSs named in `avs_names` (from `avs_configs.json`) under
/// `supervisor`: binds the listen address and spawns the server as the critical task
/// [`PROXY_SERVER`], which stops on the supervisor's shutdown token. Returns where it listens;
/// the caller runs the supervisor.
pub async fn start_supervised(
    config: ProxyConfig,
    avs_names: Vec<String>,
    supervisor: &mut Supervisor,
) -> Result<SocketAddr, String> {
    let addr = config.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (rpc_cfg.rpc_addr): {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let limits = jsonrpc::http::Limits::from_env()?;
    let rpc = &config.rpc_cfg;
    let access = jsonrpc::http::Access {
        vhosts: if rpc.rpc_vhosts.is_empty() {
            vec!["*".into()]
        } else {
            rpc.rpc_vhosts.clone()
        },
        cors: rpc.rpc_cors.clone(),
    };
    let node = config.generic_operator_addr.trim_end_matches('/');
    let nodes = avs_names
        .iter()
        .map(|avs| {
            let url = format!("{node}/{avs}");
            (avs.clone(), jsonrpc::Client::new(&url, NODE_TIMEOUT))
        })
        .collect();
    let inner = Arc::new(Inner {
        nodes,
        config,
        avs_names,
    });
    tracing::info!(address = %local, node = %inner.config.generic_operator_addr, "proxy listening");
    let router = Router::new()
        .route("/{avs}", post(route))
        .route("/", post(no_name))
        .with_state(inner);
    let shutdown = supervisor.shutdown().cancelled_owned();
    supervisor.spawn(
        PROXY_SERVER,
        jsonrpc::http::serve(listener, router, access, limits, shutdown),
    );
    Ok(local)
}

async fn no_name() -> Json<Value> {
    Json(jsonrpc::response(
        Value::Null,
        Err(RpcError::new(codes::UNKNOWN_AVS, "post to /<avs_name>")),
    ))
}

async fn route(
    State(inner): State<Arc<Inner>>,
    Path(avs): Path<String>,
    body: BodyBytes,
) -> Response {
    if !inner.avs_names.contains(&avs) {
        let error = RpcError::new(
            codes::UNKNOWN_AVS,
            format!("unknown AVS {avs:?}; known: {:?}", inner.avs_names),
        );
        return Json(jsonrpc::response(Value::Null, Err(error))).into_response();
    }
    let answer = match jsonrpc::parse_body(&body) {
        Body::Single(call) => forward(&inner, &avs, call).await,
        Body::Batch(calls) => {
            let calls = calls.into_iter().map(|call| forward(&inner, &avs, call));
            let out: Vec<Value> = futures::future::join_all(calls)
                .await
                .into_iter()
                .flatten()
                .collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
    };
    jsonrpc::http::reply(answer)
}

/// Forwards one call; a notification is forwarded as one and not answered (`None`).
async fn forward(
    inner: &Inner,
    avs: &str,
    call: Result<jsonrpc::Call, (Value, RpcError)>,
) -> Option<Value> {
    let call = match call {
        Ok(call) => call,
        Err((id, error)) => return Some(jsonrpc::response(id, Err(error))),
    };
    let silent = call.notification;
    let answer = forward_call(inner, avs, call).await;
    (!silent).then_some(answer)
}

async fn forward_call(inner: &Inner, avs: &str, call: jsonrpc::Call) -> Value {
    let mut param = match &call.params {
        Value::Array(items) if items.len() == 1 && items[0].is_object() => items[0].clone(),
        Value::Object(_) => call.params.clone(),
        _ => {
            let error = RpcError::new(
                codes::INVALID_PARAMS,
                "expected one object as the only param",
            );
            return jsonrpc::response(call.id, Err(error));
        }
    };
    if call.method == methods::HEALTH_CHECK {
        let every = inner.config.work_proofs_mod.get(avs).copied().unwrap_or(0);
        let block = param.get("block_number").and_then(block_number);
        match block {
            None => {
                let error =
                    RpcError::new(codes::INVALID_PARAMS, "health_check needs a block_number");
                return jsonrpc::response(call.id, Err(error));
            }
            Some(n) if every > 1 && n % every != 0 => {
                return jsonrpc::response(call.id, Ok(Value::Null))
            }
            Some(_) => {}
        }
    }
    if let Some(object) = param.as_object_mut() {
        object.insert("avs_name".into(), Value::String(avs.to_string()));
    }
    let mut body = serde_json::json!({ "jsonrpc": "2.0", "id": call.id, "method": call.method, "params": [param] });
    if call.notification {
        if let Some(object) = body.as_object_mut() {
            object.remove("id");
        }
    }
    let Some(node) = inner.nodes.get(avs) else {
        let error = RpcError::new(codes::UNKNOWN_AVS, format!("unknown AVS {avs:?}"));
        return jsonrpc::response(call.id, Err(error));
    };
    match node.forward(&body).await {
        Ok(Some(reply)) => reply,
        Ok(None) => jsonrpc::response(
            call.id,
            Err(RpcError::new(
                codes::INTERNAL_ERROR,
                "the node answered nothing",
            )),
        ),
        Err(CallError::Transport { url, reason }) => {
            tracing::warn!(avs, node = %url, error = %reason, "node unreachable");
            jsonrpc::response(
                call.id,
                Err(RpcError::new(
                    codes::INTERNAL_ERROR,
                    format!("the operator node at {url} is unreachable: {reason}"),
                )),
            )
        }
        Err(e) => jsonrpc::response(
            call.id,
            Err(RpcError::new(
                codes::INTERNAL_ERROR,
                format!("the node answered something that is not JSON-RPC: {e}"),
            )),
        ),
    }
}

fn block_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_proxy_config_parses() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/operator_proxy.yaml");
        let text = std::fs::read_to_string(&path).expect("the reference operator_proxy.yaml");
        let config = ProxyConfig::from_yaml(&text).unwrap();
        assert_eq!(config.method, "confirmAlert");
        assert_eq!(config.work_proofs_mod["soneium"], 30000);
        assert_eq!(config.chain_ids["soneium"], 1868);
        assert_eq!(config.listen_addr().unwrap().port(), 8902);
    }

    #[test]
    fn block_numbers_in_both_forms() {
        assert_eq!(block_number(&serde_json::json!("0x10")), Some(16));
        assert_eq!(block_number(&serde_json::json!(16)), Some(16));
        assert_eq!(block_number(&serde_json::json!("x")), None);
    }
}
