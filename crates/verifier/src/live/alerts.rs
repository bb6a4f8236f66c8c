//! Alerts and work proofs to the operator node (`[operator].url`), in the wire format of
//! ARCHITECTURE section 4. An alert is queued in the store first and removed only when the node
//! answers it with a result, so a node that is down, or a verifier restart, delays an alert but
//! never loses or repeats it.

use super::rpc::{RollupRpc, RpcFailure};
use super::store::{BlockRef, PendingAlert, Store, StoreError};
use alloy_primitives::B256;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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

/// The queued form of an alert about `block`; `avs_name` may be empty when the URL names the AVS.
pub fn alert(avs_name: &str, block: BlockRef, evidence: Evidence, reason: &str) -> PendingAlert {
    let (method, params) = match evidence {
        Evidence::InvalidBlock => (
            "alert_blockHash",
            json!({"avs_name": avs_name, "hash": block.hash}),
        ),
        Evidence::OutputRootMismatch {
            invalid_output_root,
            expect_output_root,
        } => (
            "alert_blockMismatch",
            json!({
                "avs_name": avs_name,
                "invalid_output_root": invalid_output_root,
                "expect_output_root": expect_output_root,
                "l2_block_number": format!("{:#x}", block.number),
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
    rpc: RollupRpc,
    /// Alerts the node answered with a result since start.
    delivered: AtomicU64,
}

/// Why sending stopped.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The node did not take an alert; it stays queued.
    #[error(
        "the node at {url} did not take alert {id}: {failure}; it stays queued and is retried"
    )]
    Node {
        /// The node's endpoint.
        url: String,
        /// The alert.
        id: u64,
        /// Why.
        failure: RpcFailure,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NodeClient {
    /// A client of the node at `url` (the alert endpoint, typically `…/<avs_name>`). Alerts can
    /// wait on the L1 confirmation, so the timeout is long.
    pub fn new(url: &str) -> Self {
        Self {
            rpc: RollupRpc::new(url, None, Duration::from_secs(180)),
            delivered: AtomicU64::new(0),
        }
    }

    /// Alerts the node accepted since start (for the alerts-sent metric).
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Sends every queued alert, oldest first, removing each the node answers with a result.
    /// Stops at the first one it does not take. Returns how many were delivered.
    pub async fn send_pending(&self, store: &Store) -> Result<usize, SendError> {
        let mut delivered = 0;
        for (id, alert) in store.pending_alerts()? {
            match self
                .rpc
                .call::<Value>(&alert.method, json!([alert.params]))
                .await
            {
                Ok(answer) => {
                    tracing::warn!(
                        block = %format!("#{}({})", alert.block.number, alert.block.hash),
                        method = %alert.method,
                        reason = %alert.reason,
                        answer = %answer,
                        "alert delivered"
                    );
                    self.delivered.fetch_add(1, Ordering::Relaxed);
                    store.ack_alert(id)?;
                    delivered += 1;
                }
                Err(failure) => {
                    return Err(SendError::Node {
                        url: self.rpc.url().to_string(),
                        id,
                        failure,
                    })
                }
            }
        }
        Ok(delivered)
    }

    /// Reports the newest validated block (`health_check`), once; a failure is only logged
    /// (the next block's proof supersedes it).
    pub async fn work_proof(&self, block: BlockRef) {
        let params = json!([{
            "block_hash": block.hash,
            "block_number": format!("{:#x}", block.number),
        }]);
        if let Err(e) = self.rpc.call::<Value>("health_check", params).await {
            tracing::debug!(block = block.number, error = %e, "work proof not delivered");
        }
    }
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
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Node {
        failures_left: usize,
        received: Vec<Value>,
    }

    async fn handle(State(node): State<Arc<Mutex<Node>>>, Json(req): Json<Value>) -> Response {
        let mut node = node.lock().unwrap();
        if node.failures_left > 0 {
            node.failures_left -= 1;
            return (StatusCode::BAD_GATEWAY, "aggregator down").into_response();
        }
        node.received.push(req.clone());
        Json(json!({"jsonrpc": "2.0", "id": req["id"], "result": {"task_index": 0}}))
            .into_response()
    }

    async fn node(failures: usize) -> (String, Arc<Mutex<Node>>) {
        let state = Arc::new(Mutex::new(Node {
            failures_left: failures,
            received: Vec::new(),
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

    #[tokio::test]
    async fn queued_alerts_survive_a_down_node_and_a_restart_and_are_sent_once() {
        let dir = tempfile::tempdir().unwrap();
        let (url, state) = node(1).await;
        let block = |n: u8| BlockRef {
            number: u64::from(n),
            hash: B256::repeat_byte(n),
        };
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .queue_alert(&alert("", block(7), Evidence::InvalidBlock, "state root"))
                .unwrap();
            let client = NodeClient::new(&url);
            // The node is down: the alert stays queued.
            assert!(matches!(
                client.send_pending(&store).await,
                Err(SendError::Node { id: 0, .. })
            ));
            assert_eq!(store.pending_alerts().unwrap().len(), 1);
        }
        // After a restart the alert is still there and goes out once.
        let store = Store::open(dir.path()).unwrap();
        let client = NodeClient::new(&url);
        assert_eq!(client.send_pending(&store).await.unwrap(), 1);
        assert_eq!(client.send_pending(&store).await.unwrap(), 0);
        assert!(store
            .queue_alert(&alert("", block(7), Evidence::InvalidBlock, "again"))
            .unwrap()
            .is_none());
        client.work_proof(block(8)).await;
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
}
