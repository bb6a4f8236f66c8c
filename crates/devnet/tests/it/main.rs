//! The integration tests of `mach-devnet`, linked as one test binary: one module per file.
//! `tests/anvil_missing.rs` stays its own binary: it sets `MACH_ANVIL_BIN`, which every test
//! here reads when it starts anvil.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

mod deploy;
mod rollup;

/// The live-verifier tests' helpers, from `mach-verifier-live`'s `tests/it/support`.
#[path = "../../../verifier-live/tests/it/support/mod.rs"]
mod support;
