//! Key files from other implementations load here, files written here load in an independent
//! keystore implementation, and BLS signatures verify under a pairing check written in this
//! test rather than taken from the crate.

use alloy_primitives::{address, keccak256, B256, U256};
use ark_bn254::{Bn254, Fq, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, Field, PrimeField};
use mach_keys::file::{encrypt_bls, encrypt_ecdsa};
use mach_keys::keystore::{self, CryptoJson};
use mach_keys::{BlsSecretKey, EcdsaSecretKey, KeyError, KeyFile, KeyType, PublicKeyInfo};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn geth_ecdsa_file_decrypts_to_anvil_account_zero() {
    let file = KeyFile::read(&data("geth.ecdsa.key.json"), Some(KeyType::Ecdsa)).unwrap();
    assert_eq!(
        file.public(),
        &PublicKeyInfo::Ecdsa {
            address: address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        }
    );
    let key = file.decrypt_ecdsa("").unwrap();
    assert_eq!(
        key.to_hex().as_str(),
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    );
    let err = file.decrypt_ecdsa("not the password").unwrap_err();
    assert!(matches!(err, KeyError::WrongPassword { .. }));
    assert!(err.to_string().starts_with("wrong password for "), "{err}");
}

#[test]
fn eigensdk_go_bls_file_decrypts_and_matches_its_public_key() {
    let path = data("eigensdk-go.bls.key.json");
    let file = KeyFile::read(&path, Some(KeyType::Bls)).unwrap();
    // decrypt_bls checks the decrypted scalar gives the stored pubKey.
    let key = file.decrypt_bls("").unwrap();
    assert_eq!(
        key.public_key().to_string(),
        "E([643552363890320897587044283125191574906281609959531590546948318138132520777,\
         7028377728703212953187883551402495866059211864756496641401904395458852281995])"
    );
}

#[test]
fn web3_secret_storage_spec_vectors() {
    for name in ["web3-spec-scrypt.json", "web3-spec-pbkdf2.json"] {
        let text = std::fs::read_to_string(data(name)).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let crypto: CryptoJson = serde_json::from_value(value["crypto"].clone()).unwrap();
        let secret = keystore::decrypt(&crypto, "testpassword").unwrap();
        assert_eq!(
            hex::encode(secret.as_slice()),
            "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d",
            "{name}"
        );
        assert_eq!(
            keystore::decrypt(&crypto, "wrong"),
            Err(keystore::CryptoError::WrongPassword)
        );
    }
}

#[test]
fn files_from_other_tools_are_read_leniently() {
    // Go's JSON decoder ignores field-name case, and hex may carry 0x in any case.
    let text = std::fs::read_to_string(data("geth.ecdsa.key.json")).unwrap();
    let shouted = text
        .replace("\"crypto\"", "\"Crypto\"")
        .replace(
            "\"address\": \"f39fd6e51aad88f6f4ce6ab8827279cfffb92266\"",
            "\"address\": \"0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266\"",
        )
        .replace("\"iv\": \"43df", "\"iv\": \"0x43DF")
        .replace("\"mac\": \"20ec8e9f", "\"mac\": \"0X20EC8E9F");
    assert_ne!(shouted, text);
    let file = KeyFile::parse(
        Path::new("shouted.json"),
        shouted.as_bytes(),
        Some(KeyType::Ecdsa),
    )
    .unwrap();
    file.decrypt_ecdsa("").unwrap();
}

#[test]
fn files_written_here_load_in_an_independent_keystore_implementation() {
    let tmp = tempfile::tempdir().unwrap();
    let ecdsa = EcdsaSecretKey::random();
    let ecdsa_path = tmp.path().join("k.ecdsa.key.json");
    std::fs::write(&ecdsa_path, encrypt_ecdsa(&ecdsa, "pw").unwrap()).unwrap();
    let plain = eth_keystore::decrypt_key(&ecdsa_path, "pw").unwrap();
    assert_eq!(plain.as_slice(), ecdsa.to_bytes().as_slice());

    // The BLS file carries the same crypto object: wrap it as a v3 keystore for the other tool.
    let bls = BlsSecretKey::random();
    let written: serde_json::Value =
        serde_json::from_slice(&encrypt_bls(&bls, "pw").unwrap()).unwrap();
    assert_eq!(written["pubKey"], bls.public_key().to_string());
    assert_eq!(written["crypto"]["kdfparams"]["n"], 262_144);
    assert_eq!(written["crypto"]["kdfparams"]["r"], 8);
    assert_eq!(written["crypto"]["kdfparams"]["p"], 1);
    let wrapped = serde_json::json!({
        "crypto": written["crypto"],
        "id": "3198bc9c-6672-4ab3-9995-4942343ae5b6",
        "version": 3,
    });
    let wrapped_path = tmp.path().join("wrapped.json");
    std::fs::write(&wrapped_path, wrapped.to_string()).unwrap();
    let plain = eth_keystore::decrypt_key(&wrapped_path, "pw").unwrap();
    assert_eq!(plain.as_slice(), bls.to_be_bytes().as_slice());
}

