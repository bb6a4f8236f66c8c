//! BN254 BLS keys and signatures as EigenLayer uses them: public keys and signatures on G1,
//! the aggregation key on G2, hash-to-G1 by try-and-increment (`BN254.hashToG1` of the
//! middleware contracts), so that a signature made here verifies in `checkSignatures` on L1.

use crate::keystore::{fill_random, strip_0x};
use crate::KeyError;
use alloy_primitives::{B256, U256};
use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInt, PrimeField, Zero};
use eigen_crypto_bls::BlsKeyPair;
use mach_primitives::OperatorId;
use std::fmt;
use std::str::FromStr;
use zeroize::{Zeroize, Zeroizing};

/// The order of the BN254 scalar field; private keys are integers in `1..R`.
const SCALAR_FIELD_ORDER: U256 = U256::from_limbs(<Fr as PrimeField>::MODULUS.0);

/// A BLS private key: a non-zero scalar of BN254. Wiped from memory when dropped.
#[derive(Clone)]
pub struct BlsSecretKey {
    scalar: Fr,
    pair: BlsKeyPair,
}

impl BlsSecretKey {
    /// A fresh key: 64 random bytes reduced modulo the group order (negligible bias).
    pub fn random() -> Self {
        loop {
            let mut wide = Zeroizing::new([0u8; 64]);
            fill_random(wide.as_mut());
            let scalar = Fr::from_be_bytes_mod_order(wide.as_ref());
            if let Ok(key) = Self::from_scalar(scalar) {
                return key;
            }
        }
    }

    /// The key with this 32-byte big-endian scalar, as the key file stores it. Values at or above
    /// the group order are reduced, as the `eigenlayer` CLI does when it reads a file.
    pub fn from_be_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 32 {
            return Err(KeyError::InvalidPrivateKey(format!(
                "a BLS private key is 32 bytes, got {}",
                bytes.len()
            )));
        }
        Self::from_scalar(Fr::from_be_bytes_mod_order(bytes))
    }

    /// Parses a scalar given by a person: `0x`-prefixed hex, a plain decimal number (the form
    /// EigenLayer tools print), or bare hex if it contains the letters a-f.
    pub fn from_str_scalar(s: &str) -> Result<Self, KeyError> {
        let s = s.trim();
        let value = if s.starts_with("0x") || s.starts_with("0X") {
            U256::from_str_radix(strip_0x(s), 16)
        } else if s.chars().all(|c| c.is_ascii_digit()) {
            U256::from_str_radix(s, 10)
        } else {
            U256::from_str_radix(s, 16)
        }
        .map_err(|e| {
            KeyError::InvalidPrivateKey(format!(
                "a BLS private key is a decimal or hex number: {e}"
            ))
        })?;
        if value >= SCALAR_FIELD_ORDER {
            return Err(KeyError::InvalidPrivateKey(
                "a BLS private key must be below the BN254 group order".into(),
            ));
        }
        Self::from_scalar(Fr::from_bigint(BigInt::new(value.into_limbs())).unwrap_or_default())
    }

    fn from_scalar(scalar: Fr) -> Result<Self, KeyError> {
        if scalar.is_zero() {
            return Err(KeyError::InvalidPrivateKey(
                "a BLS private key cannot be zero".into(),
            ));
        }
        let decimal = Zeroizing::new(scalar.to_string());
        let pair = BlsKeyPair::new(decimal.to_string())
            .map_err(|e| KeyError::InvalidPrivateKey(e.to_string()))?;
        Ok(Self { scalar, pair })
    }

    /// The 32-byte big-endian scalar, the plaintext of the key file.
    pub fn to_be_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&U256::from_limbs(self.scalar.into_bigint().0).to_be_bytes::<32>());
        out
    }

    /// The scalar in decimal, the form `mach keys export` prints and `import` reads.
    pub fn to_decimal(&self) -> Zeroizing<String> {
        Zeroizing::new(self.scalar.to_string())
    }

    /// The G1 public key registered in the BLSApkRegistry.
    pub fn public_key(&self) -> G1PublicKey {
        G1PublicKey(self.pair.public_key().g1())
    }

    /// The G2 public key, used with the G1 key at registration and in aggregate verification.
    pub fn public_key_g2(&self) -> G2PublicKey {
        G2PublicKey(self.pair.public_key_g2().g2())
    }

    /// The operator ID derived from the G1 public key.
    pub fn operator_id(&self) -> OperatorId {
        self.public_key().operator_id()
    }

    /// Signs a message that is already a point of G1 (the RegistryCoordinator's
    /// proof-of-possession message for a BLS key registration): `sk · point`.
    pub fn sign_g1_point(&self, x: U256, y: U256) -> Result<BlsSignature, KeyError> {
        let point = g1_from_coordinates(x, y).map_err(|e| {
            KeyError::InvalidSignature(format!("cannot sign the message point: {e}"))
        })?;
        Ok(BlsSignature(
            self.pair
                .sign_hashed_to_curve_message(point)
                .g1_point()
                .g1(),
        ))
    }

    /// Signs a 32-byte hash: `sk · hashToG1(hash)`.
    pub fn sign(&self, hash: &B256) -> BlsSignature {
        BlsSignature(self.pair.sign_message(&hash.0).g1_point().g1())
    }
}

