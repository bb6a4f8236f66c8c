//! The whole question, "is this block a valid successor of its parent?": header rules, body
//! roots, senders, re-execution, and the comparison of the execution's results with the header.

use alloy_consensus::{
    proofs::{calculate_transaction_root, calculate_withdrawals_root},
    transaction::{Recovered, SignerRecoverable},
    Block, Header, Sealed, Transaction, TxEnvelope,
};
use alloy_eips::eip7685::EMPTY_REQUESTS_HASH;
use alloy_hardforks::EthereumHardforks;
use alloy_op_hardforks::OpHardforks;
use alloy_primitives::B256;
use alloy_trie::EMPTY_ROOT_HASH;
use op_alloy_consensus::OpTxEnvelope;

use crate::{
    chain::ChainRules,
    error::BlockError,
    execute::{execute_ethereum, execute_optimism, Executed},
    header::validate_header,
    op::{validate_op_body, L2_TO_L1_MESSAGE_PASSER},
    state::{PreState, StateChanges},
};

/// A decoded block of either chain kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBlock {
    /// A block with Ethereum transaction types.
    Ethereum(Block<TxEnvelope>),
    /// A block with OP Stack transaction types (deposits instead of blobs).
    Optimism(Block<OpTxEnvelope>),
}

impl ChainBlock {
    /// Decodes a block's RLP for this chain; trailing bytes are an error.
    pub fn decode(rules: &ChainRules, mut rlp: &[u8]) -> Result<Self, BlockError> {
        let decoded = if rules.is_optimism() {
            <Block<OpTxEnvelope> as alloy_rlp::Decodable>::decode(&mut rlp).map(Self::Optimism)
        } else {
            <Block<TxEnvelope> as alloy_rlp::Decodable>::decode(&mut rlp).map(Self::Ethereum)
        };
        let block = decoded.map_err(|e| BlockError::Decode(e.to_string()))?;
        if !rlp.is_empty() {
            return Err(BlockError::Decode(format!(
                "{} bytes after the block",
                rlp.len()
            )));
        }
        Ok(block)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        match self {
            Self::Ethereum(b) => &b.header,
            Self::Optimism(b) => &b.header,
        }
    }

    /// keccak256 of the RLP header.
    pub fn hash(&self) -> B256 {
        self.header().hash_slow()
    }

    /// The addresses the block's transactions call or pay (contract creations excluded).
    pub fn recipients(&self) -> Vec<alloy_primitives::Address> {
        use alloy_consensus::Transaction;
        match self {
            Self::Ethereum(b) => b.body.transactions.iter().filter_map(|t| t.to()).collect(),
            Self::Optimism(b) => b.body.transactions.iter().filter_map(|t| t.to()).collect(),
        }
    }
}

/// A block that passed every rule, with what the caller needs to continue from it.
#[derive(Debug, Clone)]
pub struct ValidBlock {
    /// The block hash (recomputed).
    pub hash: B256,
    /// Gas used, equal to the header's.
    pub gas_used: u64,
    /// Post-state root, equal to the header's.
    pub state_root: B256,
    /// The state changes: applied to the pre-state they give the post-state.
    pub changes: StateChanges,
    /// OP Stack: the L2ToL1MessagePasser storage root after the block, for the output root
    /// (before Isthmus `None` when the pre-state cannot tell it: no rule needs it then).
    pub message_passer_storage_root: Option<B256>,
}

