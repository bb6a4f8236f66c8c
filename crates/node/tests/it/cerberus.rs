//! The BLS key behind a Cerberus remote signer: the client against a signer speaking the
//! published gRPC API ([`mach_devnet::cerberus`]), and the node starting and signing alerts
//! through it on a real deployment.

use super::node::{chain_with_operator, config, rpc, stand_in_aggregator, Recorded};
use alloy::primitives::{keccak256, B256};
use mach_devnet::cerberus::{name_of, CerberusServer as TestSigner};
use mach_keys::{BlsSecretKey, BlsSignature};
use mach_node::cerberus::{CerberusSettings, CerberusSigner};
use mach_node::{BlsSigner, BlsSignerConfig, SignerError};
use mach_primitives::rpc::AlertTaskInfo;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const API_KEY: &str = "test-api-key";

fn settings(url: &str, key: &BlsSecretKey, api_key: Option<&str>) -> CerberusSettings {
    CerberusSettings {
        url: url.to_string(),
        public_key_g1: key.public_key(),
        api_key: api_key.map(String::from),
        ca_file: None,
        password: None,
        timeout: Duration::from_secs(1),
    }
}

fn client(url: &str, key: &BlsSecretKey, api_key: Option<&str>) -> CerberusSigner {
    let signer = CerberusSigner::new(settings(url, key, api_key)).unwrap();
    signer.set_public_key_g2(key.public_key_g2()).unwrap();
    signer
}

#[tokio::test]
async fn signs_through_the_protocol_and_checks_each_signature() {
    let key = BlsSecretKey::random();
    let server = TestSigner::start(key.clone(), API_KEY).await;
    let hash = keccak256(b"task");
    let signer = BlsSigner::from(client(&server.url, &key, Some(API_KEY)));
    assert_eq!(signer.operator_id(), key.operator_id());
    assert_eq!(signer.sign(hash).await.unwrap(), key.sign(&hash));
    assert_eq!(server.signed.load(Ordering::SeqCst), 1);

    // The signer swaps in another key under the same name: refused, naming the configured key.
    server.behaviour.lock().unwrap().key = BlsSecretKey::random();
    let err = signer.sign(hash).await.unwrap_err();
    assert!(matches!(err, SignerError::Mismatch(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("does not verify against the configured key")
            && text.contains(&name_of(&key.public_key())),
        "{text}"
    );

    // A G2 key that is not the G1 key's partner is refused before any signature is trusted.
    let lone = CerberusSigner::new(settings(&server.url, &key, Some(API_KEY))).unwrap();
    assert!(lone.sign(hash).await.is_err(), "no G2 key, no signature");
    assert!(lone
        .set_public_key_g2(BlsSecretKey::random().public_key_g2())
        .is_err());
}

#[tokio::test]
async fn a_refused_request_names_the_api_key_setting() {
    let key = BlsSecretKey::random();
    let server = TestSigner::start(key.clone(), API_KEY).await;
    for api_key in [Some("wrong"), None] {
        let err = client(&server.url, &key, api_key)
            .sign(B256::ZERO)
            .await
            .unwrap_err();
        assert!(matches!(err, SignerError::Refused(_)), "{err:?}");
        assert!(!err.is_transient());
        assert!(
            err.to_string().contains("NODE_BLS_CERBERUS_API_KEY"),
            "{err}"
        );
    }
    // A key the signer does not hold: named, not retried.
    let other = BlsSecretKey::random();
    let err = client(&server.url, &other, Some(API_KEY))
        .sign(B256::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(err, SignerError::Rejected(_)), "{err:?}");
    assert!(
        err.to_string().contains("NODE_BLS_CERBERUS_PUBLIC_KEY_G1"),
        "{err}"
    );
}

#[tokio::test]
async fn unreachable_and_slow_signers_are_retried() {
    let key = BlsSecretKey::random();
    let mut server = TestSigner::start(key.clone(), API_KEY).await;
    let signer = BlsSigner::from(client(&server.url, &key, Some(API_KEY)));
    let hash = keccak256(b"alert");
    assert!(signer.sign(hash).await.is_ok());

    // Stopped: unreachable, transient.
    server.stop().await;
    let BlsSigner::Cerberus(remote) = &signer else {
        unreachable!()
    };
    let err = remote.sign(hash).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("unreachable"), "{err}");

    // Back within the retries of one signing: the signature is had.
    let url = server.url.clone();
    let restarted = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        server.restart().await;
        server
    });
    assert_eq!(signer.sign(hash).await.unwrap(), key.sign(&hash));
    let server = restarted.await.unwrap();
    assert_eq!(server.url, url);

    // Slower than the deadline: a timeout, transient.
    server.behaviour.lock().unwrap().delay = Duration::from_secs(3);
    let started = std::time::Instant::now();
    let err = remote.sign(hash).await.unwrap_err();
    assert!(matches!(err, SignerError::Timeout { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(3));

    // Nobody listening at all.
    let err = client("http://127.0.0.1:9", &key, Some(API_KEY))
        .sign(hash)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("unreachable"), "{err}");
}