impl Drop for BlsSecretKey {
    fn drop(&mut self) {
        self.scalar.zeroize();
    }
}

impl fmt::Debug for BlsSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlsSecretKey(operator {})", self.operator_id())
    }
}

/// A BLS public key on G1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct G1PublicKey(pub G1Affine);

impl G1PublicKey {
    /// Affine X and Y as integers.
    pub fn coordinates(&self) -> (U256, U256) {
        g1_coordinates(&self.0)
    }

    /// keccak256(X ++ Y), the operator's identity in the registries.
    pub fn operator_id(&self) -> OperatorId {
        let (x, y) = self.coordinates();
        OperatorId::from_g1(x, y)
    }

    /// The point from affine coordinates; fails if they are not a point of G1 other than zero.
    pub fn from_coordinates(x: U256, y: U256) -> Result<Self, KeyError> {
        g1_from_coordinates(x, y)
            .map(Self)
            .map_err(KeyError::InvalidPublicKey)
    }

    /// The compressed encoding of gnark-crypto (`G1Affine.Bytes()`), by which Cerberus names
    /// keys: X big-endian in 32 bytes, the first byte's top two bits `0b10` when Y is the
    /// smaller of ±Y (at most (p-1)/2), `0b11` when it is the larger.
    pub fn to_compressed(&self) -> [u8; 32] {
        let (x, _) = self.coordinates();
        let mut out = x.to_be_bytes::<32>();
        let largest = self
            .0
            .xy()
            .map(|(_, y)| y.into_bigint() > Fq::MODULUS_MINUS_ONE_DIV_TWO)
            .unwrap_or(false);
        out[0] |= if largest { 0b1100_0000 } else { 0b1000_0000 };
        out
    }

    /// The inverse of [`Self::to_compressed`]; fails unless the 32 bytes name a point of G1
    /// other than zero in that encoding.
    pub fn from_compressed(bytes: &[u8]) -> Result<Self, KeyError> {
        let bad = |why: &str| KeyError::InvalidPublicKey(format!("compressed G1 key: {why}"));
        if bytes.len() != 32 {
            return Err(bad(&format!("expected 32 bytes, got {}", bytes.len())));
        }
        let flags = bytes[0] & 0b1100_0000;
        let largest = match flags {
            0b1000_0000 => false,
            0b1100_0000 => true,
            0b0100_0000 => return Err(bad("the point at infinity")),
            _ => return Err(bad("not the compressed form (top bits 0b00)")),
        };
        let mut x_bytes = [0u8; 32];
        x_bytes.copy_from_slice(bytes);
        x_bytes[0] &= 0b0011_1111;
        let x = u256_to_fq(U256::from_be_bytes(x_bytes))
            .ok_or_else(|| bad("X is not below the field modulus"))?;
        let rhs = x * x * x + Fq::from(3u64);
        let y = ark_ff::Field::sqrt(&rhs).ok_or_else(|| bad("X is not on the curve"))?;
        let y_is_largest = y.into_bigint() > Fq::MODULUS_MINUS_ONE_DIV_TWO;
        let y = if y_is_largest == largest { y } else { -y };
        let point = G1Affine::new_unchecked(x, y);
        if point.is_zero() || !point.is_on_curve() {
            return Err(bad("not a point of G1"));
        }
        Ok(Self(point))
    }

