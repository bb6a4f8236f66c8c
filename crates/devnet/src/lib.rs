//! Local MACH networks and deployments.
//!
//! - [`anvil`]: find, start and stop anvil chains (free ports, logs kept, killed on drop).
//! - [`mod@deploy`]: deploy EigenLayer core and middleware (from `eigen-utils` bytecode) and MACH's
//!   contracts to any L1, EigenLayer-style behind proxies, and write the deployment record.
//! - [`operators`]: onboard operators with stake through the real registration code paths.
//! - [`rollup`]: a rollup sequencer on anvil (Ethereum or OP Stack rules) whose every block
//!   validates strictly, under a random load, with malicious-sequencer faults on demand.
//! - [`up`]: the devnet supervisor (`mach devnet up`): chains, deployment, operators, and the
//!   roles started as `mach` processes from their own files, with a control endpoint for faults.
//! - [`record`]: the files a running devnet keeps in its directory (`devnet.json`,
//!   `faults.json`, `processes.json`, `devnet.pid`).
//! - [`control`]: `mach devnet down | fault | status` against a running devnet.
//! - [`cerberus`]: a stand-in for Cerberus, the remote BLS signer (its gRPC API, one key held
//!   in memory), for `up --remote-bls-operator`, tests and benchmarks; not for production.

pub mod anvil;
pub mod cerberus;
pub mod control;
pub mod deploy;
pub mod operators;
pub mod record;
pub mod rollup;
pub mod up;

pub use anvil::{Anvil, AnvilConfig, AnvilError};
pub use deploy::{deploy, DeployConfig};
pub use operators::onboard_operator;
pub use rollup::{FaultKind, Network, Produced, Rollup, RollupConfig, RollupError};
pub use up::UpConfig;
