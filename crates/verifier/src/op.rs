//! OP Stack specifics: predeploy addresses, the L1 attributes deposit, body ordering rules and
//! the output root that MACH alerts commit to.

use alloy_primitives::{address, keccak256, Address, B256};
use op_alloy_consensus::OpTxEnvelope;

use crate::error::BlockError;

/// L2ToL1MessagePasser predeploy: its storage root is part of the output root (and from Isthmus
/// on the header's `withdrawals_root`).
pub const L2_TO_L1_MESSAGE_PASSER: Address = address!("0x4200000000000000000000000000000000000016");
/// L1Block predeploy: the L1 attributes deposit writes the L1 origin and fee parameters here.
pub const L1_BLOCK: Address = address!("0x4200000000000000000000000000000000000015");
/// Sender of the L1 attributes deposit (the "depositor account").
pub const L1_ATTRIBUTES_DEPOSITOR: Address = address!("0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001");
/// Base fee vault predeploy: receives base fees on OP Stack chains (they are not burnt).
pub const BASE_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000019");
/// L1 fee vault predeploy: receives the L1 data fee.
pub const L1_FEE_VAULT: Address = address!("0x420000000000000000000000000000000000001A");
/// Sequencer fee vault predeploy: the usual block coinbase, receives priority fees.
pub const SEQUENCER_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000011");

/// The version-0 output root of an L2 block:
/// keccak256(version (32 zero bytes) ++ state root ++ L2ToL1MessagePasser storage root ++ block hash).
pub fn output_root(state_root: B256, message_passer_storage_root: B256, block_hash: B256) -> B256 {
    let mut preimage = [0u8; 128];
    preimage[32..64].copy_from_slice(state_root.as_slice());
    preimage[64..96].copy_from_slice(message_passer_storage_root.as_slice());
    preimage[96..128].copy_from_slice(block_hash.as_slice());
    keccak256(preimage)
}

/// Body rules of an OP Stack block: the first transaction is the L1 attributes deposit (from the
/// depositor account to L1Block), and every deposit comes before every other transaction.
pub fn validate_op_body(transactions: &[OpTxEnvelope]) -> Result<(), BlockError> {
    let Some(first) = transactions.first() else {
        return Err(BlockError::OpBody(
            "no transactions: the L1 attributes deposit must come first".into(),
        ));
    };
    match first {
        OpTxEnvelope::Deposit(deposit) => {
            let deposit = deposit.inner();
            if deposit.from != L1_ATTRIBUTES_DEPOSITOR || deposit.to.to() != Some(&L1_BLOCK) {
                return Err(BlockError::OpBody(format!(
                    "first transaction must be the L1 attributes deposit from {L1_ATTRIBUTES_DEPOSITOR} to {L1_BLOCK}, got a deposit from {} to {:?}",
                    deposit.from,
                    deposit.to.to()
                )));
            }
        }
        _ => return Err(BlockError::OpBody(
            "first transaction must be the L1 attributes deposit, got a non-deposit transaction"
                .into(),
        )),
    }
    let mut seen_user_tx = false;
    for (index, tx) in transactions.iter().enumerate() {
        match tx {
            OpTxEnvelope::Deposit(_) if seen_user_tx => {
                return Err(BlockError::OpBody(format!(
                    "deposit at index {index} after a non-deposit transaction"
                )))
            }
            OpTxEnvelope::Deposit(_) => {}
            _ => seen_user_tx = true,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use alloy_primitives::b256;

    #[test]
    fn output_root_hashes_the_four_words_in_order() {
        let state = b256!("0x1111111111111111111111111111111111111111111111111111111111111111");
        let passer = b256!("0x2222222222222222222222222222222222222222222222222222222222222222");
        let block = b256!("0x3333333333333333333333333333333333333333333333333333333333333333");
        let mut words = Vec::new();
        words.extend_from_slice(&[0u8; 32]);
        words.extend_from_slice(state.as_slice());
        words.extend_from_slice(passer.as_slice());
        words.extend_from_slice(block.as_slice());
        assert_eq!(output_root(state, passer, block), keccak256(&words));
        assert_ne!(
            output_root(passer, state, block),
            output_root(state, passer, block)
        );
    }
}
