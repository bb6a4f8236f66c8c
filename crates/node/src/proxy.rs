//! The operator proxy of the reference deployment (`operator_proxy.yaml`): verifiers post to
//! `/<avs_name>`; the proxy attaches the AVS name, forwards alerts to the node, and forwards a
//! verifier's `health_check` only every `work_proofs_mod[name]` blocks.

use axum::body::Bytes as BodyBytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use axum::Router;
use mach_jsonrpc::{self as jsonrpc, codes, Body, RpcError};
use mach_primitives::rpc::methods;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

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
    node: jsonrpc::Client,
    http: reqwest::Client,
}

/// A running proxy; dropping it stops it.
pub struct ProxyHandle {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ProxyHandle {
    /// Waits until the server stops.
    pub async fn wait(mut self) {
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        let _ = task.await;
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the proxy for the AVSs named in `avs_names` (from `avs_configs.json`).
pub async fn start(config: ProxyConfig, avs_names: Vec<String>) -> Result<ProxyHandle, String> {
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
    let inner = Arc::new(Inner {
        node: jsonrpc::Client::new(&config.generic_operator_addr, Duration::from_secs(180)),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(180))
            .build()
            .map_err(|e| e.to_string())?,
        config,
        avs_names,
    });
    tracing::info!(address = %local, node = %inner.config.generic_operator_addr, "proxy listening");
    let router = Router::new()
        .route("/{avs}", post(route))
        .route("/", post(no_name))
        .with_state(inner);
    let task = tokio::spawn(async move {
        if let Err(e) =
            jsonrpc::http::serve(listener, router, access, limits, std::future::pending()).await
        {
            tracing::error!(error = %e, "proxy stopped");
        }
    });
    Ok(ProxyHandle { addr: local, task })
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
    let url = format!("{}/{avs}", inner.node.url().trim_end_matches('/'));
    match inner.http.post(&url).json(&body).send().await {
        Ok(response) => match response.json::<Value>().await {
            Ok(reply) => reply,
            Err(e) => jsonrpc::response(
                call.id,
                Err(RpcError::new(
                    codes::INTERNAL_ERROR,
                    format!("the node answered something that is not JSON-RPC: {e}"),
                )),
            ),
        },
        Err(e) => {
            tracing::warn!(avs, node = %url, error = %e, "node unreachable");
            jsonrpc::response(
                call.id,
                Err(RpcError::new(
                    codes::INTERNAL_ERROR,
                    format!("the operator node at {url} is unreachable: {e}"),
                )),
            )
        }
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