/// Validates `block` as the child of `parent` on the chain `rules`, re-executing it on `pre`
/// (the parent's post-state). `claimed_hash` is the hash a source gave for the block, if any.
///
/// Returns the first rule the block breaks. [`BlockError::is_verdict`] tells a proven invalid
/// block from a validation that could not finish.
pub fn validate_block(
    rules: &ChainRules,
    parent: &Sealed<Header>,
    pre: &dyn PreState,
    block: &ChainBlock,
    claimed_hash: Option<B256>,
) -> Result<ValidBlock, BlockError> {
    let header = block.header();
    let hash = header.hash_slow();
    if let Some(claimed) = claimed_hash {
        if claimed != hash {
            return Err(BlockError::Hash {
                computed: hash,
                claimed,
            });
        }
    }
    validate_header(rules, parent.inner(), parent.hash(), header)?;
    let executed = match block {
        ChainBlock::Ethereum(block) => ethereum_body_and_execute(rules, block, pre)?,
        ChainBlock::Optimism(block) => optimism_body_and_execute(rules, block, pre)?,
    };
    compare(header, &executed)?;
    if rules.is_optimism() && rules.is_jovian_active_at_timestamp(header.timestamp) {
        // Jovian: blob gas used is the block's DA footprint, which execution measures.
        if header.blob_gas_used != Some(executed.blob_gas_used) {
            return Err(BlockError::BlobGasUsed {
                expected: executed.blob_gas_used,
                got: header.blob_gas_used.unwrap_or_default(),
            });
        }
    }
    if rules.is_prague_active_at_timestamp(header.timestamp) && !rules.is_optimism() {
        let expected = executed.requests.requests_hash();
        if header.requests_hash != Some(expected) {
            return Err(BlockError::RequestsHash {
                expected,
                got: header.requests_hash,
            });
        }
    }
    let state_root = pre.state_root_after(&executed.changes)?;
    if state_root != header.state_root {
        let message_passer_storage_root = if rules.is_optimism() {
            pre.storage_root_after(L2_TO_L1_MESSAGE_PASSER, &executed.changes)
                .ok()
        } else {
            None
        };
        return Err(BlockError::StateRoot {
            expected: state_root,
            got: header.state_root,
            message_passer_storage_root,
        });
    }
    let message_passer_storage_root = if !rules.is_optimism() {
        None
    } else if rules.is_isthmus_active_at_timestamp(header.timestamp) {
        let root = pre.storage_root_after(L2_TO_L1_MESSAGE_PASSER, &executed.changes)?;
        if header.withdrawals_root != Some(root) {
            return Err(BlockError::WithdrawalsRoot {
                expected: root,
                got: header.withdrawals_root.unwrap_or_default(),
            });
        }
        Some(root)
    } else {
        // Before Isthmus no rule needs it: only output roots do. A witness of a block that does
        // not touch the message passer holds none of its trie, so it may be unknown here.
        pre.storage_root_after(L2_TO_L1_MESSAGE_PASSER, &executed.changes)
            .ok()
    };
    Ok(ValidBlock {
        hash,
        gas_used: executed.gas_used,
        state_root,
        changes: executed.changes,
        message_passer_storage_root,
    })
}

fn compare(header: &Header, executed: &Executed) -> Result<(), BlockError> {
    if executed.gas_used != header.gas_used {
        return Err(BlockError::GasUsed {
            expected: executed.gas_used,
            got: header.gas_used,
        });
    }
    if executed.receipts_root != header.receipts_root {
        return Err(BlockError::ReceiptsRoot {
            expected: executed.receipts_root,
            got: header.receipts_root,
        });
    }
    if executed.logs_bloom != header.logs_bloom {
        return Err(BlockError::LogsBloom {
            expected: Box::new(executed.logs_bloom),
            got: Box::new(header.logs_bloom),
        });
    }
    Ok(())
}

fn check_transactions_root<T: alloy_eips::Encodable2718>(
    header: &Header,
    transactions: &[T],
) -> Result<(), BlockError> {
    let expected = calculate_transaction_root(transactions);
    if expected != header.transactions_root {
        return Err(BlockError::TransactionsRoot {
            expected,
            got: header.transactions_root,
        });
    }
    Ok(())
}

fn check_no_uncles<T>(block: &Block<T>) -> Result<(), BlockError> {
    if !block.body.ommers.is_empty() {
        return Err(BlockError::Uncles {
            count: block.body.ommers.len(),
            ommers_hash: block.header.ommers_hash,
        });
    }
    Ok(())
}

