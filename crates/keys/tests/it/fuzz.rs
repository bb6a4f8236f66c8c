//! Property tests for the key-file parser (`KeyFile::parse`, then `decrypt_ecdsa` /
//! `decrypt_bls`), the keystore `crypto` object (`keystore::decrypt`) and the key and signature
//! byte parsers. Arbitrary and mutated input gives a key or an error with a message, never a
//! panic. Every file that is decrypted here has tiny KDF parameters (scrypt n ≤ 16, PBKDF2
//! c ≤ 16); the vendored files (scrypt n = 262144) are only parsed, never decrypted.

use mach_keys::keystore::{self, CipherParams, CryptoError, CryptoJson, KdfParams};
use mach_keys::{
    BlsSecretKey, BlsSignature, EcdsaSecretKey, G1PublicKey, KeyError, KeyFile, KeyType,
};
use mach_test_support::fuzz::config;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::Path;

const VENDORED: [&[u8]; 4] = [
    include_bytes!("../data/geth.ecdsa.key.json"),
    include_bytes!("../data/eigensdk-go.bls.key.json"),
    include_bytes!("../data/web3-spec-pbkdf2.json"),
    include_bytes!("../data/web3-spec-scrypt.json"),
];

fn parse(bytes: &[u8], expected: Option<KeyType>) -> Result<KeyFile, KeyError> {
    KeyFile::parse(Path::new("fuzz.key.json"), bytes, expected)
}

fn kdf() -> impl Strategy<Value = (String, KdfParams)> {
    let salt = prop::collection::vec(any::<u8>(), 0..33).prop_map(hex::encode);
    let scrypt = (1u32..5, 1u32..4, 1u32..3, 32usize..80, salt.clone()).prop_map(
        |(log_n, r, p, dklen, salt)| {
            let n = Some(1u64 << log_n);
            (
                "scrypt".to_string(),
                KdfParams {
                    dklen,
                    n,
                    r: Some(r),
                    p: Some(p),
                    salt,
                    ..KdfParams::default()
                },
            )
        },
    );
    let pbkdf2 = (1u32..17, 32usize..80, salt).prop_map(|(c, dklen, salt)| {
        let prf = Some("hmac-sha256".to_string());
        (
            "pbkdf2".to_string(),
            KdfParams {
                c: Some(c),
                dklen,
                prf,
                salt,
                ..KdfParams::default()
            },
        )
    });
    prop_oneof![scrypt, pbkdf2]
}

/// A key file of either type for a random key, encrypted under `password` with cheap parameters.
fn cheap_key_file() -> impl Strategy<Value = (Value, KeyType, [u8; 32])> {
    // Below 2^253: under both group orders, so the bytes are the key's canonical form.
    let secret = any::<[u8; 32]>()
        .prop_map(|mut s| {
            s[0] &= 0x1f;
            s
        })
        .prop_filter("a non-zero key", |s| s.iter().any(|b| *b != 0));
    (secret, kdf(), any::<[u8; 16]>(), any::<bool>()).prop_map(
        |(secret, (name, params), iv, bls)| {
            let crypto = keystore::encrypt_with(&secret, "pw", &name, params, iv).unwrap();
            let file = if bls {
                let key = BlsSecretKey::from_be_bytes(&secret).unwrap();
                json!({"pubKey": key.public_key().to_string(), "crypto": crypto})
            } else {
                let key = EcdsaSecretKey::from_bytes(&secret).unwrap();
                json!({"address": hex::encode(key.address()), "crypto": crypto, "version": 3})
            };
            (
                file,
                if bls { KeyType::Bls } else { KeyType::Ecdsa },
                secret,
            )
        },
    )
}

/// A replacement for one field of a cheap file; numbers stay small so no KDF gets expensive.
fn mutation() -> impl Strategy<Value = (&'static str, Value)> {
    let path = prop::sample::select(vec![
        "/address",
        "/pubKey",
        "/crypto/cipher",
        "/crypto/ciphertext",
        "/crypto/cipherparams/iv",
        "/crypto/kdf",
        "/crypto/kdfparams/dklen",
        "/crypto/kdfparams/n",
        "/crypto/kdfparams/r",
        "/crypto/kdfparams/p",
        "/crypto/kdfparams/c",
        "/crypto/kdfparams/salt",
        "/crypto/mac",
    ]);
    let value = prop_oneof![
        (0u64..80).prop_map(Value::from),
        Just(json!(-1)),
        Just(json!(1.5)),
        Just(Value::Null),
        "[0-9a-f]{0,70}".prop_map(Value::String),
        ".{0,12}".prop_map(Value::String),
        Just(json!("scrypt")),
        Just(json!("pbkdf2")),
    ];
    (path, value)
}

