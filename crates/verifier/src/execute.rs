//! Re-execution of a block's transactions with revm (through alloy-evm's block executors, which
//! apply each fork's system calls), over a [`PreState`], producing receipts and the state changes.

use std::{borrow::Cow, cell::RefCell, sync::OnceLock};

use alloy_consensus::{
    proofs::calculate_receipt_root, transaction::Recovered, Header, TxEnvelope, TxReceipt,
};
use alloy_eips::{eip4895::Withdrawal, eip7685::Requests, Encodable2718};
use alloy_evm::{
    block::{BlockExecutionError, BlockExecutor, BlockValidationError},
    eth::{receipt_builder::AlloyReceiptBuilder, EthBlockExecutionCtx, EthBlockExecutor},
    precompiles::PrecompilesMap,
    EthEvmFactory, Evm, EvmEnv, EvmFactory,
};
use alloy_op_evm::{
    block::OpAlloyReceiptBuilder, OpBlockExecutionCtx, OpBlockExecutor, OpEvmFactory,
};
use alloy_op_hardforks::OpHardforks;
use alloy_primitives::{Address, Bloom, B256, U256};
use op_alloy_consensus::{OpReceiptEnvelope, OpTxEnvelope};
use op_revm::OpSpecId;
use revm::{
    bytecode::Bytecode,
    database::{states::bundle_state::BundleRetention, OriginalValuesKnown, State},
    database_interface::{DBErrorMarker, DatabaseRef, WrapDatabaseRef},
    precompile::{
        bn254, EthPrecompileResult, Precompile, PrecompileHalt, PrecompileId, Precompiles,
    },
    state::AccountInfo,
};

use crate::{
    chain::ChainRules,
    error::BlockError,
    state::{Account, PreState, PreStateError, StateChanges, StorageChange},
};

impl DBErrorMarker for PreStateError {}

/// Adapts a [`PreState`] to revm's read-only database, remembering the first error so that a
/// failed read is reported as "pre-state unavailable", never as an invalid block.
struct PreStateDb<'a> {
    pre: &'a dyn PreState,
    failure: RefCell<Option<PreStateError>>,
}

impl std::fmt::Debug for PreStateDb<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreStateDb")
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl PreStateDb<'_> {
    fn note<T>(&self, result: Result<T, PreStateError>) -> Result<T, PreStateError> {
        if let Err(err) = &result {
            self.failure.borrow_mut().get_or_insert_with(|| err.clone());
        }
        result
    }
}

impl DatabaseRef for PreStateDb<'_> {
    type Error = PreStateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let account = self.note(self.pre.account(address))?;
        Ok(account.map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: a.code_hash,
            account_id: None,
            code: (a.code_hash == alloy_trie::KECCAK_EMPTY).then(Bytecode::default),
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        let code = self.note(self.pre.code(code_hash))?;
        Ok(Bytecode::new_raw(code))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        self.note(self.pre.storage(address, index))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        self.note(self.pre.block_hash(number))
    }
}

/// What re-execution produced, to compare with the header.
#[derive(Debug, Clone)]
pub struct Executed {
    /// Gas used by all transactions.
    pub gas_used: u64,
    /// Root of the receipts trie.
    pub receipts_root: B256,
    /// Union of the receipts' blooms.
    pub logs_bloom: Bloom,
    /// EIP-7685 requests (Prague), empty before.
    pub requests: Requests,
    /// Blob gas used: the blobs' gas on Ethereum; on OP Stack chains from Jovian on the block's
    /// DA footprint (zero before).
    pub blob_gas_used: u64,
    /// State changes of the whole block.
    pub changes: StateChanges,
}

fn changes_from(state: &mut State<WrapDatabaseRef<&PreStateDb<'_>>>) -> StateChanges {
    state.merge_transitions(BundleRetention::PlainState);
    let bundle = state.take_bundle();
    let plain = bundle.to_plain_state(OriginalValuesKnown::Yes);
    let mut changes = StateChanges::default();
    for (address, info) in plain.accounts {
        changes.accounts.insert(
            address,
            info.map(|i| Account {
                nonce: i.nonce,
                balance: i.balance,
                code_hash: i.code_hash,
            }),
        );
    }
    for entry in plain.storage {
        let change = changes
            .storage
            .entry(entry.address)
            .or_insert_with(StorageChange::default);
        change.wiped |= entry.wipe_storage;
        change.slots.extend(entry.storage);
    }
    for (hash, code) in plain.contracts {
        changes.codes.insert(hash, code.original_bytes());
    }
    changes
}

