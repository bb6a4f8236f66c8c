//! Why a block is rejected: one variant per rule, each with what the rule expected and what the
//! block had.

use alloy_primitives::{Bloom, B256};

use crate::state::PreStateError;

/// A block failed a validation rule. Every variant names the rule (see [`BlockError::rule`]) and
/// carries the expected and the actual value where the rule compares two.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The block's RLP does not decode into a block of this chain (or has trailing bytes).
    #[error("block RLP does not decode: {0}")]
    Decode(String),
    /// The hash a source claimed for the block differs from the hash of its header fields.
    #[error("block hash: header fields hash to {computed}, block claims {claimed}")]
    Hash {
        /// keccak256 of the RLP header.
        computed: B256,
        /// Hash the block arrived with.
        claimed: B256,
    },
    /// The parent named by `parent_hash` is not the parent this block is validated against.
    #[error("parent hash: expected {expected}, got {got}")]
    ParentHash {
        /// Hash of the parent header.
        expected: B256,
        /// `parent_hash` of the block.
        got: B256,
    },
    /// The block number is not the parent's plus one.
    #[error("block number: expected {expected}, got {got}")]
    Number {
        /// Parent number + 1.
        expected: u64,
        /// Number in the header.
        got: u64,
    },
    /// The timestamp is not strictly after the parent's.
    #[error("timestamp {got} is not after the parent's {parent}")]
    Timestamp {
        /// Parent timestamp (seconds).
        parent: u64,
        /// Block timestamp (seconds).
        got: u64,
    },
    /// The gas limit moved by parent/1024 or more, or left the allowed range.
    #[error("gas limit {got} outside [{min}, {max}] (parent {parent})")]
    GasLimit {
        /// Parent gas limit.
        parent: u64,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
        /// Gas limit in the header.
        got: u64,
    },
    /// Gas used is above the gas limit.
    #[error("gas used {used} exceeds gas limit {limit}")]
    GasUsedOverLimit {
        /// Gas limit in the header.
        limit: u64,
        /// Gas used in the header.
        used: u64,
    },
    /// The EIP-1559 base fee is not the one the parent and the chain's parameters give.
    #[error("base fee: expected {expected:?}, got {got:?}")]
    BaseFee {
        /// Base fee from the parent (None before London).
        expected: Option<u64>,
        /// Base fee in the header.
        got: Option<u64>,
    },
    /// A header field that this fork requires is missing, or one it forbids is present.
    #[error("header field {field}: {problem}")]
    HeaderField {
        /// Field name as in the header (e.g. `withdrawals_root`).
        field: &'static str,
        /// "missing before ...", "must be absent", ...
        problem: &'static str,
    },
    /// The excess blob gas differs from the EIP-4844 formula over the parent.
    #[error("excess blob gas: expected {expected}, got {got}")]
    ExcessBlobGas {
        /// From the parent's excess and used blob gas.
        expected: u64,
        /// In the header.
        got: u64,
    },
    /// Blob gas used in the header differs from the sum of the transactions' blob gas, or breaks
    /// the per-block limit.
    #[error("blob gas used: expected {expected}, got {got}")]
    BlobGasUsed {
        /// From the transactions (or the limit that was exceeded).
        expected: u64,
        /// In the header.
        got: u64,
    },
    /// Extra data longer than the chain allows, or (OP Stack Holocene) not the 9-byte
    /// EIP-1559 parameter encoding.
    #[error("extra data: {0}")]
    ExtraData(String),
    /// Post-merge blocks carry no uncles.
    #[error("uncles: post-merge blocks have none; body has {count}, ommers hash {ommers_hash}")]
    Uncles {
        /// Number of uncle headers in the body.
        count: usize,
        /// `ommers_hash` in the header.
        ommers_hash: B256,
    },
    /// Post-merge difficulty must be zero.
    #[error("difficulty: expected 0 after the merge, got {0}")]
    Difficulty(alloy_primitives::U256),
    /// Post-merge nonce must be zero.
    #[error("nonce: expected 0 after the merge, got {0}")]
    Nonce(alloy_primitives::B64),
    /// The transactions root is not the root of the body's transactions.
    #[error("transactions root: expected {expected}, got {got}")]
    TransactionsRoot {
        /// Root of the body's transactions.
        expected: B256,
        /// In the header.
        got: B256,
    },
    /// The withdrawals root is not the root of the body's withdrawals (OP Stack Isthmus: not the
    /// L2ToL1MessagePasser storage root).
    #[error("withdrawals root: expected {expected}, got {got}")]
    WithdrawalsRoot {
        /// Computed root.
        expected: B256,
        /// In the header.
        got: B256,
    },
    /// The body's withdrawals list is present/absent against the fork, or non-empty on a chain
    /// that forbids withdrawals.
    #[error("withdrawals: {0}")]
    Withdrawals(&'static str),
    /// A transaction's signature does not recover to a sender.
    #[error("transaction {index}: sender cannot be recovered from the signature")]
    Sender {
        /// Position in the block.
        index: usize,
    },
    /// A transaction is invalid against the state it runs on (nonce, balance, intrinsic gas,
    /// fee caps, blob rules, gas left in the block, type not allowed in this fork).
    #[error("transaction {index} ({hash}): {reason}")]
    Transaction {
        /// Position in the block.
        index: usize,
        /// Transaction hash.
        hash: B256,
        /// What is wrong, from the EVM's checks.
        reason: String,
    },
    /// OP Stack payload attributes that no execution engine builds a block from (missing gas
    /// limit, EIP-1559 parameters against the fork, a missing parent beacon block root).
    #[error("payload attributes: {0}")]
    Attributes(String),
    /// An OP Stack body rule: the first transaction is the L1 attributes deposit, deposits come
    /// first, no blob transactions.
    #[error("OP Stack body: {0}")]
    OpBody(String),
    /// Execution failed for a reason that is not a transaction's fault (system call failure).
    #[error("execution: {0}")]
    Execution(String),
    /// The EVM failed for a reason that says nothing about the block (an internal error). Not
    /// a verdict.
    #[error("internal execution error: {0}")]
    Internal(String),
    /// The block uses a fork or feature this verifier does not validate yet. Not a verdict.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The block carries a later fork's fields than the chain config has active at its time:
    /// the config is out of date (a stale genesis file). Not a verdict: judging the block by
    /// the older rules would accuse a valid block.
    #[error("could not validate: chain config out of date: {0}; update the genesis file or run with `--chain-rules registry`")]
    ConfigOutOfDate(String),
    /// Gas used by re-execution differs from the header.
    #[error("gas used: execution used {expected}, header says {got}")]
    GasUsed {
        /// Gas used by the re-execution.
        expected: u64,
        /// In the header.
        got: u64,
    },
    /// Receipts root of re-execution differs from the header.
    #[error("receipts root: expected {expected}, got {got}")]
    ReceiptsRoot {
        /// Root over the re-executed receipts.
        expected: B256,
        /// In the header.
        got: B256,
    },
    /// Logs bloom of re-execution differs from the header.
    #[error("logs bloom: expected {expected}, got {got}")]
    LogsBloom {
        /// Union of the re-executed receipts' blooms.
        expected: Box<Bloom>,
        /// In the header.
        got: Box<Bloom>,
    },
    /// EIP-7685 requests hash differs from the requests the execution produced.
    #[error("requests hash: expected {expected}, got {got:?}")]
    RequestsHash {
        /// Hash of the requests produced by execution.
        expected: B256,
        /// In the header.
        got: Option<B256>,
    },
    /// Post-state root differs from the header.
    #[error("state root: expected {expected}, got {got}")]
    StateRoot {
        /// Root of pre-state plus the execution's changes.
        expected: B256,
        /// In the header.
        got: B256,
        /// OP Stack: the L2ToL1MessagePasser storage root after the execution, which with
        /// `expected` gives the output root the block should have; `None` on Ethereum chains or
        /// when the pre-state could not answer it.
        message_passer_storage_root: Option<B256>,
    },
    /// The pre-state could not answer (missing account proof, RPC failure). Not a verdict on
    /// the block: the caller should retry, never alert on this.
    #[error("pre-state unavailable: {0}")]
    PreState(#[from] PreStateError),
}

impl BlockError {
    /// Short stable name of the rule that failed, for logs and metrics labels.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Decode(_) => "decode",
            Self::Hash { .. } => "hash",
            Self::ParentHash { .. } => "parent_hash",
            Self::Number { .. } => "number",
            Self::Timestamp { .. } => "timestamp",
            Self::GasLimit { .. } => "gas_limit",
            Self::GasUsedOverLimit { .. } => "gas_used_over_limit",
            Self::BaseFee { .. } => "base_fee",
            Self::HeaderField { .. } => "header_field",
            Self::ExcessBlobGas { .. } => "excess_blob_gas",
            Self::BlobGasUsed { .. } => "blob_gas_used",
            Self::ExtraData(_) => "extra_data",
            Self::Uncles { .. } => "uncles",
            Self::Difficulty(_) => "difficulty",
            Self::Nonce(_) => "nonce",
            Self::TransactionsRoot { .. } => "transactions_root",
            Self::WithdrawalsRoot { .. } => "withdrawals_root",
            Self::Withdrawals(_) => "withdrawals",
            Self::Sender { .. } => "sender",
            Self::Transaction { .. } => "transaction",
            Self::OpBody(_) => "op_body",
            Self::Attributes(_) => "attributes",
            Self::Execution(_) => "execution",
            Self::Internal(_) => "internal",
            Self::Unsupported(_) => "unsupported",
            Self::ConfigOutOfDate(_) => "config_out_of_date",
            Self::GasUsed { .. } => "gas_used",
            Self::ReceiptsRoot { .. } => "receipts_root",
            Self::LogsBloom { .. } => "logs_bloom",
            Self::RequestsHash { .. } => "requests_hash",
            Self::StateRoot { .. } => "state_root",
            Self::PreState(_) => "pre_state",
        }
    }

    /// True when the error proves the block invalid; false when validation could not finish
    /// (pre-state unavailable), which must never lead to an alert.
    pub fn is_verdict(&self) -> bool {
        !matches!(
            self,
            Self::PreState(_) | Self::Internal(_) | Self::Unsupported(_) | Self::ConfigOutOfDate(_)
        )
    }
}
