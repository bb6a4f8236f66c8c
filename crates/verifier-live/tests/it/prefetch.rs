//! Reading ahead (`[collector].max_fetcher`) on a real anvil rollup behind a proxy that records
//! which blocks the follower asks for.
//!
//! - With `max_fetcher = 4` a range of valid blocks and one invalid block (anvil's state-root
//!   deviation, see tests/it/follow.rs) gets the same outcomes and the same alert as with 1; while
//!   a block is validated the RPC is already asked for the three after it, and every block is
//!   asked for once (an in-flight read is waited for, not repeated). With 1, nothing past the
//!   block being validated is asked for. Either way the head is asked for once while catching
//!   up, and once more to find the follower up to date.
//! - Blocks read ahead and then replaced by `anvil_reorg` are only a cache: following rewinds to
//!   the common ancestor and validates the new blocks, with no invalid outcome and no alert.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Bytes, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use mach_devnet::Anvil;
use mach_verifier::ChainRules;
use mach_verifier_live::follow::{Follower, Outcome};
use mach_verifier_live::store::Store;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support;
use crate::support::RecordingProxy;

/// Waits (at most 10 s) until every block in `wanted` was read through `proxy`; panics if one
/// was not.
async fn wait_for(proxy: &RecordingProxy, wanted: std::ops::RangeInclusive<u64>, context: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let read = proxy.blocks();
        if wanted.clone().all(|n| read.contains(&n)) {
            return;
        }
        if Instant::now() > deadline {
            panic!("{context}: blocks {wanted:?} were not read ahead; read: {read:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Mines a block with a transfer of 7 wei to dev account 2; returns its number.
async fn transfer(anvil: &Anvil, admin: &mach_chain::Connection) -> u64 {
    let to = anvil.dev_signer(2).unwrap().address();
    let tx = TransactionRequest::default()
        .with_to(to)
        .with_value(U256::from(7));
    admin
        .send("transfer", tx)
        .await
        .unwrap()
        .block_number
        .unwrap()
}

/// Mines the block anvil gets wrong: a creation whose init code writes a slot and clears it
/// again leaves the slot in anvil's trie, so its state root is invalid. Returns its number.
async fn invalid_block(admin: &mach_chain::Connection) -> u64 {
    let clears = Bytes::from_static(&[
        0x60, 0x01, 0x60, 0x05, 0x55, 0x60, 0x00, 0x60, 0x05, 0x55, 0x60, 0x0a, 0x60, 0x00, 0xf3,
    ]);
    let tx = TransactionRequest::default().with_deploy_code(clears);
    admin
        .send("create", tx)
        .await
        .unwrap()
        .block_number
        .unwrap()
}

/// A strict follower through `rpc_url` reading `max_fetcher` blocks at a time, alerting to a
/// recording node; also returns what the node records.
async fn follower(
    anvil: &Anvil,
    rpc_url: &str,
    max_fetcher: usize,
    db: &Path,
) -> (Follower, support::Seen) {
    let seen = support::Seen::default();
    let node_url = support::recording_node(seen.clone()).await;
    let mut config = support::alerting_config(rpc_url, &node_url);
    config.collector.max_fetcher = max_fetcher;
    let follower = Follower::new(
        config,
        ChainRules::from_genesis_json(&anvil.genesis_json()).unwrap(),
        Store::open(db).unwrap(),
        "",
    )
    .await
    .unwrap();
    (follower, seen)
}

/// What happened to a block, comparable across runs.
fn decided(outcome: &Outcome) -> (u64, B256, String) {
    match outcome {
        Outcome::Valid(b) => (b.number, b.hash, "valid".into()),
        Outcome::Invalid(b, reason) => (b.number, b.hash, format!("invalid: {}", reason.rule())),
        other => panic!("expected a verdict, got {other:?}"),
    }
}

/// Follows blocks 2 to `head` with `max_fetcher` blocks at a time through a fresh proxy;
/// returns the outcomes, the node's alerts and the proxy (what the RPC was asked). With more
/// than one, checks after each block that the blocks after it were read ahead.
async fn follow_range(
    anvil: &Anvil,
    head: u64,
    max_fetcher: usize,
) -> (Vec<(u64, B256, String)>, Vec<Value>, Arc<RecordingProxy>) {
    let (url, proxy) = RecordingProxy::spawn(anvil.url()).await;
    let db = tempfile::tempdir().unwrap();
    let (follower, seen) = follower(anvil, &url, max_fetcher, db.path()).await;
    let mut outcomes = Vec::new();
    for _ in 0..100 {
        let outcome = follower.step(1).await.unwrap();
        if matches!(outcome, Outcome::UpToDate) {
            break;
        }
        let (number, ..) = decided(&outcome);
        let ahead = (number + max_fetcher as u64 - 1).min(head);
        if max_fetcher > 1 {
            wait_for(
                &proxy,
                number + 1..=ahead,
                &format!("validating block {number}"),
            )
            .await;
        } else {
            // Let anything that would run in the background show.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let past: Vec<u64> = proxy.blocks().into_iter().filter(|n| *n > number).collect();
            assert!(
                past.is_empty(),
                "max_fetcher 1 read blocks {past:?} past block {number}"
            );
        }
        outcomes.push(decided(&outcome));
    }
    (outcomes, support::alerts(&seen), proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_ahead_asks_for_later_blocks_once_and_decides_as_reading_one_at_a_time() {
    let (anvil, admin) = support::chain().await;
    for _ in 0..5 {
        transfer(&anvil, &admin).await;
    }
    let bad = invalid_block(&admin).await;
    let bad_hash = support::hash_of(&admin, bad).await;
    let mut head = bad;
    for _ in 0..4 {
        head = transfer(&anvil, &admin).await;
    }
    assert_eq!(head, 10);

    let (one, one_alerts, one_rpc) = follow_range(&anvil, head, 1).await;
    let (four, four_alerts, four_rpc) = follow_range(&anvil, head, 4).await;
    let (one_reads, four_reads) = (one_rpc.blocks(), four_rpc.blocks());

    assert_eq!(one.len() as u64, head - 1, "{one:?}");
    assert_eq!(four, one);
    let invalid: Vec<_> = four.iter().filter(|(.., o)| o != "valid").collect();
    assert_eq!(
        invalid,
        [&(bad, bad_hash, "invalid: state_root".to_string())]
    );
    for alerts in [&one_alerts, &four_alerts] {
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0]["params"][0]["hash"], json!(bad_hash));
    }
    // Each block (block 1 as block 2's parent) read exactly once either way.
    let mut reads = four_reads.clone();
    reads.sort_unstable();
    assert_eq!(reads, (1..=head).collect::<Vec<_>>(), "{four_reads:?}");
    assert_eq!(one_reads, (1..=head).collect::<Vec<_>>());
    // The first step reads its parent and its block, then the three after it (answered in
    // any order) before any later step reads more.
    let mut first = four_reads[..5].to_vec();
    first.sort_unstable();
    assert_eq!(first, [1, 2, 3, 4, 5], "{four_reads:?}");
    assert_eq!(four_reads[..2], [1, 2], "{four_reads:?}");
    // The head: once to catch up, once to find nothing more.
    for rpc in [&one_rpc, &four_rpc] {
        assert_eq!(rpc.params("eth_blockNumber").len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_read_ahead_then_reorganized_away_are_revalidated_without_alert() {
    let (anvil, admin) = support::chain().await;
    let mut head = 0;
    for _ in 0..8 {
        head = transfer(&anvil, &admin).await;
    }
    assert_eq!(head, 8);
    let (url, proxy) = RecordingProxy::spawn(anvil.url()).await;
    let db = tempfile::tempdir().unwrap();
    let (follower, seen) = follower(&anvil, &url, 4, db.path()).await;

    // Blocks 2 and 3 validated; 4, 5 and 6 read ahead.
    for expected in [2, 3] {
        match follower.step(1).await.unwrap() {
            Outcome::Valid(b) => assert_eq!(b.number, expected),
            other => panic!("expected block {expected} valid, got {other:?}"),
        }
    }
    wait_for(&proxy, 4..=6, "validating block 3").await;
    let ancestor = support::hash_of(&admin, 2).await;
    let mut orphaned = Vec::new();
    for n in 3..=8 {
        orphaned.push(support::hash_of(&admin, n).await);
    }

    // Blocks 3 to 8 are replaced (the new 3 carries another transfer), then a block 9 follows.
    let from = anvil.dev_signer(0).unwrap().address();
    let to = anvil.dev_signer(3).unwrap().address();
    admin
        .provider
        .raw_request::<_, Value>(
            "anvil_reorg".into(),
            json!([6, [[{"from": from, "to": to, "value": "0x5"}, 0]]]),
        )
        .await
        .unwrap();
    admin
        .provider
        .raw_request::<_, Value>("evm_mine".into(), json!([]))
        .await
        .unwrap();
    let mut replaced = Vec::new();
    for n in 3..=9 {
        replaced.push(support::hash_of(&admin, n).await);
    }
    assert!(replaced.iter().zip(&orphaned).all(|(new, old)| new != old));

    // The stale blocks read ahead may still be taken (they link to the stale block 3 the
    // follower holds) or fail to validate on the new chain's state; either way the next block
    // read from the new chain does not link, and following rewinds to block 2.
    let mut outcomes = Vec::new();
    loop {
        match follower.step(1).await.unwrap() {
            Outcome::UpToDate => break,
            Outcome::Invalid(b, reason) => panic!("false verdict on block {b:?}: {reason}"),
            outcome => outcomes.push(outcome),
        }
        assert!(outcomes.len() < 50, "not up to date: {outcomes:?}");
    }
    let rewound = outcomes
        .iter()
        .rposition(|o| matches!(o, Outcome::Reorg(_)))
        .unwrap_or_else(|| panic!("no reorg seen: {outcomes:?}"));
    match &outcomes[rewound] {
        Outcome::Reorg(back) => assert_eq!((back.number, back.hash), (2, ancestor)),
        _ => unreachable!(),
    }
    // Before the rewind: only stale blocks taken from the cache, found valid on the stale
    // chain they link to, or undecided (the new chain's state does not prove against them).
    for outcome in &outcomes[..rewound] {
        match outcome {
            Outcome::Valid(b) => assert!(orphaned.contains(&b.hash), "{outcomes:?}"),
            Outcome::Undecided(..) => {}
            other => panic!("before the rewind: {other:?}"),
        }
    }
    let after: Vec<(u64, B256)> = outcomes[rewound + 1..]
        .iter()
        .map(|o| match o {
            Outcome::Valid(b) => (b.number, b.hash),
            other => panic!("after the rewind every block is valid, got {other:?}"),
        })
        .collect();
    assert_eq!(
        after,
        (3..=9).zip(replaced.iter().copied()).collect::<Vec<_>>()
    );
    for (n, hash) in (3..=9).zip(&replaced) {
        assert_eq!(follower.store().validated_hash(n).unwrap(), Some(*hash));
    }
    assert!(
        support::alerts(&seen).is_empty(),
        "{:?}",
        support::alerts(&seen)
    );
    assert!(follower.store().pending_alerts().unwrap().is_empty());
}
