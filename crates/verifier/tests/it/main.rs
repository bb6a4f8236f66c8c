//! The integration tests of `mach-verifier`, linked as one test binary: one module per file,
//! and `support`, what the live-verifier tests share.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

mod carried;
mod ethereum_fixtures;
mod follow;
mod follow_op;
mod fuzz;
mod op_forks;
mod op_stack;
mod prefetch;
mod robustness;
mod rpc_state;
mod support;
mod transactions;
