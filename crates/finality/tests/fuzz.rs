//! Property tests for the finality RPC's request handling. Its parsers (block tags, filter
//! objects, `mach_blockStatus` params and the rollup's answers) are private, so they are reached
//! through the public router, served on loopback in front of a stand-in rollup RPC that echoes
//! each request (or answers a fixed, fuzzed body). Every request must get a JSON-RPC answer (a
//! handler panic would drop the connection), tags must be rewritten exactly as documented, and
//! every error must carry a message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::B256;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use mach_finality::server::{router, BreakerMode, Options, TagSource, NOT_YET};
use mach_finality::state::{FinalityState, Head};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// MACH's finalized block in the harnesses that have one.
const FINALIZED: u64 = 0x1234;

/// The stand-in rollup: echo `{method, params}` as each request's result, or answer these bytes.
type Rollup = Arc<Mutex<Option<Vec<u8>>>>;

struct Harness {
    rt: tokio::runtime::Runtime,
    url: String,
    rollup: Rollup,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    _heads: tokio::sync::watch::Sender<Option<Head>>,
}

async fn stand_in(State(rollup): State<Rollup>, body: axum::body::Bytes) -> Response {
    if let Some(fixed) = rollup.lock().unwrap().clone() {
        return (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            fixed,
        )
            .into_response();
    }
    let echo = |r: &Value| json!({"jsonrpc": "2.0", "id": r["id"], "result": {"method": r["method"], "params": r["params"]}});
    let answer = match serde_json::from_slice(&body).unwrap_or_default() {
        Value::Array(items) => Value::Array(items.iter().map(echo).collect()),
        one => echo(&one),
    };
    axum::Json(answer).into_response()
}

fn harness(tags: TagSource, finalized: bool) -> Harness {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut state = FinalityState::load(&dir.path().join("state.json")).unwrap();
    if finalized {
        state.record_valid(
            Head {
                number: FINALIZED,
                hash: B256::repeat_byte(1),
            },
            None,
        );
    }
    let rollup: Rollup = Arc::default();
    let (heads, heads_rx) = tokio::sync::watch::channel(None);
    let url = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let rollup_url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/", axum::routing::post(stand_in))
            .with_state(rollup.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let options = Options {
            rollup_url,
            safe: tags,
            finalized: tags,
            breaker: BreakerMode::Enforce,
        };
        let app = router(options, Arc::new(Mutex::new(state)), heads_rx).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await });
        url
    });
    Harness {
        rt,
        url,
        rollup,
        http: reqwest::Client::new(),
        _dir: dir,
        _heads: heads,
    }
}

impl Harness {
    /// POSTs `body`: the JSON answer, `None` for an empty one (only notifications).
    fn post(&self, body: Vec<u8>) -> Option<Value> {
        self.rt.block_on(async {
            let reply = self
                .http
                .post(&self.url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            let reply = reply.expect("no answer: did a handler panic?");
            assert!(reply.status().is_success(), "HTTP {}", reply.status());
            let bytes = reply.bytes().await.unwrap();
            (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).expect("a JSON answer"))
        })
    }
}

fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    // No regression files: this suite may only add `tests/fuzz.rs`.
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    if let Err(e) = TestRunner::new(config).run(&strategy, test) {
        panic!("{e}");
    }
}

