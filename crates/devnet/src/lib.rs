//! Local MACH networks and deployments.
//!
//! - [`anvil`]: find, start and stop anvil chains (free ports, logs kept, killed on drop).
//! - [`mod@deploy`]: deploy EigenLayer core and middleware (from `eigen-utils` bytecode) and MACH's
//!   contracts to any L1, EigenLayer-style behind proxies, and write the deployment record.
//! - [`operators`]: onboard operators with stake through the real registration code paths.
//! - [`rollup`]: a rollup sequencer on anvil (Ethereum or OP Stack rules) whose every block
//!   validates strictly, under a random load, with malicious-sequencer faults on demand.

pub mod anvil;
pub mod deploy;
pub mod operators;
pub mod rollup;

pub use anvil::{Anvil, AnvilConfig, AnvilError};
pub use deploy::{deploy, DeployConfig};
pub use operators::onboard_operator;
pub use rollup::{FaultKind, Network, Produced, Rollup, RollupConfig, RollupError};
