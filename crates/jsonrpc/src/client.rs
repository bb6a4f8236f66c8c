//! The one outgoing JSON-RPC client of the workspace, on alloy's transport stack.
//!
//! Every JSON-RPC request MACH sends (to the rollup node, to an operator node, to the
//! aggregator, to the devnet's control endpoint, from the benchmarks) goes through [`Client`]: an
//! alloy [`RpcClient`] over HTTP with one tower layer of ours, [`Paced`], that spaces requests
//! (a rate limit, when the endpoint has one) and bounds each by a deadline. Typed calls decode
//! straight into the caller's type, batches are matched by id by alloy, and whole bodies can be
//! passed through unchanged ([`Client::forward`], for the proxies).
//!
//! Failures are classified once ([`CallError`]) and retried by one policy ([`Retry`]). Retrying
//! sits above the transport on purpose: whether an answer is worth asking for again depends on
//! the caller (a `null` block is "not yet" to the verifier and a valid answer to others).

use crate::{codes, RpcError};
/// What a typed call can decode into: any `DeserializeOwned + Debug + Send + Sync + Unpin`
/// type that owns its data.
pub use alloy_json_rpc::RpcRecv;
use alloy_json_rpc::{RequestPacket, ResponsePacket};
use alloy_rpc_client::{ClientBuilder, RpcClient};
use alloy_transport::{TransportError, TransportErrorKind, TransportFut};
use alloy_transport_http::{reqwest, Http};
use mach_primitives::rpc::{Method, Params};
use serde_json::Value;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;
use tower::{Layer, Service};

