//! The two EigenLayer key-file formats.
//!
//! - ECDSA: a Web3 Secret Storage v3 keystore as geth writes it,
//!   `{"address":"<40 hex>","crypto":{…},"id":"<uuid>","version":3}`.
//! - BLS: `{"pubKey":"E([X,Y])","crypto":{…}}`, the `crypto` object encrypting the 32-byte
//!   big-endian private scalar (the format of the `eigenlayer` CLI and eigensdk).
//!
//! Reading is as lenient as the Go tools that write these files: field names in any letter case
//! (Go's JSON decoder ignores case), hex with or without `0x`, scrypt or PBKDF2.

use crate::bls::{BlsSecretKey, G1PublicKey};
use crate::ecdsa::EcdsaSecretKey;
use crate::keystore::{self, CryptoError, CryptoJson};
use crate::{KeyError, KeyType, PasswordSource};
use alloy_primitives::Address;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The public part of a key file, readable without the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKeyInfo {
    /// An ECDSA key file and the address it declares.
    Ecdsa {
        /// The Ethereum address of the key.
        address: Address,
    },
    /// A BLS key file and the G1 public key it declares.
    Bls {
        /// The G1 public key; the operator ID follows from it.
        public_key: G1PublicKey,
    },
}

impl PublicKeyInfo {
    /// Which format the file is in.
    pub fn key_type(&self) -> KeyType {
        match self {
            Self::Ecdsa { .. } => KeyType::Ecdsa,
            Self::Bls { .. } => KeyType::Bls,
        }
    }
}

/// A parsed, still encrypted key file.
#[derive(Clone, Debug)]
pub struct KeyFile {
    path: PathBuf,
    public: PublicKeyInfo,
    crypto: CryptoJson,
}

#[derive(Serialize, Deserialize)]
struct EcdsaJson {
    address: String,
    crypto: CryptoJson,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    version: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct BlsJson {
    #[serde(rename = "pubkey")]
    pubkey: String,
    crypto: CryptoJson,
}

/// The BLS file as written, with the field name spelled as eigensdk spells it.
#[derive(Serialize)]
struct BlsJsonOut<'a> {
    #[serde(rename = "pubKey")]
    pub_key: String,
    crypto: &'a CryptoJson,
}

