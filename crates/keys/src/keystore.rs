//! The `crypto` object of Web3 Secret Storage v3: a secret encrypted with AES-128-CTR under a key
//! derived from a password by scrypt or PBKDF2, authenticated by a keccak256 MAC.
//!
//! Both EigenLayer key formats embed this object: the ECDSA file is a full v3 keystore, the BLS
//! file wraps the same object next to its public key. Files we write use the parameters geth and
//! the `eigenlayer` CLI use by default (scrypt n=262144 r=8 p=1): decrypting one costs about half
//! a second and 256 MiB of memory, which is the point.
//!
//! The KDFs are RustCrypto's `scrypt` and `pbkdf2`. One exception: RustCrypto refuses scrypt
//! parameters outside RFC 7914's bound N < 2^(16·r), which geth and eigensdk accept and which
//! files in the wild use (the Web3 Secret Storage test vector has n=2^18, r=1); those go through
//! `unbounded_scrypt`, checked against RustCrypto wherever both apply. The MAC is compared in
//! constant time (`subtle`), and every buffer that holds key material is zeroized on drop.

use aes::Aes128;
use alloy_primitives::keccak256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// scrypt cost parameter of the files we write (`StandardScryptN` of geth).
pub const STANDARD_SCRYPT_N: u64 = 1 << 18;
/// scrypt block size of the files we write.
pub const STANDARD_SCRYPT_R: u32 = 8;
/// scrypt parallelism of the files we write (`StandardScryptP` of geth).
pub const STANDARD_SCRYPT_P: u32 = 1;
/// Length of the derived key: 16 bytes of AES key and 16 bytes of MAC key.
const DERIVED_KEY_LEN: usize = 32;
/// Upper bound on the memory a file's scrypt parameters may ask for (128·r·n bytes), so a
/// hostile file cannot make us allocate without limit.
const MAX_SCRYPT_MEMORY: u64 = 4 << 30;
/// Upper bound on the derived key length a file may ask for (only the first 32 bytes are used).
const MAX_DERIVED_KEY_LEN: usize = 1024;
/// Upper bound on scrypt's parallelism (files in the wild use 1), so a hostile file cannot ask
/// for 128·r·p bytes of working memory or p times the work.
const MAX_SCRYPT_P: u32 = 16;
/// Upper bound on PBKDF2 iterations (geth writes 262,144), so a hostile file cannot make
/// decryption run for hours.
const MAX_PBKDF2_ROUNDS: u32 = 10_000_000;

type Aes128Ctr = ctr::Ctr128BE<Aes128>;

/// Why a `crypto` object could not be decrypted. File-level code adds the path.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The MAC did not match: the password is wrong (or the ciphertext was altered).
    #[error("wrong password")]
    WrongPassword,
    /// A field holds a value this implementation does not accept.
    #[error("field `crypto.{field}`: {reason}")]
    Invalid {
        /// Dotted path of the field inside `crypto`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The serialized `crypto` object, in the field order geth writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CryptoJson {
    /// Symmetric cipher; only `aes-128-ctr` exists in practice.
    pub cipher: String,
    /// Encrypted secret, hex.
    pub ciphertext: String,
    /// Cipher parameters (the CTR initial counter).
    pub cipherparams: CipherParams,
    /// Key derivation function: `scrypt` or `pbkdf2`.
    pub kdf: String,
    /// Parameters of the KDF; which fields are present depends on `kdf`.
    pub kdfparams: KdfParams,
    /// keccak256(derived_key[16..32] ++ ciphertext), hex.
    pub mac: String,
}

/// AES-CTR parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CipherParams {
    /// 16-byte initial counter block, hex.
    pub iv: String,
}

/// KDF parameters of either KDF. Serialized in alphabetical order like Go's map encoding, with
/// only the fields of the KDF in use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// PBKDF2 iteration count.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub c: Option<u32>,
    /// Derived key length in bytes (at least 32).
    pub dklen: usize,
    /// scrypt CPU/memory cost, a power of two.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub n: Option<u64>,
    /// scrypt parallelism.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub p: Option<u32>,
    /// PBKDF2 pseudo-random function; only `hmac-sha256`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prf: Option<String>,
    /// scrypt block size.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub r: Option<u32>,
    /// KDF salt, hex.
    pub salt: String,
}

