//! End to end, as operators and an AVS team would run it: a deployment on anvil, three staked
//! operators, `mach aggregator` and three `mach node` processes started from their own config
//! files, and one invalid-block alert posted to every node over HTTP until it is confirmed on L1;
//! and how the processes stop (SIGTERM, as `docker stop` and Kubernetes send it).

use crate::support::{free_port, spawn, wait_http, write_private, Proc};
use alloy::primitives::{B256, U256};
use mach_chain::{connect, Connection, Deployment};
use mach_contracts::MachServiceManager;
use mach_devnet::{deploy, onboard_operator, Anvil, AnvilConfig, DeployConfig};
use mach_keys::file::encrypt_bls;
use mach_keys::BlsSecretKey;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct NodeFiles {
    alert_url: String,
    api_url: String,
}

/// An anvil L1 with EigenLayer and MACH deployed by the deployer (dev account 0, also the alert
/// confirmer); the deployment record is saved as `dir/deployment.json`.
pub(crate) async fn deployed_l1(dir: &Path) -> (Anvil, Connection, Deployment) {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).unwrap();
    let admin = connect(anvil.url(), anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let deployment = deploy(&admin, &DeployConfig::default()).await.unwrap();
    deployment.save(&dir.join("deployment.json")).unwrap();
    (anvil, admin, deployment)
}

/// `mach aggregator` from its config file in `dir` (next to `deployment.json`), confirming with
/// the deployer's key (the confirmer); its process and URL once it answers.
pub(crate) async fn start_aggregator(anvil: &Anvil, dir: &Path) -> (Proc, String) {
    let aggregator_port = free_port();
    let mut aggregator_config = mach_aggregator::AggregatorConfig::new(anvil.url(), 31_337, 1868);
    aggregator_config.aggregator_jsonrpc_server_ip_port_address =
        format!("127.0.0.1:{aggregator_port}");
    aggregator_config.db_path = "aggregator-db".into();
    aggregator_config
        .save(&dir.join("aggregator.yaml"))
        .unwrap();
    let confirmer_key = format!(
        "0x{}",
        alloy::primitives::hex::encode(anvil.dev_signer(0).unwrap().to_bytes())
    );
    let mut aggregator = spawn(
        &[
            "aggregator",
            "--config",
            "aggregator.yaml",
            "--avs-deployment",
            "deployment.json",
            "--private-key",
            &confirmer_key,
        ],
        dir,
        "aggregator",
    );
    let aggregator_url = format!("http://127.0.0.1:{aggregator_port}");
    wait_http(&aggregator_url, "mach aggregator", &mut aggregator).await;
    (aggregator, aggregator_url)
}

