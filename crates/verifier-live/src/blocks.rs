//! Blocks over RPC: `eth_getBlockByNumber` with full transactions, read into the block the
//! validator takes. Ethereum chains carry Ethereum transaction types; OP Stack chains also
//! deposit transactions (type `0x7e` with `sourceHash`, `mint`, `isSystemTx`), read with
//! op-alloy's RPC transaction type, which knows where the RPC form of a deposit differs from the
//! consensus one (`from` is a field of the deposit itself; `nonce` is the sender's, not part of
//! the transaction).
//!
//! The block is rebuilt from its fields; the follower then checks them against the header
//! (transactions root) and the header against the hash the node claims.
//!
//! For alerts about an invalid OP Stack block, [`evidence`] puts the output root the sequencer
//! committed to beside the one the block should have had.

use crate::alerts::Evidence;
use alloy_op_hardforks::OpHardforks;
use alloy_primitives::{keccak256, Bytes, B256, U256};
use alloy_trie::{proof::verify_proof, Nibbles, TrieAccount, EMPTY_ROOT_HASH};
use mach_jsonrpc::{Client, Retry};
use mach_verifier::op::{output_root, L2_TO_L1_MESSAGE_PASSER};
use mach_verifier::{BlockError, ChainBlock, ChainRules};
use serde_json::{json, Value};

/// Block `number` of the rollup, as `rules` reads it, with the hash the node claims for it.
/// An error (RPC trouble after `retry`, or a block this chain cannot have) says the block could
/// not be read, never that it is invalid.
pub async fn fetch_block(
    rpc: &Client,
    rules: &ChainRules,
    number: u64,
    retry: Retry,
) -> Result<(ChainBlock, B256), String> {
    let value: Value = rpc
        .call_retrying(
            "eth_getBlockByNumber",
            json!([format!("{number:#x}"), true]),
            retry,
        )
        .await
        .map_err(|e| format!("block {number}: {e}"))?;
    decode_block(rules, number, value)
}

/// The block in an `eth_getBlockByNumber(number, true)` answer, with its claimed hash.
pub fn decode_block(
    rules: &ChainRules,
    number: u64,
    value: Value,
) -> Result<(ChainBlock, B256), String> {
    let unreadable = |e: serde_json::Error| {
        format!("block {number} is not a block of this chain the verifier can read: {e}")
    };
    let (block, claimed) = if rules.is_optimism() {
        let block: alloy_rpc_types_eth::Block<op_alloy_rpc_types::Transaction> =
            serde_json::from_value(value).map_err(unreadable)?;
        let claimed = block.header.hash;
        let consensus = block
            .into_consensus()
            .map_transactions(|tx| tx.inner.into_inner());
        (ChainBlock::Optimism(consensus), claimed)
    } else {
        let block: alloy_rpc_types_eth::Block =
            serde_json::from_value(value).map_err(unreadable)?;
        let claimed = block.header.hash;
        let consensus = block
            .into_consensus()
            .map_transactions(|tx| tx.into_inner());
        (ChainBlock::Ethereum(consensus), claimed)
    };
    if block.header().number != number {
        return Err(format!(
            "asked for block {number}, the node answered block {}",
            block.header().number
        ));
    }
    Ok((block, claimed))
}

/// What an alert about the invalid `block` (with the hash `claimed`, rejected for `error`)
/// claims. On an OP Stack chain, when the error gives our post-state (a state root mismatch),
/// it is the output root mismatch: the sequencer's output root (the header's state root, the
/// L2ToL1MessagePasser storage root that state root commits to, read with `eth_getProof` and
/// checked against it, and the block hash) and the one we expect (our state root and message
/// passer root, and the hash of the header with them). Otherwise, or when the node cannot prove
/// its message passer root, it is the block hash.
pub async fn evidence(
    rpc: &Client,
    rules: &ChainRules,
    block: &ChainBlock,
    claimed: B256,
    error: &BlockError,
    retry: Retry,
) -> Evidence {
    let Some(expect_output_root) = expected_output_root(rules, block, error) else {
        return Evidence::InvalidBlock;
    };
    let header = block.header();
    match message_passer_root(rpc, header.number, header.state_root, retry).await {
        Ok(theirs) => Evidence::OutputRootMismatch {
            invalid_output_root: output_root(header.state_root, theirs, claimed),
            expect_output_root,
        },
        Err(e) => {
            tracing::warn!(block = %format!("#{}({claimed})", header.number), error = %e, "the sequencer's output root is not available; alerting the block hash");
            Evidence::InvalidBlock
        }
    }
}

/// The output root `block` should have had, when `error` carries our post-state: the block's
/// header with our state root (and, from Isthmus on, our message passer root as its
/// withdrawals root) gives the block hash.
fn expected_output_root(
    rules: &ChainRules,
    block: &ChainBlock,
    error: &BlockError,
) -> Option<B256> {
    let BlockError::StateRoot {
        expected,
        message_passer_storage_root: Some(passer),
        ..
    } = error
    else {
        return None;
    };
    if !rules.is_optimism() {
        return None;
    }
    let mut ours = block.header().clone();
    ours.state_root = *expected;
    if rules.is_isthmus_active_at_timestamp(ours.timestamp) {
        ours.withdrawals_root = Some(*passer);
    }
    Some(output_root(*expected, *passer, ours.hash_slow()))
}