/// One JSON-RPC response with an error message when it is an error.
fn check_response(response: &Value) {
    assert_eq!(response["jsonrpc"], "2.0", "{response}");
    let error = response.get("error");
    assert_ne!(
        response.get("result").is_some(),
        error.is_some(),
        "{response}"
    );
    if let Some(error) = error {
        assert!(
            error["code"].is_i64() && !error["message"].as_str().unwrap_or_default().is_empty(),
            "{response}"
        );
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![
            "safe",
            "finalized",
            "latest",
            "pending",
            "0x10",
            "0x",
            "0xzz"
        ])
        .prop_map(Value::from),
        "(0x)?[0-9a-f]{0,66}".prop_map(Value::String),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                "fromBlock|toBlock|blockNumber|blockHash|[a-z]{1,6}",
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Requests with ids, for proxied and local methods, with any params.
fn requests() -> impl Strategy<Value = Vec<Value>> {
    let method = prop::sample::select(vec![
        "eth_getBalance",
        "eth_call",
        "eth_getLogs",
        "eth_getBlockByNumber",
        "net_version",
        "mach_blockStatus",
        "mach_finalizedBlock",
        "mach_alerts",
        "mach_circuitBreaker",
        "mach_resetCircuitBreaker",
        "mach_nothing",
    ]);
    let call = (
        method,
        prop::collection::vec(json_value(), 0..4),
        any::<u16>(),
    );
    prop::collection::vec(call, 1..6).prop_map(|calls| {
        let object = |(method, params, id)| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        calls.into_iter().map(object).collect()
    })
}

/// The params the rollup must see: `safe` and `finalized` as MACH's block, at the top level and
/// in the `fromBlock`, `toBlock` and `blockNumber` of filter objects.
fn rewritten(params: &Value) -> Value {
    let tag = |v: &Value| match v.as_str() {
        Some("safe" | "finalized") => json!(format!("{FINALIZED:#x}")),
        _ => v.clone(),
    };
    let Value::Array(items) = params else {
        return params.clone();
    };
    Value::Array(
        items
            .iter()
            .map(|item| {
                let mut item = tag(item);
                if let Value::Object(fields) = &mut item {
                    for key in ["fromBlock", "toBlock", "blockNumber"] {
                        if let Some(value) = fields.get_mut(key) {
                            *value = tag(value);
                        }
                    }
                }
                item
            })
            .collect(),
    )
}

fn has_tag(params: &Value) -> bool {
    rewritten(params) != *params
}

/// Posts `calls` one by one and as a batch; checks each answer with `check(call, answer)`.
fn exchange(h: &Harness, calls: &[Value], check: impl Fn(&Value, &Value)) {
    for call in calls {
        let answer = h.post(serde_json::to_vec(call).unwrap()).unwrap();
        check_response(&answer);
        check(call, &answer);
    }
    let Some(Value::Array(answers)) = h.post(serde_json::to_vec(calls).unwrap()) else {
        panic!("a batch was not answered with an array");
    };
    assert_eq!(answers.len(), calls.len());
    for (call, answer) in calls.iter().zip(&answers) {
        check_response(answer);
        assert_eq!(answer["id"], call["id"]);
        check(call, answer);
    }
}

#[test]
fn arbitrary_bodies_are_answered() {
    let h = harness(TagSource::Mach, true);
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..120),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
    ];
    run(256, bodies, |body| {
        match h.post(body) {
            None => {}
            Some(Value::Array(answers)) if answers.iter().all(Value::is_object) => {
                answers.iter().for_each(check_response)
            }
            Some(answer) => check_response(&answer),
        }
        Ok(())
    });
}

#[test]
fn tags_are_rewritten_to_the_finalized_block() {
    let with_head = harness(TagSource::Mach, true);
    let without = harness(TagSource::Mach, false);
    let passthrough = harness(TagSource::Rollup, true);
    run(256, requests(), |calls| {
        let proxied = |call: &Value| {
            !call["method"]
                .as_str()
                .unwrap_or_default()
                .starts_with("mach_")
        };
        exchange(&with_head, &calls, |call, answer| {
            if proxied(call) {
                assert_eq!(
                    answer["result"]["params"],
                    rewritten(&call["params"]),
                    "{call}"
                );
            }
        });
        exchange(&without, &calls, |call, answer| {
            if proxied(call) && has_tag(&call["params"]) {
                assert_eq!(answer["error"]["code"], NOT_YET, "{call}");
            } else if proxied(call) {
                assert_eq!(answer["result"]["params"], call["params"], "{call}");
            }
        });
        exchange(&passthrough, &calls, |call, answer| {
            if proxied(call) {
                assert_eq!(answer["result"]["params"], call["params"], "{call}");
            }
        });
        Ok(())
    });
}

#[test]
fn any_rollup_answer_is_handled() {
    let h = harness(TagSource::Rollup, true);
    let block = (json_value(), json_value()).prop_map(|(number, hash)| json!({"jsonrpc": "2.0", "id": 1, "result": {"number": number, "hash": hash}}));
    let answer = prop_oneof![
        block.prop_map(|v| serde_json::to_vec(&v).unwrap()),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        prop::collection::vec(any::<u8>(), 0..40),
    ];
    let arg = prop_oneof![
        json_value(),
        "0x[0-9a-f]{64}".prop_map(Value::String),
        any::<u64>().prop_map(Value::from)
    ];
    run(
        256,
        (answer, prop::collection::vec(arg, 0..2), requests()),
        |(answer, args, calls)| {
            *h.rollup.lock().unwrap() = Some(answer);
            let status =
                json!({"jsonrpc": "2.0", "id": 7, "method": "mach_blockStatus", "params": args});
            check_response(&h.post(serde_json::to_vec(&status).unwrap()).unwrap());
            // Proxied answers come back as the rollup gave them; only that they come is checked.
            assert!(h.post(serde_json::to_vec(&calls).unwrap()).is_some());
            Ok(())
        },
    );
}

#[test]
fn deep_and_wide_bodies_are_answered() {
    let h = harness(TagSource::Mach, true);
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"eth_call","params":{}}}"#,
        "[".repeat(1 << 20)
    );
    let answer = h.post(deep.into_bytes()).unwrap();
    check_response(&answer);
    assert_eq!(answer["error"]["code"], -32700);
    let wide: Vec<Value> = (0..5000)
        .map(|id| json!({"jsonrpc": "2.0", "id": id, "method": "mach_finalizedBlock"}))
        .collect();
    let Some(Value::Array(answers)) = h.post(serde_json::to_vec(&wide).unwrap()) else {
        panic!()
    };
    assert_eq!(answers.len(), 5000);
    assert!(answers.iter().all(|a| a["result"]["number"] == FINALIZED));
}
