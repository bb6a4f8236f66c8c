//! `mach bench …`: performance figures measured on this machine, written into
//! `docs/benchmarks.md` with the command that reproduces them. Nothing here asserts a time.
//!
//! One module per benchmark, each with a `run` that measures, prints the section and, given a
//! file, replaces that section in it ([`report::write_section`]):
//!
//! - [`keys`]: key file decryption (scrypt).
//! - [`bls`]: the aggregator's BLS signature verification, batch against individual.
//! - [`bls_signer`]: one alert signature in memory against one through the Cerberus protocol.
//! - [`alert`]: an alert end to end on anvil (aggregator and nodes in this process).
//! - [`validate`]: block validation from memory (generated range, or real OP Stack blocks).
//! - [`verifier`]: the live verifier over JSON-RPC against an anvil rollup.
//! - [`rpc`]: what `mach rpc` adds to the rollup's JSON-RPC.
//! - [`devnet`]: invalid block to confirmed alert on whole devnets ([`mach_devnet::up`]).
//!
//! The benchmarks that run `mach` itself (`rpc`, `devnet`) take the executable's path.

pub mod alert;
pub mod bls;
pub mod bls_signer;
pub mod devnet;
pub mod keys;
pub mod report;
pub mod rpc;
pub mod validate;
pub mod verifier;
