//! The finality RPC's JSON-RPC server: the rollup's `eth_*` (and any other non-`mach_*`)
//! methods proxied, with `safe` / `finalized` resolved to MACH's view where configured and
//! state reads refused while the circuit breaker is open; the `mach_*` methods; and, over
//! WebSocket, `eth_subscribe("machFinalizedHeads")`.

use crate::pipeline::{lock, Shared};
use crate::state::Head;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use mach_jsonrpc::{codes, Body, Call, CallError, RpcError};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The JSON-RPC error code of a state read refused by the open circuit breaker.
pub const CIRCUIT_BREAKER_OPEN: i64 = -32090;
/// The JSON-RPC error code when the rollup RPC cannot be reached.
pub const ROLLUP_UNAVAILABLE: i64 = -32091;
/// The JSON-RPC error code when MACH has no answer yet (nothing validated).
pub const NOT_YET: i64 = -32092;

/// The methods that read state or execution results, refused while the breaker is open.
pub const STATE_READS: [&str; 11] = [
    "eth_call",
    "eth_estimateGas",
    "eth_createAccessList",
    "eth_getBalance",
    "eth_getCode",
    "eth_getStorageAt",
    "eth_getTransactionCount",
    "eth_getProof",
    "eth_getLogs",
    "eth_getTransactionReceipt",
    "eth_getBlockReceipts",
];

/// Whose view a block tag takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagSource {
    /// MACH's finalized head (`mach_finalizedBlock`).
    Mach,
    /// The rollup node's own answer (the tag is passed on unchanged).
    Rollup,
}

/// What the breaker does when open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerMode {
    /// Refuse state reads with [`CIRCUIT_BREAKER_OPEN`].
    Enforce,
    /// Answer them, logging a warning.
    Warn,
}

/// How the server answers.
#[derive(Clone, Debug)]
pub struct Options {
    /// The rollup's JSON-RPC.
    pub rollup_url: String,
    /// `safe` resolves to…
    pub safe: TagSource,
    /// `finalized` resolves to…
    pub finalized: TagSource,
    /// Open breaker behaviour.
    pub breaker: BreakerMode,
}

struct Ctx {
    options: Options,
    metrics: crate::metrics::RpcMetrics,
    state: Shared,
    /// The rollup's JSON-RPC, for forwarded bodies and the server's own calls.
    rollup: mach_jsonrpc::Client,
    heads: watch::Receiver<Option<Head>>,
}

/// The router: JSON-RPC at `POST /`, WebSocket at `GET /`, Prometheus metrics at
/// `GET /metrics`. Serve it with [`mach_jsonrpc::http::serve`], which passes the peer address: the
/// reset method is accepted from loopback peers only.
pub fn router(
    options: Options,
    state: Shared,
    heads: watch::Receiver<Option<Head>>,
) -> Result<Router, prometheus::Error> {
    let rollup = mach_jsonrpc::Client::new(&options.rollup_url, Duration::from_secs(60));
    let ctx = Arc::new(Ctx {
        options,
        metrics: crate::metrics::RpcMetrics::new()?,
        state,
        rollup,
        heads,
    });
    Ok(Router::new()
        .route("/", get(websocket).post(http_body))
        .route("/metrics", get(metrics))
        .with_state(ctx))
}

async fn metrics(State(ctx): State<Arc<Ctx>>) -> String {
    ctx.metrics.render(&lock(&ctx.state))
}

async fn http_body(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    mach_jsonrpc::http::reply(answer_text(&ctx, peer, &body).await)
}