fn recover<T: SignerRecoverable>(transactions: &[T]) -> Result<Vec<Recovered<&T>>, BlockError> {
    transactions
        .iter()
        .enumerate()
        .map(|(index, tx)| {
            tx.recover_signer()
                .map(|signer| Recovered::new_unchecked(tx, signer))
                .map_err(|_| BlockError::Sender { index })
        })
        .collect()
}

fn ethereum_body_and_execute(
    rules: &ChainRules,
    block: &Block<TxEnvelope>,
    pre: &dyn PreState,
) -> Result<Executed, BlockError> {
    let header = &block.header;
    check_no_uncles(block)?;
    check_transactions_root(header, &block.body.transactions)?;
    let shanghai = rules.is_shanghai_active_at_timestamp(header.timestamp);
    match (&block.body.withdrawals, shanghai) {
        (Some(withdrawals), true) => {
            let expected = calculate_withdrawals_root(withdrawals);
            if header.withdrawals_root != Some(expected) {
                return Err(BlockError::WithdrawalsRoot {
                    expected,
                    got: header.withdrawals_root.unwrap_or_default(),
                });
            }
        }
        (None, true) => {
            return Err(BlockError::Withdrawals(
                "missing from a Shanghai block body",
            ))
        }
        (Some(_), false) => {
            return Err(BlockError::Withdrawals(
                "present in a block body before Shanghai",
            ))
        }
        (None, false) => {}
    }
    if let (Some(used), Some(params)) =
        (header.blob_gas_used, rules.blob_params_at(header.timestamp))
    {
        let mut total: u64 = 0;
        for tx in &block.body.transactions {
            total = total.saturating_add(tx.blob_gas_used().unwrap_or(0));
        }
        if total > params.max_blob_gas_per_block() {
            return Err(BlockError::BlobGasUsed {
                expected: params.max_blob_gas_per_block(),
                got: total,
            });
        }
        if total != used {
            return Err(BlockError::BlobGasUsed {
                expected: total,
                got: used,
            });
        }
    }
    let recovered = recover(&block.body.transactions)?;
    execute_ethereum(
        rules,
        header,
        &recovered,
        block.body.withdrawals.as_ref().map(|w| w.as_slice()),
        pre,
    )
}

fn optimism_body_and_execute(
    rules: &ChainRules,
    block: &Block<OpTxEnvelope>,
    pre: &dyn PreState,
) -> Result<Executed, BlockError> {
    let header = &block.header;
    check_no_uncles(block)?;
    check_transactions_root(header, &block.body.transactions)?;
    validate_op_body(&block.body.transactions)?;
    if rules.is_canyon_active_at_timestamp(header.timestamp) {
        match &block.body.withdrawals {
            Some(w) if w.is_empty() => {}
            Some(_) => {
                return Err(BlockError::Withdrawals(
                    "OP Stack blocks carry an empty withdrawals list",
                ))
            }
            None => return Err(BlockError::Withdrawals("missing from a Canyon block body")),
        }
        if !rules.is_isthmus_active_at_timestamp(header.timestamp)
            && header.withdrawals_root != Some(EMPTY_ROOT_HASH)
        {
            return Err(BlockError::WithdrawalsRoot {
                expected: EMPTY_ROOT_HASH,
                got: header.withdrawals_root.unwrap_or_default(),
            });
        }
    } else if block.body.withdrawals.is_some() {
        return Err(BlockError::Withdrawals(
            "present in a block body before Canyon",
        ));
    }
    if rules.is_isthmus_active_at_timestamp(header.timestamp)
        && header.requests_hash != Some(EMPTY_REQUESTS_HASH)
    {
        return Err(BlockError::RequestsHash {
            expected: EMPTY_REQUESTS_HASH,
            got: header.requests_hash,
        });
    }
    let recovered = recover(&block.body.transactions)?;
    execute_optimism(rules, header, &recovered, pre)
}
