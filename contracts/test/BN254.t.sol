// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BN254} from "../src/libraries/BN254.sol";
import {MachFixture} from "./MachFixture.sol";
import {BlsVectors} from "./utils/BlsVectors.sol";

/// @notice The curve library and the test vectors: the G2 table is proven with the pairing
/// precompile, and a signature made with eigensdk's Rust BLS code verifies here.
contract BN254Test is MachFixture {
    using BN254 for BN254.G1Point;

    function _onCurve(BN254.G1Point memory p) internal pure returns (bool) {
        uint256 q = BN254.FP_MODULUS;
        return mulmod(p.Y, p.Y, q) == addmod(mulmod(mulmod(p.X, p.X, q), p.X, q), 3, q);
    }

    function test_g2TableEntriesAreMultiplesOfTheGenerator() public view {
        (uint256[] memory scalars, BN254.G2Point[] memory points) = BlsVectors.g2Table();
        for (uint256 i = 0; i < scalars.length; i++) {
            // e(s·G1, −G2) · e(G1, P) = 1  <=>  P = s·G2
            (bool ok, bool equal) = BN254.safePairing(
                BN254.generatorG1().scalarMul(scalars[i]),
                BN254.negGeneratorG2(),
                BN254.generatorG1(),
                points[i],
                type(uint64).max
            );
            vm.assertTrue(ok && equal, "table entry is s*G2");
        }
    }

    function test_hashToG1_onCurveAndDeterministic() public view {
        for (uint256 i = 0; i < 20; i++) {
            bytes32 h = keccak256(abi.encode(i));
            BN254.G1Point memory p = BN254.hashToG1(h);
            vm.assertTrue(_onCurve(p), "on curve");
            // Try-and-increment starts at h mod p and moves up by one.
            uint256 start = uint256(h) % BN254.FP_MODULUS;
            vm.assertTrue(p.X >= start && p.X - start < 100, "x found near h mod p");
            vm.assertEq(BN254.hashToG1(h).Y, p.Y, "deterministic");
        }
        // Above the modulus the input is reduced first.
        BN254.G1Point memory top = BN254.hashToG1(bytes32(type(uint256).max));
        vm.assertTrue(top.X < BN254.FP_MODULUS && _onCurve(top), "reduced");
    }

    function test_negateAndPlus() public view {
        BN254.G1Point memory g = BN254.generatorG1();
        BN254.G1Point memory zero = g.plus(g.negate());
        vm.assertEq(zero.X, 0, "g - g = infinity (x)");
        vm.assertEq(zero.Y, 0, "g - g = infinity (y)");
        vm.assertEq(BN254.G1Point(0, 0).negate().Y, 0, "-infinity = infinity");
        vm.assertEq(g.plus(g).X, g.scalarMul(2).X, "g + g = 2g");
    }

    /// @dev Revert data of `require(false, reason)`.
    function _reason(string memory reason) internal pure returns (bytes memory) {
        return abi.encodeWithSignature("Error(string)", reason);
    }

    function test_invalidPointReverts() public {
        // The library called from this contract (through the external wrappers below).
        vm.expectRevert(_reason("ec-add-failed"));
        this.addExternal(BN254.G1Point(1, 3), BN254.generatorG1());
        vm.expectRevert(_reason("ec-mul-failed"));
        this.mulExternal(BN254.G1Point(1, 3), 2);
    }

    function addExternal(BN254.G1Point memory a, BN254.G1Point memory b) external view returns (BN254.G1Point memory) {
        return a.plus(b);
    }

    function mulExternal(BN254.G1Point memory p, uint256 s) external view returns (BN254.G1Point memory) {
        return p.scalarMul(s);
    }

    /// @notice The service manager's signature check reverts with the library's strings.
    function test_serviceManagerRevertsWithLibraryStrings() public {
        bytes32 message = keccak256("message");
        uint256 s = sk[0];
        BN254.G1Point memory apk = BN254.generatorG1().scalarMul(s);
        BN254.G2Point memory apkG2 = BlsVectors.g2Mul(s);
        BN254.G1Point memory sigma = BN254.hashToG1(message).scalarMul(s);
        (bool ok, bool valid) = mach.trySignatureAndApkVerification(message, apk, apkG2, sigma);
        vm.assertTrue(ok && valid, "valid inputs");

        // An aggregate key off the curve fails in the scalar multiplication by gamma, a
        // signature off the curve in the addition after it.
        _expectReason("ec-mul-failed");
        mach.trySignatureAndApkVerification(message, BN254.G1Point(1, 3), apkG2, sigma);
        _expectReason("ec-add-failed");
        mach.trySignatureAndApkVerification(message, apk, apkG2, BN254.G1Point(1, 3));

        // The modular-exponentiation precompile (behind hashToG1) failing.
        vm.mockCallRevert(address(0x05), "", "");
        _expectReason("BN254.expMod: call failure");
        mach.trySignatureAndApkVerification(message, apk, apkG2, sigma);
    }

    /// @dev A signature made off-chain with eigensdk-rs 2.0.0's BN254 code: the message mapped
    /// with `eigen_crypto_bn254::utils::map_to_curve` (what `eigen_crypto_bls::BlsKeyPair::
    /// sign_message` uses), multiplied by the secret with arkworks; the G2 public key written the
    /// way `eigen_crypto_bls::convert_to_g2_point` writes it (X = [c1, c0], Y = [c1, c0]).
    /// Secret key: 12345678901234567890123456789012345678901234567890.
    function test_signatureFromEigensdkRust() public view {
        bytes32 message = 0x0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186;
        BN254.G1Point memory hashed = BN254.G1Point(
            0x0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6188,
            0x02d041858bc5ddc3d3993a127b15afe1d77e7e3641d4a3a4e8589e2c1b443042
        );
        BN254.G1Point memory sigma = BN254.G1Point(
            0x1eb755cd0d3eeb5a8d86c995e22a9480bbec595cbe778afcd1a9f79c4e91a545,
            0x0244bfdf3b8ac5ab5a76617fe9e63ea61dfb7d861415075a8fcc2c4896261764
        );
        BN254.G1Point memory pubkeyG1 = BN254.G1Point(
            0x1dec996e9993d39d5580aab1cf950cf153ee37e89888d3f71fdd38e1af0b9e28,
            0x1efe06b70e6d83e6140b5aa55e0e7ad198a385fed4894873e31777e2e88836de
        );
        BN254.G2Point memory pubkeyG2 = BN254.G2Point(
            [
                uint256(0x1458f4f20299f295680707e55d2988086e2993f616c198ea0e2715491b1f8d89),
                0x2bf05191e68e998358147db0f4839faef4c3470645b95e8afb383bf27ed07165
            ],
            [
                uint256(0x2c0c84e560ef6032c14e2ab23d552a190ce6d622639bd1321a2443034e4377e3),
                0x25e54ef955b65968a83dcb819b849ec480c3554fa5653cb36176905c9fe54420
            ]
        );
        // The map to the curve agrees (this message needs two increments).
        BN254.G1Point memory ours = BN254.hashToG1(message);
        vm.assertEq(ours.X, hashed.X, "hashToG1 x");
        vm.assertEq(ours.Y, hashed.Y, "hashToG1 y (same square root)");
        // Signing agrees.
        uint256 secret = 12345678901234567890123456789012345678901234567890;
        vm.assertEq(ours.scalarMul(secret).X, sigma.X, "sigma x");
        vm.assertEq(BN254.generatorG1().scalarMul(secret).Y, pubkeyG1.Y, "public key y");
        // And it verifies with the Rust crate's G2 layout.
        (bool ok, bool valid) = mach.trySignatureAndApkVerification(message, pubkeyG1, pubkeyG2, sigma);
        vm.assertTrue(ok && valid, "eigensdk signature verifies");
        // The other layout does not.
        BN254.G2Point memory swapped =
            BN254.G2Point([pubkeyG2.X[1], pubkeyG2.X[0]], [pubkeyG2.Y[1], pubkeyG2.Y[0]]);
        (ok, valid) = mach.trySignatureAndApkVerification(message, pubkeyG1, swapped, sigma);
        vm.assertFalse(ok && valid, "swapped G2 layout rejected");
    }
}
