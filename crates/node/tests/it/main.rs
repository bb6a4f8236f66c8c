//! The integration tests of `mach-node`, linked as one test binary: one module per file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

mod cerberus;
mod fuzz;
mod node;
