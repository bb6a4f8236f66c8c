//! The AWS KMS signer (alloy's AwsSigner) against moto's KMS with DIGEST signing
//! (`scripts/kms-test-server.py`): a real transaction on anvil signed by a KMS key.

use crate::support::{self, moto};
use mach_chain::{EcdsaSigner, EcdsaSignerConfig, SignerError};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The SDK's default chain reads these; moto accepts any credentials.
fn test_credentials() {
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
}

#[tokio::test]
async fn signs_a_transaction_that_anvil_mines() {
    test_credentials();
    let server = moto::start();
    let key_id = moto::create_key(&moto::client(&server.url)).await;
    let (anvil, admin) = support::chain().await;

    let config = EcdsaSignerConfig::AwsKms {
        key_id,
        region: Some("us-east-1".into()),
        endpoint_url: Some(server.url.clone()),
    };
    let signer = config.build(TIMEOUT).await.unwrap();
    assert!(matches!(signer, EcdsaSigner::Kms(_)));
    support::fund(&admin, signer.address()).await;
    let conn = mach_chain::connect(anvil.url(), signer).await.unwrap();
    support::send_one_wei(&conn).await;
    support::send_one_wei(&conn).await;
}

#[tokio::test]
async fn an_unknown_key_is_named_with_the_fix() {
    test_credentials();
    let server = moto::start();
    let config = EcdsaSignerConfig::AwsKms {
        key_id: "11111111-2222-3333-4444-555555555555".into(),
        region: Some("us-east-1".into()),
        endpoint_url: Some(server.url.clone()),
    };
    let err = config.build(TIMEOUT).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SignerError::Kms { .. }), "{text}");
    assert!(
        text.contains("11111111-2222-3333-4444-555555555555"),
        "{text}"
    );
    assert!(text.contains("MACH_KMS_KEY_ID"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_whose_key_is_in_kms_registers_with_the_avs() {
    use mach_chain::operator::{self, OperatorDetails};
    use mach_contracts::MachServiceManager;
    test_credentials();
    let server = moto::start();
    let key_id = moto::create_key(&moto::client(&server.url)).await;
    let (anvil, admin) = support::chain().await;
    let d = mach_devnet::deploy(&admin, &mach_devnet::DeployConfig::default())
        .await
        .unwrap();
    let config = EcdsaSignerConfig::AwsKms {
        key_id,
        region: Some("us-east-1".into()),
        endpoint_url: Some(server.url.clone()),
    };
    let signer = config.build(TIMEOUT).await.unwrap();
    let address = signer.address();
    support::fund(&admin, address).await;
    let conn = mach_chain::connect(anvil.url(), signer).await.unwrap();
    operator::register_as_operator(
        &conn,
        d.delegation_manager,
        &OperatorDetails {
            delegation_approver: alloy::primitives::Address::ZERO,
            staker_opt_out_window_blocks: 0,
        },
        "https://operator.example/metadata.json",
    )
    .await
    .unwrap();
    let msm = MachServiceManager::new(d.mach_service_manager, &admin.provider);
    admin
        .send(
            "allowlist the operator",
            msm.addToAllowlist(address).into_transaction_request(),
        )
        .await
        .unwrap();
    // The AVSDirectory accepts the registration digest signed by KMS (through its EIP-712
    // preimage, the form every signer can sign).
    let bls = mach_keys::BlsSecretKey::random();
    mach_chain::avs::opt_in(&conn, &bls, &d.avs(), &[0], "")
        .await
        .unwrap();
    let status = mach_chain::avs::status(&conn, &d.avs(), address)
        .await
        .unwrap();
    assert!(status.registered);
    assert_eq!(status.operator_id, bls.operator_id().0);
}