/// Writes one operator's `.env`, `avs_configs.json` and BLS key file, as the operator guide lays
/// them out, and returns where its node will listen.
fn node_files(
    dir: &Path,
    n: usize,
    anvil: &Anvil,
    deployment: &mach_chain::Deployment,
    operator: alloy::primitives::Address,
    bls: &BlsSecretKey,
    aggregator_url: &str,
) -> NodeFiles {
    let home = dir.join(format!("operator{n}"));
    std::fs::create_dir_all(&home).unwrap();
    let password = format!("operator {n} password");
    let key_file = home.join("opr.bls.key.json");
    std::fs::write(&key_file, encrypt_bls(bls, &password).unwrap()).unwrap();
    let (alert, api) = (free_port(), free_port());
    let env = mach_primitives::env::format_env(
        None,
        &[
            ("OPERATOR_SERVER_URL", format!("127.0.0.1:{alert}")),
            ("NODE_BLS_KEY_FILE_HOST", key_file.display().to_string()),
            ("OPERATOR_BLS_KEY_PASSWORD", password.clone()),
            ("OPERATOR_ECDSA_ADDRESS", operator.to_string()),
            ("ETH_RPC_URL", anvil.url().to_string()),
            ("LAYER1_CHAIN_ID", "31337".into()),
            ("AGGREGATOR_JSONRPC_SERVER_URL", aggregator_url.to_string()),
            ("ENABLE_METRICS", "false".into()),
            ("ENABLE_NODE_API", "true".into()),
            ("NODE_API_URL", format!("127.0.0.1:{api}")),
        ],
    )
    .unwrap();
    write_private(&home.join(".env"), &env);
    let avs = json!([{
        "avs_name": "soneium",
        "methods": [{"method": "confirmAlert", "quorum_numbers": [0], "quorum_threshold_percentages": [66]}],
        "avs_registry_coordinator_address": deployment.registry_coordinator,
        "operator_state_retriever_address": deployment.operator_state_retriever,
        "avs_contract_address": deployment.mach_service_manager,
    }]);
    std::fs::write(home.join("avs_configs.json"), avs.to_string()).unwrap();
    NodeFiles {
        alert_url: format!("http://127.0.0.1:{alert}"),
        api_url: format!("http://127.0.0.1:{api}/eigen/node/health"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_posted_to_three_nodes_is_confirmed_on_l1_once() {
    let dir = tempfile::tempdir().unwrap();
    let (anvil, admin, deployment) = deployed_l1(dir.path()).await;
    let mut operators = Vec::new();
    for i in 1..=3 {
        let signer = anvil.dev_signer(i).unwrap();
        let bls = BlsSecretKey::random();
        let stake = U256::from(50u64 * i as u64) * U256::from(10u64).pow(U256::from(18u64));
        onboard_operator(&admin, &deployment, &signer, &bls, stake, &[0])
            .await
            .unwrap();
        operators.push((signer.address(), bls));
    }

    let (aggregator, aggregator_url) = start_aggregator(&anvil, dir.path()).await;

    // Three nodes, each from its operator's .env and avs_configs.json.
    let mut nodes = Vec::new();
    for (n, (address, bls)) in operators.iter().enumerate() {
        let files = node_files(
            dir.path(),
            n,
            &anvil,
            &deployment,
            *address,
            bls,
            &aggregator_url,
        );
        let home = dir.path().join(format!("operator{n}"));
        let mut proc = spawn(
            &[
                "node",
                "--avs-config",
                "avs_configs.json",
                "--env-file",
                ".env",
            ],
            &home,
            "node",
        );
        wait_http(&files.api_url, "mach node", &mut proc).await;
        nodes.push((proc, files));
    }

    // Every node's verifier reports the same invalid block at once.
    let hash = B256::repeat_byte(0xe2);
    let http = reqwest::Client::new();
    let started = Instant::now();
    let posts = nodes.iter().map(|(_, files)| {
        let request = json!({
            "jsonrpc": "2.0", "id": 1, "method": "alert_blockHash",
            "params": [{"avs_name": "soneium", "hash": hash}]
        });
        let http = http.clone();
        let url = files.alert_url.clone();
        async move {
            http.post(&url)
                .json(&request)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    });
    let answers = futures_join_all(posts).await;
    let latency = started.elapsed();
    let mut tx_hashes = Vec::new();
    for answer in &answers {
        let result = &answer["result"];
        assert!(result.is_object(), "node answered {answer}");
        assert_eq!(result["alert_hash"], json!(hash));
        tx_hashes.push(result["tx_hash"].as_str().unwrap().to_string());
    }
    assert_ne!(tx_hashes[0], format!("{}", B256::ZERO), "{answers:?}");
    assert!(
        tx_hashes.iter().all(|h| *h == tx_hashes[0]),
        "{tx_hashes:?}"
    );

    let msm = MachServiceManager::new(deployment.mach_service_manager, &admin.provider);
    assert!(msm.contains(hash).call().await.unwrap());
    assert_eq!(msm.totalAlerts().call().await.unwrap(), U256::from(1));
    eprintln!("alert to confirmation receipt, three nodes: {latency:?}");
    drop(nodes);
    drop(aggregator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_for_an_operator_that_is_not_opted_in_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let (anvil, _admin, deployment) = deployed_l1(dir.path()).await;
    let operator = anvil.dev_signer(4).unwrap().address();
    let bls = BlsSecretKey::random();
    node_files(
        dir.path(),
        0,
        &anvil,
        &deployment,
        operator,
        &bls,
        "http://127.0.0.1:9",
    );
    let home = dir.path().join("operator0");
    let output = Command::new(env!("CARGO_BIN_EXE_mach"))
        .args([
            "node",
            "--avs-config",
            "avs_configs.json",
            "--env-file",
            ".env",
        ])
        .current_dir(&home)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("mach opt-in"), "{stderr}");
    assert!(
        stderr.contains(&operator.to_string()) || stderr.contains(&format!("{operator:#x}")),
        "{stderr}"
    );
}

/// Sends SIGTERM to `proc` and waits (up to 30 s) for it to exit; returns its exit status and
/// log.
fn terminate(proc: &mut Proc, what: &str) -> (std::process::ExitStatus, String) {
    let pid = proc.child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success(), "kill -TERM {pid} ({what})");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = proc.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} did not exit within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    (
        status,
        std::fs::read_to_string(&proc.log).unwrap_or_default(),
    )
}

/// SIGTERM stops `mach node` and `mach aggregator` in order: each stops its servers and tasks
/// through its supervisor's one shutdown token and exits 0, logging `stopping` and `stopped`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_node_and_the_aggregator_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (anvil, admin, deployment) = deployed_l1(dir.path()).await;
    let signer = anvil.dev_signer(1).unwrap();
    let bls = BlsSecretKey::random();
    let stake = U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64));
    onboard_operator(&admin, &deployment, &signer, &bls, stake, &[0])
        .await
        .unwrap();

    let (mut aggregator, aggregator_url) = start_aggregator(&anvil, dir.path()).await;

    let files = node_files(
        dir.path(),
        0,
        &anvil,
        &deployment,
        signer.address(),
        &bls,
        &aggregator_url,
    );
    let mut node = spawn(
        &[
            "node",
            "--avs-config",
            "avs_configs.json",
            "--env-file",
            ".env",
        ],
        &dir.path().join("operator0"),
        "node",
    );
    wait_http(&files.api_url, "mach node", &mut node).await;
    // The servers answer as soon as they are spawned; the supervisor starts waiting for the
    // signal right after. Give it that moment, so SIGTERM finds the handler in place.
    tokio::time::sleep(Duration::from_millis(300)).await;

    for (proc, what) in [
        (&mut node, "mach node"),
        (&mut aggregator, "mach aggregator"),
    ] {
        let (status, log) = terminate(proc, what);
        assert!(status.success(), "{what} exited with {status}:\n{log}");
        let lines: Vec<&str> = log.lines().collect();
        let stopping = lines.iter().position(|l| l.ends_with(" stopping"));
        let stopped = lines.iter().position(|l| l.ends_with(" stopped"));
        assert!(
            matches!((stopping, stopped), (Some(a), Some(b)) if a < b),
            "{what} did not log `stopping` then `stopped`:\n{log}"
        );
        assert!(!log.contains(" ERROR "), "{what}:\n{log}");
    }
    assert!(reqwest::get(&files.api_url).await.is_err());
    assert!(reqwest::get(&aggregator_url).await.is_err());
}

/// Runs futures concurrently and collects their outputs in order.
async fn futures_join_all<F: std::future::Future<Output = Value> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<Value> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
