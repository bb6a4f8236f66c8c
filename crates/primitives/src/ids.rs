//! Identifiers of operators.

use alloy_primitives::{keccak256, B256, U256};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An operator's identity in the EigenLayer middleware registries: keccak256 of its BLS G1 public
/// key, `keccak256(abi.encodePacked(X, Y))` with X and Y as 32-byte big-endian words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OperatorId(pub B256);

impl OperatorId {
    /// Derives the id from the affine coordinates of a G1 public key.
    pub fn from_g1(x: U256, y: U256) -> Self {
        let mut packed = [0u8; 64];
        packed[..32].copy_from_slice(&x.to_be_bytes::<32>());
        packed[32..].copy_from_slice(&y.to_be_bytes::<32>());
        Self(keccak256(packed))
    }
}

impl fmt::Display for OperatorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_id_of_generator() {
        // G1 generator (1, 2): keccak256 of 0x00..01 ++ 0x00..02.
        let id = OperatorId::from_g1(U256::from(1), U256::from(2));
        let mut packed = [0u8; 64];
        packed[31] = 1;
        packed[63] = 2;
        assert_eq!(id.0, keccak256(packed));
        assert_eq!(id.to_string(), format!("{}", keccak256(packed)));
        assert!(id.to_string().starts_with("0x"));
    }
}
