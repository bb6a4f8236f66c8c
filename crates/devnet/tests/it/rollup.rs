//! The devnet rollup end to end, on each network: blocks under the random load validate in the
//! live verifier's strict mode, and each malicious-sequencer fault makes exactly the next block
//! invalid by its state root (alerted once), after which blocks are valid again. Transactions
//! sent from outside between blocks land in the next one, which stays valid, except in a
//! faulty block: they wait for the one after it.
//!
//! Needs anvil (`make setup`); fails, never skips, without it.

use crate::support;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, Bytes, TxKind, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use mach_devnet::rollup::{FaultKind, Network, Rollup, RollupConfig, RollupError};
use mach_verifier::BlockError;
use mach_verifier_live::follow::{Follower, Outcome};
use serde_json::{json, Value};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A strict follower of `rollup` (its store in the returned directory) alerting to a
/// recording node, after it followed every block after `start`, all valid; also returns them.
async fn follow_from(
    rollup: &Rollup,
    start: u64,
    what: &str,
) -> (tempfile::TempDir, Follower, support::Seen, Vec<(u64, B256)>) {
    let db = tempfile::tempdir().unwrap();
    let (follower, seen) =
        support::alerting_follower(rollup.url(), &rollup.genesis_json(), db.path()).await;
    let valid = follow_valid(&follower, start, what).await;
    (db, follower, seen, valid)
}

/// Follows every block after `start`; all must be valid. Returns them.
async fn follow_valid(follower: &Follower, start: u64, what: &str) -> Vec<(u64, B256)> {
    let mut valid = Vec::new();
    loop {
        match follower.step(start).await.unwrap() {
            Outcome::Valid(b) => valid.push((b.number, b.hash)),
            Outcome::UpToDate => return valid,
            other => panic!("{what}: unexpected {other:?}"),
        }
    }
}

/// A fresh seed for the random load, printed so a failing run can be replayed.
fn load_seed(network: Network) -> u64 {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("{network}: load seed {seed:#x}");
    seed
}

