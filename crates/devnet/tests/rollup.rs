//! The devnet rollup end to end, on each network: blocks under the random load validate in the
//! live verifier's strict mode, and each malicious-sequencer fault makes exactly the next block
//! invalid by its state root (alerted once), after which blocks are valid again.
//!
//! Needs anvil (`make setup`); fails, never skips, without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use mach_devnet::rollup::{FaultKind, Network, Rollup, RollupConfig, RollupError};
use mach_verifier::live::follow::{Follower, Outcome};
use mach_verifier::live::store::Store;
use mach_verifier::live::VerifierConfig;
use mach_verifier::{BlockError, ChainRules};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Requests the node endpoint received, in order.
type Seen = Arc<Mutex<Vec<Value>>>;

/// An operator-node endpoint that records every request and accepts it; returns its URL.
async fn recording_node(seen: Seen) -> String {
    async fn handle(State(seen): State<Seen>, Json(req): Json<Value>) -> Json<Value> {
        seen.lock().unwrap().push(req.clone());
        Json(json!({"jsonrpc": "2.0", "id": req["id"], "result": {"task_index": 0}}))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/soneium", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/soneium", post(handle))
        .with_state(seen);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A strict follower of `rollup` (rules from its genesis) alerting to a recording node, with
/// its store in `db`; also returns what the node records.
async fn follower(rollup: &Rollup, db: &Path) -> (Follower, Seen) {
    let seen = Seen::default();
    let node_url = recording_node(seen.clone()).await;
    let config = VerifierConfig::from_toml(&format!(
        "[operator]\nenable = true\nalert = true\nurl = \"{node_url}\"\n[validator]\nmode = \"strict\"\n[collector]\nurl = \"{}\"\n",
        rollup.url()
    ))
    .unwrap();
    let rules = ChainRules::from_genesis_json(&rollup.genesis_json()).unwrap();
    let follower = Follower::new(config, rules, Store::open(db).unwrap(), "")
        .await
        .unwrap();
    (follower, seen)
}

async fn load_validates_and_each_fault_invalidates_exactly_one_block(network: Network) {
    let started = Instant::now();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("{network}: load seed {seed:#x}");
    let config = RollupConfig {
        network,
        chain_id: 901,
        port: 0,
        log_path: None,
        seed,
    };
    let mut rollup = Rollup::start(&config)
        .await
        .unwrap_or_else(|e| panic!("{network}: {e}"));
    assert_eq!(rollup.network(), network);
    assert_eq!(rollup.chain_id(), 901);
    let start = rollup.setup_block();
    assert!(rollup.max_load() >= 20, "{}", rollup.max_load());
    // No verifier validates the setup block: a fault after it would leave the next undecided.
    assert!(matches!(
        rollup.inject(FaultKind::Balance).await,
        Err(RollupError::InjectNotReady(_))
    ));

    let mut produced = Vec::new();
    for i in 0..8 {
        let block = rollup.produce(20).await.unwrap();
        assert_eq!(block.number, start + 1 + i);
        assert!(block.transactions >= 20, "{block:?}");
        assert!(block.gas_used > 0, "{block:?}");
        produced.push((block.number, block.hash));
    }
    let loaded = started.elapsed();

    // The load's mix: successful creations, reverts, logs.
    let (mut created, mut reverted, mut logs) = (0, 0, 0);
    for (number, _) in &produced {
        let receipts = rollup
            .rpc("eth_getBlockReceipts", json!([format!("{number:#x}")]))
            .await
            .unwrap();
        for receipt in receipts.as_array().unwrap() {
            // Only the deliberate reverts fail (a failed creation would be an anvil deviation).
            if receipt["status"] == "0x0" {
                assert_eq!(receipt["to"], json!(rollup.store_and_log()), "{receipt}");
            }
            created += usize::from(receipt["contractAddress"].is_string());
            reverted += usize::from(receipt["status"] == "0x0");
            logs += receipt["logs"].as_array().unwrap().len();
        }
    }
    assert!(
        created > 0 && reverted > 0 && logs > 0,
        "{network}: {created} creations, {reverted} reverts, {logs} logs"
    );

    let db = tempfile::tempdir().unwrap();
    let (follower, seen) = follower(&rollup, db.path()).await;
    let mut valid = Vec::new();
    loop {
        match follower.step(start).await.unwrap() {
            Outcome::Valid(b) => valid.push((b.number, b.hash)),
            Outcome::UpToDate => break,
            other => panic!("{network}: unexpected {other:?} (load seed {seed:#x})"),
        }
    }
    assert_eq!(valid, produced, "{network}");
    let followed = started.elapsed();

    // Each fault alone, then all at once.
    let mut rounds: Vec<Vec<FaultKind>> = FaultKind::ALL.iter().map(|k| vec![*k]).collect();
    rounds.push(FaultKind::ALL.to_vec());
    for faults in &rounds {
        for fault in faults {
            let change = rollup.inject(*fault).await.unwrap();
            eprintln!("{network}: {change}");
        }
        let kind = format!("{faults:?}");
        let bad = rollup.produce(5).await.unwrap();
        eprintln!(
            "{network}: faulty block {} holds {} transactions",
            bad.number, bad.transactions
        );
        match follower.step(start).await.unwrap() {
            Outcome::Invalid(b, BlockError::StateRoot { got, .. }) => {
                assert_eq!((b.number, b.hash), (bad.number, bad.hash), "{kind}");
                assert_ne!(got, alloy::primitives::B256::ZERO);
            }
            other => panic!(
                "{network} {kind}: expected block {} invalid by its state root, got {other:?} (load seed {seed:#x})",
                bad.number
            ),
        }
        // Verifiers carry no state out of an invalid block: no fault may follow it at once.
        assert!(matches!(
            rollup.inject(FaultKind::Nonce).await,
            Err(RollupError::InjectNotReady(_))
        ));
        let good = rollup.produce(20).await.unwrap();
        match follower.step(start).await.unwrap() {
            Outcome::Valid(b) => assert_eq!(b.number, good.number, "{kind}"),
            other => panic!(
                "{network} {kind}: the block after the faulty one must be valid, got {other:?} (load seed {seed:#x})"
            ),
        }
        assert!(matches!(
            follower.step(start).await.unwrap(),
            Outcome::UpToDate
        ));
    }

    let alerts: Vec<Value> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| {
            r["method"]
                .as_str()
                .is_some_and(|m| m.starts_with("alert_"))
        })
        .cloned()
        .collect();
    assert_eq!(alerts.len(), rounds.len(), "{network}: {alerts:?}");
    eprintln!(
        "{network}: 8 loaded blocks in {loaded:?}, followed by {followed:?}, faults done in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereum_rollup_validates_and_each_fault_invalidates_one_block() {
    load_validates_and_each_fault_invalidates_exactly_one_block(Network::Ethereum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimism_rollup_validates_and_each_fault_invalidates_one_block() {
    load_validates_and_each_fault_invalidates_exactly_one_block(Network::Optimism).await;
}
