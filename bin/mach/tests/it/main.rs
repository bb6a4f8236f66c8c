//! The integration tests of `mach`, linked as one test binary: one module per file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

mod devnet_cli;
mod devnet_up;
mod doctor_cli;
mod e2e;
mod finality_rpc;
mod keys_cli;
mod operator_cli;
mod remote_bls;
mod remote_signer_cli;
mod signer_cli;
mod support;
mod verifier_cli;