impl KeyFile {
    /// Reads and parses `path`, checking it is a key file of `expected` type when given.
    pub fn read(path: &Path, expected: Option<KeyType>) -> Result<Self, KeyError> {
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => KeyError::NotFound {
                path: path.to_path_buf(),
            },
            _ => KeyError::Read {
                path: path.to_path_buf(),
                source,
            },
        })?;
        Self::parse(path, &bytes, expected)
    }

    /// Parses the bytes of a key file; `path` is only used in messages.
    pub fn parse(path: &Path, bytes: &[u8], expected: Option<KeyType>) -> Result<Self, KeyError> {
        let malformed = |field: &str, reason: String| KeyError::Malformed {
            path: path.to_path_buf(),
            field: field.to_string(),
            reason,
        };
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| malformed("(document)", format!("not valid JSON: {e}")))?;
        let value = lowercase_keys(value);
        let Some(object) = value.as_object() else {
            return Err(malformed("(document)", "expected a JSON object".into()));
        };
        let found = if object.contains_key("pubkey") {
            KeyType::Bls
        } else if object.contains_key("address") {
            KeyType::Ecdsa
        } else if object.contains_key("crypto") {
            return Err(malformed(
                "pubKey / address",
                "neither a BLS key file (no `pubKey`) nor an ECDSA key file (no `address`)".into(),
            ));
        } else {
            return Err(malformed(
                "crypto",
                "missing: this is not an EigenLayer key file".into(),
            ));
        };
        if let Some(expected) = expected {
            if expected != found {
                return Err(KeyError::WrongKeyType {
                    path: path.to_path_buf(),
                    expected,
                    found,
                });
            }
        }
        let (public, crypto) = match found {
            KeyType::Ecdsa => {
                let parsed: EcdsaJson = typed(path, value)?;
                let address = Address::from_str(parsed.address.trim())
                    .map_err(|e| malformed("address", format!("not a 20-byte hex address: {e}")))?;
                (PublicKeyInfo::Ecdsa { address }, parsed.crypto)
            }
            KeyType::Bls => {
                let parsed: BlsJson = typed(path, value)?;
                let public_key = G1PublicKey::from_str(&parsed.pubkey)
                    .map_err(|e| malformed("pubKey", e.to_string()))?;
                (PublicKeyInfo::Bls { public_key }, parsed.crypto)
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            public,
            crypto,
        })
    }

    /// The public part declared by the file.
    pub fn public(&self) -> &PublicKeyInfo {
        &self.public
    }

    /// Where the file was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Decrypts an ECDSA key file and checks the key gives the declared address.
    pub fn decrypt_ecdsa(&self, password: &str) -> Result<EcdsaSecretKey, KeyError> {
        let PublicKeyInfo::Ecdsa { address } = self.public else {
            return Err(self.wrong_type(KeyType::Ecdsa));
        };
        let secret = self.decrypt(password)?;
        let key = EcdsaSecretKey::from_bytes(&secret).map_err(|e| self.corrupt(e))?;
        if key.address() != address {
            return Err(KeyError::Mismatch {
                path: self.path.clone(),
                what: "address",
                stored: address.to_string(),
                derived: key.address().to_string(),
            });
        }
        Ok(key)
    }

    /// Decrypts a BLS key file and checks the key gives the declared public key.
    pub fn decrypt_bls(&self, password: &str) -> Result<BlsSecretKey, KeyError> {
        let PublicKeyInfo::Bls { public_key } = self.public else {
            return Err(self.wrong_type(KeyType::Bls));
        };
        let secret = self.decrypt(password)?;
        let key = BlsSecretKey::from_be_bytes(&secret).map_err(|e| self.corrupt(e))?;
        if key.public_key() != public_key {
            return Err(KeyError::Mismatch {
                path: self.path.clone(),
                what: "public key",
                stored: public_key.to_string(),
                derived: key.public_key().to_string(),
            });
        }
        Ok(key)
    }

    fn decrypt(&self, password: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
        keystore::decrypt(&self.crypto, password).map_err(|e| match e {
            CryptoError::WrongPassword => KeyError::WrongPassword {
                path: self.path.clone(),
            },
            CryptoError::Invalid { field, reason } => KeyError::Malformed {
                path: self.path.clone(),
                field: format!("crypto.{field}"),
                reason,
            },
        })
    }

    fn wrong_type(&self, expected: KeyType) -> KeyError {
        KeyError::WrongKeyType {
            path: self.path.clone(),
            expected,
            found: self.public.key_type(),
        }
    }

    fn corrupt(&self, e: KeyError) -> KeyError {
        KeyError::Malformed {
            path: self.path.clone(),
            field: "crypto.ciphertext".into(),
            reason: format!("decrypts to an unusable key ({e})"),
        }
    }
}

/// A private key of either type, as `mach keys` creates, imports, shows and exports them.
#[derive(Clone)]
pub enum SecretKey {
    /// The operator's Ethereum account key.
    Ecdsa(EcdsaSecretKey),
    /// The AVS signing key.
    Bls(BlsSecretKey),
}

impl SecretKey {
    /// A fresh random key of `key_type`.
    pub fn random(key_type: KeyType) -> Self {
        match key_type {
            KeyType::Ecdsa => Self::Ecdsa(EcdsaSecretKey::random()),
            KeyType::Bls => Self::Bls(BlsSecretKey::random()),
        }
    }

    /// A private key as given to `mach keys import`: hex for ECDSA, hex (`0x…`) or a decimal
    /// scalar for BLS.
    pub fn parse(key_type: KeyType, text: &str) -> Result<Self, KeyError> {
        Ok(match key_type {
            KeyType::Ecdsa => Self::Ecdsa(EcdsaSecretKey::from_hex(text)?),
            KeyType::Bls => Self::Bls(BlsSecretKey::from_str_scalar(text)?),
        })
    }

    /// Reads and decrypts the key file at `path` ([`open_ecdsa`], [`open_bls`]).
    pub fn open(
        key_type: KeyType,
        path: &Path,
        password_file: Option<PathBuf>,
    ) -> Result<Self, KeyError> {
        Ok(match key_type {
            KeyType::Ecdsa => Self::Ecdsa(open_ecdsa(path, password_file, None)?),
            KeyType::Bls => Self::Bls(open_bls(path, password_file, None)?),
        })
    }