/// Encrypts `secret` under `password` with the standard scrypt parameters and fresh randomness.
pub fn encrypt(secret: &[u8], password: &str) -> Result<CryptoJson, CryptoError> {
    let mut salt = [0u8; 32];
    let mut iv = [0u8; 16];
    fill_random(&mut salt);
    fill_random(&mut iv);
    let kdfparams = KdfParams {
        dklen: DERIVED_KEY_LEN,
        n: Some(STANDARD_SCRYPT_N),
        r: Some(STANDARD_SCRYPT_R),
        p: Some(STANDARD_SCRYPT_P),
        salt: hex::encode(salt),
        ..KdfParams::default()
    };
    encrypt_with(secret, password, "scrypt", kdfparams, iv)
}

/// Encrypts with explicit KDF parameters; used for the standard case and for tests that need
/// cheap parameters or fixed randomness.
pub fn encrypt_with(
    secret: &[u8],
    password: &str,
    kdf: &str,
    kdfparams: KdfParams,
    iv: [u8; 16],
) -> Result<CryptoJson, CryptoError> {
    let mut crypto = CryptoJson {
        cipher: "aes-128-ctr".into(),
        ciphertext: String::new(),
        cipherparams: CipherParams {
            iv: hex::encode(iv),
        },
        kdf: kdf.into(),
        kdfparams,
        mac: String::new(),
    };
    let derived = derive_key(&crypto, password)?;
    let mut ciphertext = secret.to_vec();
    apply_ctr(&derived, &iv, &mut ciphertext);
    crypto.mac = hex::encode(mac(&derived, &ciphertext));
    crypto.ciphertext = hex::encode(ciphertext);
    Ok(crypto)
}

/// Decrypts the secret, checking the MAC first.
pub fn decrypt(crypto: &CryptoJson, password: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if !crypto.cipher.eq_ignore_ascii_case("aes-128-ctr") {
        return Err(invalid(
            "cipher",
            format!(
                "unsupported cipher {:?}, expected \"aes-128-ctr\"",
                crypto.cipher
            ),
        ));
    }
    let iv: [u8; 16] = decode_hex("cipherparams.iv", &crypto.cipherparams.iv)?
        .try_into()
        .map_err(|_| invalid("cipherparams.iv", "must be 16 bytes".into()))?;
    let ciphertext = decode_hex("ciphertext", &crypto.ciphertext)?;
    let expected_mac = decode_hex("mac", &crypto.mac)?;
    let derived = derive_key(crypto, password)?;
    // Constant time: how much of a guessed MAC matched must not show in the timing.
    if !bool::from(mac(&derived, &ciphertext).as_slice().ct_eq(&expected_mac)) {
        return Err(CryptoError::WrongPassword);
    }
    let mut plain = Zeroizing::new(ciphertext);
    apply_ctr(&derived, &iv, &mut plain);
    Ok(plain)
}

fn derive_key(
    crypto: &CryptoJson,
    password: &str,
) -> Result<Zeroizing<[u8; DERIVED_KEY_LEN]>, CryptoError> {
    let params = &crypto.kdfparams;
    if params.dklen < DERIVED_KEY_LEN {
        return Err(invalid(
            "kdfparams.dklen",
            format!(
                "{} is below the 32 bytes the cipher and MAC need",
                params.dklen
            ),
        ));
    }
    if params.dklen > MAX_DERIVED_KEY_LEN {
        return Err(invalid(
            "kdfparams.dklen",
            format!(
                "{} is above {MAX_DERIVED_KEY_LEN} bytes; key files use 32",
                params.dklen
            ),
        ));
    }
    let salt = decode_hex("kdfparams.salt", &params.salt)?;
    let mut full = Zeroizing::new(vec![0u8; params.dklen]);
    match crypto.kdf.to_ascii_lowercase().as_str() {
        "scrypt" => {
            let n = params
                .n
                .ok_or_else(|| invalid("kdfparams.n", "missing".into()))?;
            let r = params
                .r
                .ok_or_else(|| invalid("kdfparams.r", "missing".into()))?;
            let p = params
                .p
                .ok_or_else(|| invalid("kdfparams.p", "missing".into()))?;
            if n < 2 || !n.is_power_of_two() {
                return Err(invalid(
                    "kdfparams.n",
                    format!("{n} is not a power of two above 1"),
                ));
            }
            if 128u64.saturating_mul(u64::from(r)).saturating_mul(n) > MAX_SCRYPT_MEMORY {
                return Err(invalid(
                    "kdfparams.n",
                    format!("n={n} r={r} would need more than 4 GiB of memory"),
                ));
            }
            if r == 0 || p == 0 {
                return Err(invalid(
                    "kdfparams",
                    format!("scrypt r={r} p={p} must be positive"),
                ));
            }
            if p > MAX_SCRYPT_P {
                return Err(invalid(
                    "kdfparams.p",
                    format!("scrypt p={p} is above {MAX_SCRYPT_P}; key files use 1"),
                ));
            }
            let log_n = n.trailing_zeros() as u8;
            match scrypt::Params::new(log_n, r, p, params.dklen) {
                Ok(scrypt_params) => {
                    scrypt::scrypt(password.as_bytes(), &salt, &scrypt_params, &mut full)
                        .map_err(|e| invalid("kdfparams.dklen", e.to_string()))?;
                }
                // RustCrypto enforces RFC 7914's N < 2^(16r); geth does not, and files with
                // small r (the Web3 Secret Storage test vector has r=1) exist.
                Err(_) => unbounded_scrypt(password.as_bytes(), &salt, n, r, p, &mut full),
            }
        }
        "pbkdf2" => {
            let c = params
                .c
                .ok_or_else(|| invalid("kdfparams.c", "missing".into()))?;
            if c == 0 || c > MAX_PBKDF2_ROUNDS {
                return Err(invalid(
                    "kdfparams.c",
                    format!("{c} PBKDF2 rounds: expected 1 to {MAX_PBKDF2_ROUNDS}"),
                ));
            }
            let prf = params.prf.as_deref().unwrap_or("hmac-sha256");
            if !prf.eq_ignore_ascii_case("hmac-sha256") {
                return Err(invalid(
                    "kdfparams.prf",
                    format!("unsupported {prf:?}, expected \"hmac-sha256\""),
                ));
            }
            pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, c, &mut full);
        }
        other => {
            return Err(invalid(
                "kdf",
                format!("unsupported {other:?}, expected \"scrypt\" or \"pbkdf2\""),
            ));
        }
    }
    let mut derived = Zeroizing::new([0u8; DERIVED_KEY_LEN]);
    derived.copy_from_slice(&full[..DERIVED_KEY_LEN]);
    Ok(derived)
}

