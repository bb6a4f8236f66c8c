//! The integration tests of `mach-keys`, linked as one test binary: one module per file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

mod compat;
mod fuzz;
