//! Block validation for MACH: is this block a valid successor of its parent?
//!
//! Pure functions over (chain rules, parent header, pre-state, block): header rules
//! ([`header`]), body roots and senders, re-execution with revm through alloy-evm's block
//! executors ([`execute`]), and the comparison of gas used, receipts root, logs bloom, requests
//! hash and post-state root with the header ([`validate`]). Ethereum forks through Prague and
//! the OP Stack through Isthmus ([`chain`], [`op`]). Every rejection is a [`BlockError`] naming
//! the rule with expected and actual values.
//!
//! The pre-state is behind the [`PreState`] trait; [`InMemoryState`] implements it for the
//! Ethereum test-suite runner ([`fixture`]) and benchmarks.

pub mod bench;
pub mod chain;
pub mod error;
pub mod execute;
pub mod fixture;
pub mod header;
pub mod live;
pub mod op;
pub mod sparse_trie;
pub mod state;
pub mod validate;

pub use chain::{ChainConfigError, ChainRules};
pub use error::BlockError;
pub use op::output_root;
pub use state::{Account, InMemoryState, PreState, PreStateError, StateChanges};
pub use validate::{validate_block, ChainBlock, ValidBlock};
