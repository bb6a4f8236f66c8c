//! Building an OP Stack block as the sequencer's execution engine does: from the parent header
//! and the Engine API payload attributes (`OpPayloadAttributes`: timestamp, prevRandao, fee
//! recipient, parent beacon block root, gas limit, EIP-1559 parameters, minimum base fee and the
//! forced transactions), executing every transaction on the parent's post-state.
//!
//! This is how a real block is checked without trusting any of its header fields: the header
//! rebuilt here hashes to the real block's hash only if every field (roots, gas, base fee, extra
//! data, fork fields) agrees with the chain. The fixture runner ([`crate::fixture`]) and the
//! real-block benchmark use it; tests use it to make valid blocks of any fork to break.
//!
//! The attributes' extra data is encoded with op-alloy's encoder, not with this crate's header
//! rules, so a rebuilt block that [`validate_block`](crate::validate_block) accepts has been
//! read by two independent implementations of that format.

use alloy_consensus::{
    proofs::calculate_transaction_root, transaction::SignerRecoverable, Block, BlockBody, Header,
    Sealed, EMPTY_OMMER_ROOT_HASH,
};
use alloy_eips::{eip2718::Decodable2718, eip7685::EMPTY_REQUESTS_HASH};
use alloy_hardforks::EthereumHardforks;
use alloy_op_hardforks::OpHardforks;
use alloy_primitives::{Bytes, B64, U256};
use alloy_trie::EMPTY_ROOT_HASH;
use op_alloy_consensus::OpTxEnvelope;
use op_alloy_rpc_types_engine::OpPayloadAttributes;

use crate::{
    chain::ChainRules, error::BlockError, execute::execute_optimism, header::expected_base_fee,
    op::L2_TO_L1_MESSAGE_PASSER, state::PreState,
};

fn refused(reason: impl std::fmt::Display) -> BlockError {
    BlockError::Attributes(reason.to_string())
}

/// The extra data an execution engine writes for `attributes` at `timestamp`: empty before
/// Holocene, then version 0 with the EIP-1559 parameters (the chain's Canyon parameters when the
/// attributes give zeros), from Jovian on version 1 with the minimum base fee as well.
pub fn extra_data_for(
    rules: &ChainRules,
    attributes: &OpPayloadAttributes,
    timestamp: u64,
) -> Result<Bytes, BlockError> {
    let defaults = rules.base_fee_params_at(timestamp);
    if rules.is_jovian_active_at_timestamp(timestamp) {
        return attributes.get_jovian_extra_data(defaults).map_err(|e| {
            refused(format!(
                "Jovian EIP-1559 parameters and minimum base fee: {e}"
            ))
        });
    }
    if rules.is_holocene_active_at_timestamp(timestamp) {
        return attributes
            .get_holocene_extra_data(defaults)
            .map_err(|e| refused(format!("Holocene EIP-1559 parameters: {e}")));
    }
    if attributes.eip_1559_params.is_some() || attributes.min_base_fee.is_some() {
        return Err(refused(
            "EIP-1559 parameters or a minimum base fee before Holocene",
        ));
    }
    Ok(Bytes::new())
}

/// Builds the block that `attributes` make on top of `parent` (whose post-state is `pre`) under
/// `rules`: executes the forced transactions and fills every header field from the results.
///
/// A [`BlockError`] that [`is_verdict`](BlockError::is_verdict) means no valid block has these
/// attributes (a transaction the EVM refuses, attributes an engine rejects); any other error
/// means the build could not finish (a missing pre-state preimage), which says nothing about
/// the block.
pub fn build_op_block(
    rules: &ChainRules,
    parent: &Sealed<Header>,
    attributes: &OpPayloadAttributes,
    pre: &dyn PreState,
) -> Result<Block<OpTxEnvelope>, BlockError> {
    if !rules.is_optimism() {
        return Err(BlockError::Unsupported(
            "building from payload attributes needs OP Stack chain rules".into(),
        ));
    }
    let payload = &attributes.payload_attributes;
    let timestamp = payload.timestamp;
    if timestamp <= parent.timestamp {
        return Err(BlockError::Timestamp {
            parent: parent.timestamp,
            got: timestamp,
        });
    }
    let number = parent.number.saturating_add(1);
    let gas_limit = attributes
        .gas_limit
        .ok_or_else(|| refused("no gasLimit: OP Stack attributes always set it"))?;
    let transactions = attributes
        .transactions
        .iter()
        .flatten()
        .enumerate()
        .map(|(index, raw)| {
            let mut bytes = raw.as_ref();
            let tx = OpTxEnvelope::decode_2718(&mut bytes)
                .map_err(|e| BlockError::Decode(format!("transaction {index}: {e}")))?;
            if !bytes.is_empty() {
                return Err(BlockError::Decode(format!(
                    "transaction {index}: {} bytes after it",
                    bytes.len()
                )));
            }
            Ok(tx)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let canyon = rules.is_canyon_active_at_timestamp(timestamp);
    let ecotone = rules.is_ecotone_active_at_timestamp(timestamp);
    let isthmus = rules.is_isthmus_active_at_timestamp(timestamp);
    let mut header = Header {
        parent_hash: parent.hash(),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: payload.suggested_fee_recipient,
        transactions_root: calculate_transaction_root(&transactions),
        difficulty: U256::ZERO,
        number,
        gas_limit,
        timestamp,
        extra_data: extra_data_for(rules, attributes, timestamp)?,
        mix_hash: payload.prev_randao,
        nonce: B64::ZERO,
        base_fee_per_gas: expected_base_fee(rules, parent.inner(), number, timestamp)?,
        withdrawals_root: canyon.then_some(EMPTY_ROOT_HASH),
        blob_gas_used: ecotone.then_some(0),
        excess_blob_gas: ecotone.then_some(0),
        parent_beacon_block_root: if ecotone {
            payload.parent_beacon_block_root
        } else {
            None
        },
        requests_hash: (isthmus || rules.is_prague_active_at_timestamp(timestamp))
            .then_some(EMPTY_REQUESTS_HASH),
        ..Header::default()
    };
    if ecotone && header.parent_beacon_block_root.is_none() {
        return Err(refused("no parentBeaconBlockRoot from Ecotone on"));
    }

    let recovered = transactions
        .iter()
        .enumerate()
        .map(|(index, tx)| {
            tx.recover_signer()
                .map(|signer| alloy_consensus::transaction::Recovered::new_unchecked(tx, signer))
                .map_err(|_| BlockError::Sender { index })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let executed = execute_optimism(rules, &header, &recovered, pre)?;
    header.gas_used = executed.gas_used;
    header.receipts_root = executed.receipts_root;
    header.logs_bloom = executed.logs_bloom;
    if rules.is_jovian_active_at_timestamp(timestamp) {
        header.blob_gas_used = Some(executed.blob_gas_used);
    }
    header.state_root = pre.state_root_after(&executed.changes)?;
    if isthmus {
        header.withdrawals_root =
            Some(pre.storage_root_after(L2_TO_L1_MESSAGE_PASSER, &executed.changes)?);
    }
    Ok(Block {
        header,
        body: BlockBody {
            transactions,
            ommers: Vec::new(),
            withdrawals: canyon.then(Default::default),
        },
    })
}