/// The storage root of the L2ToL1MessagePasser in the state with root `state_root` (block
/// `number`), from the node's `eth_getProof`, checked against that root.
async fn message_passer_root(
    rpc: &Client,
    number: u64,
    state_root: B256,
    retry: Retry,
) -> Result<B256, String> {
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Proof {
        balance: U256,
        code_hash: B256,
        nonce: alloy_primitives::U64,
        storage_hash: B256,
        account_proof: Vec<Bytes>,
    }
    let proof: Proof = rpc
        .call_retrying(
            "eth_getProof",
            json!([L2_TO_L1_MESSAGE_PASSER, [], format!("{number:#x}")]),
            retry,
        )
        .await
        .map_err(|e| format!("eth_getProof({L2_TO_L1_MESSAGE_PASSER}) at block {number}: {e}"))?;
    let key = Nibbles::unpack(keccak256(L2_TO_L1_MESSAGE_PASSER));
    let leaf = TrieAccount {
        nonce: proof.nonce.to::<u64>(),
        balance: proof.balance,
        storage_root: proof.storage_hash,
        code_hash: proof.code_hash,
    };
    if verify_proof(
        state_root,
        key,
        Some(alloy_rlp::encode(leaf)),
        &proof.account_proof,
    )
    .is_ok()
    {
        return Ok(proof.storage_hash);
    }
    if verify_proof(state_root, key, None, &proof.account_proof).is_ok() {
        return Ok(EMPTY_ROOT_HASH);
    }
    Err(format!(
        "the node's proof of {L2_TO_L1_MESSAGE_PASSER} does not match the state root {state_root} of block {number}"
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use op_alloy_consensus::OpTxEnvelope;

    fn op_rules() -> ChainRules {
        ChainRules::from_genesis_json(
            r#"{"config": {"chainId": 10, "londonBlock": 0, "shanghaiTime": 0, "cancunTime": 0,
                "bedrockBlock": 0, "regolithTime": 0, "canyonTime": 0, "ecotoneTime": 0,
                "optimism": {}}}"#,
        )
        .unwrap()
    }

    /// An OP mainnet L1 attributes deposit as `eth_getBlockByNumber` serves it (op-geth).
    const L1_ATTRIBUTES: &str = r#"{"blockHash":"0x9d86bb313ebeedf4f9f82bf8a19b426be656a365648a7c089b618771311db9f9","blockNumber":"0x798ad0b","hash":"0xbc9329afac05556497441e2b3ee4c5d4da7ca0b2a4c212c212d0739e94a24df9","transactionIndex":"0x0","type":"0x7e","nonce":"0x152ea95","input":"0x440a5e200000146b000f79c50000000000000003000000006725333f000000000141e287000000000000000000000000000000000000000000000000000000012439ee7e0000000000000000000000000000000000000000000000000000000063f363e973e96e7145ff001c81b9562cba7b6104eeb12a2bc4ab9f07c27d45cd81a986620000000000000000000000006887246668a3b87f54deb3b94ba47a6f63f32985","mint":"0x0","sourceHash":"0x04e9a69416471ead93b02f0c279ab11ca0b635db5c1726a56faf22623bafde52","r":"0x0","s":"0x0","v":"0x0","yParity":"0x0","gas":"0xf4240","from":"0xdeaddeaddeaddeaddeaddeaddeaddeaddead0001","to":"0x4200000000000000000000000000000000000015","depositReceiptVersion":"0x1","value":"0x0","gasPrice":"0x0"}"#;

    #[test]
    fn reads_deposits_with_their_consensus_fields() {
        let tx: Value = serde_json::from_str(L1_ATTRIBUTES).unwrap();
        let block = json!({
            "hash": "0x9d86bb313ebeedf4f9f82bf8a19b426be656a365648a7c089b618771311db9f9",
            "parentHash": B256::ZERO, "sha3Uncles": B256::ZERO, "miner": "0x4200000000000000000000000000000000000011",
            "stateRoot": B256::ZERO, "transactionsRoot": B256::ZERO, "receiptsRoot": B256::ZERO,
            "logsBloom": alloy_primitives::Bloom::ZERO, "difficulty": "0x0", "number": "0x798ad0b",
            "gasLimit": "0x1c9c380", "gasUsed": "0x0", "timestamp": "0x6725333f", "extraData": "0x",
            "mixHash": B256::ZERO, "nonce": "0x0000000000000000", "baseFeePerGas": "0x1",
            "uncles": [], "transactions": [tx], "withdrawals": []
        });
        // Another number than the one asked for is not this block.
        assert!(decode_block(&op_rules(), 5, block.clone()).is_err());
        let (block, claimed) = decode_block(&op_rules(), 0x798ad0b, block).unwrap();
        assert_eq!(
            claimed,
            "0x9d86bb313ebeedf4f9f82bf8a19b426be656a365648a7c089b618771311db9f9"
                .parse::<B256>()
                .unwrap()
        );
        let ChainBlock::Optimism(block) = block else {
            panic!("an OP Stack chain reads OP Stack blocks")
        };
        let OpTxEnvelope::Deposit(deposit) = &block.body.transactions[0] else {
            panic!("a deposit")
        };
        // The consensus hash of the rebuilt deposit is the one the node gives.
        assert_eq!(
            deposit.hash(),
            "0xbc9329afac05556497441e2b3ee4c5d4da7ca0b2a4c212c212d0739e94a24df9"
                .parse::<B256>()
                .unwrap()
        );
        assert_eq!(
            deposit.from,
            mach_verifier::op::L1_ATTRIBUTES_DEPOSITOR,
            "`from` is the deposit's"
        );
        assert_eq!(deposit.mint, 0);
        assert!(!deposit.is_system_transaction);
        assert_eq!(block.body.transactions.len(), 1);
    }
}
