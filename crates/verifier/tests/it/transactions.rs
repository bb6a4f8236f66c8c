//! Transaction validity during re-execution. The Ethereum fixtures with invalid transactions
//! also break their transactions root, so here the root is right and only the transaction is
//! wrong: nonce, intrinsic gas, balance, fee cap, gas left in the block.

use alloy_consensus::{
    proofs::calculate_transaction_root, SignableTransaction, TxEip1559, TxEnvelope,
};
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use mach_verifier::{
    bench::{generate, RangeSpec},
    validate_block, BlockError, ChainBlock,
};

/// The benchmark range's first sender key (scalar 1).
fn key() -> k256::ecdsa::SigningKey {
    let mut bytes = [0u8; 32];
    bytes[31] = 1;
    k256::ecdsa::SigningKey::from_slice(&bytes).unwrap()
}

fn signed(tx: TxEip1559) -> TxEnvelope {
    let (sig, recid) = key()
        .sign_prehash_recoverable(tx.signature_hash().as_slice())
        .unwrap();
    TxEnvelope::Eip1559(tx.into_signed((sig, recid).into()))
}

fn transfer() -> TxEip1559 {
    TxEip1559 {
        chain_id: 1,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::repeat_byte(0x55)),
        value: U256::from(1),
        access_list: AccessList::default(),
        input: Bytes::new(),
    }
}

/// Validates block 1 of a fresh range with its transactions replaced by `tx` (roots fixed up).
fn validate_with(tx: TxEip1559) -> Result<(), BlockError> {
    let range = generate(RangeSpec {
        blocks: 1,
        txs_per_block: 1,
        senders: 1,
    })
    .unwrap();
    let Some(ChainBlock::Ethereum(mut block)) = range.blocks.first().cloned() else {
        panic!()
    };
    block.body.transactions = vec![signed(tx)];
    block.header.transactions_root = calculate_transaction_root(&block.body.transactions);
    validate_block(
        &range.rules,
        &range.genesis,
        &range.state,
        &ChainBlock::Ethereum(block),
        None,
    )
    .map(|_| ())
}

fn rejected_transaction(result: Result<(), BlockError>) -> String {
    match result {
        Err(BlockError::Transaction {
            index: 0, reason, ..
        }) => reason,
        other => panic!("expected transaction 0 to be rejected, got {other:?}"),
    }
}

#[test]
fn the_unmodified_generated_block_is_valid() {
    let range = generate(RangeSpec {
        blocks: 1,
        txs_per_block: 1,
        senders: 1,
    })
    .unwrap();
    validate_block(
        &range.rules,
        &range.genesis,
        &range.state,
        &range.blocks[0],
        None,
    )
    .unwrap();
    // A valid replacement passes the transaction checks; the block then fails on the
    // commitments of the original block (receipts or state root), not on the transaction.
    let err = validate_with(transfer()).unwrap_err();
    assert!(!matches!(err, BlockError::Transaction { .. }), "{err}");
}

#[test]
fn nonce_too_high_is_rejected() {
    let reason = rejected_transaction(validate_with(TxEip1559 {
        nonce: 5,
        ..transfer()
    }));
    assert!(reason.to_lowercase().contains("nonce"), "{reason}");
}

#[test]
fn gas_limit_below_intrinsic_gas_is_rejected() {
    let reason = rejected_transaction(validate_with(TxEip1559 {
        gas_limit: 20_999,
        ..transfer()
    }));
    assert!(reason.to_lowercase().contains("gas"), "{reason}");
}

#[test]
fn value_above_balance_is_rejected() {
    let reason = rejected_transaction(validate_with(TxEip1559 {
        value: U256::from(10u128.pow(25)),
        ..transfer()
    }));
    assert!(
        reason.to_lowercase().contains("fund") || reason.to_lowercase().contains("balance"),
        "{reason}"
    );
}

#[test]
fn max_fee_below_base_fee_is_rejected() {
    let reason = rejected_transaction(validate_with(TxEip1559 {
        max_fee_per_gas: 1,
        max_priority_fee_per_gas: 1,
        ..transfer()
    }));
    assert!(reason.to_lowercase().contains("fee"), "{reason}");
}

#[test]
fn gas_limit_above_the_block_gas_limit_is_rejected() {
    let reason = rejected_transaction(validate_with(TxEip1559 {
        gas_limit: 30_000_001,
        ..transfer()
    }));
    assert!(reason.contains("gas"), "{reason}");
}

#[test]
fn wrong_chain_id_is_rejected() {
    let reason = rejected_transaction(validate_with(TxEip1559 {
        chain_id: 5,
        ..transfer()
    }));
    assert!(reason.to_lowercase().contains("chain"), "{reason}");
}
