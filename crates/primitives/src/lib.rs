//! Data types shared by every MACH role, with no I/O but reading an env file ([`env::Env`]).
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

/// An error and its sources, `: `-separated: how `mach` prints an error (`error: {e:#}`), for
/// libraries that turn a typed error with sources into a message.
pub fn error_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
