//! The follow loop on a real anvil rollup: valid blocks pass in strict mode; a block whose state
//! root breaks Ethereum's rules is found invalid with a state-root reason, and the alert reaches
//! the node endpoint with that block's hash, once.
//!
//! The invalid block comes from an anvil deviation (docs/decisions.md): a storage slot written
//! and cleared in one transaction stays in anvil's storage trie, so anvil commits a state root
//! Ethereum would not.
//!
//! A malicious sequencer is played by anvil's state-injection methods (`anvil_setBalance`,
//! `anvil_setStorageAt`, `anvil_setCode`, `anvil_setNonce`) between two blocks: the next block's
//! state root then commits to a change no transaction made. The verifier carries the state it
//! proved and computed from block to block, so the injection shows as a state-root mismatch in
//! exactly that block. (anvil also rewrites what it serves as the previous block's state, whose
//! proofs then fail against that block's root: an RPC that rewrites history cannot feed the
//! verifier, and one that keeps it is checked from its own proofs.)

use alloy::network::TransactionBuilder;
use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use mach_devnet::{Anvil, AnvilConfig};
use mach_verifier_live::follow::{Follower, Outcome};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support;

/// A validatable anvil chain, a connection sending as dev account 0, and a transfer of 7 wei to
/// dev account `to`.
async fn chain(
    to: u32,
) -> (
    Anvil,
    mach_chain::Connection,
    impl Fn() -> TransactionRequest,
) {
    let anvil = Anvil::spawn(&AnvilConfig::validatable(31_337)).unwrap();
    anvil.space_timestamps().await.unwrap();
    let admin = mach_chain::connect(anvil.url(), anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let to = anvil.dev_signer(to).unwrap().address();
    let transfer = move || {
        TransactionRequest::default()
            .with_to(to)
            .with_value(U256::from(7))
    };
    (anvil, admin, transfer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_with_a_wrong_state_root_is_invalid_and_alerted_once() {
    let (anvil, admin, transfer) = chain(2).await;
    for _ in 0..3 {
        admin.send("transfer", transfer()).await.unwrap();
    }

    let db = tempfile::tempdir().unwrap();
    let (follower, seen) =
        support::alerting_follower(anvil.url(), &anvil.genesis_json(), db.path()).await;

    // Blocks 2 and 3 are valid (anvil's genesis state root is not real: start after block 1).
    let mut valid = Vec::new();
    loop {
        match follower.step(1).await.unwrap() {
            Outcome::Valid(b) => valid.push(b.number),
            Outcome::UpToDate => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(valid, vec![2, 3]);

    send_state_root_breaker(&admin).await;
    let bad = admin.provider.get_block_number().await.unwrap();
    let bad_hash = support::hash_of(&admin, bad).await;
    match follower.step(1).await.unwrap() {
        Outcome::Invalid(block, reason) => {
            assert_eq!(block.number, bad);
            assert_eq!(reason.rule(), "state_root", "{reason}");
        }
        other => panic!("expected block {bad} invalid, got {other:?}"),
    }
    // The next ordinary block is valid again: exactly one block is invalid.
    admin.send("transfer", transfer()).await.unwrap();
    assert!(matches!(follower.step(1).await.unwrap(), Outcome::Valid(b) if b.number == bad + 1));

    support::until(
        "the alert is delivered and three work proofs arrived",
        || {
            follower.store().pending_alerts().unwrap().is_empty()
                && support::requests(&seen, "health_check").len() == 3
        },
    )
    .await;
    let alerts = support::requests(&seen, "alert_blockHash");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["params"][0]["hash"], json!(bad_hash));
}

/// Sends a contract creation whose init code writes a slot and clears it again: the block that
/// holds it has a state root anvil gets wrong by Ethereum's rules.
async fn send_state_root_breaker(admin: &mach_chain::Connection) {
    let clears = alloy::primitives::Bytes::from_static(&[
        0x60, 0x01, 0x60, 0x05, 0x55, 0x60, 0x00, 0x60, 0x05, 0x55, 0x60, 0x0a, 0x60, 0x00, 0xf3,
    ]);
    admin
        .send(
            "create",
            TransactionRequest::default().with_deploy_code(clears),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_goes_on_while_the_node_sits_on_an_alert() {
    let (anvil, admin, transfer) = chain(2).await;
    for _ in 0..3 {
        admin.send("transfer", transfer()).await.unwrap();
    }
    // A node that takes work proofs but never answers an alert (its aggregator waits forever).
    let alerts_seen = Arc::new(AtomicUsize::new(0));
    let seen = alerts_seen.clone();
    let app = axum::Router::new().route(
        "/soneium",
        axum::routing::post(move |axum::Json(req): axum::Json<Value>| {
            let seen = seen.clone();
            async move {
                if req["method"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("alert_"))
                {
                    seen.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                axum::Json(json!({"jsonrpc": "2.0", "id": req["id"], "result": null}))
            }
        }),
    );
    let node_url = format!("{}/soneium", support::serve(app).await);
    let db = tempfile::tempdir().unwrap();
    let follower =
        support::follower_alerting_to(anvil.url(), &anvil.genesis_json(), db.path(), &node_url)
            .await;
    assert!(!follow_to_head(&follower, 1).await.is_empty());

    send_state_root_breaker(&admin).await;
    assert!(matches!(
        follower.step(1).await.unwrap(),
        Outcome::Invalid(..)
    ));
    support::until("the node holds the alert", || {
        alerts_seen.load(Ordering::SeqCst) == 1
    })
    .await;
    // The alert is in flight and unanswered; the following blocks are validated meanwhile.
    for _ in 0..3 {
        admin.send("transfer", transfer()).await.unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(30), follower.step(1))
            .await
            .expect("validation waited for the alert")
            .unwrap();
        assert!(matches!(outcome, Outcome::Valid(_)), "{outcome:?}");
    }
    assert_eq!(follower.store().pending_alerts().unwrap().len(), 1);
}

/// Steps until the follower is at the head; every block must be valid.
async fn follow_to_head(follower: &Follower, start: u64) -> Vec<u64> {
    let mut valid = Vec::new();
    loop {
        match follower.step(start).await.unwrap() {
            Outcome::Valid(b) => valid.push(b.number),
            Outcome::UpToDate => return valid,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_injected_state_change_makes_exactly_the_next_block_invalid() {
    let (anvil, admin, transfer) = chain(3).await;
    let victim = anvil.dev_signer(3).unwrap().address();
    // A contract that stores its first calldata word in slot 0.
    let store_word = alloy::primitives::Bytes::from_static(&[
        0x60, 0x07, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x07, 0x60, 0x00,
        0xf3, // init: copy, return
        0x60, 0x00, 0x35, 0x60, 0x00, 0x55, 0x00, // runtime: sstore(0, calldataload(0))
    ]);
    let receipt = admin
        .send(
            "deploy",
            TransactionRequest::default().with_deploy_code(store_word),
        )
        .await
        .unwrap();
    let contract = receipt.contract_address.unwrap();
    let mut word = 0u64;
    let mut call = || {
        word += 1;
        TransactionRequest::default()
            .with_to(contract)
            .with_input(alloy::primitives::B256::from(U256::from(word)).to_vec())
    };
    admin.send("transfer", transfer()).await.unwrap();
    admin.send("call", call()).await.unwrap();

    let db = tempfile::tempdir().unwrap();
    let (follower, seen) =
        support::alerting_follower(anvil.url(), &anvil.genesis_json(), db.path()).await;
    assert!(!follow_to_head(&follower, 1).await.is_empty());

    let rpc = |method: &'static str, params: Value| {
        let provider = admin.provider.clone();
        async move {
            provider
                .raw_request::<_, Value>(method.into(), params)
                .await
                .unwrap_or_else(|e| panic!("{method}: {e}"))
        }
    };
    let storage_slot = format!("{:#066x}", 5);
    let injections: Vec<(&str, Value)> = vec![
        ("anvil_setBalance", json!([victim, "0xde0b6b3a7640000"])),
        (
            "anvil_setStorageAt",
            json!([contract, storage_slot, format!("{:#066x}", 42)]),
        ),
        ("anvil_setCode", json!([victim, "0x00"])),
        ("anvil_setNonce", json!([victim, "0x63"])),
    ];
    let mut invalid = Vec::new();
    for (method, params) in injections {
        // A block that touches the victim and the contract, validated before the injection.
        admin.send("transfer", transfer()).await.unwrap();
        admin.send("call", call()).await.unwrap();
        assert!(!follow_to_head(&follower, 1).await.is_empty());

        rpc(method, params).await;
        admin.send("transfer", transfer()).await.unwrap();
        admin.send("call", call()).await.unwrap();
        let head = admin.provider.get_block_number().await.unwrap();
        let injected = head - 1;
        let hash = support::hash_of(&admin, injected).await;
        match follower.step(1).await.unwrap() {
            Outcome::Invalid(block, reason) => {
                assert_eq!((block.number, block.hash), (injected, hash), "{method}");
                assert_eq!(reason.rule(), "state_root", "{method}: {reason}");
            }
            other => panic!("{method}: expected block {injected} invalid, got {other:?}"),
        }
        // The chain goes on from the sequencer's state: the next block is valid again.
        assert!(
            matches!(follower.step(1).await.unwrap(), Outcome::Valid(b) if b.number == head),
            "{method}: the block after the injected one must be valid"
        );
        invalid.push(hash);
    }

    support::until("every alert is delivered", || {
        follower.store().pending_alerts().unwrap().is_empty()
    })
    .await;
    // Each alert is delivered on its own, so they may arrive in any order.
    let mut alerted: Vec<String> = support::requests(&seen, "alert_blockHash")
        .iter()
        .map(|r| r["params"][0]["hash"].to_string())
        .collect();
    let mut expected: Vec<String> = invalid.iter().map(|h| json!(h).to_string()).collect();
    alerted.sort();
    expected.sort();
    assert_eq!(alerted, expected);
}
