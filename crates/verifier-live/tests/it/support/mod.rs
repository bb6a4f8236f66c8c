//! What the live-verifier tests share: a node endpoint that records what the verifier sends,
//! a follower that alerts to it, and a proxy in front of the rollup RPC that records the calls
//! the verifier makes.

#![allow(clippy::unwrap_used, dead_code)]

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use mach_verifier::ChainRules;
use mach_verifier_live::follow::Follower;
use mach_verifier_live::store::Store;
use mach_verifier_live::VerifierConfig;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Requests the node endpoint received, in order.
pub type Seen = Arc<Mutex<Vec<Value>>>;

/// An operator-node endpoint at `/soneium` that records every request and accepts it; returns
/// its URL.
pub async fn recording_node(seen: Seen) -> String {
    async fn handle(State(seen): State<Seen>, Json(req): Json<Value>) -> Json<Value> {
        seen.lock().unwrap().push(req.clone());
        Json(json!({"jsonrpc": "2.0", "id": req["id"], "result": {"task_index": 0}}))
    }
    let app = Router::new()
        .route("/soneium", post(handle))
        .with_state(seen);
    let url = format!("{}/soneium", serve(app).await);
    url
}

/// A strict follower of the rollup at `rpc_url` (rules from `genesis`), alerting to a
/// recording node, with its store in `db`; also returns what the node records.
pub async fn alerting_follower(rpc_url: &str, genesis: &str, db: &Path) -> (Follower, Seen) {
    let seen = Seen::default();
    let node_url = recording_node(seen.clone()).await;
    (
        follower_alerting_to(rpc_url, genesis, db, &node_url).await,
        seen,
    )
}

/// The configuration of a strict verifier of the rollup at `rpc_url` that sends work proofs
/// and alerts to the node at `node_url` (everything else at its default).
pub fn alerting_config(rpc_url: &str, node_url: &str) -> VerifierConfig {
    let mut config = VerifierConfig::default();
    config.operator.enable = true;
    config.operator.alert = true;
    config.operator.url = node_url.to_string();
    config.collector.url = rpc_url.to_string();
    config.validate().unwrap();
    config
}

/// A strict follower of the rollup at `rpc_url` alerting to the node at `node_url`.
pub async fn follower_alerting_to(
    rpc_url: &str,
    genesis: &str,
    db: &Path,
    node_url: &str,
) -> Follower {
    let config = alerting_config(rpc_url, node_url);
    Follower::new(
        config,
        ChainRules::from_genesis_json(genesis).unwrap(),
        Store::open(db).unwrap(),
        "",
    )
    .await
    .unwrap()
}

/// Polls `check` every 20 ms for up to 20 s: alerts and work proofs are delivered beside
/// validation, so they arrive shortly after the step that produced them.
pub async fn until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..1000 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

/// The requests of `method` the node received.
pub fn requests(seen: &Seen, method: &str) -> Vec<Value> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == method)
        .cloned()
        .collect()
}

/// Every `alert_*` request the node received, in order.
pub fn alerts(seen: &Seen) -> Vec<Value> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|r| {
            r["method"]
                .as_str()
                .is_some_and(|m| m.starts_with("alert_"))
        })
        .cloned()
        .collect()
}

/// A JSON-RPC proxy in front of the rollup that records every call it relays (each call of a
/// batch on its own), in order.
#[derive(Default)]
pub struct RecordingProxy {
    upstream: String,
    http: reqwest::Client,
    calls: Mutex<Vec<Value>>,
}

impl RecordingProxy {
    /// A proxy to `upstream`; returns its URL and the proxy.
    pub async fn spawn(upstream: &str) -> (String, Arc<Self>) {
        async fn relay(
            State(proxy): State<Arc<RecordingProxy>>,
            Json(request): Json<Value>,
        ) -> Json<Value> {
            let answer: Value = proxy
                .http
                .post(&proxy.upstream)
                .json(&request)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let calls = match &request {
                Value::Array(calls) => calls.clone(),
                call => vec![call.clone()],
            };
            proxy.calls.lock().unwrap().extend(calls);
            Json(answer)
        }
        let proxy = Arc::new(Self {
            upstream: upstream.to_string(),
            ..Self::default()
        });
        let app = Router::new()
            .route("/", post(relay))
            .with_state(proxy.clone());
        (serve(app).await, proxy)
    }

    /// The parameters of every call of `method` relayed so far, in order.
    pub fn params(&self, method: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|call| call["method"] == method)
            .map(|call| call["params"].clone())
            .collect()
    }

    /// The numbers of the full blocks read (`eth_getBlockByNumber(n, true)`), in order.
    pub fn blocks(&self) -> Vec<u64> {
        self.params("eth_getBlockByNumber")
            .into_iter()
            .filter(|params| params[1] == json!(true))
            .map(|params| {
                let hex = params[0].as_str().unwrap().trim_start_matches("0x");
                u64::from_str_radix(hex, 16).unwrap()
            })
            .collect()
    }
}

/// Serves `app` on a free local port; returns its base URL, `http://127.0.0.1:PORT`.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Anvil with the rules the validator checks (`AnvilConfig::validatable`), and a connection
/// that sends as dev account 0.
pub async fn chain() -> (mach_devnet::Anvil, mach_chain::Connection) {
    let anvil = mach_devnet::Anvil::spawn(&mach_devnet::AnvilConfig::validatable(31_337)).unwrap();
    anvil.space_timestamps().await.unwrap();
    let admin = mach_chain::connect(anvil.url(), anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    (anvil, admin)
}

/// The hash of block `number` as the chain serves it.
pub async fn hash_of(admin: &mach_chain::Connection, number: u64) -> alloy::primitives::B256 {
    use alloy::providers::Provider;
    admin
        .provider
        .get_block_by_number(number.into())
        .await
        .unwrap()
        .unwrap()
        .header
        .hash
}
