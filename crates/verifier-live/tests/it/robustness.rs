//! The live verifier against a misbehaving rollup RPC, restarts and reorgs (issue 8's robustness
//! points), on a real anvil chain behind a JSON-RPC proxy with switchable faults.
//!
//! - Lying RPC: a block whose fields (state root, receipts root, gas used, timestamp, a
//!   transaction's value or input) were altered under its real hash is never accepted and never
//!   alerted: the data does not hash to the hash it claims, so it says nothing about the block with
//!   that hash. The follower reports the RPC as inconsistent, naming the rule, and validates the
//!   block once the RPC tells the truth. The same holds when the lie is about the parent.
//! - Flaky RPC: timeouts, HTTP 500, `null` blocks and rate-limit answers (HTTP 429, JSON-RPC
//!   -32005), on single calls and batches: no invalid outcome, no alert, and following reaches the
//!   head with every block valid.
//! - Kill and restart: a follower dropped mid-validation resumes at the next block on a reopened
//!   store; every block is validated once, in order; an alert the node refused is resent after
//!   restarts and delivered exactly once.
//! - Reorg: validated blocks replaced by anvil's `anvil_reorg` are re-validated from the common
//!   ancestor, without an alert; a reorg to a chain of the same height is noticed while up to
//!   date, without waiting for a longer chain.

use crate::support;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Bytes, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use mach_devnet::Anvil;
use mach_jsonrpc::Client;
use mach_verifier::ChainRules;
use mach_verifier_live::follow::{Follower, Outcome};
use mach_verifier_live::store::Store;
use mach_verifier_live::VerifierConfig;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long the follower's RPC client waits for one answer in these tests.
const TIMEOUT: Duration = Duration::from_millis(700);
/// How long the proxy holds a slow answer: past [`TIMEOUT`].
const SLOW: Duration = Duration::from_millis(1500);

/// A field of one block the proxy falsifies in `eth_getBlockByNumber` answers, keeping the
/// block's `hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lie {
    StateRoot,
    ReceiptsRoot,
    GasUsed,
    Timestamp,
    TxValue,
    TxInput,
}

impl Lie {
    const ALL: [Lie; 6] = [
        Lie::StateRoot,
        Lie::ReceiptsRoot,
        Lie::GasUsed,
        Lie::Timestamp,
        Lie::TxValue,
        Lie::TxInput,
    ];

    /// The rule that catches it: header fields are under the hash, a transaction under the
    /// header's transactions root.
    fn rule(self) -> &'static str {
        match self {
            Lie::TxValue | Lie::TxInput => "transactions_root",
            _ => "hash",
        }
    }
}

/// How the proxy fails a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaky {
    /// Answers after [`SLOW`], past the client's timeout.
    Slow,
    /// HTTP 500.
    Http500,
    /// `null` instead of an existing block.
    NullBlock,
    /// HTTP 429 with a JSON-RPC rate-limit error.
    TooManyRequests,
    /// HTTP 200 with the JSON-RPC rate-limit error -32005 for each call.
    RateLimited,
}

#[derive(Default)]
struct Faults {
    lie: Option<(u64, Lie)>,
    flaky: Option<Flaky>,
    /// Fault every n-th request that matches `method`.
    every: u64,
    /// Faults still to serve.
    left: u64,
    /// Only requests (or batches) with this method count; all when None.
    method: Option<&'static str>,
    matching: u64,
    served: u64,
}

/// A JSON-RPC proxy in front of anvil.
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    faults: Mutex<Faults>,
}

impl Proxy {
    async fn spawn(upstream: &str) -> (String, Arc<Self>) {
        let proxy = Arc::new(Self {
            upstream: upstream.to_string(),
            http: reqwest::Client::new(),
            faults: Mutex::default(),
        });
        let app = Router::new()
            .route("/", post(relay))
            .with_state(proxy.clone());
        let url = support::serve(app).await;
        (url, proxy)
    }

    fn lie(&self, number: u64, lie: Lie) {
        self.faults.lock().unwrap().lie = Some((number, lie));
    }

