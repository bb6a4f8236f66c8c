//! The operator's transactions with keys that never sit on its disk: `mach devnet deploy` with
//! the deployer's key in a web3signer, `mach operator register` with operator.yaml's
//! `signer_type: web3`, and `mach opt-in` / `mach opt-out` with the ECDSA key in a web3signer
//! and the BLS key in a Cerberus-protocol signer, both chosen in the env file alone. A signer
//! holding another key, or refusing the API key, is named before anything is sent.

use crate::support::{mach, text};
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use mach_chain::{connect, Connection, Deployment};
use mach_contracts::MachServiceManager;
use mach_devnet::cerberus::CerberusServer;
use mach_devnet::{Anvil, AnvilConfig};
use mach_keys::BlsSecretKey;
use mach_test_support::web3signer::{self, Behaviour};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Output;

/// Runs `mach` quietly; the shell's signer variables are cleared by `support::mach`.
fn run(args: &[&str]) -> Output {
    mach(args, &[("RUST_LOG", "warn")])
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "mach failed:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `mach`, expects a refusal naming `expected`, and checks `who` sent nothing.
async fn refused(admin: &Connection, who: Address, args: &[&str], expected: &str) {
    let before = admin.provider.get_transaction_count(who).await.unwrap();
    let out = run(args);
    let all = text(&out);
    assert!(!out.status.success(), "mach unexpectedly succeeded:\n{all}");
    assert!(all.contains(expected), "expected {expected:?} in:\n{all}");
    assert!(!all.contains("panicked"), "{all}");
    let after = admin.provider.get_transaction_count(who).await.unwrap();
    assert_eq!(after, before, "a transaction was sent:\n{all}");
}

/// Serves `body` at any path, as a metadata host would.
fn serve(body: String) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metadata.json", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    url
}

