//! Errors of L1 interaction.

use std::path::PathBuf;

/// What went wrong talking to L1 or reading the files that describe it.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The RPC URL is not a URL.
    #[error("invalid RPC URL {url:?}: {reason}")]
    InvalidUrl {
        /// The rejected text.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The RPC endpoint did not answer.
    #[error("cannot reach the L1 RPC at {url}: {reason}; check ETH_RPC_URL / --rpc-url and that the node is up")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// The transport's reason.
        reason: String,
    },
    /// An RPC call failed.
    #[error("{what}: {reason}")]
    Rpc {
        /// What was being done.
        what: String,
        /// The error from the node.
        reason: String,
    },
    /// A transaction (or its gas estimation) reverted.
    #[error("{what} reverted: {reason}")]
    Reverted {
        /// What was being done, naming the contract.
        what: String,
        /// The decoded revert reason.
        reason: String,
    },
    /// A transaction was not mined in time.
    #[error("{what}: transaction {hash} was not mined within {seconds} s")]
    Timeout {
        /// What was being done.
        what: String,
        /// The transaction hash.
        hash: String,
        /// How long we waited.
        seconds: u64,
    },
    /// A deployment record could not be read or written.
    #[error("deployment record {}: {reason}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A check before sending found the action cannot succeed; nothing was sent.
    #[error("{0}")]
    Refused(String),
    /// A key could not be loaded or used.
    #[error(transparent)]
    Key(#[from] mach_keys::KeyError),
    /// The ECDSA signer could not be built or could not sign.
    #[error(transparent)]
    Signer(#[from] crate::signer::SignerError),
}