    fn truth(&self) {
        self.faults.lock().unwrap().lie = None;
    }

    fn flaky(&self, mode: Flaky, every: u64, left: u64, method: Option<&'static str>) {
        let mut f = self.faults.lock().unwrap();
        f.flaky = Some(mode);
        f.every = every;
        f.left = left;
        f.method = method;
        f.matching = 0;
    }

    fn steady(&self) {
        self.faults.lock().unwrap().flaky = None;
    }

    /// Requests failed so far.
    fn served(&self) -> u64 {
        self.faults.lock().unwrap().served
    }
}

fn is_block(v: &Value) -> bool {
    v.get("stateRoot").is_some() && v.get("hash").is_some()
}

fn plus(v: &Value, n: u64) -> Value {
    let s = v.as_str().unwrap().trim_start_matches("0x");
    json!(format!("{:#x}", u64::from_str_radix(s, 16).unwrap() + n))
}

fn falsify(result: &mut Value, number: u64, lie: Lie) {
    if !is_block(result) || result["number"] != json!(format!("{number:#x}")) {
        return;
    }
    match lie {
        Lie::StateRoot => result["stateRoot"] = json!(B256::repeat_byte(0x5a)),
        Lie::ReceiptsRoot => result["receiptsRoot"] = json!(B256::repeat_byte(0x5b)),
        Lie::GasUsed => result["gasUsed"] = plus(&result["gasUsed"], 1),
        Lie::Timestamp => result["timestamp"] = plus(&result["timestamp"], 100),
        Lie::TxValue | Lie::TxInput => {
            let Some(tx) = result["transactions"]
                .get_mut(0)
                .filter(|tx| tx.is_object())
            else {
                return;
            };
            if lie == Lie::TxValue {
                tx["value"] = plus(&tx["value"], 1);
            } else {
                tx["input"] = json!(format!("{}ff", tx["input"].as_str().unwrap()));
            }
        }
    }
}

async fn relay(State(proxy): State<Arc<Proxy>>, Json(request): Json<Value>) -> Response {
    let methods: Vec<String> = match &request {
        Value::Array(calls) => calls
            .iter()
            .filter_map(|c| c["method"].as_str().map(String::from))
            .collect(),
        call => call["method"]
            .as_str()
            .map(String::from)
            .into_iter()
            .collect(),
    };
    let (fault, lie) = {
        let mut f = proxy.faults.lock().unwrap();
        let matches = f.method.is_none_or(|m| methods.iter().any(|x| x == m));
        let fault = match f.flaky {
            Some(mode) if matches && f.left > 0 => {
                f.matching += 1;
                (f.matching % f.every == 0).then(|| {
                    f.left -= 1;
                    f.served += 1;
                    mode
                })
            }
            _ => None,
        };
        (fault, f.lie)
    };
    match fault {
        Some(Flaky::Slow) => tokio::time::sleep(SLOW).await,
        Some(Flaky::Http500) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "upstream overloaded").into_response()
        }
        Some(Flaky::TooManyRequests) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"jsonrpc": "2.0", "id": null,
                    "error": {"code": -32005, "message": "rate limit exceeded"}})),
            )
                .into_response()
        }
        _ => {}
    }
    let answer: Value = match proxy.http.post(&proxy.upstream).json(&request).send().await {
        Ok(response) => match response.json().await {
            Ok(answer) => answer,
            Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        },
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let alter = |mut item: Value| -> Value {
        if let (Some((number, lie)), Some(result)) = (lie, item.get_mut("result")) {
            falsify(result, number, lie);
        }
        match fault {
            Some(Flaky::NullBlock) => {
                if let Some(result) = item.get_mut("result").filter(|r| is_block(r)) {
                    *result = Value::Null;
                }
            }
            Some(Flaky::RateLimited) => {
                item = json!({"jsonrpc": "2.0", "id": item["id"],
                    "error": {"code": -32005, "message": "limit exceeded: 10 requests per second"}});
            }
            _ => {}
        }
        item
    };
    let answer = match answer {
        Value::Array(items) => Value::Array(items.into_iter().map(alter).collect()),
        one => alter(one),
    };
    Json(answer).into_response()
}

