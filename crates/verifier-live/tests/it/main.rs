//! The integration tests of `mach-verifier-live`, linked as one test binary: one module per
//! file, and `support`, what the live-verifier tests share (`mach-devnet`'s tests use it too).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

mod carried;
mod follow;
mod follow_op;
mod fuzz;
mod prefetch;
mod robustness;
mod rpc_state;
mod support;
