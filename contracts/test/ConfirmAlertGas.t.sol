// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IBLSSignatureChecker} from "../src/interfaces/IBLSSignatureChecker.sol";
import {BN254} from "../src/libraries/BN254.sol";
import {MachFixture} from "./MachFixture.sol";

/// @notice Shared by the gas tests: submissions prepared in `setUp` and one measured call.
/// `scripts/contracts.sh gas` runs these under the `gas` profile (EVM Osaka) and reads the
/// CONFIRM_ALERT_GAS lines they print (forge -vv). "execution" is the gas the call used
/// (gasleft() before minus after); "transaction" adds the 21,000 base cost and the calldata cost
/// (4 per zero byte, 16 per other byte) of the same call sent as a transaction. The registries
/// are the test doubles, whose by-index reads cost about what the real ones do.
abstract contract ConfirmAlertGasBase is MachFixture {
    /// @dev Calldata of `confirmAlert` by number of non-signers.
    mapping(uint256 => bytes) internal submissions;
    mapping(uint256 => bytes32) internal messageHashes;
    /// @dev Calldata of the `checkSignatures` call that `confirmAlert` makes, by the same key.
    mapping(uint256 => bytes) internal signatureChecks;

    /// @dev Tries that BN254.hashToG1 makes for the signed message of every measured alert. The
    /// map tries x, x+1, … until x³+3 is a square, about two tries on average, and each try costs
    /// one modexp (about 4,900 gas under Osaka): left to chance, that alone moves a figure by
    /// tens of thousands of gas. Every measured alert is chosen to need exactly the average.
    uint256 internal constant HASH_TO_G1_TRIES = 2;

    /// @dev Prepares, for each count, an alert on quorum 0 at 66 % that operators
    /// `0..count-1` do not sign.
    function _prepare(uint256[] memory nonSignerCounts) internal {
        vm.roll(REGISTRATION_BLOCK + 10);
        for (uint256 k = 0; k < nonSignerCounts.length; k++) {
            uint256 count = nonSignerCounts[k];
            uint32 referenceBlock = uint32(block.number - 1);
            bytes32 messageHash;
            for (uint256 nonce = 0; ; nonce++) {
                messageHash = keccak256(abi.encode("gas", count, nonce));
                if (_hashToG1Tries(_reducedHash(messageHash, referenceBlock)) == HASH_TO_G1_TRIES) break;
            }
            IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
                _sign(_reducedHash(messageHash, referenceBlock), _quorum0(), referenceBlock, _range(0, count));
            messageHashes[count] = messageHash;
            signatureChecks[count] = abi.encodeCall(
                mach.checkSignatures, (_reducedHash(messageHash, referenceBlock), _quorum0(), referenceBlock, params)
            );
            submissions[count] = abi.encodeCall(
                mach.confirmAlert, (_header(messageHash, _quorum0(), hex"42", referenceBlock), params)
            );
        }
    }

    /// @dev Reads everything the submission for `nonSignerCount` reads (the BLS check, the pause
    /// flags, the roles, the thresholds), so that the measured call finds that storage warm.
    function _warm(uint256 nonSignerCount) internal view {
        (bool ok,) = address(mach).staticcall(signatureChecks[nonSignerCount]);
        vm.assertTrue(ok, "the signatures check");
        mach.paused();
        mach.alertConfirmer();
        mach.contains(messageHashes[nonSignerCount]);
    }

    function _measure(string memory setup, uint256 operators, uint256 nonSignerCount) internal {
        bytes memory callData = submissions[nonSignerCount];
        address target = address(mach);

        vm.prank(confirmer, confirmer);
        uint256 before = gasleft();
        (bool ok,) = target.call(callData);
        uint256 execution = before - gasleft();
        vm.assertTrue(ok, "confirmAlert succeeded");
        vm.assertTrue(mach.contains(messageHashes[nonSignerCount]), "alert confirmed");

        uint256 transaction = 21_000 + execution;
        for (uint256 i = 0; i < callData.length; i++) {
            transaction += callData[i] == 0 ? 4 : 16;
        }
        _log(
            string.concat(
                "CONFIRM_ALERT_GAS setup=",
                setup,
                " operators=",
                _decimal(operators),
                " non_signers=",
                _decimal(nonSignerCount),
                " execution=",
                _decimal(execution),
                " transaction=",
                _decimal(transaction),
                " calldata_bytes=",
                _decimal(callData.length)
            )
        );
    }

    /// @dev How many x values BN254.hashToG1 tries for `h` (the same loop, counting).
    function _hashToG1Tries(bytes32 h) internal view returns (uint256 tries) {
        uint256 p = BN254.FP_MODULUS;
        uint256 x = uint256(h) % p;
        for (tries = 1; ; tries++) {
            uint256 beta = addmod(mulmod(mulmod(x, x, p), x, p), 3, p);
            uint256 y = BN254.expMod(beta, (p + 1) / 4, p);
            if (mulmod(y, y, p) == beta) return tries;
            x = addmod(x, 1, p);
        }
    }

    function _decimal(uint256 value) internal pure returns (string memory) {
        if (value == 0) return "0";
        bytes memory digits;
        for (; value != 0; value /= 10) {
            // forge-lint: disable-next-line(unsafe-typecast)
            digits = abi.encodePacked(bytes1(uint8(48 + value % 10)), digits);
        }
        return string(digits);
    }
}