/// The operator node's alert endpoint: records what it takes; refuses alerts with HTTP 500
/// while `failing`.
#[derive(Default)]
struct Node {
    failing: AtomicBool,
    refused: AtomicU64,
    alerts: Mutex<Vec<Value>>,
}

impl Node {
    async fn spawn() -> (String, Arc<Self>) {
        async fn handle(State(node): State<Arc<Node>>, Json(req): Json<Value>) -> Response {
            if req["method"] == "alert_blockHash" {
                if node.failing.load(Ordering::SeqCst) {
                    node.refused.fetch_add(1, Ordering::SeqCst);
                    return (StatusCode::INTERNAL_SERVER_ERROR, "aggregator down").into_response();
                }
                node.alerts.lock().unwrap().push(req.clone());
            }
            Json(json!({"jsonrpc": "2.0", "id": req["id"], "result": {"task_index": 0}}))
                .into_response()
        }
        let node = Arc::new(Self::default());
        let app = Router::new()
            .route("/soneium", post(handle))
            .with_state(node.clone());
        let url = format!("{}/soneium", support::serve(app).await);
        (url, node)
    }

    fn alerts(&self) -> Vec<Value> {
        self.alerts.lock().unwrap().clone()
    }
}

/// Anvil, the proxy in front of it, the node, and a connection that sends transactions straight
/// to anvil.
struct Rig {
    anvil: Anvil,
    admin: mach_chain::Connection,
    proxy_url: String,
    proxy: Arc<Proxy>,
    node: Arc<Node>,
    config: VerifierConfig,
}

impl Rig {
    async fn new() -> Self {
        let (anvil, admin) = support::chain().await;
        let (proxy_url, proxy) = Proxy::spawn(anvil.url()).await;
        let (node_url, node) = Node::spawn().await;
        // Queued alerts are resent at every step (retry wait 0).
        let mut config = support::alerting_config(&proxy_url, &node_url);
        config.scheduler.retry_wait_timout_ms = 0;
        Self {
            anvil,
            admin,
            proxy_url,
            proxy,
            node,
            config,
        }
    }

    /// A follower through the proxy over the store in `db`.
    async fn follower(&self, db: &Path) -> Follower {
        Follower::new(
            self.config.clone(),
            ChainRules::from_genesis_json(&self.anvil.genesis_json()).unwrap(),
            Store::open(db).unwrap(),
            "",
        )
        .await
        .unwrap()
        .with_rpc_timeout(TIMEOUT)
    }

    /// Mines a block with one transfer (with `input` as data); returns its number.
    async fn transfer(&self, input: &'static [u8]) -> u64 {
        self.transfer_to(2, input).await
    }

    /// Like [`transfer`](Self::transfer), to dev account `account`.
    async fn transfer_to(&self, account: u32, input: &'static [u8]) -> u64 {
        let to = self.anvil.dev_signer(account).unwrap().address();
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_value(U256::from(7))
            .with_input(Bytes::from_static(input));
        let receipt = self.admin.send("transfer", tx).await.unwrap();
        receipt.block_number.unwrap()
    }

    /// Mines the block anvil gets wrong (tests/it/follow.rs): a creation whose init code writes a
    /// slot and clears it again leaves the slot in anvil's trie, so the state root is invalid.
    async fn invalid_block(&self) -> u64 {
        let clears = Bytes::from_static(&[
            0x60, 0x01, 0x60, 0x05, 0x55, 0x60, 0x00, 0x60, 0x05, 0x55, 0x60, 0x0a, 0x60, 0x00,
            0xf3,
        ]);
        let tx = TransactionRequest::default().with_deploy_code(clears);
        let receipt = self.admin.send("create", tx).await.unwrap();
        receipt.block_number.unwrap()
    }

    async fn hash_of(&self, number: u64) -> B256 {
        support::hash_of(&self.admin, number).await
    }

    async fn anvil_rpc(&self, method: &'static str, params: Value) -> Value {
        self.admin
            .provider
            .raw_request(method.into(), params)
            .await
            .unwrap()
    }
}

