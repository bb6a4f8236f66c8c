//! The follow loop on an OP Stack rollup: `anvil --network optimism`, its real rules described
//! in the rollup's genesis, under a random load of transfers, deposits (with mint), contract
//! deployment, storage writes, logs, reverts, self-destructs and L2ToL1MessagePasser writes.
//! Every block validates in strict mode; a block with a wrong state root is alerted with
//! `alert_blockMismatch`, the sequencer's output root against ours.
//!
//! The sequencer is `mach_devnet::rollup::Rollup`; its module docs say what anvil does as an OP
//! Stack sequencer, what it leaves out, and how the load stays clear of anvil's deviations.

use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::{Provider, ProviderBuilder, RootProvider};
use mach_devnet::rollup::{Network, Rollup, RollupConfig, STORE_AND_LOG};
use mach_verifier::op::{L1_ATTRIBUTES_DEPOSITOR, L2_TO_L1_MESSAGE_PASSER};
use mach_verifier::{output_root, BlockError};
use mach_verifier_live::follow::Outcome;
use serde_json::{json, Value};

use crate::support;

/// An OP Stack rollup (chain 901) with a load of `seed`, after its setup block, and a provider
/// of its endpoint.
async fn rollup(seed: u64) -> (Rollup, RootProvider) {
    let config = RollupConfig {
        seed,
        ..RollupConfig::new(Network::Optimism, 901)
    };
    let rollup = Rollup::start(&config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(rollup.url().parse().unwrap());
    (rollup, provider)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn op_stack_blocks_validate_and_a_wrong_state_root_is_an_output_root_mismatch() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("load seed {seed:#x}");
    let (mut seq, provider) = rollup(seed).await;
    // Block 1 sets up: the message passer stand-in enters its state, and the contracts.
    assert_eq!(seq.setup_block(), 1);
    assert_eq!(
        seq.store_and_log(),
        Address::create(&seq.dev_accounts()[0], 0)
    );
    assert_eq!(
        provider.get_code_at(seq.store_and_log()).await.unwrap(),
        Bytes::from_static(&STORE_AND_LOG)
    );
    for i in 0..12 {
        seq.produce(1 + i % 4).await.unwrap();
    }

    let db = tempfile::tempdir().unwrap();
    let (follower, seen) =
        support::alerting_follower(seq.url(), &seq.genesis_json(), db.path()).await;

    // Blocks 2 to 13 are valid (anvil's genesis state root is not real: start after block 1).
    let mut valid = Vec::new();
    loop {
        match follower.step(1).await.unwrap() {
            Outcome::Valid(b) => valid.push(b.number),
            Outcome::UpToDate => break,
            other => panic!("unexpected {other:?} (load seed {seed:#x})"),
        }
    }
    assert_eq!(valid, (2..=13).collect::<Vec<u64>>());

    // anvil's deviation (docs/decisions.md): a slot written and cleared by init code stays in
    // its storage trie, so the block's state root is wrong. A withdrawal in the same block.
    let clears = Bytes::from_static(&[
        0x60, 0x01, 0x60, 0x05, 0x55, 0x60, 0x00, 0x60, 0x05, 0x55, 0x60, 0x0a, 0x60, 0x00, 0xf3,
    ]);
    let dev = seq.dev_accounts().to_vec();
    let withdrawal = seq.call(dev[1], L2_TO_L1_MESSAGE_PASSER, Bytes::new(), 5);
    let create = seq.create(dev[2], clears);
    let bad = seq
        .block(Vec::new(), vec![withdrawal, create])
        .await
        .unwrap();
    let header = provider
        .get_block_by_number(bad.into())
        .await
        .unwrap()
        .unwrap()
        .header;
    let (expected_state, our_passer) = match follower.step(1).await.unwrap() {
        Outcome::Invalid(
            block,
            BlockError::StateRoot {
                expected,
                got,
                message_passer_storage_root,
            },
        ) => {
            assert_eq!(block.number, bad);
            assert_eq!(got, header.state_root);
            (
                expected,
                message_passer_storage_root
                    .expect("an OP Stack state root error carries our message passer root"),
            )
        }
        other => panic!("expected block {bad} invalid by its state root, got {other:?}"),
    };

    // The sequencer's output root, from its header and its message passer root.
    let proof = seq
        .rpc(
            "eth_getProof",
            json!([L2_TO_L1_MESSAGE_PASSER, [], format!("{bad:#x}")]),
        )
        .await
        .unwrap();
    let passer: B256 = serde_json::from_value(proof["storageHash"].clone()).unwrap();
    assert_ne!(
        passer,
        alloy_trie::EMPTY_ROOT_HASH,
        "the stand-in wrote its storage"
    );
    assert_eq!(
        our_passer, passer,
        "the block's withdrawal is no part of the deviation"
    );
    let invalid = output_root(header.state_root, passer, header.hash);
    // Ours: our state root and the hash of the header that carries it.
    let mut ours = header.inner.clone();
    ours.state_root = expected_state;
    let expect = output_root(expected_state, our_passer, ours.hash_slow());

    // The next ordinary block is valid again: exactly one block is invalid.
    let transfer = seq.call(dev[3], Address::repeat_byte(0x44), Bytes::new(), 9);
    seq.block(Vec::new(), vec![transfer]).await.unwrap();
    assert!(matches!(follower.step(1).await.unwrap(), Outcome::Valid(b) if b.number == bad + 1));

    support::until("the alert is delivered", || {
        follower.store().pending_alerts().unwrap().is_empty()
    })
    .await;
    let alerts: Vec<Value> = support::alerts(&seen);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["method"], "alert_blockMismatch");
    let params = &alerts[0]["params"][0];
    assert_eq!(params["l2_block_number"], format!("{bad:#x}"));
    assert_eq!(params["invalid_output_root"], json!(invalid));
    assert_eq!(params["expect_output_root"], json!(expect));
    assert_ne!(invalid, expect);
    assert!(follower.store().pending_alerts().unwrap().is_empty());
}

