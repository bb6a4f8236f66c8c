//! The live verifier (`mach verifier`): follows a rollup over JSON-RPC, validates every block with
//! the core of this crate, and reports to the operator node. This module holds its I/O parts.
//!
//! - [`alerts`]: alerts (queued until the node takes them) and work proofs to the node.
//! - [`blocks`]: blocks over RPC, Ethereum and OP Stack (deposit transactions), read for the
//!   validator.
//! - [`config`]: `mach-config.toml`, read as the reference verifier reads it.
//! - [`follow`]: the follow loop: link, reorg, validate by mode, record, report.
//! - [`metrics`]: the `mach_verifier_*` Prometheus metrics and their HTTP server.
//! - [`rpc`]: the rollup JSON-RPC client: rate limit, failure classes, retries, batches.
//! - [`rpc_state`]: the pre-state over `eth_getProof`, proofs checked, roots on a sparse trie.
//! - [`store`]: progress and unsent alerts, durable across restarts.
//! - [`witness`]: the pre-state from `debug_executionWitness`, where the node serves it.

pub mod alerts;
pub mod blocks;
pub mod config;
pub mod follow;
pub mod metrics;
pub mod rpc;
pub mod rpc_state;
pub mod store;
pub mod witness;

pub use config::{Mode, VerifierConfig};
