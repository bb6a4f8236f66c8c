//! The live verifier's JSON-RPC client for the rollup node: every request rate limited
//! (`[validator].rpc_rate_ms`), failures classified, retryable ones retried with exponential
//! backoff. A failed or odd answer is only ever a reason to ask again, never evidence about a
//! block: that is how the verifier avoids false alerts when the RPC misbehaves.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RpcFailure {
    /// No answer: connection refused or reset, timeout.
    #[error("transport: {0}")]
    Transport(String),
    /// An HTTP status other than 200.
    #[error("HTTP {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// A JSON-RPC error object.
    #[error("JSON-RPC error {code}: {message}")]
    Rpc {
        /// Its code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// Not a JSON-RPC answer, or not the expected shape.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// A `null` result: the node does not have it (yet).
    #[error("not available (null result)")]
    Missing,
}

impl RpcFailure {
    /// Whether asking again may succeed. Only a method the node lacks or params it rejects
    /// are final; everything else (overload, rate limits, timeouts, lagging or restarting
    /// nodes, proxies that cut answers) is retried.
    pub fn retryable(&self) -> bool {
        !matches!(self, Self::Rpc { code, .. } if *code == -32601 || *code == -32602)
    }
}

/// How a call is retried.
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

/// A JSON-RPC client for the rollup node.
#[derive(Debug)]
pub struct RollupRpc {
    url: String,
    http: reqwest::Client,
    rate: Option<Duration>,
    next_slot: tokio::sync::Mutex<Instant>,
    next_id: AtomicU64,
    failures: AtomicU64,
}

