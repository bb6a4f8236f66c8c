//! The operator node and proxy over real HTTP, against a real deployment on anvil. The aggregator
//! here is a small recording stand-in that checks the node's signatures; the real aggregator is
//! exercised end to end in `bin/mach/tests/it/e2e.rs`.

use alloy::primitives::{Address, B256, U256};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use mach_chain::operator::{self, OperatorDetails};
use mach_chain::{connect, Deployment};
use mach_contracts::MachServiceManager;
use mach_devnet::{deploy, Anvil, AnvilConfig, DeployConfig};
use mach_keys::{BlsSecretKey, BlsSignature};
use mach_node::node::{ALERT_SERVER, METRICS_SERVER, NODE_API_SERVER};
use mach_node::{AvsConfig, NodeConfig};
use mach_primitives::rpc::AlertTaskInfo;
use mach_runtime::{Stopped, Supervisor};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) struct Chain {
    pub(crate) anvil: Anvil,
    pub(crate) deployment: Deployment,
    pub(crate) operator: Address,
    pub(crate) bls: BlsSecretKey,
}

/// A deployment with one operator (dev account 1) registered, staked and opted in.
pub(crate) async fn chain_with_operator(opt_in: bool) -> Chain {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).unwrap();
    let admin = connect(anvil.url(), anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let deployment = deploy(&admin, &DeployConfig::default()).await.unwrap();
    let signer = anvil.dev_signer(1).unwrap();
    let conn = connect(anvil.url(), signer.clone()).await.unwrap();
    let details = OperatorDetails {
        delegation_approver: Address::ZERO,
        staker_opt_out_window_blocks: 0,
    };
    operator::register_as_operator(
        &conn,
        deployment.delegation_manager,
        &details,
        "https://x.example/m.json",
    )
    .await
    .unwrap();
    let msm = MachServiceManager::new(deployment.mach_service_manager, &admin.provider);
    admin
        .send(
            "allowlist",
            msm.addToAllowlist(signer.address())
                .into_transaction_request(),
        )
        .await
        .unwrap();
    let bls = BlsSecretKey::random();
    if opt_in {
        operator::register_with_avs(&conn, &bls, &deployment.avs(), &[0], "")
            .await
            .unwrap();
    }
    Chain {
        anvil,
        deployment,
        operator: signer.address(),
        bls,
    }
}

#[derive(Default)]
pub(crate) struct Recorded {
    pub(crate) calls: Vec<(String, Value)>,
    /// Refuse every signature, as an aggregator that cannot take this operator's does.
    refuse_signatures: bool,
}