/// `mach operator config create` for an operator whose key web3signer at `url` holds, into
/// `dir`; returns the operator.yaml path.
fn config_create(
    dir: &Path,
    operator: Address,
    anvil: &Anvil,
    d: &Deployment,
    url: &str,
) -> String {
    let metadata = serve(
        serde_json::json!({
            "name": "Remote Keys Operator",
            "website": "",
            "description": "Keeps its keys in signers",
            "logo": "",
            "twitter": ""
        })
        .to_string(),
    );
    ok(run(&[
        "operator",
        "config",
        "create",
        "--non-interactive",
        "--dir",
        dir.to_str().unwrap(),
        "--web3signer-url",
        url,
        "--operator-address",
        &operator.to_string(),
        "--metadata-url",
        &metadata,
        "--rpc-url",
        anvil.url(),
        "--chain-id",
        "31337",
        "--delegation-manager",
        &d.delegation_manager.to_string(),
        "--name",
        "Remote Keys Operator",
        "--description",
        "Keeps its keys in signers",
    ]));
    let yaml = dir.join("operator.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    assert!(
        text.contains("signer_type: web3") && text.contains(url),
        "{text}"
    );
    yaml.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_register_and_opt_in_with_keys_in_remote_signers() {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let deployer = anvil.dev_signer(0).unwrap();
    let admin = connect(anvil.url(), deployer.clone()).await.unwrap();

    // `mach devnet deploy` with the deployer's key in a web3signer, chosen by flags.
    let deployer_signer = web3signer::start(deployer.clone(), Behaviour::Honest).await;
    let record = dir.path().join("deployment.json");
    let deployer_address = deployer.address().to_string();
    let out = ok(run(&[
        "devnet",
        "deploy",
        "--rpc-url",
        anvil.url(),
        "--signer",
        "web3signer",
        "--web3signer-url",
        &deployer_signer.url,
        "--signer-address",
        &deployer_address,
        "--out",
        record.to_str().unwrap(),
    ]));
    assert!(out.contains("MachServiceManager"), "{out}");
    let d = Deployment::load(&record).unwrap();
    let msm = MachServiceManager::new(d.mach_service_manager, &admin.provider);
    assert_eq!(msm.owner().call().await.unwrap(), deployer.address());

    // The operator: its ECDSA key in a web3signer, its BLS key in Cerberus.
    let operator = PrivateKeySigner::random();
    let address = operator.address();
    admin
        .send(
            "fund the operator",
            TransactionRequest::default()
                .to(address)
                .value(U256::from(10u64).pow(U256::from(18))),
        )
        .await
        .unwrap();
    let ecdsa_signer = web3signer::start(operator.clone(), Behaviour::Honest).await;
    let bls = BlsSecretKey::random();
    let cerberus = CerberusServer::start(bls.clone(), "operator api key").await;

    // `mach operator config create` → `register` with operator.yaml's `signer_type: web3`;
    // first a file naming another operator than the key web3signer holds is refused.
    let other = PrivateKeySigner::random().address();
    let wrong = config_create(
        &dir.path().join("wrong"),
        other,
        &anvil,
        &d,
        &ecdsa_signer.url,
    );
    refused(
        &admin,
        address,
        &["operator", "register", &wrong],
        "holds no key for",
    )
    .await;
    let yaml = config_create(
        &dir.path().join("op"),
        address,
        &anvil,
        &d,
        &ecdsa_signer.url,
    );
    let y = yaml.as_str();
    let out = ok(run(&["operator", "register", y]));
    assert!(out.contains("registered successfully"), "{out}");
    assert!(ok(run(&["operator", "status", y])).contains("Registered with EigenLayer: yes"));
    // A --signer option overrides the file's signer, and must still sign for operator.address.
    let deployer_key = format!("{:#x}", deployer.to_bytes());
    refused(
        &admin,
        address,
        &["operator", "update", y, "--private-key", &deployer_key],
        "but operator.yaml says the operator is",
    )
    .await;

    admin
        .send(
            "allowlist the operator",
            msm.addToAllowlist(address).into_transaction_request(),
        )
        .await
        .unwrap();

    // `mach opt-in` configured by the env file alone: no key file anywhere.
    let env_file = dir.path().join(".env.opt");
    let write_env = |api_key: &str| {
        let text = format!(
            "AVS_REGISTRY_COORDINATOR_ADDRESS={}\nOPERATOR_STATE_RETRIEVER_ADDRESS={}\n\
             LAYER1_CHAIN_ID=31337\nETH_RPC_URL={}\nREG_QUORUM_NUMBERS=0\n\
             OPERATOR_ECDSA_ADDRESS={address}\n\
             MACH_ECDSA_SIGNER=web3signer\nMACH_WEB3SIGNER_URL={}\nMACH_SIGNER_ADDRESS={address}\n\
             NODE_BLS_SIGNER=cerberus\nNODE_BLS_CERBERUS_URL={}\n\
             NODE_BLS_CERBERUS_PUBLIC_KEY_G1={}\nNODE_BLS_CERBERUS_API_KEY={api_key}\n",
            d.registry_coordinator,
            d.operator_state_retriever,
            anvil.url(),
            ecdsa_signer.url,
            cerberus.url,
            mach_devnet::cerberus::name_of(&bls.public_key()),
        );
        std::fs::write(&env_file, text).unwrap();
    };
    let e = env_file.to_str().unwrap();

    // Refused: a wrong API key; a Cerberus that signs with another key than it is asked for.
    write_env("not the api key");
    refused(
        &admin,
        address,
        &["opt-in", "--env-file", e],
        "NODE_BLS_CERBERUS_API_KEY",
    )
    .await;
    write_env("operator api key");
    cerberus.behaviour.lock().unwrap().key = BlsSecretKey::random();
    refused(
        &admin,
        address,
        &["opt-in", "--env-file", e],
        "is not the partner of that G1 key",
    )
    .await;
    cerberus.behaviour.lock().unwrap().key = bls.clone();

    let signed_before = cerberus.signed.load(std::sync::atomic::Ordering::SeqCst);
    let out = ok(run(&["opt-in", "--env-file", e]));
    let operator_id = bls.operator_id().to_string();
    assert!(out.contains(&operator_id), "{out}");
    assert!(
        cerberus.signed.load(std::sync::atomic::Ordering::SeqCst) > signed_before,
        "the proof of possession did not come from Cerberus"
    );
    let status = ok(run(&["avs", "status", "--env-file", e]));
    assert!(
        status.contains("Opted in: yes") && status.contains(&operator_id),
        "{status}"
    );

    // Opting out needs only the ECDSA signer.
    ok(run(&["opt-out", "--env-file", e]));
    assert!(ok(run(&["avs", "status", "--env-file", e])).contains("Opted in: no"));
}