/// Answers a body (single or batch), leaving out the answers to notifications: `None` when
/// nothing is to be sent back.
async fn answer_text(ctx: &Ctx, peer: SocketAddr, body: &[u8]) -> Option<Value> {
    let silent = |call: &Result<Call, (Value, RpcError)>| matches!(call, Ok(c) if c.notification);
    match mach_jsonrpc::parse_body(body) {
        Body::Single(call) => {
            let quiet = silent(&call);
            let answer = one(ctx, peer, call).await;
            (!quiet).then_some(answer)
        }
        Body::Batch(calls) => {
            let quiet: Vec<bool> = calls.iter().map(silent).collect();
            let Value::Array(answers) = batch(ctx, peer, calls).await else {
                return None;
            };
            let kept: Vec<Value> = answers
                .into_iter()
                .zip(quiet)
                .filter_map(|(answer, quiet)| (!quiet).then_some(answer))
                .collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
    }
}

/// A batch: `mach_*` calls answered here, the others that pass the breaker and tag rules sent
/// to the rollup as one batch (renumbered, their ids restored in the answers), in order.
async fn batch(ctx: &Ctx, peer: SocketAddr, calls: Vec<Result<Call, (Value, RpcError)>>) -> Value {
    let mut out = vec![Value::Null; calls.len()];
    let mut forward: Vec<(usize, Value)> = Vec::new();
    let mut requests = Vec::new();
    for (index, call) in calls.into_iter().enumerate() {
        match call {
            Ok(call) if !call.method.starts_with("mach_") => {
                let id = call.id.clone();
                match gate(ctx, call) {
                    Ok(mut request) => {
                        request["id"] = json!(index);
                        requests.push(request);
                        forward.push((index, id));
                    }
                    Err(error) => out[index] = answered(ctx, id, Err(error)),
                }
            }
            other => out[index] = one(ctx, peer, other).await,
        }
    }
    if requests.is_empty() {
        return Value::Array(out);
    }
    let answers = send(ctx, &Value::Array(requests)).await;
    let mut by_index: std::collections::HashMap<u64, Value> = match answers {
        Ok(Value::Array(answers)) => answers
            .into_iter()
            .filter_map(|a| Some((a.get("id")?.as_u64()?, a)))
            .collect(),
        _ => Default::default(),
    };
    for (index, id) in forward {
        out[index] = match by_index.remove(&(index as u64)) {
            Some(mut answer) => {
                ctx.metrics.request(crate::metrics::Outcome::Proxied);
                answer["id"] = id;
                answer
            }
            None => answered(
                ctx,
                id,
                Err(RpcError::new(
                    ROLLUP_UNAVAILABLE,
                    format!(
                        "the rollup RPC {} did not answer this call of the batch",
                        ctx.options.rollup_url
                    ),
                )),
            ),
        };
    }
    Value::Array(out)
}

/// The response to a call answered here, counted.
fn answered(ctx: &Ctx, id: Value, result: Result<Value, RpcError>) -> Value {
    use crate::metrics::Outcome;
    ctx.metrics.request(match &result {
        Ok(_) => Outcome::Local,
        Err(e) if e.code == CIRCUIT_BREAKER_OPEN => Outcome::Refused,
        Err(_) => Outcome::Failed,
    });
    mach_jsonrpc::response(id, result)
}

async fn one(ctx: &Ctx, peer: SocketAddr, call: Result<Call, (Value, RpcError)>) -> Value {
    match call {
        Err((id, error)) => mach_jsonrpc::response(id, Err(error)),
        Ok(call) => {
            let id = call.id.clone();
            match answer(ctx, peer, call).await {
                Answer::Local(result) => answered(ctx, id, result),
                Answer::Proxied(value) => {
                    ctx.metrics.request(crate::metrics::Outcome::Proxied);
                    value
                }
            }
        }
    }
}

enum Answer {
    Local(Result<Value, RpcError>),
    /// The rollup's whole response object.
    Proxied(Value),
}

async fn answer(ctx: &Ctx, peer: SocketAddr, call: Call) -> Answer {
    let result = match call.method.as_str() {
        "mach_blockStatus" => block_status(ctx, &call.params).await,
        "mach_finalizedBlock" => Ok(json!(lock(&ctx.state).finalized())),
        "mach_alerts" => Ok(json!(lock(&ctx.state).alerts())),
        "mach_circuitBreaker" => Ok(json!(lock(&ctx.state).breaker())),
        "mach_resetCircuitBreaker" if peer.ip().is_loopback() => {
            match lock(&ctx.state).reset() {
                Ok(was) => {
                    tracing::warn!(peer = %peer, was = ?was.as_ref().map(|t| &t.reason), "circuit breaker reset");
                    Ok(json!({"was_open": was.is_some(), "reason": was.map(|t| t.reason)}))
                }
                Err(e) => Err(RpcError::new(codes::INTERNAL_ERROR, e.to_string())),
            }
        }
        "mach_resetCircuitBreaker" => Err(RpcError::new(
            codes::METHOD_NOT_FOUND,
            "mach_resetCircuitBreaker is accepted from the machine itself only (`mach rpc reset`)",
        )),
        method if method.starts_with("mach_") => Err(RpcError::new(
            codes::METHOD_NOT_FOUND,
            format!("no method {method}: the finality RPC has mach_blockStatus, mach_finalizedBlock, mach_alerts, mach_circuitBreaker, mach_resetCircuitBreaker"),
        )),
        _ => return proxy(ctx, call).await,
    };
    Answer::Local(result)
}

/// Proxies a call to the rollup, after the breaker and tag rules.
async fn proxy(ctx: &Ctx, call: Call) -> Answer {
    match gate(ctx, call) {
        Ok(request) => match send(ctx, &request).await {
            Ok(value) => Answer::Proxied(value),
            Err(e) => Answer::Local(Err(e)),
        },
        Err(e) => Answer::Local(Err(e)),
    }
}

/// The request for the rollup, or why the call is refused: the breaker (for state reads) and
/// the block tags.
fn gate(ctx: &Ctx, mut call: Call) -> Result<Value, RpcError> {
    if STATE_READS.contains(&call.method.as_str()) {
        let trip = lock(&ctx.state).breaker().cloned();
        if let Some(trip) = trip {
            match ctx.options.breaker {
                BreakerMode::Enforce => {
                    let mut error = RpcError::new(
                        CIRCUIT_BREAKER_OPEN,
                        format!(
                            "MACH circuit breaker open: {}; state reads are refused until an operator runs `mach rpc reset`",
                            trip.reason
                        ),
                    );
                    error.data = Some(json!(trip));
                    return Err(error);
                }
                BreakerMode::Warn => {
                    tracing::warn!(method = %call.method, reason = %trip.reason, "circuit breaker open (warn only): answering anyway")
                }
            }
        }
    }
    rewrite_tags(ctx, &mut call.params)?;
    Ok(json!({"jsonrpc": "2.0", "id": call.id, "method": call.method, "params": call.params}))
}

/// Posts `body` (a request or a batch) to the rollup; its answer as it came.
async fn send(ctx: &Ctx, body: &Value) -> Result<Value, RpcError> {
    let unavailable = |e: String| {
        RpcError::new(
            ROLLUP_UNAVAILABLE,
            format!("the rollup RPC did not answer: {e}"),
        )
    };
    match ctx.rollup.forward(body).await {
        Ok(Some(answer)) => Ok(answer),
        Ok(None) => Err(unavailable("it answered nothing".into())),
        Err(e) => Err(unavailable(e.to_string())),
    }
}

/// Replaces the block tags MACH answers for (`safe`, `finalized` as configured) with its block
/// number, in the params and in filter objects (`fromBlock`, `toBlock`, `blockHash` untouched).
fn rewrite_tags(ctx: &Ctx, params: &mut Value) -> Result<(), RpcError> {
    let mine = |tag: &str| match tag {
        "safe" => ctx.options.safe == TagSource::Mach,
        "finalized" => ctx.options.finalized == TagSource::Mach,
        _ => false,
    };
    let replace = |value: &mut Value| -> Result<(), RpcError> {
        if value.as_str().is_some_and(mine) {
            let head = lock(&ctx.state).finalized().ok_or_else(|| {
                RpcError::new(
                    NOT_YET,
                    "MACH has not validated a block yet, so it has no safe or finalized block",
                )
            })?;
            *value = json!(format!("{:#x}", head.number));
        }
        Ok(())
    };
    if let Value::Array(items) = params {
        for item in items {
            replace(item)?;
            if let Value::Object(fields) = item {
                for key in ["fromBlock", "toBlock", "blockNumber"] {
                    if let Some(value) = fields.get_mut(key) {
                        replace(value)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// `mach_blockStatus(number | hash)`.
async fn block_status(ctx: &Ctx, params: &Value) -> Result<Value, RpcError> {
    let invalid = |m: &str| RpcError::new(codes::INVALID_PARAMS, m.to_string());
    let arg = params
        .get(0)
        .ok_or_else(|| invalid("give a block number or a block hash: [123] or [\"0x…\"]"))?;
    let hex_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    let number = match arg {
        Value::String(s) if s.len() == 66 => {
            if !s.starts_with("0x") || !hex_digits(&s[2..]) {
                return Err(invalid("a 32-byte block hash is 0x and 64 hex digits"));
            }
            None
        }
        Value::String(s) => Some(
            s.strip_prefix("0x")
                .filter(|digits| hex_digits(digits))
                .and_then(|digits| u64::from_str_radix(digits, 16).ok())
                .ok_or_else(|| {
                    invalid("a block number as a string is a 0x quantity of at most 64 bits, e.g. \"0x1b4\"")
                })?,
        ),
        Value::Number(n) => Some(n.as_u64().ok_or_else(|| {
            invalid(&format!(
                "block number {n} is out of range: give an integer from 0 to 2^64-1"
            ))
        })?),
        _ => {
            return Err(invalid(
                "give a block number (integer or 0x quantity) or a 32-byte block hash",
            ))
        }
    };
    let block = match number {
        None => rollup(ctx, "eth_getBlockByHash", json!([arg, false])).await?,
        Some(number) => {
            let number = format!("{number:#x}");
            rollup(ctx, "eth_getBlockByNumber", json!([number, false])).await?
        }
    };
    if block.is_null() {
        return Err(RpcError::new(
            codes::INVALID_PARAMS,
            format!("the rollup has no block {arg}"),
        ));
    }
    let number = block
        .get("number")
        .and_then(Value::as_str)
        .and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok());
    let hash = block
        .get("hash")
        .and_then(|h| serde_json::from_value(h.clone()).ok());
    let (Some(number), Some(hash)) = (number, hash) else {
        return Err(RpcError::new(
            ROLLUP_UNAVAILABLE,
            "the rollup answered a block without number or hash",
        ));
    };
    Ok(json!(lock(&ctx.state).status(number, hash)))
}

/// One call to the rollup, for the server's own use.
async fn rollup(ctx: &Ctx, method: &str, params: Value) -> Result<Value, RpcError> {
    let unavailable = |e: String| {
        RpcError::new(
            ROLLUP_UNAVAILABLE,
            format!("the rollup RPC did not answer {method}: {e}"),
        )
    };
    match ctx.rollup.call::<Value>(method, params).await {
        Ok(result) => Ok(result),
        // The rollup answered, refusing the call: its error (e.g. invalid params) is the
        // client's to see, not an outage.
        Err(CallError::Rpc { mut error, .. }) => {
            error.message = format!("the rollup RPC refused {method}: {}", error.message);
            Err(error)
        }
        Err(e) => Err(unavailable(e.to_string())),
    }
}

/// WebSocket: JSON-RPC over the socket, plus `eth_subscribe("machFinalizedHeads")`, which sends
/// each new MACH-finalized head as `{number, hash}`.
async fn websocket(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade.on_upgrade(move |socket| serve_socket(ctx, peer, socket))
}

async fn serve_socket(ctx: Arc<Ctx>, peer: SocketAddr, mut socket: WebSocket) {
    let mut heads = ctx.heads.clone();
    let mut subscription: Option<String> = None;
    loop {
        tokio::select! {
            message = socket.recv() => {
                let Some(Ok(message)) = message else { return };
                let Message::Text(text) = message else { continue };
                let reply = match mach_jsonrpc::parse_body(text.as_bytes()) {
                    Body::Single(Ok(call)) if call.notification && call.method.ends_with("subscribe") => continue,
                    Body::Single(Ok(call)) if call.method == "eth_subscribe" => {
                        if call.params.get(0).and_then(Value::as_str) == Some("machFinalizedHeads") {
                            let id = format!("{:#x}", alloy::primitives::B128::random());
                            subscription = Some(id.clone());
                            heads.mark_changed();
                            mach_jsonrpc::response(call.id, Ok(json!(id)))
                        } else {
                            mach_jsonrpc::response(call.id, Err(RpcError::new(codes::INVALID_PARAMS, "the finality RPC offers eth_subscribe(\"machFinalizedHeads\")")))
                        }
                    }
                    Body::Single(Ok(call)) if call.method == "eth_unsubscribe" => {
                        let was = subscription.take().is_some();
                        mach_jsonrpc::response(call.id, Ok(json!(was)))
                    }
                    _ => match answer_text(&ctx, peer, text.as_bytes()).await {
                        Some(reply) => reply,
                        None => continue,
                    },
                };
                if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                    return;
                }
            }
            changed = heads.changed(), if subscription.is_some() => {
                if changed.is_err() {
                    return;
                }
                let head = *heads.borrow_and_update();
                if let (Some(id), Some(head)) = (&subscription, head) {
                    let note = json!({"jsonrpc": "2.0", "method": "eth_subscription",
                        "params": {"subscription": id, "result": head}});
                    if socket.send(Message::Text(note.to_string().into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
