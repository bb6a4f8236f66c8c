//! The web3signer signer against the eth1 signing API served by `support::web3signer`: a real
//! transaction on anvil, and every way the signer can fail naming the cause.

use crate::support::{self, web3signer::Behaviour};
use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use mach_chain::{EcdsaSigner, EcdsaSignerConfig, SignerError, Web3Signer};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn signs_a_transaction_that_anvil_mines() {
    let (anvil, admin) = support::chain().await;
    let key = PrivateKeySigner::random();
    support::fund(&admin, key.address()).await;
    let server = support::web3signer::start(key.clone(), Behaviour::Honest).await;

    let config = EcdsaSignerConfig::Web3Signer {
        url: server.url.clone(),
        address: key.address(),
    };
    let signer = config.build(TIMEOUT).await.unwrap();
    assert!(matches!(signer, EcdsaSigner::Web3Signer(_)));
    assert_eq!(signer.address(), key.address());
    let conn = mach_chain::connect(anvil.url(), signer).await.unwrap();
    assert_eq!(conn.sender, key.address());
    support::send_one_wei(&conn).await;
    support::send_one_wei(&conn).await; // the nonce moves on: a second one as well
}

#[tokio::test]
async fn a_signature_by_another_key_is_an_error_naming_both() {
    let (anvil, admin) = support::chain().await;
    let key = PrivateKeySigner::random();
    let other = PrivateKeySigner::random();
    support::fund(&admin, key.address()).await;
    let server = support::web3signer::start(key.clone(), Behaviour::SignsWith(other.clone())).await;

    let signer = Web3Signer::connect(&server.url, key.address(), TIMEOUT)
        .await
        .unwrap();
    let err = signer.sign(b"anything").await.unwrap_err();
    assert!(matches!(err, SignerError::WrongKey { .. }), "{err}");

    let conn = mach_chain::connect(anvil.url(), EcdsaSigner::from(signer))
        .await
        .unwrap();
    let err = conn
        .send(
            "send 1 wei",
            alloy::rpc::types::TransactionRequest::default()
                .to(Address::repeat_byte(1))
                .value(alloy::primitives::U256::from(1)),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&key.address().to_string()), "{err}");
    assert!(err.contains(&other.address().to_string()), "{err}");
    assert!(err.contains("nothing was sent"), "{err}");
}

#[tokio::test]
async fn a_key_web3signer_does_not_hold_is_refused_at_start() {
    let key = PrivateKeySigner::random();
    let wanted = PrivateKeySigner::random().address();
    let server = support::web3signer::start(key.clone(), Behaviour::Honest).await;
    let err = Web3Signer::connect(&server.url, wanted, TIMEOUT)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SignerError::KeyNotLoaded { .. }), "{text}");
    assert!(text.contains(&wanted.to_string()), "{text}");
    assert!(text.contains(&key.address().to_string()), "{text}");
}

#[tokio::test]
async fn an_unreachable_web3signer_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let err = Web3Signer::connect(&url, Address::repeat_byte(1), TIMEOUT)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SignerError::Unreachable { .. }), "{text}");
    assert!(text.contains(&url), "{text}");
    assert!(text.contains("MACH_WEB3SIGNER_URL"), "{text}");
}

#[tokio::test]
async fn a_refused_request_carries_the_status_and_body() {
    for status in [403, 500] {
        let key = PrivateKeySigner::random();
        let server = support::web3signer::start(key.clone(), Behaviour::Status(status)).await;
        let signer = Web3Signer::connect(&server.url, key.address(), TIMEOUT)
            .await
            .unwrap();
        let err = signer.sign(b"payload").await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, SignerError::Refused { status: s, .. } if s == status),
            "{text}"
        );
        assert!(text.contains(&format!("HTTP {status}")), "{text}");
        assert!(text.contains("signing refused by policy"), "{text}");
    }
}

#[tokio::test]
async fn a_slow_web3signer_times_out() {
    let key = PrivateKeySigner::random();
    let server =
        support::web3signer::start(key.clone(), Behaviour::Slow(Duration::from_secs(5))).await;
    let limit = Duration::from_millis(300);
    let signer = Web3Signer::connect(&server.url, key.address(), limit)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let err = signer.sign(b"payload").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    let text = err.to_string();
    assert!(matches!(err, SignerError::Timeout { .. }), "{text}");
    assert!(text.contains("300 ms"), "{text}");
}

#[tokio::test]
async fn a_url_that_is_not_http_is_a_config_error() {
    let err = Web3Signer::connect("127.0.0.1:9000", Address::ZERO, TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, SignerError::Config(_)), "{err}");
    assert!(err.to_string().contains("MACH_WEB3SIGNER_URL"), "{err}");
}