impl RollupRpc {
    /// A client for `url`, at most one request per `rate` when given, each waiting at most
    /// `timeout` for its answer.
    pub fn new(url: &str, rate: Option<Duration>, timeout: Duration) -> Self {
        Self {
            url: url.to_string(),
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .unwrap_or_default(),
            rate,
            next_slot: tokio::sync::Mutex::new(Instant::now()),
            next_id: AtomicU64::new(1),
            failures: AtomicU64::new(0),
        }
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Failed calls so far (for the RPC-error metric).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Waits for this request's turn under the rate limit.
    async fn pace(&self) {
        let Some(rate) = self.rate else { return };
        let mut next = self.next_slot.lock().await;
        let now = Instant::now();
        let at = (*next).max(now);
        *next = at + rate;
        drop(next);
        tokio::time::sleep_until(at).await;
    }

    async fn post(&self, body: &Value) -> Result<Value, RpcFailure> {
        self.pace().await;
        let response = self
            .http
            .post(&self.url)
            .json(body)
            .send()
            .await
            .map_err(|e| RpcFailure::Transport(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| RpcFailure::Transport(e.to_string()))?;
        if !status.is_success() {
            return Err(RpcFailure::Http {
                status: status.as_u16(),
                body: text.chars().take(200).collect(),
            });
        }
        serde_json::from_str(&text).map_err(|e| RpcFailure::Malformed(e.to_string()))
    }

    /// One attempt at `method(params)`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, RpcFailure> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let result = self.post(&body).await.and_then(|answer| result_of(&answer));
        let result = result.and_then(|value| {
            serde_json::from_value(value)
                .map_err(|e| RpcFailure::Malformed(format!("{method}: {e}")))
        });
        if result.is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// `method(params)`, retried with backoff while the failure is retryable.
    pub async fn call_retrying<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        retry: Retry,
    ) -> Result<T, RpcFailure> {
        let mut delay = retry.initial;
        let mut attempt = 1;
        loop {
            match self.call(method, params.clone()).await {
                Ok(value) => return Ok(value),
                Err(e) if e.retryable() && attempt < retry.attempts => {
                    tracing::debug!(method, attempt, error = %e, "rollup RPC call failed; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(retry.max);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Several calls in one JSON-RPC batch (one request under the rate limit); one result per
    /// call, in order. Answers are matched by id, whatever order the server uses.
    pub async fn batch(
        &self,
        calls: &[(&str, Value)],
    ) -> Result<Vec<Result<Value, RpcFailure>>, RpcFailure> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let first = self
            .next_id
            .fetch_add(calls.len() as u64, Ordering::Relaxed);
        let body = Value::Array(
            calls
                .iter()
                .enumerate()
                .map(|(i, (method, params))| {
                    json!({"jsonrpc": "2.0", "id": first + i as u64, "method": method, "params": params})
                })
                .collect(),
        );
        let answer = self.post(&body).await.inspect_err(|_| {
            self.failures.fetch_add(1, Ordering::Relaxed);
        })?;
        let answers = answer
            .as_array()
            .ok_or_else(|| RpcFailure::Malformed("batch answer is not an array".into()))?;
        let mut out: Vec<Result<Value, RpcFailure>> = vec![
            Err(RpcFailure::Malformed(
                "no answer for this call in the batch".into()
            ));
            calls.len()
        ];
        for item in answers {
            let index = item
                .get("id")
                .and_then(Value::as_u64)
                .and_then(|id| id.checked_sub(first))
                .filter(|i| *i < calls.len() as u64);
            if let Some(i) = index {
                out[i as usize] = result_of(item);
            }
        }
        let failed = out.iter().filter(|r| r.is_err()).count() as u64;
        self.failures.fetch_add(failed, Ordering::Relaxed);
        Ok(out)
    }
}

/// The result of one JSON-RPC answer object.
fn result_of(answer: &Value) -> Result<Value, RpcFailure> {
    if let Some(error) = answer.get("error") {
        return Err(RpcFailure::Rpc {
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        });
    }
    match answer.get("result") {
        None => Err(RpcFailure::Malformed(
            "answer has neither result nor error".into(),
        )),
        Some(Value::Null) => Err(RpcFailure::Missing),
        Some(value) => Ok(value.clone()),
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
    use std::sync::{Arc, Mutex};

    /// A node that answers the scripted way once per request, then `0x2a` for ever.
    #[derive(Default)]
    struct Script {
        steps: Vec<&'static str>,
        seen: Vec<std::time::Instant>,
    }

    async fn handle(State(script): State<Arc<Mutex<Script>>>, Json(req): Json<Value>) -> Response {
        let step = {
            let mut s = script.lock().unwrap();
            s.seen.push(std::time::Instant::now());
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
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "no"}}),
            )
            .into_response(),
            "batch" => {
                // Answers a batch in reverse order.
                let mut out: Vec<Value> = req
                    .as_array()
                    .unwrap()
                    .iter()
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
        let rpc = RollupRpc::new(&url, None, Duration::from_millis(500));
        let value: String = rpc
            .call_retrying("eth_blockNumber", json!([]), fast())
            .await
            .unwrap();
        assert_eq!(value, "0x2a");
        assert_eq!(script.lock().unwrap().seen.len(), 6);
        assert_eq!(rpc.failures(), 5);
    }

    #[tokio::test]
    async fn failures_are_classified_and_final_ones_not_retried() {
        let (url, script) = server(vec!["nomethod", "500", "500"]).await;
        let rpc = RollupRpc::new(&url, None, Duration::from_millis(500));
        let e = rpc
            .call_retrying::<String>("debug_nope", json!([]), fast())
            .await
            .unwrap_err();
        assert!(!e.retryable());
        assert_eq!(script.lock().unwrap().seen.len(), 1);
        let limited = Retry {
            attempts: 2,
            ..fast()
        };
        let e = rpc
            .call_retrying::<String>("eth_blockNumber", json!([]), limited)
            .await
            .unwrap_err();
        assert_eq!(
            e,
            RpcFailure::Http {
                status: 500,
                body: "overloaded".into()
            }
        );
        assert!(e.retryable());
        let unreachable = RollupRpc::new("http://127.0.0.1:9", None, Duration::from_millis(200));
        assert!(matches!(
            unreachable
                .call::<String>("eth_blockNumber", json!([]))
                .await,
            Err(RpcFailure::Transport(_))
        ));
    }

    #[tokio::test]
    async fn requests_are_spaced_by_the_rate_limit() {
        let (url, script) = server(Vec::new()).await;
        let rate = Duration::from_millis(30);
        let rpc = RollupRpc::new(&url, Some(rate), Duration::from_secs(5));
        let call = || rpc.call::<String>("eth_chainId", json!([]));
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
        let rpc = RollupRpc::new(&url, None, Duration::from_secs(5));
        let out = rpc
            .batch(&[
                ("a", json!(["one"])),
                ("b", json!(["two"])),
                ("c", json!([null])),
            ])
            .await
            .unwrap();
        assert_eq!(out[0], Ok(json!("one")));
        assert_eq!(out[1], Ok(json!("two")));
        assert_eq!(out[2], Err(RpcFailure::Missing));
    }
}
