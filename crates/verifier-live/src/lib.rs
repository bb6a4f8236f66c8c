//! The live verifier (`mach verifier`): follows a rollup over JSON-RPC, validates every block with
//! the pure validation core (`mach-verifier`: rules, re-execution, tries, fixtures), and reports
//! to the operator node. This crate holds its I/O parts (tokio, axum, redb, HTTP, prometheus);
//! the core depends on none of them and can be used alone.
//!
//! - [`alerts`]: alerts (queued until the node takes them) and work proofs to the node.
//! - [`blocks`]: blocks over RPC, Ethereum and OP Stack (deposit transactions), read for the
//!   validator.
//! - [`config`]: `mach-config.toml`, read as the reference verifier reads it.
//! - [`follow`]: the follow loop: link, reorg, validate by mode, record, report.
//! - [`metrics`]: the `mach_verifier_*` Prometheus metrics and their HTTP server.
//! - [`rpc_state`]: the pre-state over `eth_getProof`, proofs checked, roots on a sparse trie.
//! - [`store`]: progress and unsent alerts, durable across restarts.
//! - [`service`]: all of it as `mach verifier` runs it: chain rules from the genesis file, the
//!   follower and the head watcher under a `mach_runtime::Supervisor`.
//!
//! The rollup node is reached through the workspace's one client, `mach_jsonrpc::Client` (rate
//! limit, deadline, failure classes, the shared retry policy, batches).
//!
//! The pre-state from `debug_executionWitness`, where the node serves it, is pure and lives in
//! the core ([`mach_verifier::witness`]); [`follow`] fetches it.

pub mod alerts;
pub mod blocks;
pub mod config;
pub mod follow;
pub mod metrics;
pub mod rpc_state;
pub mod service;
pub mod store;

pub use config::{Mode, VerifierConfig};
