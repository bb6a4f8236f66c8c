//! The operator node and the operator proxy.
//!
//! - [`node`]: `mach node`. Refuses to start unless the operator is registered with every AVS
//!   under its BLS key; serves the alert JSON-RPC (`alert_*`, `health_check`), the EigenLayer node
//!   API and Prometheus metrics; turns each alert into a signature on the aggregator's task.
//! - [`proxy`]: `mach proxy`. Routes `/<avs_name>` to the node and thins out work proofs.
//! - [`config`]: the reference `.env` variables and `avs_configs.json`.
//! - [`signer`]: the BLS signer, the key file or a Cerberus remote signer ([`cerberus`]).
//!
//! Both run under a [`mach_runtime::Supervisor`]: [`node::start_supervised`] and
//! [`proxy::start_supervised`] spawn their servers as the caller's critical tasks, stopped by
//! its one shutdown token; [`start`] and [`proxy::start`] do the same under a supervisor of
//! their own in the background, for in-process callers.

pub mod cerberus;
pub mod config;
pub mod health;
pub mod metrics;
pub mod node;
pub mod proxy;
pub mod signer;

pub use config::{load_avs_configs, AvsConfig, BlsSignerConfig, NodeConfig};
pub use node::{start, start_supervised, NodeError, NodeHandle, Started};
pub use signer::{BlsSigner, SignerError};