fn decrypt(file: &KeyFile, key_type: KeyType, password: &str) -> Result<[u8; 32], KeyError> {
    match key_type {
        KeyType::Ecdsa => file.decrypt_ecdsa(password).map(|k| *k.to_bytes()),
        KeyType::Bls => file.decrypt_bls(password).map(|k| *k.to_be_bytes()),
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_are_refused_with_a_message(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let e = parse(&bytes, None).unwrap_err();
        prop_assert!(!e.to_string().is_empty());
    }

    #[test]
    fn mutated_vendored_files_parse_or_fail_cleanly(
        which in 0usize..4,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..4),
    ) {
        let mut bytes = VENDORED[which].to_vec();
        for (at, op, byte) in edits {
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        // Parsing only: these files use scrypt n = 262144.
        if let Err(e) = parse(&bytes, None) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn signatures_and_keys_from_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..70)) {
        if let Err(e) = BlsSignature::from_bytes(&bytes) { prop_assert!(!e.to_string().is_empty()) }
        if let Ok(key) = EcdsaSecretKey::from_bytes(&bytes) {
            // k256 left-pads 24 to 31 bytes with zeros.
            prop_assert!((24..=32).contains(&bytes.len()));
            prop_assert_eq!(&key.to_bytes()[32 - bytes.len()..], bytes.as_slice());
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = BlsSecretKey::from_str_scalar(&text) { prop_assert!(!e.to_string().is_empty()) }
        if let Ok(key) = EcdsaSecretKey::from_hex(&text) { prop_assert_eq!(EcdsaSecretKey::from_hex(&key.to_hex()).unwrap().address(), key.address()) }
        if let Ok(point) = text.parse::<G1PublicKey>() { prop_assert_eq!(point.to_string().parse::<G1PublicKey>().unwrap(), point) }
    }

    #[test]
    fn arbitrary_crypto_objects_never_panic(
        (kdf_name, mut params) in kdf(),
        cipher in prop::sample::select(vec!["aes-128-ctr", "AES-128-CTR", "aes-256-gcm", ""]),
        iv in "(0x)?[0-9a-f]{0,34}",
        ciphertext in "[0-9a-fA-F]{0,70}|.{0,8}",
        mac in "[0-9a-f]{0,66}",
        n in prop::option::of(0u64..40),
    ) {
        if n.is_some() { params.n = n; }
        let crypto = CryptoJson { cipher: cipher.into(), ciphertext, cipherparams: CipherParams { iv }, kdf: kdf_name, kdfparams: params, mac };
        match keystore::decrypt(&crypto, "pw") {
            Err(CryptoError::Invalid { reason, .. }) => prop_assert!(!reason.is_empty()),
            Err(CryptoError::WrongPassword) | Ok(_) => {}
        }
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn cheap_files_decrypt_and_mutations_fail_cleanly(
        (file, key_type, secret) in cheap_key_file(),
        (path, value) in mutation(),
    ) {
        let bytes = serde_json::to_vec(&file).unwrap();
        let parsed = parse(&bytes, Some(key_type)).unwrap();
        prop_assert_eq!(decrypt(&parsed, key_type, "pw").unwrap(), secret);
        let wrong = decrypt(&parsed, key_type, "wrong");
        let refused = matches!(wrong, Err(KeyError::WrongPassword { .. }));
        prop_assert!(refused, "a wrong password gave {:?}", wrong.map(|_| ()));
        let mut mutated = file;
        if let Some(slot) = mutated.pointer_mut(path) { *slot = value; }
        match parse(&serde_json::to_vec(&mutated).unwrap(), None).and_then(|f| decrypt(&f, key_type, "pw")) {
            Ok(again) => prop_assert_eq!(again, secret, "{} decrypted to another key", mutated),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn signatures_read_back(secret in any::<[u8; 32]>(), hash in any::<[u8; 32]>()) {
        let Ok(key) = BlsSecretKey::from_be_bytes(&secret) else { return Ok(()) };
        let signature = key.sign(&hash.into());
        prop_assert_eq!(BlsSignature::from_bytes(&signature.to_bytes()).unwrap(), signature);
        let public = key.public_key();
        prop_assert_eq!(public.to_string().parse::<G1PublicKey>().unwrap(), public);
    }
}

fn crypto_with(kdfparams: Value) -> Value {
    json!({"cipher": "aes-128-ctr", "ciphertext": "00", "cipherparams": {"iv": "00".repeat(16)},
        "kdf": "scrypt", "kdfparams": kdfparams, "mac": "00"})
}

#[test]
fn memory_hungry_scrypt_is_refused_before_any_work() {
    for (n, r) in [
        (1u64 << 40, 8u64),
        (1 << 62, 8),
        (1 << 26, 1 << 20),
        (1 << 63, u64::from(u32::MAX)),
    ] {
        let params = json!({"dklen": 32, "n": n, "r": r, "p": 1, "salt": "00"});
        let crypto: CryptoJson = serde_json::from_value(crypto_with(params)).unwrap();
        let e = keystore::decrypt(&crypto, "pw").unwrap_err();
        assert!(
            matches!(
                &e,
                CryptoError::Invalid {
                    field: "kdfparams.n",
                    ..
                }
            ),
            "{e}"
        );
    }
}

#[test]
fn deep_nesting_and_huge_fields_are_malformed_files() {
    let deep = format!("{{\"crypto\":{}", "[".repeat(1 << 20));
    let e = parse(deep.as_bytes(), None).unwrap_err();
    assert!(
        matches!(e, KeyError::Malformed { .. }) && e.to_string().contains("recursion limit"),
        "{e}"
    );
    let huge = json!({"address": "ab".repeat(1 << 20), "crypto": crypto_with(json!({"dklen": 32, "salt": ""}))});
    let e = parse(&serde_json::to_vec(&huge).unwrap(), None).unwrap_err();
    assert!(
        matches!(e, KeyError::Malformed { ref field, .. } if field == "address"),
        "{e}"
    );
}

/// A `dklen` near `usize::MAX` is allocated as is: `vec![0; dklen]` in `derive_key` panics with
/// "capacity overflow" (and a dklen of, say, 2^40 aborts the process on allocation failure).
#[test]
fn huge_dklen_is_an_error() {
    let params = json!({"dklen": u64::MAX, "c": 1, "prf": "hmac-sha256", "salt": "00"});
    let mut crypto: CryptoJson = serde_json::from_value(crypto_with(params)).unwrap();
    crypto.kdf = "pbkdf2".into();
    assert!(matches!(
        keystore::decrypt(&crypto, "pw"),
        Err(CryptoError::Invalid { .. })
    ));
}
