//! `mach aggregator` with its confirmer's key in a web3signer (the eth1 signing API served in
//! process by `mach_test_support::web3signer`): it starts when web3signer holds the
//! MachServiceManager's alertConfirmer() key, and refuses, naming both addresses, when it holds
//! another.

use crate::support::{free_port, text};
use alloy::signers::local::PrivateKeySigner;
use mach_devnet::{deploy, Anvil, AnvilConfig, DeployConfig};
use mach_test_support::web3signer::{self, Behaviour};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A deployment on a fresh anvil (confirmer: dev account 0) and an aggregator.yaml in `dir`;
/// returns the chain and the aggregator's URL.
async fn deployment(dir: &Path) -> (Anvil, String) {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).unwrap();
    let admin = mach_chain::connect(anvil.url(), anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let deployment = deploy(&admin, &DeployConfig::default()).await.unwrap();
    deployment.save(&dir.join("deployment.json")).unwrap();
    let port = free_port();
    let mut config = mach_aggregator::AggregatorConfig::new(anvil.url(), 31_337, 1868);
    config.aggregator_jsonrpc_server_ip_port_address = format!("127.0.0.1:{port}");
    config.db_path = "aggregator-db".into();
    config.save(&dir.join("aggregator.yaml")).unwrap();
    (anvil, format!("http://127.0.0.1:{port}"))
}

fn aggregator(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mach"));
    cmd.args([
        "aggregator",
        "--config",
        "aggregator.yaml",
        "--avs-deployment",
        "deployment.json",
    ])
    .current_dir(dir)
    .env("RUST_LOG", "info")
    .stdin(Stdio::null());
    for name in mach_chain::signer::SIGNER_VARIABLES {
        cmd.env_remove(name);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aggregator_starts_with_the_confirmer_key_in_web3signer() {
    let dir = tempfile::tempdir().unwrap();
    let (anvil, url) = deployment(dir.path()).await;
    let confirmer = anvil.dev_signer(0).unwrap();
    let server = web3signer::start(confirmer.clone(), Behaviour::Honest).await;
    let address = confirmer.address().to_string();
    // Selected by environment variables alone.
    let log = dir.path().join("aggregator.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut child = aggregator(
        dir.path(),
        &[
            ("MACH_ECDSA_SIGNER", "web3signer"),
            ("MACH_WEB3SIGNER_URL", &server.url),
            ("MACH_SIGNER_ADDRESS", &address),
        ],
    )
    .stdout(out.try_clone().unwrap())
    .stderr(out)
    .spawn()
    .unwrap();
    let http = reqwest::Client::new();
    let started = Instant::now();
    let answered = loop {
        if http.get(&url).send().await.is_ok() {
            break true;
        }
        if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(60) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(answered, "mach aggregator did not start:\n{log}");
    assert!(log.contains("web3signer at"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aggregator_refuses_a_web3signer_key_that_is_not_the_confirmer() {
    let dir = tempfile::tempdir().unwrap();
    let (anvil, _url) = deployment(dir.path()).await;
    let confirmer = anvil.dev_signer(0).unwrap().address();
    let other = PrivateKeySigner::random();
    let server = web3signer::start(other.clone(), Behaviour::Honest).await;
    let out = aggregator(dir.path(), &[])
        .args([
            "--signer",
            "web3signer",
            "--web3signer-url",
            &server.url,
            "--signer-address",
            &other.address().to_string(),
        ])
        .output()
        .unwrap();
    let text = text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains(&other.address().to_string()), "{text}");
    assert!(text.contains(&confirmer.to_string()), "{text}");
    assert!(text.contains("alertConfirmer()"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aggregator_names_a_missing_signer_option() {
    let dir = tempfile::tempdir().unwrap();
    let out = aggregator(dir.path(), &[("MACH_ECDSA_SIGNER", "web3signer")])
        .args(["--web3signer-url", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    let text = text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("--signer-address"), "{text}");
    assert!(text.contains("MACH_SIGNER_ADDRESS"), "{text}");
}