#[tokio::test]
async fn tls_with_the_signer_s_ca_file() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let read = |name: &str| std::fs::read(data.join(name)).unwrap();
    // tonic's TLS server takes rustls's process default; the client picks ring itself.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let key = BlsSecretKey::random();
    let server = TestSigner::start_tls(
        key.clone(),
        API_KEY,
        &read("cerberus-test-server.pem"),
        &read("cerberus-test-server.key"),
    )
    .await;
    let mut tls = settings(&server.url, &key, Some(API_KEY));
    tls.ca_file = Some(data.join("cerberus-test-ca.pem"));
    let signer = CerberusSigner::new(tls.clone()).unwrap();
    signer.set_public_key_g2(key.public_key_g2()).unwrap();
    let hash = keccak256(b"over TLS");
    assert_eq!(signer.sign(hash).await.unwrap(), key.sign(&hash));

    // Without the CA the certificate is not trusted: no signature.
    let untrusted = CerberusSigner::new(settings(&server.url, &key, Some(API_KEY)));
    if let Ok(untrusted) = untrusted {
        untrusted.set_public_key_g2(key.public_key_g2()).unwrap();
        assert!(untrusted.sign(hash).await.is_err());
    }
    // Plain HTTP to the TLS port fails too.
    let plain = client(&format!("http://{}", server.addr), &key, Some(API_KEY));
    assert!(plain.sign(hash).await.is_err());
    // A CA file with an http:// URL, or one that cannot be read, is a configuration error.
    let mut wrong = tls.clone();
    wrong.url = format!("http://{}", server.addr);
    let err = CerberusSigner::new(wrong).unwrap_err().to_string();
    assert!(err.contains("NODE_BLS_CERBERUS_CA_FILE"), "{err}");
    let mut missing = tls;
    missing.ca_file = Some(data.join("no-such-ca.pem"));
    let err = CerberusSigner::new(missing).unwrap_err().to_string();
    assert!(err.contains("NODE_BLS_CERBERUS_CA_FILE"), "{err}");
}

fn cerberus_config(
    chain: &super::node::Chain,
    aggregator: &str,
    url: &str,
    key: &BlsSecretKey,
    api_key: &str,
) -> mach_node::NodeConfig {
    let mut config = config(chain, aggregator);
    config.bls_signer = BlsSignerConfig::Cerberus(settings(url, key, Some(api_key)));
    config
}