    /// Whether `g2` is the G2 key of the same secret: e(self, G2) == e(G1, g2).
    pub fn matches_g2(&self, g2: &G2PublicKey) -> bool {
        Bn254::pairing(self.0, G2Affine::generator()) == Bn254::pairing(G1Affine::generator(), g2.0)
    }
}

/// `E([X,Y])` with decimal coordinates: the `pubKey` field of an EigenLayer BLS key file.
impl fmt::Display for G1PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (x, y) = self.coordinates();
        write!(f, "E([{x},{y}])")
    }
}

impl FromStr for G1PublicKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let inner = s
            .trim()
            .strip_prefix("E([")
            .and_then(|rest| rest.strip_suffix("])"))
            .ok_or_else(|| {
                KeyError::InvalidPublicKey(format!(
                    "expected E([X,Y]) with decimal X and Y, got {s:?}"
                ))
            })?;
        let (x, y) = inner.split_once(',').ok_or_else(|| {
            KeyError::InvalidPublicKey(format!("expected two coordinates in {s:?}"))
        })?;
        let parse = |v: &str| {
            U256::from_str_radix(v.trim(), 10).map_err(|e| {
                KeyError::InvalidPublicKey(format!(
                    "coordinate {:?} is not a decimal number: {e}",
                    v.trim()
                ))
            })
        };
        Self::from_coordinates(parse(x)?, parse(y)?)
    }
}

/// A BLS public key on G2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct G2PublicKey(pub G2Affine);

impl G2PublicKey {
    /// Coordinates in the order EigenLayer contracts take them (`BN254.G2Point`): each of X
    /// and Y as `[imaginary part, real part]`.
    pub fn to_solidity(&self) -> ([U256; 2], [U256; 2]) {
        let (x, y) = self.0.xy().unwrap_or_default();
        (
            [fq_to_u256(&x.c1), fq_to_u256(&x.c0)],
            [fq_to_u256(&y.c1), fq_to_u256(&y.c0)],
        )
    }

    /// The inverse of [`Self::to_solidity`]; fails unless the result is a point of G2 other than
    /// zero.
    pub fn from_solidity(x: [U256; 2], y: [U256; 2]) -> Result<Self, KeyError> {
        let fq = |v: U256| {
            u256_to_fq(v).ok_or_else(|| {
                KeyError::InvalidPublicKey(format!(
                    "G2 coordinate {v} is not below the field modulus"
                ))
            })
        };
        let point = G2Affine::new_unchecked(
            Fq2::new(fq(x[1])?, fq(x[0])?),
            Fq2::new(fq(y[1])?, fq(y[0])?),
        );
        if point.is_zero()
            || !point.is_on_curve()
            || !point.is_in_correct_subgroup_assuming_on_curve()
        {
            return Err(KeyError::InvalidPublicKey("not a point of G2".into()));
        }
        Ok(Self(point))
    }

    /// The compressed encoding of gnark-crypto (`G2Affine.Bytes()`), Cerberus's
    /// `public_key_g2`: X's imaginary part (A1) then its real part (A0), each 32 bytes
    /// big-endian, with the first byte's top two bits `0b10` when Y is the smaller of ±Y and
    /// `0b11` when it is the larger. gnark orders elements of Fp2 by A1, and by A0 only when A1
    /// is zero.
    pub fn to_compressed(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        let Some((x, y)) = self.0.xy() else {
            // Not reachable through this type's constructors; gnark's form of the point at
            // infinity.
            out[0] = 0b0100_0000;
            return out;
        };
        out[..32].copy_from_slice(&fq_to_u256(&x.c1).to_be_bytes::<32>());
        out[32..].copy_from_slice(&fq_to_u256(&x.c0).to_be_bytes::<32>());
        out[0] |= if fq2_is_largest(&y) {
            0b1100_0000
        } else {
            0b1000_0000
        };
        out
    }

