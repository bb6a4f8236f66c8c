//! Errors of key handling. Each message names the file and, where there is one, the fix.

use crate::keystore::CryptoError;
use crate::KeyType;
use std::path::PathBuf;

/// Everything that can go wrong reading, writing or using a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file is not there.
    #[error("key file {} does not exist", path.display())]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The unreadable file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not a well-formed key file.
    #[error("{} is not a valid key file: field `{field}`: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Path of the offending field, e.g. `crypto.kdfparams.salt`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An ECDSA file where a BLS file was expected, or the reverse.
    #[error("{} is a {found} key file, not a {expected} key file; pass --key-type {}", path.display(), found.flag())]
    WrongKeyType {
        /// The file.
        path: PathBuf,
        /// The type the caller asked for.
        expected: KeyType,
        /// The type the file is.
        found: KeyType,
    },
    /// The MAC check failed.
    #[error("wrong password for {}", path.display())]
    WrongPassword {
        /// The file.
        path: PathBuf,
    },
    /// The decrypted key does not give the public key or address the file declares.
    #[error("{}: the decrypted key does not match the stored {what} (file says {stored}, key gives {derived}); the file was edited or is corrupt", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// `address` or `public key`.
        what: &'static str,
        /// What the file declares.
        stored: String,
        /// What the decrypted key gives.
        derived: String,
    },
    /// A key file of that name is already there.
    #[error("{} already exists; refusing to overwrite a key (choose another name or move the old file away)", path.display())]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A key name that would not make a plain file name.
    #[error("invalid key name {name:?}: use letters, digits, '.', '_' and '-' only")]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// Writing the key file or its directory failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Encryption failed (only with invalid parameters).
    #[error("cannot encrypt the key: {0}")]
    Encrypt(CryptoError),
    /// A private key given by the user is not valid.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(String),
    /// A public key is not a valid curve point.
    #[error("invalid BLS public key: {0}")]
    InvalidPublicKey(String),
    /// A signature is not a valid curve point.
    #[error("invalid BLS signature: {0}")]
    InvalidSignature(String),
    /// No usable password could be obtained.
    #[error("{0}")]
    Password(String),
    /// No key directory could be determined.
    #[error("cannot find the key directory: {0}")]
    NoKeyDir(String),
}