/// scrypt (RFC 7914) without the RFC's bound on N relative to r, for the parameter sets the
/// RustCrypto implementation refuses. Callers have bounded the memory (128·r·N bytes). Every
/// intermediate buffer is derived from the password and is zeroized on drop.
fn unbounded_scrypt(password: &[u8], salt: &[u8], n: u64, r: u32, p: u32, out: &mut [u8]) {
    let words_per_block = 32 * r as usize;
    let mut bytes = Zeroizing::new(vec![0u8; 4 * words_per_block * p as usize]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, 1, &mut bytes);
    let mut words: Zeroizing<Vec<u32>> = Zeroizing::new(
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    );
    let mut table = Zeroizing::new(vec![0u32; words_per_block * n as usize]);
    for block in words.chunks_exact_mut(words_per_block) {
        ro_mix(block, &mut table, n);
    }
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(words.iter()) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    pbkdf2::pbkdf2_hmac::<Sha256>(password, &bytes, 1, out);
}

/// ROMix over one block of 32·r little-endian words; `table` holds N such blocks.
fn ro_mix(block: &mut [u32], table: &mut [u32], n: u64) {
    let len = block.len();
    let mut scratch = Zeroizing::new(vec![0u32; len]);
    for slot in table.chunks_exact_mut(len) {
        slot.copy_from_slice(block);
        block_mix(slot, block);
    }
    for _ in 0..n {
        // Integerify: the first 64 bits of the last 64-byte chunk, modulo N (a power of two).
        let tail = &block[len - 16..];
        let j = ((u64::from(tail[1]) << 32 | u64::from(tail[0])) & (n - 1)) as usize;
        for ((s, b), v) in scratch
            .iter_mut()
            .zip(block.iter())
            .zip(&table[j * len..(j + 1) * len])
        {
            *s = b ^ v;
        }
        block_mix(&scratch, block);
    }
}