    /// Which type of key it is.
    pub fn key_type(&self) -> KeyType {
        match self {
            Self::Ecdsa(_) => KeyType::Ecdsa,
            Self::Bls(_) => KeyType::Bls,
        }
    }

    /// The bytes of a new key file holding the key under `password`.
    pub fn encrypt(&self, password: &str) -> Result<Vec<u8>, KeyError> {
        match self {
            Self::Ecdsa(key) => encrypt_ecdsa(key, password),
            Self::Bls(key) => encrypt_bls(key, password),
        }
    }

    /// The private key in clear text: ECDSA as `0x` hex, BLS as a decimal scalar.
    pub fn reveal(&self) -> zeroize::Zeroizing<String> {
        match self {
            Self::Ecdsa(key) => key.to_hex(),
            Self::Bls(key) => key.to_decimal(),
        }
    }
}

/// Reads the ECDSA key file at `path` and decrypts it. The password: `password_file` if given,
/// else `password` (a value read from an env file), else `OPERATOR_ECDSA_KEY_PASSWORD`, else a
/// prompt on a terminal ([`PasswordSource`]). The file is parsed first, so a wrong or broken
/// file is reported before a password is asked for.
pub fn open_ecdsa(
    path: &Path,
    password_file: Option<PathBuf>,
    password: Option<String>,
) -> Result<EcdsaSecretKey, KeyError> {
    let file = KeyFile::read(path, Some(KeyType::Ecdsa))?;
    let password = PasswordSource::new(KeyType::Ecdsa, password_file)
        .with_password(password)
        .unlock(path)?;
    file.decrypt_ecdsa(&password)
}

/// Reads the BLS key file at `path` and decrypts it, with the password found as for
/// [`open_ecdsa`] (`OPERATOR_BLS_KEY_PASSWORD` in the environment).
pub fn open_bls(
    path: &Path,
    password_file: Option<PathBuf>,
    password: Option<String>,
) -> Result<BlsSecretKey, KeyError> {
    let file = KeyFile::read(path, Some(KeyType::Bls))?;
    let password = PasswordSource::new(KeyType::Bls, password_file)
        .with_password(password)
        .unlock(path)?;
    file.decrypt_bls(&password)
}

/// The bytes of a new ECDSA key file in geth's layout.
pub fn encrypt_ecdsa(key: &EcdsaSecretKey, password: &str) -> Result<Vec<u8>, KeyError> {
    let crypto = keystore::encrypt(key.to_bytes().as_ref(), password).map_err(KeyError::Encrypt)?;
    let json = EcdsaJson {
        address: hex::encode(key.address()),
        crypto,
        id: Some(uuid::Uuid::new_v4().to_string()),
        version: Some(3),
    };
    serde_json::to_vec(&json).map_err(|e| {
        KeyError::Encrypt(CryptoError::Invalid {
            field: "(document)",
            reason: e.to_string(),
        })
    })
}

/// The bytes of a new BLS key file in eigensdk's layout.
pub fn encrypt_bls(key: &BlsSecretKey, password: &str) -> Result<Vec<u8>, KeyError> {
    let crypto =
        keystore::encrypt(key.to_be_bytes().as_ref(), password).map_err(KeyError::Encrypt)?;
    let json = BlsJsonOut {
        pub_key: key.public_key().to_string(),
        crypto: &crypto,
    };
    serde_json::to_vec(&json).map_err(|e| {
        KeyError::Encrypt(CryptoError::Invalid {
            field: "(document)",
            reason: e.to_string(),
        })
    })
}

/// Deserializes with the failing field's path in the error.
fn typed<T: DeserializeOwned>(path: &Path, value: Value) -> Result<T, KeyError> {
    serde_path_to_error::deserialize(value).map_err(|e| KeyError::Malformed {
        path: path.to_path_buf(),
        field: e.path().to_string(),
        reason: e.into_inner().to_string(),
    })
}

/// Lowercases every object key, mirroring Go's case-insensitive JSON field matching.
fn lowercase_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), lowercase_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(lowercase_keys).collect()),
        other => other,
    }
}