async fn load_validates_and_each_fault_invalidates_exactly_one_block(network: Network) {
    let started = Instant::now();
    let seed = load_seed(network);
    let config = RollupConfig {
        network,
        chain_id: 901,
        port: 0,
        log_path: None,
        seed,
    };
    let mut rollup = Rollup::start(&config)
        .await
        .unwrap_or_else(|e| panic!("{network}: {e}"));
    assert_eq!(rollup.network(), network);
    assert_eq!(rollup.chain_id(), 901);
    let start = rollup.setup_block();
    assert!(rollup.max_load() >= 20, "{}", rollup.max_load());
    // No verifier validates the setup block: a fault after it would leave the next undecided.
    assert!(matches!(
        rollup.inject(FaultKind::Balance).await,
        Err(RollupError::InjectNotReady(_))
    ));

    let mut produced = Vec::new();
    for i in 0..8 {
        let block = rollup.produce(20).await.unwrap();
        assert_eq!(block.number, start + 1 + i);
        assert!(block.transactions >= 20, "{block:?}");
        assert!(block.gas_used > 0, "{block:?}");
        produced.push((block.number, block.hash));
    }
    let loaded = started.elapsed();

    // The load's mix: successful creations, reverts, logs.
    let (mut created, mut reverted, mut logs) = (0, 0, 0);
    for (number, _) in &produced {
        let receipts = rollup
            .rpc("eth_getBlockReceipts", json!([format!("{number:#x}")]))
            .await
            .unwrap();
        for receipt in receipts.as_array().unwrap() {
            // Only the deliberate reverts fail (a failed creation would be an anvil deviation).
            if receipt["status"] == "0x0" {
                assert_eq!(receipt["to"], json!(rollup.store_and_log()), "{receipt}");
            }
            created += usize::from(receipt["contractAddress"].is_string());
            reverted += usize::from(receipt["status"] == "0x0");
            logs += receipt["logs"].as_array().unwrap().len();
        }
    }
    assert!(
        created > 0 && reverted > 0 && logs > 0,
        "{network}: {created} creations, {reverted} reverts, {logs} logs"
    );

    let (_db, follower, seen, valid) =
        follow_from(&rollup, start, &format!("{network} (load seed {seed:#x})")).await;
    assert_eq!(valid, produced, "{network}");
    let followed = started.elapsed();

    // Each fault alone, then all at once.
    let mut rounds: Vec<Vec<FaultKind>> = FaultKind::ALL.iter().map(|k| vec![*k]).collect();
    rounds.push(FaultKind::ALL.to_vec());
    for faults in &rounds {
        for fault in faults {
            let change = rollup.inject(*fault).await.unwrap();
            eprintln!("{network}: {change}");
        }
        let kind = format!("{faults:?}");
        let bad = rollup.produce(5).await.unwrap();
        eprintln!(
            "{network}: faulty block {} holds {} transactions",
            bad.number, bad.transactions
        );
        match follower.step(start).await.unwrap() {
            Outcome::Invalid(b, BlockError::StateRoot { got, .. }) => {
                assert_eq!((b.number, b.hash), (bad.number, bad.hash), "{kind}");
                assert_ne!(got, B256::ZERO);
            }
            other => panic!(
                "{network} {kind}: expected block {} invalid by its state root, got {other:?} (load seed {seed:#x})",
                bad.number
            ),
        }
        // Verifiers carry no state out of an invalid block: no fault may follow it at once.
        assert!(matches!(
            rollup.inject(FaultKind::Nonce).await,
            Err(RollupError::InjectNotReady(_))
        ));
        let good = rollup.produce(20).await.unwrap();
        match follower.step(start).await.unwrap() {
            Outcome::Valid(b) => assert_eq!(b.number, good.number, "{kind}"),
            other => panic!(
                "{network} {kind}: the block after the faulty one must be valid, got {other:?} (load seed {seed:#x})"
            ),
        }
        assert!(matches!(
            follower.step(start).await.unwrap(),
            Outcome::UpToDate
        ));
    }

    let alerts: Vec<Value> = support::alerts(&seen);
    assert_eq!(alerts.len(), rounds.len(), "{network}: {alerts:?}");
    eprintln!(
        "{network}: 8 loaded blocks in {loaded:?}, followed by {followed:?}, faults done in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereum_rollup_validates_and_each_fault_invalidates_one_block() {
    load_validates_and_each_fault_invalidates_exactly_one_block(Network::Ethereum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimism_rollup_validates_and_each_fault_invalidates_one_block() {
    load_validates_and_each_fault_invalidates_exactly_one_block(Network::Optimism).await;
}

/// One ether, in wei.
const ETHER: u64 = 1_000_000_000_000_000_000;

/// A transfer of `value` wei from `key` (nonce `nonce`) to `to` on `chain_id`, signed and
/// encoded for `eth_sendRawTransaction`.
fn signed_transfer(
    key: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    to: Address,
    value: u64,
) -> Bytes {
    let mut tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 1_000_000_000,
        max_priority_fee_per_gas: 2,
        to: TxKind::Call(to),
        value: U256::from(value),
        ..Default::default()
    };
    let signature = key.sign_transaction_sync(&mut tx).unwrap();
    TxEnvelope::from(tx.into_signed(signature))
        .encoded_2718()
        .into()
}

/// A transfer of `value` wei from unlocked dev account `from` to `to`, as a wallet sends it.
fn unlocked_transfer(from: Address, to: Address, value: u64) -> Value {
    json!({"from": from, "to": to, "value": format!("{value:#x}"), "gas": "0x5208",
           "maxFeePerGas": "0x3b9aca00", "maxPriorityFeePerGas": "0x3"})
}

/// Sends `method` with `tx` to the rollup from outside; returns the transaction's hash.
async fn send_outside(rollup: &Rollup, method: &str, tx: Value) -> B256 {
    serde_json::from_value(rollup.rpc(method, json!([tx])).await.unwrap()).unwrap()
}

/// The block `tx` is in, and whether it succeeded.
async fn landed(rollup: &Rollup, tx: B256) -> (u64, bool) {
    let receipt = rollup
        .rpc("eth_getTransactionReceipt", json!([tx]))
        .await
        .unwrap();
    let number = receipt["blockNumber"]
        .as_str()
        .unwrap_or_else(|| panic!("{tx} not mined: {receipt}"));
    (
        u64::from_str_radix(number.trim_start_matches("0x"), 16).unwrap(),
        receipt["status"] == "0x1",
    )
}

/// Outside transactions (signed ones from a fresh key, and unlocked dev accounts' own, to fresh
/// and known accounts) sent between blocks land in the next block, after the sequencer's
/// deposits, and every block validates; around a fault they wait for the block after it.
async fn outside_transactions_land_in_the_next_block_and_blocks_stay_valid(network: Network) {
    let started = Instant::now();
    let seed = load_seed(network);
    let config = RollupConfig {
        seed,
        ..RollupConfig::new(network, 902)
    };
    let mut rollup = Rollup::start(&config)
        .await
        .unwrap_or_else(|e| panic!("{network}: {e}"));
    let start = rollup.setup_block();
    let dev = rollup.dev_accounts().to_vec();
    let outside = rollup.outside_accounts().to_vec();
    assert_eq!(outside.len(), 10);
    assert!(outside.iter().all(|a| !dev.contains(a)));
    let key = PrivateKeySigner::random();
    let user = key.address();

    // First block: an unlocked account funds the fresh key, from outside.
    let fund = send_outside(
        &rollup,
        "eth_sendTransaction",
        unlocked_transfer(outside[0], user, ETHER),
    )
    .await;
    let block = rollup.produce(10).await.unwrap();
    assert_eq!(block.external, 1, "{block:?}");
    assert!(block.transactions >= 11, "{block:?}");
    assert_eq!(landed(&rollup, fund).await, (block.number, true));
    let mut produced = vec![(block.number, block.hash)];

    // Then, between blocks: the fresh key's signed transfers, and transfers from an unlocked
    // account the load does not use or one it does (anvil fills in the nonce after any the
    // load has pending), each to a fresh or a known account.
    for round in 0..6u64 {
        let to = match round % 3 {
            0 => Address::from_slice(&B256::random()[..20]),
            1 => dev[round as usize],
            _ => outside[1],
        };
        let raw = signed_transfer(&key, rollup.chain_id(), round, to, 1 + round);
        let signed = send_outside(&rollup, "eth_sendRawTransaction", json!(raw)).await;
        let from = if round % 2 == 0 {
            outside[2]
        } else {
            dev[round as usize]
        };
        let to = match round % 2 {
            0 => Address::from_slice(&B256::random()[..20]),
            _ => user,
        };
        let unlocked = send_outside(
            &rollup,
            "eth_sendTransaction",
            unlocked_transfer(from, to, 7),
        )
        .await;
        let block = rollup.produce(10).await.unwrap();
        assert_eq!(block.external, 2, "{network} round {round}: {block:?}");
        assert!(block.transactions >= 12, "{block:?}");
        for tx in [signed, unlocked] {
            assert_eq!(
                landed(&rollup, tx).await,
                (block.number, true),
                "{network} round {round}"
            );
        }
        produced.push((block.number, block.hash));
    }

    // The sequencer's deposits come first, the outside transactions after them.
    if network == Network::Optimism {
        for (number, _) in &produced {
            let block = rollup
                .rpc(
                    "eth_getBlockByNumber",
                    json!([format!("{number:#x}"), true]),
                )
                .await
                .unwrap();
            let types: Vec<&str> = block["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|tx| tx["type"].as_str().unwrap())
                .collect();
            assert_eq!(types[0], "0x7e", "{types:?}");
            let deposits = types.iter().take_while(|t| **t == "0x7e").count();
            assert!(types[deposits..].iter().all(|t| *t != "0x7e"), "{types:?}");
        }
        // Deposits come from L1, through the sequencer only: an outside one is dropped.
        let deposit = json!({"from": Address::repeat_byte(0x77), "to": Address::repeat_byte(0x78),
                             "gas": "0x30d40", "value": "0x1", "mint": "0x10",
                             "sourceHash": B256::repeat_byte(0x77), "isSystemTx": false});
        let refused = send_outside(&rollup, "eth_sendTransaction", deposit).await;
        let block = rollup.produce(5).await.unwrap();
        assert_eq!(block.external, 0, "{block:?}");
        let receipt = rollup
            .rpc("eth_getTransactionReceipt", json!([refused]))
            .await
            .unwrap();
        assert!(receipt.is_null(), "{receipt}");
        produced.push((block.number, block.hash));
    }

    let (_db, follower, seen, valid) =
        follow_from(&rollup, start, &format!("{network} (load seed {seed:#x})")).await;
    assert_eq!(valid, produced, "{network}");
    let followed = started.elapsed();

    // A fault, with outside transactions sent before it and between it and the block: the
    // faulty block holds none of them, the block after it holds them all, and is valid.
    let nonce = 6;
    let early = send_outside(
        &rollup,
        "eth_sendRawTransaction",
        json!(signed_transfer(
            &key,
            rollup.chain_id(),
            nonce,
            Address::from_slice(&B256::random()[..20]),
            5
        )),
    )
    .await;
    let early_unlocked = send_outside(
        &rollup,
        "eth_sendTransaction",
        unlocked_transfer(outside[3], dev[0], 9),
    )
    .await;
    // From an account the load uses: the faulty block's load leaves it out.
    let early_dev = send_outside(
        &rollup,
        "eth_sendTransaction",
        unlocked_transfer(dev[4], outside[3], 11),
    )
    .await;
    let change = rollup.inject(FaultKind::Balance).await.unwrap();
    eprintln!("{network}: {change}");
    let late = send_outside(
        &rollup,
        "eth_sendRawTransaction",
        json!(signed_transfer(
            &key,
            rollup.chain_id(),
            nonce + 1,
            dev[1],
            5
        )),
    )
    .await;
    let bad = rollup.produce(5).await.unwrap();
    assert_eq!(bad.external, 0, "{network}: {bad:?}");
    match follower.step(start).await.unwrap() {
        Outcome::Invalid(b, BlockError::StateRoot { .. }) => assert_eq!(b.number, bad.number),
        other => panic!("{network}: expected block {} invalid by its state root, got {other:?} (load seed {seed:#x})", bad.number),
    }
    let good = rollup.produce(10).await.unwrap();
    assert_eq!(good.external, 4, "{network}: {good:?}");
    for tx in [early, early_unlocked, early_dev, late] {
        assert_eq!(landed(&rollup, tx).await, (good.number, true), "{network}");
    }
    match follower.step(start).await.unwrap() {
        Outcome::Valid(b) => assert_eq!(b.number, good.number),
        other => panic!("{network}: the block after the faulty one must be valid, got {other:?} (load seed {seed:#x})"),
    }
    assert!(matches!(
        follower.step(start).await.unwrap(),
        Outcome::UpToDate
    ));
    let alerts = support::alerts(&seen).len();
    assert_eq!(alerts, 1, "{network}");
    eprintln!(
        "{network}: {} blocks with outside transactions followed by {followed:?}, fault done in {:?}",
        produced.len(),
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereum_rollup_takes_outside_transactions_and_stays_valid() {
    outside_transactions_land_in_the_next_block_and_blocks_stay_valid(Network::Ethereum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimism_rollup_takes_outside_transactions_and_stays_valid() {
    outside_transactions_land_in_the_next_block_and_blocks_stay_valid(Network::Optimism).await;
}