/// Turns an executor error into a block error: a failed pre-state read is "unavailable", a
/// transaction the EVM refuses is that transaction's fault, anything else is an execution
/// failure.
fn map_error(
    err: BlockExecutionError,
    db: &PreStateDb<'_>,
    tx: Option<(usize, B256)>,
) -> BlockError {
    if let Some(failure) = db.failure.borrow_mut().take() {
        return BlockError::PreState(failure);
    }
    match (tx, err) {
        (Some((index, hash)), BlockExecutionError::Validation(err)) => {
            let reason = match err {
                BlockValidationError::InvalidTx { error, .. } => error.to_string(),
                other => other.to_string(),
            };
            BlockError::Transaction {
                index,
                hash,
                reason,
            }
        }
        (_, BlockExecutionError::Validation(err)) => BlockError::Execution(err.to_string()),
        (_, BlockExecutionError::Internal(err)) => BlockError::Internal(err.to_string()),
    }
}

fn bloom_of<R: TxReceipt>(receipts: &[R]) -> Bloom {
    let mut bloom = Bloom::ZERO;
    for receipt in receipts {
        bloom.accrue_bloom(&receipt.bloom());
    }
    bloom
}

/// Executes an Ethereum block's transactions (senders already recovered) on `pre`.
pub fn execute_ethereum(
    rules: &ChainRules,
    header: &Header,
    transactions: &[Recovered<&TxEnvelope>],
    withdrawals: Option<&[Withdrawal]>,
    pre: &dyn PreState,
) -> Result<Executed, BlockError> {
    let db = PreStateDb {
        pre,
        failure: RefCell::new(None),
    };
    let mut state = State::builder()
        .with_database(WrapDatabaseRef(&db))
        .with_bundle_update()
        .build();
    let env = EvmEnv::for_eth_block(
        header,
        rules,
        rules.chain_id,
        rules.blob_params_at(header.timestamp),
    );
    let result = {
        let evm = EthEvmFactory::default().create_evm(&mut state, env);
        let ctx = EthBlockExecutionCtx {
            parent_hash: header.parent_hash,
            parent_beacon_block_root: header.parent_beacon_block_root,
            ommers: &[],
            withdrawals: withdrawals.map(Cow::Borrowed),
            extra_data: header.extra_data.clone(),
            tx_count_hint: Some(transactions.len()),
            slot_number: None,
        };
        let mut executor = EthBlockExecutor::new(evm, ctx, rules, AlloyReceiptBuilder::default());
        executor
            .apply_pre_execution_changes()
            .map_err(|e| map_error(e, &db, None))?;
        for (index, tx) in transactions.iter().enumerate() {
            executor
                .execute_transaction(*tx)
                .map_err(|e| map_error(e, &db, Some((index, tx.inner().trie_hash()))))?;
        }
        let (_, result) = executor.finish().map_err(|e| map_error(e, &db, None))?;
        result
    };
    if let Some(failure) = db.failure.borrow_mut().take() {
        return Err(BlockError::PreState(failure));
    }
    Ok(Executed {
        gas_used: result.gas_used,
        receipts_root: calculate_receipt_root(&result.receipts),
        logs_bloom: bloom_of(&result.receipts),
        requests: result.requests,
        blob_gas_used: result.blob_gas_used,
        changes: changes_from(&mut state),
    })
}