#[test]
fn key_type_confusion_is_reported_both_ways() {
    let err = KeyFile::read(&data("geth.ecdsa.key.json"), Some(KeyType::Bls)).unwrap_err();
    assert!(
        err.to_string()
            .contains("is a ECDSA key file, not a BLS key file; pass --key-type ecdsa"),
        "{err}"
    );
    let err = KeyFile::read(&data("eigensdk-go.bls.key.json"), Some(KeyType::Ecdsa)).unwrap_err();
    assert!(err.to_string().contains("pass --key-type bls"), "{err}");
}

#[test]
fn malformed_files_name_the_field() {
    let text = std::fs::read_to_string(data("eigensdk-go.bls.key.json")).unwrap();
    let cases = [
        (
            text.replace("\"d8a38c68f3400aeb93084672b6e3ae61\"", "42"),
            "crypto.cipherparams.iv",
        ),
        (text.replace("\"kdf\": \"scrypt\",", ""), "crypto"),
        (text.replace("E([643552", "E([x643552"), "pubKey"),
        ("[1, 2]".to_string(), "(document)"),
        ("{\"pubKey\": ".to_string(), "(document)"),
    ];
    for (bytes, field) in cases {
        let err =
            KeyFile::parse(Path::new("f.json"), bytes.as_bytes(), Some(KeyType::Bls)).unwrap_err();
        match &err {
            KeyError::Malformed { field: got, .. } => {
                assert!(got.starts_with(field), "{field}: {err}")
            }
            other => panic!("{field}: unexpected {other}"),
        }
    }
    let err = KeyFile::read(Path::new("/nonexistent/k.json"), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "key file /nonexistent/k.json does not exist"
    );
}

/// EigenLayer's hash-to-G1 written out here from its definition (x = h mod p, increment until
/// x³+3 has the square root (x³+3)^((p+1)/4)), independent of the crate's implementation.
fn reference_hash_to_g1(hash: B256) -> G1Affine {
    let mut x = Fq::from_be_bytes_mod_order(hash.as_slice());
    let exponent = {
        let mut e = Fq::MODULUS;
        e.add_with_carry(&1u64.into());
        e >> 2
    };
    loop {
        let beta = x * x * x + Fq::from(3u64);
        let y = beta.pow(exponent);
        if y * y == beta {
            return G1Affine::new(x, y);
        }
        x += Fq::ONE;
    }
}

#[test]
fn bls_known_key_signs_verifiably_under_an_independent_pairing_check() {
    let key = BlsSecretKey::from_str_scalar(
        "12248929636257230549931416853095037629726205319386239410403476017439825112537",
    )
    .unwrap();
    let (x, y) = key.public_key().coordinates();
    // The G1 key is sk·G1: check against scalar multiplication done here.
    let sk = ark_bn254::Fr::from_be_bytes_mod_order(key.to_be_bytes().as_slice());
    let expected: G1Affine = (G1Affine::generator() * sk).into();
    let (ex, ey) = expected.xy().unwrap();
    assert_eq!(x, U256::from_be_slice(&ex.into_bigint().to_bytes_be()));
    assert_eq!(y, U256::from_be_slice(&ey.into_bigint().to_bytes_be()));
    assert_eq!(
        key.operator_id().0,
        keccak256([x.to_be_bytes::<32>(), y.to_be_bytes::<32>()].concat())
    );

    let message = keccak256(b"MACH alert");
    let signature = key.sign(&message);
    assert_eq!(
        mach_keys::bls::hash_to_g1(&message),
        reference_hash_to_g1(message)
    );
    let lhs = Bn254::pairing(signature.0, G2Affine::generator());
    let rhs = Bn254::pairing(reference_hash_to_g1(message), key.public_key_g2().0);
    assert_eq!(lhs, rhs, "e(sig, G2) must equal e(H(m), pk2)");
    let wrong = Bn254::pairing(
        reference_hash_to_g1(keccak256(b"other")),
        key.public_key_g2().0,
    );
    assert_ne!(lhs, wrong);
}
