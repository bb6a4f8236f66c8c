// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title BN254 (alt_bn128) curve arithmetic over the EIP-196/197/198 precompiles.
/// @notice Points and hashing follow EigenLayer middleware's `BN254` library, because operators
/// sign with EigenLayer tooling (`eigen-crypto-bls`) and the registries store points in its
/// encoding:
/// - G1 points are affine (X, Y) over Fp; (0, 0) is the point at infinity.
/// - G2 points are affine over Fp2 with each coordinate written imaginary part first:
///   X = X[0]·i + X[1], Y = Y[0]·i + Y[1]. This is exactly the order the pairing precompile
///   (EIP-197) expects, so G2 points go to it as they are.
/// - `hashToG1` is EigenLayer's try-and-increment map, not a constant-time hash-to-curve.
/// - A failed precompile reverts with the middleware library's string (`ec-add-failed`,
///   `ec-mul-failed`, `BN254.expMod: call failure`).
library BN254 {
    /// @notice Order of the base field Fp.
    uint256 internal constant FP_MODULUS =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// @notice Order of the groups G1 and G2 (the scalar field Fr).
    uint256 internal constant FR_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @dev Fp is 3 mod 4, so a square root of a quadratic residue b is b^((p+1)/4).
    uint256 private constant SQRT_EXPONENT = (FP_MODULUS + 1) / 4;

    // Generator of G2 (EIP-197), imaginary part first; the y coordinate below is already negated
    // (each component is p - y), which is what the pairing check uses.
    uint256 private constant G2_X_IM = 11559732032986387107991004021392285783925812861821192530917403151452391805634;
    uint256 private constant G2_X_RE = 10857046999023057135944570762232829481370756359578518086990519993285655852781;
    uint256 private constant NEG_G2_Y_IM = 17805874995975841540914202342111839520379459829704422454583296818431106115052;
    uint256 private constant NEG_G2_Y_RE = 13392588948715843804641432497768002650278120570034223513918757245338268106653;

    /// @notice An affine point of G1.
    struct G1Point {
        uint256 X;
        uint256 Y;
    }

    /// @notice An affine point of G2, Fp2 coordinates imaginary part first (see the library notes).
    struct G2Point {
        uint256[2] X;
        uint256[2] Y;
    }

    /// @notice The generator (1, 2) of G1.
    function generatorG1() internal pure returns (G1Point memory) {
        return G1Point(1, 2);
    }

    /// @notice The negation of the generator of G2.
    function negGeneratorG2() internal pure returns (G2Point memory) {
        return G2Point([G2_X_IM, G2_X_RE], [NEG_G2_Y_IM, NEG_G2_Y_RE]);
    }

    /// @notice -p; the point at infinity stays itself.
    function negate(G1Point memory p) internal pure returns (G1Point memory) {
        if (p.X == 0 && p.Y == 0) {
            return G1Point(0, 0);
        }
        return G1Point(p.X, FP_MODULUS - (p.Y % FP_MODULUS));
    }

    /// @notice a + b (precompile 0x06); reverts "ec-add-failed" for points not on the curve.
    function plus(G1Point memory a, G1Point memory b) internal view returns (G1Point memory r) {
        uint256[4] memory input = [a.X, a.Y, b.X, b.Y];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x06, input, 0x80, r, 0x40)
        }
        require(ok, "ec-add-failed");
    }

    /// @notice s·p (precompile 0x07); reverts "ec-mul-failed" for a point not on the curve.
    function scalarMul(G1Point memory p, uint256 s) internal view returns (G1Point memory r) {
        uint256[3] memory input = [p.X, p.Y, s];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x07, input, 0x60, r, 0x40)
        }
        require(ok, "ec-mul-failed");
    }

    /// @notice Checks e(a1, a2) · e(b1, b2) == 1 with precompile 0x08, spending at most
    /// `gasLimit` on it.
    /// @return success False when the precompile failed (malformed points, out of gas).
    /// @return equal True when the product of the pairings is the identity.
    function safePairing(G1Point memory a1, G2Point memory a2, G1Point memory b1, G2Point memory b2, uint256 gasLimit)
        internal
        view
        returns (bool success, bool equal)
    {
        uint256[12] memory input = [
            a1.X,
            a1.Y,
            a2.X[0],
            a2.X[1],
            a2.Y[0],
            a2.Y[1],
            b1.X,
            b1.Y,
            b2.X[0],
            b2.X[1],
            b2.Y[0],
            b2.Y[1]
        ];
        uint256[1] memory out;
        assembly ("memory-safe") {
            success := staticcall(gasLimit, 0x08, input, 0x180, out, 0x20)
        }
        equal = success && out[0] == 1;
    }

    /// @notice keccak256(X ‖ Y): the operator ID of a G1 public key, and the pre-image of the apk
    /// hashes the BLSApkRegistry stores.
    function hashG1Point(G1Point memory p) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            h := keccak256(p, 0x40)
        }
    }

    /// @notice EigenLayer's map of a 32-byte message to G1: x = h mod p, then x, x+1, … until
    /// x³ + 3 is a square; y is the root b^((p+1)/4).
    function hashToG1(bytes32 h) internal view returns (G1Point memory point) {
        uint256 x = uint256(h) % FP_MODULUS;
        while (true) {
            uint256 beta = addmod(mulmod(mulmod(x, x, FP_MODULUS), x, FP_MODULUS), 3, FP_MODULUS);
            uint256 y = expMod(beta, SQRT_EXPONENT, FP_MODULUS);
            if (mulmod(y, y, FP_MODULUS) == beta) {
                point = G1Point(x, y);
                break;
            }
            // About half of all x give a square, so this ends after a few steps.
            x = addmod(x, 1, FP_MODULUS);
        }
    }

    /// @notice base^exponent mod modulus (precompile 0x05).
    function expMod(uint256 base, uint256 exponent, uint256 modulus) internal view returns (uint256 result) {
        uint256[6] memory input = [uint256(32), 32, 32, base, exponent, modulus];
        uint256[1] memory out;
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x05, input, 0xc0, out, 0x20)
        }
        require(ok, "BN254.expMod: call failure");
        result = out[0];
    }
}
