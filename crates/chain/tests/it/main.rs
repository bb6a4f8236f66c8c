//! The integration tests of `mach-chain`, linked as one test binary: one module per file. The
//! remote signers are tested against real protocol servers the tests start (`support`): a
//! web3signer eth1 API served in process, and moto's AWS KMS (`make setup` installs it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

mod kms;
mod support;
mod web3signer;