    /// The inverse of [`Self::to_compressed`]; fails unless the 64 bytes name a point of G2
    /// other than zero in that encoding (each half below the field modulus, X on the twist,
    /// the point in the prime-order subgroup).
    pub fn from_compressed(bytes: &[u8]) -> Result<Self, KeyError> {
        use ark_ec::short_weierstrass::SWCurveConfig;
        let bad = |why: &str| KeyError::InvalidPublicKey(format!("compressed G2 key: {why}"));
        if bytes.len() != 64 {
            return Err(bad(&format!("expected 64 bytes, got {}", bytes.len())));
        }
        let largest = match bytes[0] & 0b1100_0000 {
            0b1000_0000 => false,
            0b1100_0000 => true,
            0b0100_0000 => return Err(bad("the point at infinity")),
            _ => return Err(bad("not the compressed form (top bits 0b00)")),
        };
        let mut imaginary = [0u8; 32];
        imaginary.copy_from_slice(&bytes[..32]);
        imaginary[0] &= 0b0011_1111;
        let part = |half: [u8; 32]| {
            u256_to_fq(U256::from_be_bytes(half))
                .ok_or_else(|| bad("a coordinate is not below the field modulus"))
        };
        let mut real = [0u8; 32];
        real.copy_from_slice(&bytes[32..]);
        let x = Fq2::new(part(real)?, part(imaginary)?);
        let rhs = x * x * x + ark_bn254::g2::Config::COEFF_B;
        let y = ark_ff::Field::sqrt(&rhs).ok_or_else(|| bad("X is not on the curve"))?;
        let y = if fq2_is_largest(&y) == largest { y } else { -y };
        let point = G2Affine::new_unchecked(x, y);
        if point.is_zero() || !point.is_on_curve() {
            return Err(bad("not a point of the curve"));
        }
        if !point.is_in_correct_subgroup_assuming_on_curve() {
            return Err(bad("not in the prime-order subgroup of G2"));
        }
        Ok(Self(point))
    }
}

/// gnark-crypto's `E2.LexicographicallyLargest`: A1 above (p-1)/2, or A0 when A1 is zero.
fn fq2_is_largest(v: &Fq2) -> bool {
    let half = Fq::MODULUS_MINUS_ONE_DIV_TWO;
    if v.c1.is_zero() {
        v.c0.into_bigint() > half
    } else {
        v.c1.into_bigint() > half
    }
}

/// A BLS signature, a point of G1. On the wire (aggregator RPC) it is 64 bytes: X ++ Y.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlsSignature(pub G1Affine);

impl BlsSignature {
    /// X ++ Y, each 32 bytes big-endian.
    pub fn to_bytes(&self) -> [u8; 64] {
        let (x, y) = g1_coordinates(&self.0);
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&x.to_be_bytes::<32>());
        out[32..].copy_from_slice(&y.to_be_bytes::<32>());
        out
    }

    /// Parses X ++ Y; fails unless it is 64 bytes encoding a point of G1 other than zero.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 64 {
            return Err(KeyError::InvalidSignature(format!(
                "expected 64 bytes, got {}",
                bytes.len()
            )));
        }
        let x = U256::from_be_slice(&bytes[..32]);
        let y = U256::from_be_slice(&bytes[32..]);
        g1_from_coordinates(x, y)
            .map(Self)
            .map_err(KeyError::InvalidSignature)
    }

    /// Affine X and Y as integers.
    pub fn coordinates(&self) -> (U256, U256) {
        g1_coordinates(&self.0)
    }
}

/// EigenLayer's hash-to-G1 (try-and-increment from `hash mod p`).
pub fn hash_to_g1(hash: &B256) -> G1Affine {
    eigen_crypto_bn254::utils::map_to_curve(&hash.0)
}

/// Whether `signature` is a signature of `hash` by the holder of `public_key`:
/// e(signature, G2) == e(hashToG1(hash), public_key).
pub fn verify(public_key: &G2PublicKey, hash: &B256, signature: &BlsSignature) -> bool {
    eigen_crypto_bn254::utils::verify_message(public_key.0, &hash.0, signature.0)
}

/// Whether `signature` is `sk · P` for the point `P = (x, y)` of G1 and the holder of
/// `public_key` (a proof of possession): e(signature, G2) == e(P, public_key).
pub fn verify_g1_point(
    public_key: &G2PublicKey,
    x: U256,
    y: U256,
    signature: &BlsSignature,
) -> bool {
    let Ok(point) = g1_from_coordinates(x, y) else {
        return false;
    };
    Bn254::pairing(signature.0, G2Affine::generator()) == Bn254::pairing(point, public_key.0)
}

