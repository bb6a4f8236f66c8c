//! Alerts and work proofs to the operator node (`[operator].url`), in the wire format of
//! ARCHITECTURE section 4. An alert is queued in the store first and removed only when the node
//! answers it with a result, so a node that is down, or a verifier restart, delays an alert but
//! never loses or repeats it.
//!
//! Delivery runs beside validation ([`AlertSender`]): validation never waits for an alert, and
//! each queued alert is sent and retried on its own, with exponential backoff, so one the node
//! cannot take holds back neither validation nor the alerts after it.

use crate::metrics::VerifierMetrics;
use crate::store::{BlockRef, PendingAlert, Store, StoreError};
use alloy_primitives::{B256, U256};
use mach_jsonrpc::{CallError, Client, Retry};
use mach_primitives::rpc::{api, BlockHashParams, BlockMismatchParams, HealthCheckParams, Params};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What a block's alert claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// Any chain: the block with this hash is invalid (`alert_blockHash`).
    InvalidBlock,
    /// OP Stack: the sequencer's output root for the block differs from ours
    /// (`alert_blockMismatch`).
    OutputRootMismatch {
        /// The output root of the block as the rollup node has it.
        invalid_output_root: B256,
        /// The output root we computed.
        expect_output_root: B256,
    },
}

impl Evidence {
    /// The alert about `block` this evidence makes, whose message hash is what the contract
    /// stores once the alert is confirmed.
    pub fn alert(&self, block: BlockRef) -> mach_primitives::Alert {
        match *self {
            Self::InvalidBlock => mach_primitives::Alert::BlockHash { hash: block.hash },
            Self::OutputRootMismatch {
                invalid_output_root,
                expect_output_root,
            } => mach_primitives::Alert::BlockMismatch {
                invalid_output_root,
                expect_output_root,
                l2_block_number: alloy_primitives::U256::from(block.number),
            },
        }
    }
}

/// The one object an alert method takes, as it is queued (and later sent as `[object]`).
fn api_object(params: &impl Params) -> Value {
    match params.to_params() {
        Value::Array(mut items) if items.len() == 1 => items.remove(0),
        other => other,
    }
}

/// The queued form of an alert about `block`; `avs_name` may be empty when the URL names the AVS.
pub fn alert(avs_name: &str, block: BlockRef, evidence: Evidence, reason: &str) -> PendingAlert {
    let avs_name = avs_name.to_string();
    let (method, params) = match evidence {
        Evidence::InvalidBlock => (
            api::ALERT_BLOCK_HASH.name(),
            api_object(&BlockHashParams {
                avs_name,
                hash: block.hash,
            }),
        ),
        Evidence::OutputRootMismatch {
            invalid_output_root,
            expect_output_root,
        } => (
            api::ALERT_BLOCK_MISMATCH.name(),
            api_object(&BlockMismatchParams {
                avs_name,
                invalid_output_root,
                expect_output_root,
                l2_block_number: U256::from(block.number),
            }),
        ),
    };
    PendingAlert {
        block,
        method: method.into(),
        params,
        reason: reason.into(),
    }
}

/// The verifier's client of the operator node.
#[derive(Debug)]
pub struct NodeClient {
    rpc: Client,
}

impl NodeClient {
    /// A client of the node at `url` (the alert endpoint, typically `…/<avs_name>`). Alerts can
    /// wait on the L1 confirmation, so the timeout is long.
    pub fn new(url: &str) -> Self {
        Self {
            rpc: Client::paced(url, None, Duration::from_secs(180)),
        }
    }

    /// The node's endpoint.
    pub fn url(&self) -> &str {
        self.rpc.url()
    }

    /// Hands one alert to the node; `Ok` with the node's answer once it took it.
    pub async fn deliver(&self, alert: &PendingAlert) -> Result<Value, CallError> {
        self.rpc
            .call::<Value>(&alert.method, json!([alert.params]))
            .await
    }

