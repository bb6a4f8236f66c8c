//! Block validation for MACH: is this block a valid successor of its parent?
//!
//! Pure functions over (chain rules, parent header, pre-state, block): header rules
//! ([`header`]), body roots and senders, re-execution with revm through alloy-evm's block
//! executors ([`execute`]), and the comparison of gas used, receipts root, logs bloom, requests
//! hash and post-state root with the header ([`validate`]). Ethereum forks through Prague and
//! the OP Stack through Karst ([`chain`], [`op`]), with the Superchain registry's fork schedules
//! bundled ([`registry`]) and checked against a chain's genesis file ([`schedule`]). Every
//! rejection is a [`BlockError`] naming the rule with expected and actual values; a block this
//! verifier cannot judge (a fork its config does not know, a missing preimage) is never a
//! verdict ([`BlockError::is_verdict`]).
//!
//! The pre-state is behind the [`PreState`] trait; [`InMemoryState`] implements it for the
//! Ethereum test-suite runner and benchmarks, [`witness::WitnessState`] over an execution
//! witness, and the live verifier (`mach-verifier-live`) over RPC proofs. [`payload`] builds an
//! OP Stack block from the sequencer's payload attributes, which is how the real-block fixtures
//! ([`fixture`]) are checked.
//!
//! This crate does no I/O beyond reading fixture files: no async runtime, HTTP, database or
//! metrics. The live service (follow loop, RPC client, store, alerts, metrics) is
//! `mach-verifier-live`, built on it.

pub mod bench;
pub mod chain;
pub mod error;
pub mod execute;
pub mod fixture;
pub mod header;
pub mod op;
pub mod payload;
pub mod registry;
pub mod schedule;
pub mod sparse_trie;
pub mod state;
pub mod validate;
pub mod witness;

pub use chain::{ChainConfigError, ChainRules};
pub use error::BlockError;
pub use op::output_root;
pub use state::{Account, InMemoryState, PreState, PreStateError, StateChanges};
pub use validate::{validate_block, ChainBlock, ValidBlock};