/// The sum of signatures; it verifies against the sum of the signers' G2 keys.
pub fn aggregate_signatures<'a>(
    signatures: impl IntoIterator<Item = &'a BlsSignature>,
) -> BlsSignature {
    let sum: G1Projective = signatures
        .into_iter()
        .map(|s| G1Projective::from(s.0))
        .sum();
    BlsSignature(sum.into_affine())
}

/// The sum of G1 public keys (an aggregate public key as the BLSApkRegistry keeps it).
pub fn aggregate_g1<'a>(keys: impl IntoIterator<Item = &'a G1PublicKey>) -> G1PublicKey {
    let sum: G1Projective = keys.into_iter().map(|k| G1Projective::from(k.0)).sum();
    G1PublicKey(sum.into_affine())
}

/// The sum of G2 public keys.
pub fn aggregate_g2<'a>(keys: impl IntoIterator<Item = &'a G2PublicKey>) -> G2PublicKey {
    let sum: G2Projective = keys.into_iter().map(|k| G2Projective::from(k.0)).sum();
    G2PublicKey(sum.into_affine())
}

fn fq_to_u256(v: &Fq) -> U256 {
    U256::from_limbs(v.into_bigint().0)
}

fn u256_to_fq(v: U256) -> Option<Fq> {
    Fq::from_bigint(BigInt::new(v.into_limbs()))
}

fn g1_coordinates(p: &G1Affine) -> (U256, U256) {
    p.xy()
        .map(|(x, y)| (fq_to_u256(&x), fq_to_u256(&y)))
        .unwrap_or_default()
}

