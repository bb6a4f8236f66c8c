//! The integration tests of `mach-verifier`, linked as one test binary: one module per file.
//! The live verifier's tests are `mach-verifier-live`'s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

mod ethereum_fixtures;
mod fuzz;
mod op_forks;
mod op_stack;
mod transactions;