/// The deviation `quirkDepositReceiptNonceAfter` describes: anvil's deposit receipt carries the
/// depositor's nonce after the deposit; the OP Stack's carries the nonce before it. When this
/// fails, anvil has been fixed and the quirk can go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anvil_puts_the_nonce_after_the_deposit_in_deposit_receipts() {
    let (mut seq, provider) = rollup(1).await;
    let number = seq.block(Vec::new(), Vec::new()).await.unwrap();
    let receipts = seq
        .rpc("eth_getBlockReceipts", json!([format!("{number:#x}")]))
        .await
        .unwrap();
    // One L1 attributes deposit per block, from block 1: the depositor's nonce is the number of
    // the block after its deposit in it, and the OP Stack's receipt would carry `number - 1`.
    let nonce_after = provider
        .get_transaction_count(L1_ATTRIBUTES_DEPOSITOR)
        .await
        .unwrap();
    assert_eq!(nonce_after, number);
    assert_eq!(
        receipts[0]["depositNonce"],
        format!("{nonce_after:#x}"),
        "{receipts}"
    );
}

/// A chain config behind the chain: the rollup's blocks carry Ecotone's header fields (blob gas,
/// parent beacon block root) while the genesis given to the verifier stops at Canyon. In strict
/// mode with alerts on, every such block is "could not validate: chain config out of date":
/// retried, counted in `mach_verifier_config_out_of_date_total`, never alerted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_of_a_fork_the_config_lacks_are_never_alerted() {
    let (mut seq, _provider) = rollup(7).await;
    seq.produce(2).await.unwrap();
    seq.produce(2).await.unwrap();
    let mut genesis: Value = serde_json::from_str(&seq.genesis_json()).unwrap();
    let config = genesis["config"].as_object_mut().unwrap();
    for key in ["cancunTime", "ecotoneTime", "fjordTime", "graniteTime"] {
        assert!(config.remove(key).is_some(), "{key}");
    }
    let db = tempfile::tempdir().unwrap();
    let (follower, seen) =
        support::alerting_follower(seq.url(), &genesis.to_string(), db.path()).await;
    for attempt in 1..=2u64 {
        match follower.step(1).await.unwrap() {
            Outcome::Undecided(2, reason) => {
                assert!(reason.contains("chain config out of date"), "{reason}");
                assert!(reason.contains("Ecotone"), "{reason}");
            }
            other => panic!("expected block 2 undecided, got {other:?}"),
        }
        let metrics = follower.metrics().render();
        assert!(
            metrics.contains(&format!("mach_verifier_config_out_of_date_total {attempt}")),
            "{metrics}"
        );
    }
    assert!(support::alerts(&seen).is_empty());
    assert!(follower.store().pending_alerts().unwrap().is_empty());
    assert_eq!(follower.store().last_validated().unwrap(), None);
}