fn g1_from_coordinates(x: U256, y: U256) -> Result<G1Affine, String> {
    let (Some(fx), Some(fy)) = (u256_to_fq(x), u256_to_fq(y)) else {
        return Err("coordinate is not below the field modulus".into());
    };
    let point = G1Affine::new_unchecked(fx, fy);
    // G1 of BN254 has cofactor 1: every point on the curve is in the group.
    if point.is_zero() || !point.is_on_curve() {
        return Err(format!("({x}, {y}) is not a point of G1"));
    }
    Ok(point)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    #[test]
    fn secret_key_parsing_forms_agree() {
        let dec = BlsSecretKey::from_str_scalar("255").unwrap();
        let hex0x = BlsSecretKey::from_str_scalar("0xFF").unwrap();
        let bare = BlsSecretKey::from_str_scalar("ff").unwrap();
        assert_eq!(dec.public_key(), hex0x.public_key());
        assert_eq!(dec.public_key(), bare.public_key());
        assert_eq!(dec.to_decimal().as_str(), "255");
        let mut bytes = [0u8; 32];
        bytes[31] = 0xff;
        assert_eq!(*dec.to_be_bytes(), bytes);
        assert_eq!(
            BlsSecretKey::from_be_bytes(&bytes).unwrap().public_key(),
            dec.public_key()
        );
    }

    #[test]
    fn rejects_zero_and_out_of_range_scalars() {
        assert!(BlsSecretKey::from_str_scalar("0").is_err());
        assert!(BlsSecretKey::from_str_scalar(&SCALAR_FIELD_ORDER.to_string()).is_err());
        assert!(BlsSecretKey::from_str_scalar("not a number").is_err());
        assert!(BlsSecretKey::from_be_bytes(&[0u8; 32]).is_err());
        assert!(BlsSecretKey::from_be_bytes(&[1u8; 31]).is_err());
    }

    #[test]
    fn key_one_is_the_generator() {
        let key = BlsSecretKey::from_str_scalar("1").unwrap();
        assert_eq!(
            key.public_key().coordinates(),
            (U256::from(1), U256::from(2))
        );
        assert_eq!(key.public_key().to_string(), "E([1,2])");
        assert_eq!(key.public_key_g2().0, G2Affine::generator());
        assert_eq!(
            key.operator_id(),
            OperatorId::from_g1(U256::from(1), U256::from(2))
        );
    }

    #[test]
    fn pubkey_string_round_trip_and_errors() {
        let key = BlsSecretKey::random();
        let text = key.public_key().to_string();
        assert_eq!(text.parse::<G1PublicKey>().unwrap(), key.public_key());
        assert!("E([1,3])".parse::<G1PublicKey>().is_err());
        assert!("([1,2])".parse::<G1PublicKey>().is_err());
        assert!("E([1;2])".parse::<G1PublicKey>().is_err());
        assert!("E([x,2])".parse::<G1PublicKey>().is_err());
    }

    #[test]
    fn sign_verify_aggregate() {
        let keys: Vec<_> = (0..3).map(|_| BlsSecretKey::random()).collect();
        let hash = keccak256(b"alert");
        let sigs: Vec<_> = keys.iter().map(|k| k.sign(&hash)).collect();
        for (k, s) in keys.iter().zip(&sigs) {
            assert!(verify(&k.public_key_g2(), &hash, s));
            assert!(!verify(&k.public_key_g2(), &keccak256(b"other"), s));
            assert!(k.public_key().matches_g2(&k.public_key_g2()));
        }
        let g2s: Vec<_> = keys.iter().map(BlsSecretKey::public_key_g2).collect();
        let agg_sig = aggregate_signatures(&sigs);
        assert!(verify(&aggregate_g2(&g2s), &hash, &agg_sig));
        assert!(!verify(&aggregate_g2(&g2s[..2]), &hash, &agg_sig));
        let g1s: Vec<_> = keys.iter().map(BlsSecretKey::public_key).collect();
        assert!(aggregate_g1(&g1s).matches_g2(&aggregate_g2(&g2s)));
        assert!(!keys[0].public_key().matches_g2(&keys[1].public_key_g2()));
    }

    #[test]
    fn compressed_g1_round_trips_and_matches_gnark() {
        // gnark-crypto's Bytes() of the generator (1, 2): Y = 2 is the smaller root.
        let g = BlsSecretKey::from_str_scalar("1").unwrap().public_key();
        let mut expected = [0u8; 32];
        expected[0] = 0x80;
        expected[31] = 1;
        assert_eq!(g.to_compressed(), expected);
        let mut largest = 0;
        for _ in 0..16 {
            let key = BlsSecretKey::random().public_key();
            let bytes = key.to_compressed();
            largest += usize::from(bytes[0] & 0x40 != 0);
            assert_eq!(G1PublicKey::from_compressed(&bytes).unwrap(), key);
        }
        assert!(largest > 0 && largest < 16, "both signs of Y occur");
        assert!(G1PublicKey::from_compressed(&[0u8; 32]).is_err());
        assert!(G1PublicKey::from_compressed(&[0x40; 32]).is_err());
        assert!(G1PublicKey::from_compressed(&expected[..31]).is_err());
    }

    /// gnark-crypto's `G2Affine.Bytes()` of the BN254 G2 generator, the public key of secret
    /// key 1 (bn254-keystore-go's `GenerateG2PubKey`, which Cerberus reports as
    /// `public_key_g2`, hex-encodes exactly these bytes); the same 64 bytes appear verbatim in
    /// gnark-serialized Groth16 verifying keys.
    const GNARK_G2_GENERATOR: &str = "998e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c21800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed";

    #[test]
    fn compressed_g2_matches_gnark() {
        let decode = |text: &str| hex::decode(text).unwrap();
        let g = BlsSecretKey::from_str_scalar("1").unwrap().public_key_g2();
        assert_eq!(hex::encode(g.to_compressed()), GNARK_G2_GENERATOR);
        assert_eq!(
            G2PublicKey::from_compressed(&decode(GNARK_G2_GENERATOR)).unwrap(),
            g
        );
        // Secret key r-1 gives -G: same X, the other Y, flagged largest (0b11).
        let minus_one = (SCALAR_FIELD_ORDER - U256::from(1)).to_string();
        let neg = BlsSecretKey::from_str_scalar(&minus_one)
            .unwrap()
            .public_key_g2();
        let neg_bytes = neg.to_compressed();
        assert_eq!(
            hex::encode(neg_bytes),
            format!("d9{}", &GNARK_G2_GENERATOR[2..])
        );
        assert_eq!(G2PublicKey::from_compressed(&neg_bytes).unwrap(), neg);
        assert_eq!(neg.0, -g.0);
        // gnark-crypto's own refusals: an X on the twist but outside the subgroup, and an X
        // with no Y at all.
        let outside = format!("89{}", &GNARK_G2_GENERATOR[2..]);
        let err = G2PublicKey::from_compressed(&decode(&outside)).unwrap_err();
        assert!(err.to_string().contains("subgroup"), "{err}");
        let no_root = format!("{}ffff", &GNARK_G2_GENERATOR[..124]);
        let err = G2PublicKey::from_compressed(&decode(&no_root)).unwrap_err();
        assert!(err.to_string().contains("not on the curve"), "{err}");
    }

    #[test]
    fn compressed_g2_round_trips_and_refuses_other_forms() {
        let mut largest = 0;
        for _ in 0..16 {
            let key = BlsSecretKey::random();
            let g2 = key.public_key_g2();
            let bytes = g2.to_compressed();
            largest += usize::from(bytes[0] & 0x40 != 0);
            let back = G2PublicKey::from_compressed(&bytes).unwrap();
            assert_eq!(back, g2);
            assert!(key.public_key().matches_g2(&back));
        }
        assert!(largest > 0 && largest < 16, "both signs of Y occur");
        let g = BlsSecretKey::from_str_scalar("1").unwrap().public_key_g2();
        let bytes = g.to_compressed();
        // Infinity, the uncompressed flag, a wrong length, a half at or above the modulus.
        let mut infinity = [0u8; 64];
        infinity[0] = 0x40;
        assert!(G2PublicKey::from_compressed(&infinity).is_err());
        let mut plain = bytes;
        plain[0] &= 0x3f;
        assert!(G2PublicKey::from_compressed(&plain).is_err());
        assert!(G2PublicKey::from_compressed(&bytes[..63]).is_err());
        assert!(G2PublicKey::from_compressed(&[bytes.as_slice(), &[0]].concat()).is_err());
        let mut high = bytes;
        high[32..].copy_from_slice(&U256::from_limbs(Fq::MODULUS.0).to_be_bytes::<32>());
        assert!(G2PublicKey::from_compressed(&high).is_err());
    }

    #[test]
    fn fp2_order_follows_gnark() {
        let small = Fq::from(1u64);
        let large = -Fq::from(1u64);
        // A1 decides; A0 only when A1 is zero.
        assert!(fq2_is_largest(&Fq2::new(small, large)));
        assert!(!fq2_is_largest(&Fq2::new(large, small)));
        assert!(fq2_is_largest(&Fq2::new(large, Fq::zero())));
        assert!(!fq2_is_largest(&Fq2::new(small, Fq::zero())));
    }

    #[test]
    fn signing_a_point_is_scalar_multiplication() {
        let key = BlsSecretKey::from_str_scalar("7").unwrap();
        // 7 · G1 is the public key itself.
        let sig = key.sign_g1_point(U256::from(1), U256::from(2)).unwrap();
        assert_eq!(sig.0, key.public_key().0);
        assert!(key.sign_g1_point(U256::from(1), U256::from(3)).is_err());
    }

    #[test]
    fn signature_and_g2_encodings_round_trip() {
        let key = BlsSecretKey::random();
        let sig = key.sign(&keccak256(b"m"));
        assert_eq!(BlsSignature::from_bytes(&sig.to_bytes()).unwrap(), sig);
        assert!(BlsSignature::from_bytes(&[0u8; 64]).is_err());
        assert!(BlsSignature::from_bytes(&[1u8; 63]).is_err());
        let (x, y) = key.public_key_g2().to_solidity();
        assert_eq!(
            G2PublicKey::from_solidity(x, y).unwrap(),
            key.public_key_g2()
        );
        assert!(G2PublicKey::from_solidity(y, x).is_err());
    }
}

#[cfg(test)]
mod possession_tests {
    use super::*;

    #[test]
    fn a_proof_of_possession_verifies_only_for_its_key() {
        let key = BlsSecretKey::random();
        let point = hash_to_g1(&B256::repeat_byte(9));
        let (x, y) = g1_coordinates(&point);
        let signature = key.sign_g1_point(x, y).unwrap();
        assert!(verify_g1_point(&key.public_key_g2(), x, y, &signature));
        let other = BlsSecretKey::random();
        assert!(!verify_g1_point(&other.public_key_g2(), x, y, &signature));
        assert!(!verify_g1_point(
            &key.public_key_g2(),
            x + U256::from(1),
            y,
            &signature
        ));
    }
}