/// Steps until the follower is up to date; returns what happened to each block. Panics on an
/// invalid block when `invalid_allowed` is false.
async fn follow_to_head(follower: &Follower, invalid_allowed: bool) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for _ in 0..100 {
        match follower.step(1).await.unwrap() {
            Outcome::UpToDate => return outcomes,
            Outcome::Invalid(block, reason) if !invalid_allowed => {
                panic!("false verdict: block {block:?} found invalid: {reason}")
            }
            outcome => outcomes.push(outcome),
        }
    }
    panic!("not up to date after 100 steps: {outcomes:?}");
}

fn valid_numbers(outcomes: &[Outcome]) -> Vec<u64> {
    outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Valid(b) => Some(b.number),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_rpc_is_reported_as_inconsistent_never_alerted_and_believed_once_truthful() {
    let rig = Rig::new().await;
    rig.transfer(b"").await;
    rig.transfer(b"").await;
    let db = tempfile::tempdir().unwrap();
    let follower = rig.follower(db.path()).await;
    assert_eq!(valid_numbers(&follow_to_head(&follower, false).await), [2]);

    // A lie about the block to validate: never accepted, never alerted, reported with the rule.
    for lie in Lie::ALL {
        let n = rig.transfer(b"\x01\x02").await;
        rig.proxy.lie(n, lie);
        for _ in 0..2 {
            match follower.step(1).await.unwrap() {
                Outcome::Undecided(number, reason) => {
                    assert_eq!(number, n);
                    assert!(
                        reason.contains("inconsistent")
                            && reason.contains(&format!("rule {}", lie.rule())),
                        "{lie:?}: {reason}"
                    );
                }
                other => panic!("{lie:?}: block {n} must stay undecided, got {other:?}"),
            }
        }
        rig.proxy.truth();
        match follower.step(1).await.unwrap() {
            Outcome::Valid(b) => assert_eq!((b.number, b.hash), (n, rig.hash_of(n).await)),
            other => panic!("{lie:?}: block {n} is valid once the RPC is truthful, got {other:?}"),
        }
    }

    // A lie about the parent (its timestamp, gas used and state root feed the child's header
    // rules and pre-state): the child is not judged on it either. A restarted follower reads the
    // parent from the RPC again (a running one may reuse its last read).
    drop(follower);
    for lie in [Lie::Timestamp, Lie::GasUsed, Lie::StateRoot, Lie::TxValue] {
        let n = rig.transfer(b"").await;
        rig.proxy.lie(n - 1, lie);
        let follower = rig.follower(db.path()).await;
        match follower.step(1).await.unwrap() {
            Outcome::Undecided(number, reason) => {
                assert_eq!(number, n);
                assert!(reason.contains(&format!("#{}", n - 1)), "{lie:?}: {reason}");
            }
            other => {
                panic!("{lie:?} about the parent: block {n} must stay undecided, got {other:?}")
            }
        }
        rig.proxy.truth();
        assert!(
            matches!(follower.step(1).await.unwrap(), Outcome::Valid(b) if b.number == n),
            "{lie:?} about the parent"
        );
        assert!(follower.store().pending_alerts().unwrap().is_empty());
    }
    assert!(rig.node.alerts().is_empty(), "{:?}", rig.node.alerts());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_rpc_delays_validation_but_never_alerts_and_following_resumes() {
    let rig = Rig::new().await;
    rig.transfer(b"").await;
    rig.transfer(b"").await;
    let db = tempfile::tempdir().unwrap();
    let follower = rig.follower(db.path()).await;
    let mut validated = valid_numbers(&follow_to_head(&follower, false).await);
    assert_eq!(validated, [2]);
    let batches = Client::paced(&rig.proxy_url, None, TIMEOUT);
    let truth = [
        rig.anvil_rpc("eth_getBlockByNumber", json!(["0x1", false]))
            .await,
        rig.anvil_rpc("eth_getBlockByNumber", json!(["0x2", false]))
            .await,
    ];

    let modes = [
        (Flaky::Slow, 3, None),
        (Flaky::Http500, 2, None),
        (Flaky::NullBlock, 2, Some("eth_getBlockByNumber")),
        (Flaky::TooManyRequests, 2, None),
        (Flaky::RateLimited, 2, None),
    ];
    for (mode, every, method) in modes {
        let served = rig.proxy.served();
        rig.proxy.flaky(mode, every, u64::MAX, method);
        // Blocks are produced while the RPC misbehaves.
        rig.transfer(b"").await;
        rig.transfer(b"").await;
        let outcomes = follow_to_head(&follower, false).await;
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Outcome::Valid(_) | Outcome::Undecided(..))),
            "{mode:?}: {outcomes:?}"
        );
        validated.extend(valid_numbers(&outcomes));
        assert!(
            rig.proxy.served() > served,
            "{mode:?}: the follower met no fault"
        );

        // Batches: a failed call is an error, never a wrong answer.
        let mut failed = 0;
        for _ in 0..4 {
            let calls = [
                ("eth_getBlockByNumber", json!(["0x1", false])),
                ("eth_getBlockByNumber", json!(["0x2", false])),
            ];
            match batches.batch(&calls).await {
                Ok(results) => {
                    for (result, truth) in results.into_iter().zip(&truth) {
                        match result {
                            Ok(value) => assert_eq!(&value, truth, "{mode:?}"),
                            Err(_) => failed += 1,
                        }
                    }
                }
                Err(_) => failed += 1,
            }
        }
        assert!(failed > 0, "{mode:?}: the batches met no fault");

        // A burst: several requests in a row fail; retries ride it out.
        rig.proxy.flaky(mode, 1, 4, method);
        rig.transfer(b"").await;
        let outcomes = follow_to_head(&follower, false).await;
        validated.extend(valid_numbers(&outcomes));
        rig.proxy.steady();
    }

    // The RPC recovered: following reaches the head, every block valid once, in order.
    rig.transfer(b"").await;
    rig.transfer(b"").await;
    let outcomes = follow_to_head(&follower, false).await;
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Valid(_))),
        "{outcomes:?}"
    );
    validated.extend(valid_numbers(&outcomes));
    let head = rig.admin.provider.get_block_number().await.unwrap();
    assert_eq!(validated, (2..=head).collect::<Vec<_>>());
    assert!(rig.node.alerts().is_empty(), "{:?}", rig.node.alerts());
    assert!(follower.store().pending_alerts().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_without_gap_and_a_refused_alert_is_delivered_once() {
    let rig = Rig::new().await;
    rig.node.failing.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        rig.transfer(b"").await;
    }
    let db = tempfile::tempdir().unwrap();
    let mut outcomes = Vec::new();

    // Run 1: blocks 2 and 3, then killed while validating block 4 (its proofs hang).
    {
        let follower = rig.follower(db.path()).await;
        outcomes.extend(follow_to_head(&follower, false).await);
        // To an account no block touched yet: its proof must be read.
        let four = rig.transfer_to(5, b"").await;
        assert_eq!(four, 4);
        rig.proxy
            .flaky(Flaky::Slow, 1, u64::MAX, Some("eth_getProof"));
        let killed = tokio::time::timeout(Duration::from_secs(2), follower.step(1)).await;
        assert!(
            killed.is_err(),
            "block 4 was to be mid-validation: {killed:?}"
        );
        assert!(
            rig.proxy.served() > 0,
            "killed before the pre-state was read"
        );
    }
    rig.proxy.steady();

    // While it is down: an invalid block between two valid ones.
    let bad = rig.invalid_block().await;
    let bad_hash = rig.hash_of(bad).await;
    rig.transfer(b"").await;

    // Run 2: resumes at 4; block 5 is invalid, its alert is refused and stays queued.
    {
        let follower = rig.follower(db.path()).await;
        outcomes.extend(follow_to_head(&follower, true).await);
        assert_eq!(follower.store().pending_alerts().unwrap().len(), 1);
        support::until("the node refused the alert", || {
            rig.node.refused.load(Ordering::SeqCst) >= 1
        })
        .await;
    }
    let refused = rig.node.refused.load(Ordering::SeqCst);
    assert!(rig.node.alerts().is_empty());

    // Run 3: the queued alert is resent; refused again; then the node recovers and takes it.
    {
        let follower = rig.follower(db.path()).await;
        assert!(follow_to_head(&follower, false).await.is_empty());
        support::until("the node refused the alert again", || {
            rig.node.refused.load(Ordering::SeqCst) > refused
        })
        .await;
        assert_eq!(follower.store().pending_alerts().unwrap().len(), 1);
        rig.node.failing.store(false, Ordering::SeqCst);
        support::until("the node took the alert", || {
            follower.store().pending_alerts().unwrap().is_empty()
        })
        .await;
    }

    // Run 4: nothing is sent again; following goes on.
    {
        let follower = rig.follower(db.path()).await;
        rig.transfer(b"").await;
        outcomes.extend(follow_to_head(&follower, false).await);
    }

    let decided: Vec<(u64, &str)> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Valid(b) => (b.number, "valid"),
            Outcome::Invalid(b, reason) => {
                assert_eq!(reason.rule(), "state_root", "{reason}");
                (b.number, "invalid")
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        decided,
        [
            (2, "valid"),
            (3, "valid"),
            (4, "valid"),
            (bad, "invalid"),
            (bad + 1, "valid"),
            (bad + 2, "valid")
        ]
    );
    let alerts = rig.node.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["params"][0]["hash"], json!(bad_hash));
}

