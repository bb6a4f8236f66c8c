//! Operator keys: EigenLayer-compatible ECDSA and BLS key files, and BN254 BLS signatures.
//!
//! Files written by the `eigenlayer` CLI load here unchanged and files written here load there:
//! an ECDSA key is a Web3 Secret Storage v3 keystore, a BLS key is `{"pubKey":"E([X,Y])",
//! "crypto":{…}}` with the same encryption. New files use scrypt n=262144 r=8 p=1 and are created
//! 0600 inside a 0700 directory. BLS signing follows EigenLayer's hash-to-G1 so signatures verify
//! in the middleware's `checkSignatures`.

pub mod bls;
pub mod dir;
pub mod ecdsa;
mod error;
pub mod file;
pub mod keystore;
pub mod password;

pub use bls::{BlsSecretKey, BlsSignature, G1PublicKey, G2PublicKey};
pub use dir::{default_key_dir, KeyDir, KeyListing};
pub use ecdsa::EcdsaSecretKey;
pub use error::KeyError;
pub use file::{open_bls, open_ecdsa, KeyFile, PublicKeyInfo, SecretKey};
pub use password::PasswordSource;

use std::fmt;

/// The two kinds of operator key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// secp256k1: the operator's Ethereum account.
    Ecdsa,
    /// BN254 BLS: the operator's signing key for AVS tasks.
    Bls,
}

impl KeyType {
    /// The spelling of `--key-type` and of file names: `ecdsa` or `bls`.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Ecdsa => "ecdsa",
            Self::Bls => "bls",
        }
    }

    /// The environment variable the reference node and opt-in scripts read the password from.
    pub fn password_env(self) -> &'static str {
        match self {
            Self::Ecdsa => "OPERATOR_ECDSA_KEY_PASSWORD",
            Self::Bls => "OPERATOR_BLS_KEY_PASSWORD",
        }
    }

    /// `.ecdsa.key.json` or `.bls.key.json`, the suffix the `eigenlayer` CLI gives key files.
    pub fn file_suffix(self) -> &'static str {
        match self {
            Self::Ecdsa => ".ecdsa.key.json",
            Self::Bls => ".bls.key.json",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ecdsa => "ECDSA",
            Self::Bls => "BLS",
        })
    }
}