    /// Reports the newest validated block (`health_check`), once; a failure is only logged
    /// (the next block's proof supersedes it).
    pub async fn work_proof(&self, block: BlockRef) {
        let params = HealthCheckParams {
            avs_name: String::new(),
            block_hash: block.hash,
            block_number: U256::from(block.number),
        };
        if let Err(e) = self.rpc.request(api::HEALTH_CHECK, &params).await {
            tracing::debug!(block = block.number, error = %e, "work proof not delivered");
        }
    }
}

/// At most this many alerts wait in the queue; beyond it the oldest undelivered are dropped
/// (logged and counted in `mach_verifier_alerts_dropped_total`).
pub const MAX_QUEUED_ALERTS: usize = 1_000;
/// The longest wait between two attempts at one alert.
pub const MAX_ALERT_BACKOFF: Duration = Duration::from_secs(300);

/// Why an alert's next attempt waits: how many attempts failed, and when to try again.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    failures: u32,
    next: Instant,
}

/// Delivers queued alerts in the background. Dropping it stops delivery; what is queued stays
/// in the store for the next start.
#[derive(Debug)]
pub struct AlertSender {
    wake: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AlertSender {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AlertSender {
    /// Starts delivering the alerts queued in `store` to `node`; a failed attempt at an alert
    /// is retried after `retry` (doubling per failure, up to [`MAX_ALERT_BACKOFF`]). The sender
    /// holds the store only while it reads or writes it, so the store closes when its owner
    /// drops it (and delivery then ends).
    pub fn start(
        node: Arc<NodeClient>,
        store: &Arc<Store>,
        metrics: Arc<VerifierMetrics>,
        retry: Duration,
    ) -> Self {
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(deliver_loop(
            node,
            Arc::downgrade(store),
            metrics,
            retry.max(Duration::from_millis(10)),
            wake.clone(),
        ));
        Self { wake, task }
    }

    /// Looks at the queue now (an alert was queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops delivery and waits until the background task has let go of the store.
    pub async fn stop(mut self) {
        self.task.abort();
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        let _ = task.await;
    }
}

async fn deliver_loop(
    node: Arc<NodeClient>,
    store: std::sync::Weak<Store>,
    metrics: Arc<VerifierMetrics>,
    retry: Duration,
    wake: Arc<Notify>,
) {
    let mut backoff: HashMap<u64, Backoff> = HashMap::new();
    let mut in_flight = tokio::task::JoinSet::new();
    let mut flying: HashSet<u64> = HashSet::new();
    loop {
        let Some(open) = store.upgrade() else {
            return;
        };
        let pending = queued(&open, &metrics, MAX_QUEUED_ALERTS);
        drop(open);
        let pending = match pending {
            Ok(pending) => pending,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the alert queue; retrying");
                tokio::time::sleep(retry).await;
                continue;
            }
        };
        metrics.alerts_pending(pending.len());
        let queued_ids: HashSet<u64> = pending.iter().map(|(id, _)| *id).collect();
        backoff.retain(|id, _| queued_ids.contains(id));
        let now = Instant::now();
        for (id, alert) in pending {
            let due = backoff.get(&id).is_none_or(|b| b.next <= now);
            if !due || !flying.insert(id) {
                continue;
            }
            let node = node.clone();
            in_flight.spawn(async move {
                let result = node.deliver(&alert).await;
                (id, alert, result)
            });
        }
        let next_due = backoff
            .iter()
            .filter(|(id, _)| !flying.contains(id))
            .map(|(_, b)| b.next)
            .min();
        tokio::select! {
            _ = wake.notified() => {}
            _ = async { if let Some(at) = next_due { tokio::time::sleep_until(at).await } }, if next_due.is_some() => {}
            done = in_flight.join_next(), if !in_flight.is_empty() => {
                let Some(Ok((id, alert, result))) = done else { continue };
                flying.remove(&id);
                let block = format!("#{}({})", alert.block.number, alert.block.hash);
                match result {
                    Ok(answer) => {
                        tracing::warn!(%block, method = %alert.method, reason = %alert.reason, %answer, "alert delivered");
                        metrics.alert_delivered();
                        backoff.remove(&id);
                        let acked = store.upgrade().map(|open| open.ack_alert(id));
                        if let Some(Err(e)) = acked {
                            tracing::error!(error = %e, "cannot remove a delivered alert from the queue; it may be sent again");
                        }
                    }
                    Err(failure) => {
                        metrics.alert_delivery_failed();
                        let failures = backoff.get(&id).map_or(1, |b| b.failures + 1);
                        let wait = Retry {
                            initial: retry,
                            max: MAX_ALERT_BACKOFF,
                            attempts: u32::MAX,
                        }
                        .delay_after(failures);
                        backoff.insert(id, Backoff { failures, next: Instant::now() + wait });
                        tracing::warn!(%block, id, failures, retry_in_ms = wait.as_millis() as u64, node = node.url(), error = %failure, "the node did not take the alert; it stays queued and is retried");
                    }
                }
            }
        }
    }
}

/// The queue, oldest first, after dropping the oldest beyond `max` ([`MAX_QUEUED_ALERTS`]).
fn queued(
    store: &Store,
    metrics: &VerifierMetrics,
    max: usize,
) -> Result<Vec<(u64, PendingAlert)>, StoreError> {
    let mut pending = store.pending_alerts()?;
    if pending.len() > max {
        let excess = pending.len() - max;
        for (id, alert) in pending.drain(..excess) {
            tracing::error!(id, block = %format!("#{}({})", alert.block.number, alert.block.hash), "alert queue full ({max}): dropping the oldest undelivered alert");
            store.ack_alert(id)?;
        }
        metrics.alerts_dropped(excess);
    }
    Ok(pending)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use axum::{Json, Router};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Node {
        failures_left: usize,
        /// Alerts about this block hash are refused, as a node whose aggregator keeps
        /// refusing them answers.
        refused: Option<Value>,
        received: Vec<Value>,
    }

    async fn handle(State(node): State<Arc<Mutex<Node>>>, Json(req): Json<Value>) -> Response {
        let mut node = node.lock().unwrap();
        if node.failures_left > 0 {
            node.failures_left -= 1;
            return (StatusCode::BAD_GATEWAY, "aggregator down").into_response();
        }
        if node.refused.is_some() && req["params"][0]["hash"] == *node.refused.as_ref().unwrap() {
            let error =
                json!({"code": -32002, "message": "aggregator_processSignedTaskResponse failed"});
            return Json(json!({"jsonrpc": "2.0", "id": req["id"], "error": error}))
                .into_response();
        }
        node.received.push(req.clone());
        Json(json!({"jsonrpc": "2.0", "id": req["id"], "result": {"task_index": 0}}))
            .into_response()
    }

    async fn node(failures: usize) -> (String, Arc<Mutex<Node>>) {
        let state = Arc::new(Mutex::new(Node {
            failures_left: failures,
            ..Node::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/soneium", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/soneium", post(handle))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, state)
    }

    #[test]
    fn alerts_in_the_wire_format() {
        let block = BlockRef {
            number: 0x10,
            hash: B256::repeat_byte(1),
        };
        let plain = alert("", block, Evidence::InvalidBlock, "state root");
        assert_eq!(plain.method, "alert_blockHash");
        assert_eq!(plain.params["hash"], json!(B256::repeat_byte(1)));
        let op = alert(
            "soneium",
            block,
            Evidence::OutputRootMismatch {
                invalid_output_root: B256::repeat_byte(2),
                expect_output_root: B256::repeat_byte(3),
            },
            "state root",
        );
        assert_eq!(op.method, "alert_blockMismatch");
        assert_eq!(op.params["l2_block_number"], "0x10");
        // The node side parses exactly this shape.
        let parsed: mach_primitives_shape::BlockMismatch =
            serde_json::from_value(op.params.clone()).unwrap();
        assert_eq!(parsed.expect_output_root, B256::repeat_byte(3));
    }

    /// The fields the node's `alert_blockMismatch` reads (mach-primitives' params type, which
    /// this crate does not depend on).
    mod mach_primitives_shape {
        use alloy_primitives::B256;
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        pub struct BlockMismatch {
            pub avs_name: String,
            pub invalid_output_root: B256,
            pub expect_output_root: B256,
            pub l2_block_number: String,
        }
    }

    fn block(n: u8) -> BlockRef {
        BlockRef {
            number: u64::from(n),
            hash: B256::repeat_byte(n),
        }
    }

    /// Polls `check` every 10 ms for up to 10 s.
    async fn until(what: &str, check: impl Fn() -> bool) {
        for _ in 0..1000 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting until {what}");
    }

    fn sender(url: &str, store: &Arc<Store>, metrics: &Arc<VerifierMetrics>) -> AlertSender {
        let node = Arc::new(NodeClient::new(url));
        AlertSender::start(node, store, metrics.clone(), Duration::from_millis(20))
    }

    #[tokio::test]
    async fn queued_alerts_survive_a_down_node_and_a_restart_and_are_sent_once() {
        let dir = tempfile::tempdir().unwrap();
        let (url, state) = node(1_000_000).await;
        let metrics = Arc::new(VerifierMetrics::new().unwrap());
        {
            let store = Arc::new(Store::open(dir.path()).unwrap());
            store
                .queue_alert(&alert("", block(7), Evidence::InvalidBlock, "state root"))
                .unwrap();
            let sender = sender(&url, &store, &metrics);
            // The node is down: the alert is tried again and again and stays queued.
            until("two attempts failed", || {
                metrics
                    .render()
                    .contains("mach_verifier_alert_delivery_failures_total 2")
            })
            .await;
            assert_eq!(store.pending_alerts().unwrap().len(), 1);
            sender.stop().await;
        }
        // After a restart (the node is back) the alert is still there and goes out once.
        state.lock().unwrap().failures_left = 0;
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let sender = sender(&url, &store, &metrics);
        until("the alert is delivered", || {
            store.pending_alerts().unwrap().is_empty()
        })
        .await;
        assert!(store
            .queue_alert(&alert("", block(7), Evidence::InvalidBlock, "again"))
            .unwrap()
            .is_none());
        sender.wake();
        NodeClient::new(&url).work_proof(block(8)).await;
        let received = state.lock().unwrap().received.clone();
        assert_eq!(received.len(), 2);
        assert_eq!(received[0]["method"], "alert_blockHash");
        assert_eq!(
            received[0]["params"][0]["hash"],
            json!(B256::repeat_byte(7))
        );
        assert_eq!(received[1]["method"], "health_check");
        assert_eq!(received[1]["params"][0]["block_number"], "0x8");
    }

    #[test]
    fn the_queue_is_bounded_oldest_dropped_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let metrics = VerifierMetrics::new().unwrap();
        for n in 1..=5 {
            store
                .queue_alert(&alert("", block(n), Evidence::InvalidBlock, "state root"))
                .unwrap();
        }
        let kept = queued(&store, &metrics, 3).unwrap();
        let blocks: Vec<u64> = kept.iter().map(|(_, a)| a.block.number).collect();
        assert_eq!(blocks, [3, 4, 5]);
        assert_eq!(store.pending_alerts().unwrap().len(), 3);
        assert!(metrics
            .render()
            .contains("mach_verifier_alerts_dropped_total 2"));
    }

    #[tokio::test]
    async fn an_alert_the_node_keeps_refusing_holds_back_none_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let (url, state) = node(0).await;
        state.lock().unwrap().refused = Some(json!(B256::repeat_byte(7)));
        let metrics = Arc::new(VerifierMetrics::new().unwrap());
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let sender = sender(&url, &store, &metrics);
        for n in [7, 8, 9] {
            store
                .queue_alert(&alert("", block(n), Evidence::InvalidBlock, "state root"))
                .unwrap();
            sender.wake();
        }
        until("the alerts after the refused one are delivered", || {
            state.lock().unwrap().received.len() == 2
        })
        .await;
        let pending = store.pending_alerts().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].1.block, block(7));
        let text = metrics.render();
        assert!(text.contains("mach_verifier_alerts_sent_total 2"), "{text}");
        until("the pending gauge shows the refused alert", || {
            metrics.render().contains("mach_verifier_alerts_pending 1")
        })
        .await;
        // Once the node takes it, the refused alert goes out too.
        state.lock().unwrap().refused = None;
        until("the refused alert is delivered", || {
            store.pending_alerts().unwrap().is_empty()
        })
        .await;
    }
}
