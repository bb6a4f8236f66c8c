//! secp256k1 keys: the operator's Ethereum account, which signs EigenLayer registration and
//! opt-in transactions.

use crate::keystore::{fill_random, strip_0x};
use crate::KeyError;
use alloy_primitives::Address;
use k256::ecdsa::SigningKey;
use zeroize::Zeroizing;

/// A secp256k1 private key. The scalar is wiped from memory when the value is dropped.
#[derive(Clone)]
pub struct EcdsaSecretKey(SigningKey);

impl EcdsaSecretKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn random() -> Self {
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            fill_random(bytes.as_mut());
            if let Ok(key) = Self::from_bytes(bytes.as_ref()) {
                return key;
            }
        }
    }

    /// The key with this 32-byte big-endian scalar; fails for zero or values ≥ the group order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        // k256 left-pads 24 to 31 bytes; a key file's secret is exactly 32.
        let exact = (bytes.len() == 32).then_some(bytes);
        exact
            .and_then(|b| SigningKey::from_slice(b).ok())
            .map(Self)
            .ok_or_else(|| {
                KeyError::InvalidPrivateKey(
                "an ECDSA private key is 32 bytes, non-zero and below the secp256k1 group order"
                    .into(),
            )
            })
    }

    /// Parses 64 hex digits, with or without `0x`, in any letter case.
    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        let bare = strip_0x(s.trim());
        if bare.len() != 64 {
            return Err(KeyError::InvalidPrivateKey(format!(
                "an ECDSA private key is 64 hex digits, got {} characters",
                bare.len()
            )));
        }
        let bytes = Zeroizing::new(
            hex::decode(bare).map_err(|e| KeyError::InvalidPrivateKey(format!("not hex: {e}")))?,
        );
        Self::from_bytes(&bytes)
    }

    /// The 32-byte big-endian scalar.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes().into())
    }

    /// `0x`-prefixed lowercase hex of the scalar, the form `mach keys import` reads back.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("0x{}", hex::encode(self.to_bytes().as_ref())))
    }

    /// The Ethereum address: the last 20 bytes of keccak256 of the uncompressed public key.
    pub fn address(&self) -> Address {
        Address::from_private_key(&self.0)
    }

    /// The signing key, for building transaction signers.
    pub fn signing_key(&self) -> &SigningKey {
        &self.0
    }
}

impl std::fmt::Debug for EcdsaSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EcdsaSecretKey({})", self.address())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    #[test]
    fn known_answer_anvil_account_zero() {
        let key = EcdsaSecretKey::from_hex(
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        )
        .unwrap();
        assert_eq!(
            key.address(),
            address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert_eq!(
            key.to_hex().as_str(),
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        );
        let upper = EcdsaSecretKey::from_hex(
            "AC0974BEC39A17E36BA4A6B4D238FF944BACB478CBED5EFCAE784D7BF4F2FF80",
        )
        .unwrap();
        assert_eq!(upper.address(), key.address());
    }

    #[test]
    fn rejects_zero_short_and_non_hex() {
        assert!(EcdsaSecretKey::from_hex(&"0".repeat(64)).is_err());
        assert!(EcdsaSecretKey::from_hex("0x1234").is_err());
        assert!(EcdsaSecretKey::from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let key = EcdsaSecretKey::random();
        let shown = format!("{key:?}");
        assert!(!shown.contains(&hex::encode(key.to_bytes().as_ref())));
    }
}
