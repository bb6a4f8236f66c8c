//! Data types shared by every MACH role, with no I/O.
//!
//! The hashes here are part of the wire format (ARCHITECTURE section 4): an operator node, an
//! aggregator and the `MachServiceManager` contract must all derive the same message hash from an
//! alert and the same sign hash from a message hash and a reference block, or signatures will
//! not verify.

pub mod alert;
pub mod env;
pub mod ids;
pub mod nesting;
pub mod operator;
pub mod rpc;

pub use alert::{sign_hash, Alert, MessageHash};
pub use ids::OperatorId;