/// BlockMix with Salsa20/8: chunk i of the output sequence goes to position i/2 (even i) or
/// r + i/2 (odd i).
fn block_mix(input: &[u32], output: &mut [u32]) {
    use salsa20::cipher::{typenum::U4, StreamCipherCore};
    let chunks = input.len() / 16;
    let mut x = [0u32; 16];
    x.copy_from_slice(&input[input.len() - 16..]);
    for (i, chunk) in input.chunks_exact(16).enumerate() {
        for (xw, cw) in x.iter_mut().zip(chunk) {
            *xw ^= cw;
        }
        let mut mixed = Zeroizing::new([0u8; 64]);
        salsa20::SalsaCore::<U4>::from_raw_state(x).write_keystream_block((&mut *mixed).into());
        for (xw, c) in x.iter_mut().zip(mixed.chunks_exact(4)) {
            *xw = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        let position = if i % 2 == 0 {
            i / 2
        } else {
            chunks / 2 + i / 2
        };
        output[position * 16..(position + 1) * 16].copy_from_slice(&x);
    }
    x.zeroize();
}

fn mac(derived: &[u8; DERIVED_KEY_LEN], ciphertext: &[u8]) -> [u8; 32] {
    // Starts with the MAC key.
    let mut input = Zeroizing::new(Vec::with_capacity(16 + ciphertext.len()));
    input.extend_from_slice(&derived[16..32]);
    input.extend_from_slice(ciphertext);
    keccak256(&*input).0
}

fn apply_ctr(derived: &[u8; DERIVED_KEY_LEN], iv: &[u8; 16], data: &mut [u8]) {
    let mut cipher = Aes128Ctr::new(derived[..16].into(), iv.into());
    cipher.apply_keystream(data);
}

/// Decodes hex with or without `0x`, in any letter case.
pub(crate) fn decode_hex(field: &'static str, value: &str) -> Result<Vec<u8>, CryptoError> {
    let bare = strip_0x(value.trim());
    hex::decode(bare).map_err(|e| invalid(field, format!("not hex: {e}")))
}

/// `s` without a leading `0x` or `0X`.
pub(crate) fn strip_0x(s: &str) -> &str {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
}

fn invalid(field: &'static str, reason: String) -> CryptoError {
    CryptoError::Invalid { field, reason }
}

/// Fills `buf` from the operating system's CSPRNG. A machine without one cannot make keys
/// safely, so this aborts rather than continue with weak randomness.
pub(crate) fn fill_random(buf: &mut [u8]) {
    if let Err(e) = getrandom::getrandom(buf) {
        tracing::error!(error = %e, "the operating system's random number generator failed");
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap_scrypt() -> KdfParams {
        KdfParams {
            dklen: 32,
            n: Some(16),
            r: Some(8),
            p: Some(1),
            salt: "00".repeat(32),
            ..KdfParams::default()
        }
    }

    #[test]
    fn round_trip_with_cheap_parameters() {
        let crypto =
            encrypt_with(b"secret bytes", "pw", "scrypt", cheap_scrypt(), [7; 16]).unwrap();
        assert_eq!(decrypt(&crypto, "pw").unwrap().as_slice(), b"secret bytes");
        assert_eq!(decrypt(&crypto, "other"), Err(CryptoError::WrongPassword));
    }

    #[test]
    fn rejects_unknown_kdf_and_cipher() {
        let mut crypto = encrypt_with(b"x", "pw", "scrypt", cheap_scrypt(), [0; 16]).unwrap();
        crypto.kdf = "argon2".into();
        assert!(matches!(
            decrypt(&crypto, "pw"),
            Err(CryptoError::Invalid { field: "kdf", .. })
        ));
        crypto.kdf = "scrypt".into();
        crypto.cipher = "aes-256-gcm".into();
        assert!(matches!(
            decrypt(&crypto, "pw"),
            Err(CryptoError::Invalid {
                field: "cipher",
                ..
            })
        ));
    }

    #[test]
    fn rejects_bad_scrypt_n_and_huge_memory() {
        let mut params = cheap_scrypt();
        params.n = Some(1000);
        assert!(matches!(
            encrypt_with(b"x", "pw", "scrypt", params.clone(), [0; 16]),
            Err(CryptoError::Invalid {
                field: "kdfparams.n",
                ..
            })
        ));
        params.n = Some(1 << 30);
        assert!(matches!(
            encrypt_with(b"x", "pw", "scrypt", params, [0; 16]),
            Err(CryptoError::Invalid {
                field: "kdfparams.n",
                ..
            })
        ));
    }

    #[test]
    fn unbounded_scrypt_agrees_with_rustcrypto_where_both_apply() {
        for (log_n, r, p) in [(4u8, 1u32, 1u32), (10, 1, 2), (6, 8, 1), (3, 2, 3)] {
            let params = scrypt::Params::new(log_n, r, p, 48).unwrap();
            let mut expected = [0u8; 48];
            scrypt::scrypt(b"pw", b"salt", &params, &mut expected).unwrap();
            let mut got = [0u8; 48];
            unbounded_scrypt(b"pw", b"salt", 1 << log_n, r, p, &mut got);
            assert_eq!(got, expected, "log_n={log_n} r={r} p={p}");
        }
    }

    #[test]
    fn hex_accepts_prefix_and_case() {
        assert_eq!(decode_hex("mac", "0xABcd").unwrap(), vec![0xab, 0xcd]);
        assert_eq!(decode_hex("mac", "abCD").unwrap(), vec![0xab, 0xcd]);
        assert!(decode_hex("mac", "xyz").is_err());
    }
}
