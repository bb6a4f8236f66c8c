//! What one block proved carries to the next (`rpc_state` module docs), on a real anvil
//! rollup behind a proxy that records the calls the follower makes:
//!
//! - a contract created while following has every later slot read answered through the
//!   carried trie nodes: after the block that creates it, no `eth_getProof` names it, and
//!   every block validates;
//! - an account of the state before following, which no block touched, still has its proof
//!   read when a block first touches it.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::rpc::types::TransactionRequest;
use mach_verifier_live::follow::Outcome;

use crate::support;
use crate::support::RecordingProxy;

/// Init code of a contract whose runtime stores 1 at the slot its calldata names
/// (`sstore(calldataload(0), 1)`).
const STORE_ONE: &str = "6006600c60003960066000f3600160003555";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_created_while_following_are_read_through_carried_nodes() {
    let (anvil, admin) = support::chain().await;

    // Block 1 pays dev account 2 (the follower starts after it). Block 2 creates the contract;
    // blocks 3 to 8 each write a fresh slot of it (SSTORE reads the slot's old value first).
    let start = TransactionRequest::default()
        .with_to(anvil.dev_signer(2).unwrap().address())
        .with_value(U256::from(7));
    admin.send("start", start).await.unwrap();
    let create = TransactionRequest::default()
        .with_deploy_code(Bytes::from(alloy::hex::decode(STORE_ONE).unwrap()));
    let receipt = admin.send("create", create).await.unwrap();
    assert_eq!(receipt.block_number, Some(2));
    let contract = receipt.contract_address.unwrap();
    for slot in 1..=6u64 {
        let store = TransactionRequest::default()
            .with_to(contract)
            .with_input(Bytes::from(B256::from(U256::from(slot)).to_vec()));
        admin.send("store", store).await.unwrap();
    }
    // Block 9 pays a dev account no block touched.
    let untouched = anvil.dev_signer(7).unwrap().address();
    let pay = TransactionRequest::default()
        .with_to(untouched)
        .with_value(U256::from(7));
    let head = admin.send("pay", pay).await.unwrap().block_number.unwrap();
    assert_eq!(head, 9);

    let (url, proxy) = RecordingProxy::spawn(anvil.url()).await;
    let db = tempfile::tempdir().unwrap();
    let (follower, seen) = support::alerting_follower(&url, &anvil.genesis_json(), db.path()).await;
    let mut valid = Vec::new();
    loop {
        match follower.step(1).await.unwrap() {
            Outcome::Valid(block) => valid.push(block.number),
            Outcome::UpToDate => break,
            other => panic!("every block is valid, but: {other:?}"),
        }
    }
    assert_eq!(valid, (2..=head).collect::<Vec<_>>());
    assert!(support::alerts(&seen).is_empty());

    let proofs = proxy.params("eth_getProof");
    let asked = |address: Address| -> Vec<&serde_json::Value> {
        proofs
            .iter()
            .filter(|params| params[0].as_str().unwrap().parse::<Address>().unwrap() == address)
            .collect()
    };
    // The contract's absence is proven once, at block 2's pre-state (block 1); after that,
    // nothing about it is asked.
    let contract_proofs = asked(contract);
    assert!(
        contract_proofs.iter().all(|params| params[2] == "0x1"),
        "slots of a contract created while following were read from the RPC: {contract_proofs:?}"
    );
    // The untouched account is proven at block 9's pre-state.
    let untouched_proofs = asked(untouched);
    assert!(
        untouched_proofs.iter().any(|params| params[2] == "0x8"),
        "the first read of an account from before following was not proven: {proofs:?}"
    );
}