/// Executes an OP Stack block's transactions (senders recovered; deposits carry their `from`).
pub fn execute_optimism(
    rules: &ChainRules,
    header: &Header,
    transactions: &[Recovered<&OpTxEnvelope>],
    pre: &dyn PreState,
) -> Result<Executed, BlockError> {
    let db = PreStateDb {
        pre,
        failure: RefCell::new(None),
    };
    let mut state = State::builder()
        .with_database(WrapDatabaseRef(&db))
        .with_bundle_update()
        .build();
    let env = alloy_op_evm::env::evm_env_for_op_block(header, rules, rules.chain_id);
    let spec = env.cfg_env.spec;
    let result = {
        let mut evm = OpEvmFactory::<alloy_op_evm::OpTx>::default().create_evm(&mut state, env);
        if matches!(spec, OpSpecId::KARST | OpSpecId::INTEROP) {
            *evm.precompiles_mut() = PrecompilesMap::from_static(karst_precompiles());
        }
        let ctx = OpBlockExecutionCtx {
            parent_hash: header.parent_hash,
            parent_beacon_block_root: header.parent_beacon_block_root,
            extra_data: header.extra_data.clone(),
        };
        let mut executor = OpBlockExecutor::new(evm, ctx, rules, OpAlloyReceiptBuilder::default());
        executor
            .apply_pre_execution_changes()
            .map_err(|e| map_error(e, &db, None))?;
        for (index, tx) in transactions.iter().enumerate() {
            executor
                .execute_transaction(*tx)
                .map_err(|e| map_error(e, &db, Some((index, tx.inner().trie_hash()))))?;
        }
        let (_, result) = executor.finish().map_err(|e| map_error(e, &db, None))?;
        result
    };
    if let Some(failure) = db.failure.borrow_mut().take() {
        return Err(BlockError::PreState(failure));
    }
    let receipts = result.receipts;
    let gas_used = receipts.last().map_or(0, |r| r.cumulative_gas_used());
    Ok(Executed {
        gas_used,
        receipts_root: op_receipts_root(rules, header.timestamp, &receipts),
        logs_bloom: bloom_of(&receipts),
        requests: Requests::default(),
        blob_gas_used: result.blob_gas_used,
        changes: changes_from(&mut state),
    })
}

/// Largest `bn256Pairing` input from Karst on: 300 pairs of 192 bytes (Jovian: 427 pairs).
pub const KARST_BN256_PAIRING_MAX_INPUT: usize = 57_600;

fn karst_bn256_pairing(input: &[u8], gas_limit: u64) -> EthPrecompileResult {
    if input.len() > KARST_BN256_PAIRING_MAX_INPUT {
        return Err(PrecompileHalt::Bn254PairLength);
    }
    bn254::run_pair(
        input,
        bn254::pair::ISTANBUL_PAIR_PER_POINT,
        bn254::pair::ISTANBUL_PAIR_BASE,
        gas_limit,
    )
}

revm::precompile::eth_precompile_fn!(karst_bn256_pairing_precompile, karst_bn256_pairing);

/// The precompiles of an OP Stack block from Karst on: op-revm's Karst set with the Karst
/// `bn256Pairing` input limit, which the published op-revm 20.0.0 lacks (it keeps Jovian's; the
/// Karst spec and the nodes that run the chains have 300 pairs). See docs/decisions.md.
pub fn karst_precompiles() -> &'static Precompiles {
    static KARST: OnceLock<Precompiles> = OnceLock::new();
    KARST.get_or_init(|| {
        let mut precompiles = op_revm::precompiles::karst().clone();
        precompiles.extend([Precompile::new(
            PrecompileId::Bn254Pairing,
            bn254::pair::ADDRESS,
            karst_bn256_pairing_precompile,
        )]);
        precompiles
    })
}

/// Receipts root of an OP Stack block. Between Regolith and Canyon the deposit nonce was kept in
/// receipts but left out of the root; from Canyon on it is part of the encoding (with the
/// test-chain quirk [`OpParams::quirk_deposit_receipt_nonce_after`](crate::chain::OpParams),
/// as the nonce after the deposit).
pub fn op_receipts_root(
    rules: &ChainRules,
    timestamp: u64,
    receipts: &[OpReceiptEnvelope],
) -> B256 {
    if rules
        .optimism
        .as_ref()
        .is_some_and(|op| op.quirk_deposit_receipt_nonce_after)
        && rules.is_canyon_active_at_timestamp(timestamp)
    {
        let after: Vec<OpReceiptEnvelope> = receipts
            .iter()
            .cloned()
            .map(|mut r| {
                if let OpReceiptEnvelope::Deposit(d) = &mut r {
                    d.receipt.deposit_nonce = d.receipt.deposit_nonce.map(|n| n + 1);
                }
                r
            })
            .collect();
        return calculate_receipt_root(&after);
    }
    if rules.is_regolith_active_at_timestamp(timestamp)
        && !rules.is_canyon_active_at_timestamp(timestamp)
    {
        let stripped: Vec<OpReceiptEnvelope> = receipts
            .iter()
            .cloned()
            .map(|mut r| {
                if let OpReceiptEnvelope::Deposit(d) = &mut r {
                    d.receipt.deposit_nonce = None;
                }
                r
            })
            .collect();
        return calculate_receipt_root(&stripped);
    }
    calculate_receipt_root(receipts)
}