/// Answers the three aggregator methods like an aggregator whose quorum is always reached.
pub(crate) async fn stand_in_aggregator(recorded: Arc<Mutex<Recorded>>) -> String {
    async fn handle(
        State(rec): State<Arc<Mutex<Recorded>>>,
        Json(req): Json<Value>,
    ) -> Json<Value> {
        let method = req["method"].as_str().unwrap_or_default().to_string();
        let refuse = {
            let mut rec = rec.lock().unwrap();
            rec.calls.push((method.clone(), req["params"].clone()));
            rec.refuse_signatures
        };
        if refuse && method == "aggregator_processSignedTaskResponse" {
            return Json(
                json!({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32015, "message": "L1 is down"}}),
            );
        }
        let result = match method.as_str() {
            "aggregator_initOperator" => json!({"ok": true, "reason": ""}),
            "aggregator_createTask" => json!({
                "alert_hash": req["params"][0], "quorum_numbers": "AA==",
                "quorum_threshold_percentages": "Qg==", "task_index": 7, "reference_block_number": 5
            }),
            "aggregator_processSignedTaskResponse" => {
                json!({"reply": true, "tx_hash": format!("{}", B256::repeat_byte(0xab))})
            }
            "health_check" => Value::Null,
            _ => {
                return Json(
                    json!({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": "no"}}),
                )
            }
        };
        Json(json!({"jsonrpc": "2.0", "id": req["id"], "result": result}))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/", post(handle))
        .route("/{avs}", post(handle))
        .with_state(recorded);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

pub(crate) fn config(chain: &Chain, aggregator: &str) -> NodeConfig {
    let avs = vec![AvsConfig {
        avs_name: "soneium".into(),
        methods: vec![],
        avs_registry_coordinator_address: chain.deployment.registry_coordinator,
        operator_state_retriever_address: chain.deployment.operator_state_retriever,
        avs_contract_address: None,
        aggregator_url: None,
    }];
    let vars = [
        ("OPERATOR_SERVER_URL", "127.0.0.1:0".to_string()),
        ("NODE_BLS_KEY_FILE_HOST", "/unused/in/this/test".to_string()),
        ("OPERATOR_ECDSA_ADDRESS", chain.operator.to_string()),
        ("ETH_RPC_URL", chain.anvil.url().to_string()),
        ("LAYER1_CHAIN_ID", "31337".to_string()),
        ("AGGREGATOR_JSONRPC_SERVER_URL", aggregator.to_string()),
        ("ENABLE_METRICS", "true".to_string()),
        ("EIGEN_METRICS_URL", "127.0.0.1:0".to_string()),
        ("ENABLE_NODE_API", "true".to_string()),
        ("NODE_API_URL", "127.0.0.1:0".to_string()),
    ];
    NodeConfig::from_vars(
        &|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        },
        avs,
    )
    .unwrap()
}

pub(crate) async fn rpc(url: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_to_start_when_not_opted_in() {
    let chain = chain_with_operator(false).await;
    let err = mach_node::start(config(&chain, "http://127.0.0.1:9"), chain.bls.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("is not registered with the AVS soneium")
            && err.contains("run `mach opt-in` first"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_to_start_with_another_bls_key() {
    let chain = chain_with_operator(true).await;
    let err = mach_node::start(config(&chain, "http://127.0.0.1:9"), BlsSecretKey::random())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("NODE_BLS_KEY_FILE_HOST"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn signs_alerts_serves_node_api_and_metrics() {
    let chain = chain_with_operator(true).await;
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let aggregator = stand_in_aggregator(recorded.clone()).await;
    let node = mach_node::start(config(&chain, &aggregator), chain.bls.clone())
        .await
        .unwrap();
    let alert_url = format!("http://{}", node.alert_addr);
    let api = format!("http://{}", node.api_addr.unwrap());
    let http = reqwest::Client::new();

    // An alert by URL path: task created, signed, submitted, answered.
    let hash = B256::repeat_byte(0x42);
    let reply = rpc(
        &format!("{alert_url}/soneium"),
        json!({"jsonrpc": "2.0", "id": 1, "method": "alert_blockHash", "params": [{"hash": hash}]}),
    )
    .await;
    assert_eq!(reply["result"]["task_index"], 7, "{reply}");
    assert_eq!(reply["result"]["alert_hash"], format!("{hash}"));
    assert_eq!(
        reply["result"]["tx_hash"],
        format!("{}", B256::repeat_byte(0xab))
    );
    let calls = recorded.lock().unwrap().calls.clone();
    let (_, params) = calls
        .iter()
        .find(|(m, _)| m == "aggregator_processSignedTaskResponse")
        .unwrap();
    let task: AlertTaskInfo = serde_json::from_value(params[0].clone()).unwrap();
    assert_eq!(task.reference_block_number, 5);
    let signature_hex = params[1].as_str().unwrap().trim_start_matches("0x");
    let signature = BlsSignature::from_bytes(&alloy::hex::decode(signature_hex).unwrap()).unwrap();
    assert!(
        mach_keys::bls::verify(&chain.bls.public_key_g2(), &task.sign_hash(), &signature),
        "the node signed the wrong hash"
    );
    assert_eq!(params[2], format!("{}", chain.bls.operator_id()));
    assert!(
        calls
            .iter()
            .any(|(m, p)| m == "aggregator_initOperator" && p[0] == 31337 && p[1] == 1868),
        "{calls:?}"
    );

    // A mismatch alert by avs_name; its message hash follows the wire format.
    let reply = rpc(&alert_url, json!({"jsonrpc": "2.0", "id": 2, "method": "alert_blockMismatch", "params": [{
        "avs_name": "soneium", "invalid_output_root": B256::repeat_byte(1), "expect_output_root": B256::repeat_byte(2), "l2_block_number": "0x102"
    }]})).await;
    let expected = mach_primitives::Alert::BlockMismatch {
        invalid_output_root: B256::repeat_byte(1),
        expect_output_root: B256::repeat_byte(2),
        l2_block_number: U256::from(0x102),
    }
    .message_hash();
    assert_eq!(
        reply["result"]["alert_hash"],
        format!("{}", expected.0),
        "{reply}"
    );

    // Malformed requests get errors and the node keeps serving.
    let cases = [
        (
            json!({"jsonrpc": "2.0", "id": 3, "method": "alert_blockHash", "params": [{"hash": "0x12"}]}),
            -32602,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 4, "method": "alert_nope", "params": []}),
            -32601,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 5, "method": "alert_blockHash", "params": [{"avs_name": "other", "hash": hash}]}),
            -32001,
        ),
        (json!({"id": 6, "method": "alert_blockHash"}), -32600),
    ];
    for (body, code) in cases {
        let reply = rpc(&alert_url, body.clone()).await;
        assert_eq!(reply["error"]["code"], code, "{body} → {reply}");
    }
    let garbage: Value = http
        .post(&alert_url)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(garbage["error"]["code"], -32700);

    // Node API: partially healthy until the verifier sends a work proof.
    let get = |path: &str| http.get(format!("{api}{path}")).send();
    assert_eq!(
        get("/eigen/node")
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["node_name"],
        "mach-rs"
    );
    assert_eq!(get("/eigen/node/health").await.unwrap().status(), 206);
    assert_eq!(
        get("/eigen/node/services/verifier-soneium/health")
            .await
            .unwrap()
            .status(),
        503
    );
    let reply = rpc(&format!("{alert_url}/soneium"), json!({"jsonrpc": "2.0", "id": 9, "method": "health_check", "params": [{"block_hash": hash, "block_number": "0x2a"}]})).await;
    assert!(reply.get("error").is_none(), "{reply}");
    assert_eq!(get("/eigen/node/health").await.unwrap().status(), 200);
    assert_eq!(
        get("/eigen/node/services/verifier-soneium/health")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        get("/eigen/node/services/nope/health")
            .await
            .unwrap()
            .status(),
        404
    );
    let services: Value = get("/eigen/node/services")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = services["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["alert-server", "aggregator-soneium", "verifier-soneium"]
    );

    // Metrics.
    let text = http
        .get(format!("http://{}/metrics", node.metrics_addr.unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "eigen_performance_score 100",
        "mach_alerts_received_total{avs=\"soneium\"} 2",
        "mach_alerts_signed_total{avs=\"soneium\"} 2",
        "mach_last_work_proof_block{avs=\"soneium\"} 42",
        "eigen_rpc_request_total{client_type=\"aggregator\",method=\"aggregator_createTask\",version=",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_routes_and_thins_work_proofs() {
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    // The stand-in records what reaches "the node".
    let node_url = stand_in_aggregator(recorded.clone()).await;
    let yaml = format!(
        "Method: \"confirmAlert\"\ngeneric_operator_addr: {node_url}\nrpc_cfg:\n  rpc_addr: 127.0.0.1:0\nchain_ids:\n  soneium: 1868\nwork_proofs_mod:\n  soneium: 10\n"
    );
    let config = mach_node::proxy::ProxyConfig::from_yaml(&yaml).unwrap();
    let proxy = mach_node::proxy::start(config, vec!["soneium".into()])
        .await
        .unwrap();
    let url = format!("http://{}", proxy.addr);
    for block in [7u64, 10, 11, 20] {
        let reply = rpc(&format!("{url}/soneium"), json!({"jsonrpc": "2.0", "id": block, "method": "health_check", "params": [{"block_hash": B256::ZERO, "block_number": block}]})).await;
        assert!(reply.get("error").is_none(), "{reply}");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let forwarded: Vec<Value> = recorded
        .lock()
        .unwrap()
        .calls
        .iter()
        .map(|(_, p)| p[0].clone())
        .collect();
    assert_eq!(
        forwarded
            .iter()
            .map(|p| p["block_number"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [10, 20]
    );
    assert!(forwarded.iter().all(|p| p["avs_name"] == "soneium"));
    let reply = rpc(
        &format!("{url}/unknown"),
        json!({"jsonrpc": "2.0", "id": 1, "method": "health_check", "params": [{}]}),
    )
    .await;
    assert_eq!(reply["error"]["code"], -32001);
}

#[tokio::test(flavor = "multi_thread")]
async fn web_pages_cannot_make_the_node_sign_and_undelivered_alerts_show_in_health() {
    let chain = chain_with_operator(true).await;
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let aggregator = stand_in_aggregator(recorded.clone()).await;
    let node = mach_node::start(config(&chain, &aggregator), chain.bls.clone())
        .await
        .unwrap();
    let alert_url = format!("http://{}/soneium", node.alert_addr);
    let http = reqwest::Client::new();
    let alert = json!({"jsonrpc": "2.0", "id": 1, "method": "alert_blockHash",
        "params": [{"hash": B256::repeat_byte(0x66)}]});
    let created = || {
        recorded
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(m, _)| m == "aggregator_createTask")
            .count()
    };

    // What a web page can send without a CORS preflight: a text/plain body. Refused unread.
    let plain = http
        .post(&alert_url)
        .header("content-type", "text/plain")
        .body(alert.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 415);
    let body: Value = plain.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32600, "{body}");
    // A page that passes the preflight still carries its Origin: refused.
    let cross = http
        .post(&alert_url)
        .header("origin", "https://evil.example")
        .json(&alert)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let preflight = http
        .request(reqwest::Method::OPTIONS, &alert_url)
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 403);
    assert!(preflight
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    assert_eq!(created(), 0, "the node acted on a cross-site request");

    // A notification (no id) is carried out and not answered.
    let note = http
        .post(&alert_url)
        .json(&json!({"jsonrpc": "2.0", "method": "health_check",
            "params": [{"block_hash": B256::repeat_byte(1), "block_number": "0x9"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(note.status(), 204);
    assert!(note.bytes().await.unwrap().is_empty());

    // An aggregator that refuses the signature: the alert fails, and the node's health and
    // performance score say so until an alert gets through again.
    recorded.lock().unwrap().refuse_signatures = true;
    let reply = rpc(&alert_url, alert.clone()).await;
    assert_eq!(reply["error"]["code"], -32002, "{reply}");
    let services: Value = http
        .get(format!(
            "http://{}/eigen/node/services",
            node.api_addr.unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let aggregator_status = services["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "aggregator-soneium")
        .unwrap()["status"]
        .clone();
    assert_eq!(aggregator_status, "Down", "{services}");
    let metrics = || async {
        http.get(format!("http://{}/metrics", node.metrics_addr.unwrap()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let text = metrics().await;
    assert!(!text.contains("eigen_performance_score 100"), "{text}");
    recorded.lock().unwrap().refuse_signatures = false;
    assert!(rpc(&alert_url, alert).await["result"].is_object());
    assert!(metrics().await.contains("eigen_performance_score 100"));
    node.shutdown().await;
}

/// `mach node` runs the node under the process's supervisor: its servers are critical tasks, and
/// one that dies stops the node, the other servers with it, with an error naming it.
#[tokio::test(flavor = "multi_thread")]
async fn a_dead_server_stops_the_node_with_an_error_naming_it() {
    let chain = chain_with_operator(true).await;
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let aggregator = stand_in_aggregator(recorded.clone()).await;
    let mut supervisor = Supervisor::new();
    let started = mach_node::start_supervised(
        config(&chain, &aggregator),
        chain.bls.clone(),
        &mut supervisor,
    )
    .await
    .unwrap();
    assert_eq!(
        supervisor.task_names(),
        [ALERT_SERVER, NODE_API_SERVER, METRICS_SERVER]
    );
    let api = format!("http://{}/eigen/node", started.api_addr.unwrap());
    assert!(reqwest::get(&api).await.unwrap().status().is_success());

    // The alert server dies (aborted as a crash would end it).
    supervisor.abort_handle(ALERT_SERVER).unwrap().abort();
    let stopped = tokio::time::timeout(
        Duration::from_secs(30),
        supervisor.run_until(std::future::pending()),
    )
    .await
    .expect("the node stops by itself")
    .unwrap_err();
    assert_eq!(
        stopped,
        Stopped::TaskEnded {
            task: ALERT_SERVER,
            reason: "was aborted".into()
        }
    );
    assert_eq!(
        stopped.to_string(),
        "alert server was aborted; the process stops rather than run without it"
    );
    // The node does not serve on without it: the node API stopped too.
    assert!(reqwest::get(&api).await.is_err());
}