async fn start_error(config: mach_node::NodeConfig) -> String {
    let signer = BlsSigner::open(&config).unwrap();
    mach_node::start(config, signer)
        .await
        .unwrap_err()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_node_signs_alerts_through_cerberus_and_refuses_bad_signers_at_start() {
    let chain = chain_with_operator(true).await;
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let aggregator = stand_in_aggregator(recorded.clone()).await;
    let mut server = TestSigner::start(chain.bls.clone(), API_KEY).await;
    let registered = name_of(&chain.bls.public_key());

    // A configured key other than the registered one: both named.
    let other = BlsSecretKey::random();
    let err = start_error(cerberus_config(
        &chain,
        &aggregator,
        &server.url,
        &other,
        API_KEY,
    ))
    .await;
    assert!(
        err.contains(&name_of(&other.public_key()))
            && err.contains("NODE_BLS_CERBERUS_PUBLIC_KEY_G1")
            && err.contains(&format!("{}", chain.bls.operator_id())),
        "{err}"
    );

    // The signer signs with another key under the registered name: refused at start.
    server.behaviour.lock().unwrap().key = other.clone();
    let good = cerberus_config(&chain, &aggregator, &server.url, &chain.bls, API_KEY);
    let err = start_error(good.clone()).await;
    assert!(
        err.contains("does not verify") && err.contains(&registered),
        "{err}"
    );
    server.behaviour.lock().unwrap().key = chain.bls.clone();

    // A wrong API key, and no signer at all: refused at start, named.
    let err = start_error(cerberus_config(
        &chain,
        &aggregator,
        &server.url,
        &chain.bls,
        "wrong",
    ))
    .await;
    assert!(err.contains("NODE_BLS_CERBERUS_API_KEY"), "{err}");
    let err = start_error(cerberus_config(
        &chain,
        &aggregator,
        "http://127.0.0.1:9",
        &chain.bls,
        API_KEY,
    ))
    .await;
    assert!(err.contains("unreachable"), "{err}");

    // The right signer: the node starts and its alerts carry signatures by the registered key.
    let node = mach_node::start(good.clone(), BlsSigner::open(&good).unwrap())
        .await
        .unwrap();
    let alert_url = format!("http://{}/soneium", node.alert_addr);
    let alert = |id: u64, byte: u8| json!({"jsonrpc": "2.0", "id": id, "method": "alert_blockHash", "params": [{"hash": B256::repeat_byte(byte)}]});
    let reply = rpc(&alert_url, alert(1, 0x42)).await;
    assert_eq!(reply["result"]["task_index"], 7, "{reply}");
    let params = {
        let rec = recorded.lock().unwrap();
        rec.calls
            .iter()
            .rfind(|(m, _)| m == "aggregator_processSignedTaskResponse")
            .unwrap()
            .1
            .clone()
    };
    let task: AlertTaskInfo = serde_json::from_value(params[0].clone()).unwrap();
    let signature_hex = params[1].as_str().unwrap().trim_start_matches("0x");
    let signature = BlsSignature::from_bytes(&alloy::hex::decode(signature_hex).unwrap()).unwrap();
    assert!(mach_keys::bls::verify(
        &chain.bls.public_key_g2(),
        &task.sign_hash(),
        &signature
    ));
    assert_eq!(params[2], format!("{}", chain.bls.operator_id()));

    // The signer goes away: the alert is answered with an error the verifier retries, and
    // nothing reaches the aggregator; once the signer is back the same alert goes through.
    server.stop().await;
    let submitted = |rec: &Arc<Mutex<Recorded>>| {
        rec.lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(m, _)| m == "aggregator_processSignedTaskResponse")
            .count()
    };
    let before = submitted(&recorded);
    let reply = rpc(&alert_url, alert(2, 0x43)).await;
    assert_eq!(
        reply["error"]["code"],
        mach_node::node::BLS_SIGNER_ERROR,
        "{reply}"
    );
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{reply}"
    );
    assert_eq!(submitted(&recorded), before);
    server.restart().await;
    let reply = rpc(&alert_url, alert(3, 0x43)).await;
    assert_eq!(reply["result"]["task_index"], 7, "{reply}");
    assert_eq!(submitted(&recorded), before + 1);

    // A wrong signature at run time is never sent on.
    server.behaviour.lock().unwrap().key = other;
    let reply = rpc(&alert_url, alert(4, 0x44)).await;
    assert_eq!(reply["error"]["code"], mach_node::node::BLS_SIGNER_ERROR);
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not verify"),
        "{reply}"
    );
    assert_eq!(submitted(&recorded), before + 1);

    // Both failures are counted, and every signature's latency is observed.
    let metrics_addr = node.metrics_addr.expect("the test config enables metrics");
    let metrics = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("mach_bls_signer_errors_total{avs=\"soneium\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mach_bls_sign_duration_seconds_count{signer=\"cerberus\"} 4"),
        "{metrics}"
    );
    node.shutdown().await;
}