/// Why a call failed. Every variant names the endpoint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No answer: connection refused or reset, no answer before the deadline, or an address
    /// that is not an http(s) URL.
    #[error("{url}: {reason}")]
    Transport {
        /// The endpoint.
        url: String,
        /// What happened.
        reason: String,
    },
    /// An HTTP status other than success, with no JSON-RPC answer in the body.
    #[error("{url}: HTTP {status}: {body}")]
    Http {
        /// The endpoint.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The server answered with a JSON-RPC error object.
    #[error("{url} answered {error}")]
    Rpc {
        /// The endpoint.
        url: String,
        /// The error object.
        error: RpcError,
    },
    /// Not a JSON-RPC answer, or not of the expected shape.
    #[error("{url}: malformed answer: {reason}")]
    Malformed {
        /// The endpoint.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A `null` result where a value was expected: the server does not have it (yet).
    #[error("{url}: not available (null result)")]
    Missing {
        /// The endpoint.
        url: String,
    },
}

impl CallError {
    /// Whether asking again may succeed. Only a method the server lacks or params it rejects
    /// are final; everything else (overload, rate limits, timeouts, lagging or restarting
    /// servers, proxies that cut answers, data not there yet) may pass.
    pub fn retryable(&self) -> bool {
        !matches!(self, Self::Rpc { error, .. }
            if error.code == codes::METHOD_NOT_FOUND || error.code == codes::INVALID_PARAMS)
    }

    /// The JSON-RPC error object, when the server answered with one.
    pub fn rpc_error(&self) -> Option<&RpcError> {
        match self {
            Self::Rpc { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The retry policy the workspace shares: exponential backoff over failures that
/// [`CallError::retryable`] calls transient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Delay after the first failure; doubled after each further one.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
    /// Attempts in all, including the first.
    pub attempts: u32,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            attempts: 8,
        }
    }
}

impl Retry {
    /// The wait after the `failures`-th failure in a row (1 for the first): `initial`, doubled
    /// each time, at most `max`.
    pub fn delay_after(&self, failures: u32) -> Duration {
        self.initial
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
            .min(self.max)
    }

    /// Runs `attempt` until it succeeds, fails for good, or the attempts are used up; the last
    /// error is returned as it is. `what` names the operation in the debug log.
    pub async fn run<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let mut tried = 1;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(e) if e.retryable() && tried < self.attempts => {
                    let delay = self.delay_after(tried);
                    tracing::debug!(what, attempt = tried, error = %e, "JSON-RPC call failed; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    tried += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Spacing and deadline shared by a client's requests.
#[derive(Debug)]
struct Pace {
    deadline: Duration,
    every: Option<Duration>,
    next_slot: tokio::sync::Mutex<Instant>,
}

impl Pace {
    /// Waits for this request's turn under the rate limit.
    async fn turn(&self) {
        let Some(every) = self.every else { return };
        let mut next = self.next_slot.lock().await;
        let at = (*next).max(Instant::now());
        *next = at + every;
        drop(next);
        tokio::time::sleep_until(at).await;
    }

    /// Runs `request` in its turn, failing with a transport error after the deadline.
    async fn run<T>(
        &self,
        request: impl Future<Output = Result<T, TransportError>>,
    ) -> Result<T, TransportError> {
        self.turn().await;
        match tokio::time::timeout(self.deadline, request).await {
            Ok(result) => result,
            Err(_) => Err(TransportErrorKind::custom_str(&format!(
                "no answer within {:?}",
                self.deadline
            ))),
        }
    }
}

/// The tower layer of [`Client`]'s transport: requests in their turn under the client's rate
/// limit, each bounded by its deadline.
#[derive(Clone, Debug)]
pub struct PaceLayer(Arc<Pace>);

impl<S> Layer<S> for PaceLayer {
    type Service = Paced<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Paced {
            inner,
            pace: self.0.clone(),
        }
    }
}

/// A transport under a [`PaceLayer`].
#[derive(Clone, Debug)]
pub struct Paced<S> {
    inner: S,
    pace: Arc<Pace>,
}

impl<S> Service<RequestPacket> for Paced<S>
where
    S: Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let mut inner = self.inner.clone();
        let pace = self.pace.clone();
        Box::pin(async move { pace.run(inner.call(request)).await })
    }
}

/// The HTTP connection pool every client of the process shares.
fn http() -> reqwest::Client {
    static POOL: OnceLock<reqwest::Client> = OnceLock::new();
    POOL.get_or_init(reqwest::Client::new).clone()
}

/// A JSON-RPC client for one endpoint. Cheap to clone; clones share the rate limit and the
/// failure count.
#[derive(Clone, Debug)]
pub struct Client {
    url: String,
    /// `None` when the address is not an http(s) URL: every call then fails, naming it.
    rpc: Option<RpcClient>,
    pace: Arc<Pace>,
    failures: Arc<AtomicU64>,
}

impl Client {
    /// A client for `url` whose every request waits at most `timeout` for its answer.
    pub fn new(url: &str, timeout: Duration) -> Self {
        Self::paced(url, None, timeout)
    }

    /// A client for `url` sending at most one request per `every` (when given), each waiting
    /// at most `timeout` for its answer. An address that is not an http(s) URL gives a client whose
    /// every call fails with a transport error naming it.
    pub fn paced(url: &str, every: Option<Duration>, timeout: Duration) -> Self {
        let pace = Arc::new(Pace {
            deadline: timeout,
            every,
            next_slot: tokio::sync::Mutex::new(Instant::now()),
        });
        let http_url = url::Url::parse(url)
            .ok()
            .filter(|parsed| matches!(parsed.scheme(), "http" | "https"));
        let rpc = http_url.map(|parsed| {
            let local = alloy_transport::utils::guess_local_url(parsed.as_str());
            ClientBuilder::default()
                .layer(PaceLayer(pace.clone()))
                .transport(Http::with_client(http(), parsed), local)
        });
        Self {
            url: url.to_string(),
            rpc,
            pace,
            failures: Default::default(),
        }
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Failed calls so far (batches count each failed call).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn rpc(&self) -> Result<&RpcClient, CallError> {
        self.rpc.as_ref().ok_or_else(|| CallError::Transport {
            url: self.url.clone(),
            reason: "not an http(s) URL (expected for example http://127.0.0.1:8545)".into(),
        })
    }

    fn counted<T>(&self, result: Result<T, CallError>) -> Result<T, CallError> {
        if result.is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// One attempt at `method(params)`, its result decoded as `T`. A `null` result that `T`
    /// cannot hold is [`CallError::Missing`].
    pub async fn call<T: RpcRecv>(&self, method: &str, params: Value) -> Result<T, CallError> {
        let result = match self.rpc() {
            Ok(rpc) => rpc
                .request::<Value, T>(method.to_string(), params)
                .await
                .map_err(|e| self.classify(method, e)),
            Err(e) => Err(e),
        };
        self.counted(result)
    }

    /// A method of the MACH APIs (`mach_primitives::rpc::api`), typed: one attempt.
    pub async fn request<P: Params, R: RpcRecv>(
        &self,
        method: Method<P, R>,
        params: &P,
    ) -> Result<R, CallError> {
        self.call(method.name(), params.to_params()).await
    }

    /// `method(params)`, retried by `retry` while the failure is transient.
    pub async fn call_retrying<T: RpcRecv>(
        &self,
        method: &str,
        params: Value,
        retry: Retry,
    ) -> Result<T, CallError> {
        retry
            .run(method, || self.call(method, params.clone()))
            .await
    }

    /// Several calls in one JSON-RPC batch (one request under the rate limit); one result per
    /// call, in order, whatever order the server answers in. A `null` result is
    /// [`CallError::Missing`]. The outer error is the batch's own (nothing came back).
    pub async fn batch(
        &self,
        calls: &[(&str, Value)],
    ) -> Result<Vec<Result<Value, CallError>>, CallError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let rpc = self.counted(self.rpc().cloned())?;
        let mut batch = rpc.new_batch();
        let mut waiters = Vec::with_capacity(calls.len());
        for (method, params) in calls {
            let waiter = batch
                .add_call::<Value, Value>(method.to_string(), params)
                .map_err(|e| self.classify(method, e));
            waiters.push(self.counted(waiter)?);
        }
        let sent = batch.send().await.map_err(|e| self.classify("batch", e));
        self.counted(sent)?;
        let mut out = Vec::with_capacity(calls.len());
        for ((method, _), waiter) in calls.iter().zip(waiters) {
            let result = match waiter.await {
                Ok(Value::Null) => Err(CallError::Missing {
                    url: self.url.clone(),
                }),
                Ok(value) => Ok(value),
                Err(e) => Err(self.classify(method, e)),
            };
            out.push(self.counted(result));
        }
        Ok(out)
    }

    /// Posts a whole JSON-RPC body (a request, a notification or a batch) as it is, in its turn
    /// under the rate limit, and returns the answer as it came: for the proxies, which pass
    /// ids and members through untouched. `None` when the server sent back nothing (the answer
    /// to notifications).
    pub async fn forward(&self, body: &Value) -> Result<Option<Value>, CallError> {
        self.counted(self.rpc().map(|_| ()))?;
        let transport = |reason: String| CallError::Transport {
            url: self.url.clone(),
            reason,
        };
        let exchange = async {
            let response = http()
                .post(&self.url)
                .json(body)
                .send()
                .await
                .map_err(TransportErrorKind::custom)?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(TransportErrorKind::custom)?;
            Ok::<_, TransportError>((status, bytes))
        };
        let result = match self.pace.run(exchange).await {
            Err(e) => Err(transport(e.to_string())),
            Ok((_, bytes)) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(None),
            Ok((status, bytes)) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(answer) => Ok(Some(answer)),
                Err(_) if !status.is_success() => Err(CallError::Http {
                    url: self.url.clone(),
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                }),
                Err(e) => Err(CallError::Malformed {
                    url: self.url.clone(),
                    reason: format!("not a JSON-RPC answer: {e}"),
                }),
            },
        };
        self.counted(result)
    }

    /// Sorts an alloy transport error into [`CallError`].
    fn classify(&self, method: &str, error: TransportError) -> CallError {
        let url = self.url.clone();
        match error {
            alloy_json_rpc::RpcError::ErrorResp(payload) => CallError::Rpc {
                url,
                error: RpcError {
                    code: payload.code,
                    message: payload.message.into_owned(),
                    data: payload
                        .data
                        .and_then(|raw| serde_json::from_str(raw.get()).ok()),
                },
            },
            alloy_json_rpc::RpcError::NullResp => CallError::Missing { url },
            alloy_json_rpc::RpcError::DeserError { text, .. } if text.trim() == "null" => {
                CallError::Missing { url }
            }
            alloy_json_rpc::RpcError::DeserError { err, text } => CallError::Malformed {
                url,
                reason: format!(
                    "{method}: {err} (answer: {})",
                    text.chars().take(200).collect::<String>()
                ),
            },
            alloy_json_rpc::RpcError::Transport(TransportErrorKind::HttpError(http)) => {
                // Servers (ours among them) may send an error object with a 4xx/5xx status: the
                // object says more than the status.
                let object = serde_json::from_str::<Value>(&http.body)
                    .ok()
                    .and_then(|answer| serde_json::from_value(answer.get("error")?.clone()).ok());
                match object {
                    Some(error) => CallError::Rpc { url, error },
                    None => CallError::Http {
                        url,
                        status: http.status,
                        body: http.body.chars().take(200).collect(),
                    },
                }
            }
            alloy_json_rpc::RpcError::Transport(TransportErrorKind::MissingBatchResponse(id)) => {
                CallError::Malformed {
                    url,
                    reason: format!("{method}: no answer for id {id} in the batch"),
                }
            }
            other => CallError::Transport {
                url,
                reason: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use axum::{Json, Router};
    use serde_json::json;
    use std::sync::Mutex;

    /// A server that answers the scripted way once per request, then `0x2a` for ever.
    #[derive(Default)]
    struct Script {
        steps: Vec<&'static str>,
        seen: Vec<Value>,
    }

    async fn handle(State(script): State<Arc<Mutex<Script>>>, Json(req): Json<Value>) -> Response {
        let step = {
            let mut s = script.lock().unwrap();
            s.seen.push(req.clone());
            if s.steps.is_empty() {
                "ok"
            } else {
                s.steps.remove(0)
            }
        };
        let id = req.get("id").cloned().unwrap_or(Value::Null);
        match step {
            "500" => (StatusCode::INTERNAL_SERVER_ERROR, "overloaded").into_response(),
            "429" => (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response(),
            "null" => Json(json!({"jsonrpc": "2.0", "id": id, "result": null})).into_response(),
            "garbage" => "<html>proxy error</html>".into_response(),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Json(json!({"jsonrpc": "2.0", "id": id, "result": "0x2a"})).into_response()
            }
            "nomethod" => Json(
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "no", "data": {"why": 1}}}),
            )
            .into_response(),
            "silent" => StatusCode::OK.into_response(),
            "batch" => {
                // Answers a batch in reverse order, leaving out the call with params [0].
                let mut out: Vec<Value> = req
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["params"][0] != json!(0))
                    .map(|r| json!({"jsonrpc": "2.0", "id": r["id"], "result": r["params"][0]}))
                    .collect();
                out.reverse();
                Json(Value::Array(out)).into_response()
            }
            _ => Json(json!({"jsonrpc": "2.0", "id": id, "result": "0x2a"})).into_response(),
        }
    }

    async fn server(steps: Vec<&'static str>) -> (String, Arc<Mutex<Script>>) {
        let script = Arc::new(Mutex::new(Script {
            steps,
            seen: Vec::new(),
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/", post(handle))
            .with_state(script.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, script)
    }

    fn fast() -> Retry {
        Retry {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(5),
            attempts: 10,
        }
    }

    #[tokio::test]
    async fn flaky_answers_are_retried_until_a_real_one() {
        let (url, script) = server(vec!["500", "429", "null", "garbage", "slow"]).await;
        let client = Client::new(&url, Duration::from_millis(500));
        let value: String = client
            .call_retrying("eth_blockNumber", json!([]), fast())
            .await
            .unwrap();
        assert_eq!(value, "0x2a");
        assert_eq!(script.lock().unwrap().seen.len(), 6);
        assert_eq!(client.failures(), 5);
        let seen = &script.lock().unwrap().seen[0];
        assert_eq!(seen["jsonrpc"], "2.0");
        assert_eq!(seen["method"], "eth_blockNumber");
        assert_eq!(seen["params"], json!([]));
    }

    #[tokio::test]
    async fn failures_are_classified_and_final_ones_not_retried() {
        let (url, script) = server(vec!["nomethod", "500", "500", "garbage"]).await;
        let client = Client::new(&url, Duration::from_millis(500));
        let e = client
            .call_retrying::<String>("debug_nope", json!([]), fast())
            .await
            .unwrap_err();
        assert!(!e.retryable());
        let error = e.rpc_error().unwrap();
        assert_eq!(
            (error.code, error.data.clone()),
            (-32601, Some(json!({"why": 1})))
        );
        assert_eq!(script.lock().unwrap().seen.len(), 1);
        let limited = Retry {
            attempts: 2,
            ..fast()
        };
        let e = client
            .call_retrying::<String>("eth_blockNumber", json!([]), limited)
            .await
            .unwrap_err();
        assert_eq!(
            e,
            CallError::Http {
                url: url.clone(),
                status: 500,
                body: "overloaded".into()
            }
        );
        assert!(e.retryable());
        let e = client
            .call::<String>("eth_blockNumber", json!([]))
            .await
            .unwrap_err();
        assert!(matches!(e, CallError::Malformed { .. }), "{e}");
        let unreachable = Client::new("http://127.0.0.1:9", Duration::from_millis(200));
        let e = unreachable
            .call::<String>("eth_blockNumber", json!([]))
            .await
            .unwrap_err();
        assert!(matches!(e, CallError::Transport { .. }), "{e}");
        let not_a_url = Client::new("localhost:8545", Duration::from_millis(200));
        let e = not_a_url.call::<String>("x", json!([])).await.unwrap_err();
        assert!(e.to_string().contains("not an http(s) URL"), "{e}");
    }

    #[test]
    fn delays_double_up_to_the_longest() {
        let retry = Retry {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            attempts: 0,
        };
        let delays: Vec<u128> = (1..=6).map(|n| retry.delay_after(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(retry.delay_after(u32::MAX), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_slow_answer_is_cut_at_the_deadline() {
        let (url, _) = server(vec!["slow"]).await;
        let client = Client::new(&url, Duration::from_millis(100));
        let e = client.call::<String>("x", json!([])).await.unwrap_err();
        assert!(
            matches!(&e, CallError::Transport { reason, .. } if reason.contains("no answer within")),
            "{e}"
        );
    }

    #[tokio::test]
    async fn requests_are_spaced_by_the_rate_limit() {
        let (url, script) = server(Vec::new()).await;
        let rate = Duration::from_millis(30);
        let client = Client::paced(&url, Some(rate), Duration::from_secs(5));
        let call = || client.call::<String>("eth_chainId", json!([]));
        let started = Instant::now();
        let (a, b, c, d) = tokio::join!(call(), call(), call(), call());
        // A lower bound only: four requests under the limiter take at least three intervals.
        assert!(started.elapsed() >= rate * 3);
        for result in [a, b, c, d] {
            assert_eq!(result.unwrap(), "0x2a");
        }
        assert_eq!(script.lock().unwrap().seen.len(), 4);
    }

    #[tokio::test]
    async fn batches_match_answers_by_id() {
        let (url, _) = server(vec!["batch"]).await;
        let client = Client::new(&url, Duration::from_secs(5));
        let out = client
            .batch(&[
                ("a", json!(["one"])),
                ("b", json!(["two"])),
                ("c", json!([null])),
                ("d", json!([0])),
            ])
            .await
            .unwrap();
        assert_eq!(out[0], Ok(json!("one")));
        assert_eq!(out[1], Ok(json!("two")));
        assert_eq!(out[2], Err(CallError::Missing { url: url.clone() }));
        assert!(matches!(out[3], Err(CallError::Malformed { .. })));
        assert_eq!(client.failures(), 2);
    }

    #[tokio::test]
    async fn forward_passes_bodies_through() {
        let (url, script) = server(vec!["ok", "silent", "500"]).await;
        let client = Client::new(&url, Duration::from_secs(5));
        let body = json!({"jsonrpc": "2.0", "id": "abc", "method": "m", "params": [1]});
        let answer = client.forward(&body).await.unwrap().unwrap();
        assert_eq!(answer["id"], "abc");
        assert_eq!(script.lock().unwrap().seen[0], body);
        let notification = json!({"jsonrpc": "2.0", "method": "m"});
        assert_eq!(client.forward(&notification).await.unwrap(), None);
        assert!(matches!(
            client.forward(&body).await,
            Err(CallError::Http { status: 500, .. })
        ));
    }
}