/// @notice Gas of `confirmAlert` on one quorum of 16 operators with 0, 1 and 10 non-signers,
/// cold: each test is a transaction of its own, so the service manager and the registries are
/// untouched when the call starts, as in a real transaction.
contract ConfirmAlertGasTest is ConfirmAlertGasBase {
    function setUp() public override {
        super.setUp();
        // Operators 0..9 hold 1 ether each, 10..15 hold 100 each: even with 0..9 not signing,
        // 600 of 610 is signed.
        uint96[16] memory stakes0;
        uint96[16] memory none;
        for (uint256 i = 0; i < OPERATORS; i++) {
            stakes0[i] = i < 10 ? 1 ether : 100 ether;
        }
        _registerOperators(stakes0, none);
        uint256[] memory counts = new uint256[](3);
        (counts[0], counts[1], counts[2]) = (0, 1, 10);
        _prepare(counts);
    }

    function test_gas_0_nonSigners() public {
        _measure("cold", OPERATORS, 0);
    }

    function test_gas_1_nonSigner() public {
        _measure("cold", OPERATORS, 1);
    }

    function test_gas_10_nonSigners() public {
        _measure("cold", OPERATORS, 10);
    }
}

/// @notice Gas of `confirmAlert` in the configuration of the reference contract's own figures:
/// one quorum of 10 operators with equal stake, 0, 1 and 3 non-signers, measured around the call
/// with warm storage (everything the call reads was read earlier in the same transaction; only
/// the new alert's own slots are written cold).
contract ConfirmAlertGasReferenceTest is ConfirmAlertGasBase {
    uint256 internal constant REFERENCE_OPERATORS = 10;

    function setUp() public override {
        super.setUp();
        uint96[16] memory stakes0;
        uint96[16] memory none;
        for (uint256 i = 0; i < REFERENCE_OPERATORS; i++) {
            stakes0[i] = 1 ether;
        }
        _registerOperators(stakes0, none);
        uint256[] memory counts = new uint256[](3);
        (counts[0], counts[1], counts[2]) = (0, 1, 3);
        _prepare(counts);
    }

    function _measureWarm(uint256 nonSignerCount) internal {
        _warm(nonSignerCount);
        _measure("warm", REFERENCE_OPERATORS, nonSignerCount);
    }

    function test_gas_reference_0_nonSigners() public {
        _measureWarm(0);
    }

    function test_gas_reference_1_nonSigner() public {
        _measureWarm(1);
    }

    function test_gas_reference_3_nonSigners() public {
        _measureWarm(3);
    }
}
