//! MACH's finality RPC (`mach rpc`): what dApps, bridges and exchanges ask MACH.
//!
//! It runs the live verifier's pipeline without alerting and serves the rollup's JSON-RPC with
//! MACH's view of finality:
//! - [`state`]: per-block status (`pending`, `validated`, `invalid`, `alerted`), the finalized
//!   head, the L1 alerts, and the circuit breaker, saved across restarts;
//! - [`pipeline`]: the local verifier loop and the L1 `AlertConfirmed` watcher that feed it;
//! - [`server`]: the JSON-RPC server (proxy, tags, breaker, `mach_*`, WebSocket heads);
//! - [`metrics`]: its Prometheus metrics at `/metrics`;
//! - [`service`]: all of it started from the library ([`service::start`]), as `mach rpc` does.

pub mod metrics;
pub mod pipeline;
pub mod server;
pub mod service;
pub mod state;

pub use server::{BreakerMode, Options, TagSource, CIRCUIT_BREAKER_OPEN};
pub use state::FinalityState;
