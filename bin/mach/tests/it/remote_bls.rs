//! An operator whose BLS key is behind a Cerberus remote signer, end to end: a deployment on
//! anvil with two staked operators (40 % and 60 % of the stake, so the 66 % quorum needs both),
//! `mach aggregator`, one `mach node` signing with its key file and one whose `.env` selects
//! `NODE_BLS_SIGNER=cerberus` (no key file at all) against a signer speaking Cerberus's gRPC API
//! in this test; one alert posted to both is confirmed on L1.

use crate::support::{free_port, spawn, wait_http, write_private};
use alloy::primitives::{B256, U256};
use mach_contracts::MachServiceManager;
use mach_devnet::onboard_operator;
use mach_keys::file::encrypt_bls;
use mach_keys::BlsSecretKey;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

/// The Cerberus stand-in of the devnet crate, under the names this test uses.
mod cerberus_server {
    pub use mach_devnet::cerberus::{name_of, CerberusServer as TestSigner};
}

const API_KEY: &str = "e2e-api-key";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_signing_through_cerberus_counts_toward_the_quorum() {
    let dir = tempfile::tempdir().unwrap();
    let (anvil, admin, deployment) = crate::e2e::deployed_l1(dir.path()).await;
    let ether = U256::from(10u64).pow(U256::from(18u64));
    let mut operators = Vec::new();
    for (i, stake) in [(1, 40u64), (2, 60u64)] {
        let signer = anvil.dev_signer(i).unwrap();
        let bls = BlsSecretKey::random();
        onboard_operator(
            &admin,
            &deployment,
            &signer,
            &bls,
            U256::from(stake) * ether,
            &[0],
        )
        .await
        .unwrap();
        operators.push((signer.address(), bls));
    }

    // The aggregator, confirming with the deployer's key.
    let (aggregator, aggregator_url) = crate::e2e::start_aggregator(&anvil, dir.path()).await;

    // The second operator's key lives in the signer only.
    let signer = cerberus_server::TestSigner::start(operators[1].1.clone(), API_KEY).await;

    let mut nodes = Vec::new();
    for (n, (address, bls)) in operators.iter().enumerate() {
        let home = dir.path().join(format!("operator{n}"));
        std::fs::create_dir_all(&home).unwrap();
        let (alert, api) = (free_port(), free_port());
        let mut vars = vec![
            ("OPERATOR_SERVER_URL", format!("127.0.0.1:{alert}")),
            ("OPERATOR_ECDSA_ADDRESS", address.to_string()),
            ("ETH_RPC_URL", anvil.url().to_string()),
            ("LAYER1_CHAIN_ID", "31337".into()),
            ("AGGREGATOR_JSONRPC_SERVER_URL", aggregator_url.clone()),
            ("ENABLE_NODE_API", "true".into()),
            ("NODE_API_URL", format!("127.0.0.1:{api}")),
        ];
        if n == 0 {
            let key_file = home.join("opr.bls.key.json");
            std::fs::write(&key_file, encrypt_bls(bls, "pw").unwrap()).unwrap();
            vars.push(("NODE_BLS_KEY_FILE_HOST", key_file.display().to_string()));
            vars.push(("OPERATOR_BLS_KEY_PASSWORD", "pw".into()));
        } else {
            vars.push(("NODE_BLS_SIGNER", "cerberus".into()));
            vars.push(("NODE_BLS_CERBERUS_URL", signer.url.clone()));
            vars.push((
                "NODE_BLS_CERBERUS_PUBLIC_KEY_G1",
                format!("0x{}", cerberus_server::name_of(&bls.public_key())),
            ));
            vars.push(("NODE_BLS_CERBERUS_API_KEY", API_KEY.into()));
        }
        let env = mach_primitives::env::format_env(None, &vars).unwrap();
        write_private(&home.join(".env"), &env);
        let avs = json!([{
            "avs_name": "soneium",
            "avs_registry_coordinator_address": deployment.registry_coordinator,
            "operator_state_retriever_address": deployment.operator_state_retriever,
            "avs_contract_address": deployment.mach_service_manager,
        }]);
        std::fs::write(home.join("avs_configs.json"), avs.to_string()).unwrap();
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
        wait_http(
            &format!("http://127.0.0.1:{api}/eigen/node/health"),
            "mach node",
            &mut proc,
        )
        .await;
        nodes.push((proc, format!("http://127.0.0.1:{alert}")));
    }
    // The start-up check made one test signature.
    assert_eq!(signer.signed.load(Ordering::SeqCst), 1);

    let hash = B256::repeat_byte(0xc5);
    let posts: Vec<_> = nodes
        .iter()
        .map(|(_, url)| {
            let url = url.clone();
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(&url)
                    .json(&json!({
                        "jsonrpc": "2.0", "id": 1, "method": "alert_blockHash",
                        "params": [{"avs_name": "soneium", "hash": hash}]
                    }))
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            })
        })
        .collect();
    for post in posts {
        let answer = post.await.unwrap();
        assert!(answer["result"].is_object(), "node answered {answer}");
        assert_ne!(
            answer["result"]["tx_hash"],
            json!(format!("{}", B256::ZERO)),
            "{answer}"
        );
    }
    assert_eq!(signer.signed.load(Ordering::SeqCst), 2);
    let msm = MachServiceManager::new(deployment.mach_service_manager, &admin.provider);
    assert!(msm.contains(hash).call().await.unwrap());
    assert_eq!(msm.totalAlerts().call().await.unwrap(), U256::from(1));
    drop(nodes);
    drop(aggregator);
}
