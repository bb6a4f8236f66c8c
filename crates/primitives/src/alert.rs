//! Alerts a verifier raises and the hashes operators sign for them.

use alloy_primitives::{keccak256, B256, U256};
use alloy_sol_types::SolValue;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The 32-byte digest that identifies an alert's content. It is what the contract stores once the
/// alert is confirmed, and what `contains(messageHash)` answers for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageHash(pub B256);

impl fmt::Display for MessageHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One alert as a verifier sends it to its operator node (the `alert_*` JSON-RPC methods).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Alert {
    /// `alert_blockMismatch`: the rollup published `invalid_output_root` for an L2 block whose
    /// correct output root is `expect_output_root`.
    BlockMismatch {
        /// Output root the sequencer committed to.
        invalid_output_root: B256,
        /// Output root the verifier computed.
        expect_output_root: B256,
        /// L2 block the roots belong to.
        l2_block_number: U256,
    },
    /// `alert_blockHash`: a block hash the verifier found invalid.
    BlockHash {
        /// Hash of the invalid block.
        hash: B256,
    },
    /// `alert_blockOutputOracleMismatch`: the L2 output oracle holds a wrong root at an index.
    BlockOutputOracleMismatch {
        /// Output root the verifier computed.
        expect_output_root: B256,
        /// Index of the wrong entry in the output oracle.
        invalid_output_index: U256,
    },
}

impl Alert {
    /// The message hash of ARCHITECTURE section 4: integers enter as their minimal big-endian
    /// bytes (no leading zeros; zero is the empty string).
    pub fn message_hash(&self) -> MessageHash {
        match self {
            Self::BlockMismatch {
                invalid_output_root,
                expect_output_root,
                l2_block_number,
            } => {
                let mut buf = Vec::with_capacity(96);
                buf.extend_from_slice(invalid_output_root.as_slice());
                buf.extend_from_slice(expect_output_root.as_slice());
                buf.extend_from_slice(&minimal_be_bytes(*l2_block_number));
                MessageHash(keccak256(buf))
            }
            Self::BlockHash { hash } => MessageHash(*hash),
            Self::BlockOutputOracleMismatch {
                expect_output_root,
                invalid_output_index,
            } => {
                let mut buf = Vec::with_capacity(64);
                buf.extend_from_slice(expect_output_root.as_slice());
                buf.extend_from_slice(&minimal_be_bytes(*invalid_output_index));
                MessageHash(keccak256(buf))
            }
        }
    }
}

/// Big-endian bytes of `value` without leading zero bytes, as Go's `big.Int.Bytes()`.
fn minimal_be_bytes(value: U256) -> Vec<u8> {
    let bytes = value.to_be_bytes::<32>();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[first..].to_vec()
}

/// The hash an operator BLS-signs for an alert task: `keccak256(abi.encode(messageHash,
/// referenceBlockNumber))`, the hash of the contract's reduced alert header. The reference block
/// is the L1 block whose registry state (keys, stakes) the signature is checked against.
pub fn sign_hash(message_hash: MessageHash, reference_block_number: u32) -> B256 {
    keccak256((message_hash.0, reference_block_number).abi_encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::b256;

    #[test]
    fn minimal_bytes() {
        assert_eq!(minimal_be_bytes(U256::ZERO), Vec::<u8>::new());
        assert_eq!(minimal_be_bytes(U256::from(1)), vec![1]);
        assert_eq!(minimal_be_bytes(U256::from(0x0100)), vec![1, 0]);
        assert_eq!(
            minimal_be_bytes(U256::from(166_853u64)),
            vec![0x02, 0x8b, 0xc5]
        );
    }

    #[test]
    fn block_hash_alert_signs_the_hash_itself() {
        let hash = b256!("7ddde84c00000000000000000000000000000000000000000000000000000001");
        assert_eq!(Alert::BlockHash { hash }.message_hash(), MessageHash(hash));
    }

    #[test]
    fn block_mismatch_hash_packs_minimal_number() {
        let invalid = B256::repeat_byte(0x11);
        let expect = B256::repeat_byte(0x22);
        let alert = Alert::BlockMismatch {
            invalid_output_root: invalid,
            expect_output_root: expect,
            l2_block_number: U256::from(0x0102u64),
        };
        let mut buf = [0u8; 66];
        buf[..32].fill(0x11);
        buf[32..64].fill(0x22);
        buf[64] = 1;
        buf[65] = 2;
        assert_eq!(alert.message_hash(), MessageHash(keccak256(buf)));
    }

    #[test]
    fn output_oracle_hash_with_zero_index_is_hash_of_root() {
        let expect = B256::repeat_byte(0x33);
        let alert = Alert::BlockOutputOracleMismatch {
            expect_output_root: expect,
            invalid_output_index: U256::ZERO,
        };
        assert_eq!(alert.message_hash(), MessageHash(keccak256(expect)));
    }

    #[test]
    fn sign_hash_is_abi_encoded_pair() {
        let m = MessageHash(B256::repeat_byte(0xab));
        let mut buf = [0u8; 64];
        buf[..32].fill(0xab);
        buf[60..].copy_from_slice(&7u32.to_be_bytes());
        assert_eq!(sign_hash(m, 7), keccak256(buf));
    }
}