/// Blocks 2 to 4 validated, then 3 and 4 replaced by `anvil_reorg` (the new 3 carries another
/// transfer); with `longer`, a block 5 follows, else the new chain is as long as the old one.
/// Following rewinds to block 2 at once and validates the new blocks, without an alert.
async fn reorg_is_revalidated_from_the_common_ancestor(longer: bool) {
    let rig = Rig::new().await;
    for _ in 0..4 {
        rig.transfer(b"").await;
    }
    let db = tempfile::tempdir().unwrap();
    let follower = rig.follower(db.path()).await;
    assert_eq!(
        valid_numbers(&follow_to_head(&follower, false).await),
        [2, 3, 4]
    );
    let ancestor = rig.hash_of(2).await;
    let orphaned = [rig.hash_of(3).await, rig.hash_of(4).await];

    let from = rig.anvil.dev_signer(0).unwrap().address();
    let to = rig.anvil.dev_signer(3).unwrap().address();
    rig.anvil_rpc(
        "anvil_reorg",
        json!([2, [[{"from": from, "to": to, "value": "0x5"}, 0]]]),
    )
    .await;
    if longer {
        rig.anvil_rpc("evm_mine", json!([])).await;
    }
    let replaced = [rig.hash_of(3).await, rig.hash_of(4).await];
    assert!(replaced[0] != orphaned[0] && replaced[1] != orphaned[1]);

    let outcomes = follow_to_head(&follower, false).await;
    let head = if longer { 5 } else { 4 };
    match &outcomes[..] {
        [Outcome::Reorg(back), valid @ ..] => {
            assert_eq!((back.number, back.hash), (2, ancestor));
            let validated: Vec<(u64, B256)> = valid
                .iter()
                .map(|o| match o {
                    Outcome::Valid(b) => (b.number, b.hash),
                    other => panic!("expected valid blocks after the reorg, got {other:?}"),
                })
                .collect();
            assert_eq!(validated.len() as u64, head - 2, "{outcomes:?}");
            assert_eq!([validated[0].1, validated[1].1], replaced);
            assert_eq!(validated.last().unwrap().0, head);
        }
        other => panic!("expected a reorg to block 2 and blocks 3 to {head} valid, got {other:?}"),
    }
    assert!(rig.node.alerts().is_empty(), "{:?}", rig.node.alerts());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_of_validated_blocks_is_revalidated_from_the_common_ancestor_without_alert() {
    reorg_is_revalidated_from_the_common_ancestor(true).await;
}

/// Nothing longer follows: the reorg is noticed while up to date, from the head's hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_height_reorg_is_noticed_while_up_to_date() {
    reorg_is_revalidated_from_the_common_ancestor(false).await;
}
