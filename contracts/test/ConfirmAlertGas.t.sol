// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IBLSSignatureChecker} from "../src/interfaces/IBLSSignatureChecker.sol";
import {MachFixture} from "./MachFixture.sol";

/// @notice Gas of `confirmAlert` on one quorum of 16 operators with 0, 1 and 10 non-signers,
/// read by `scripts/contracts.sh gas` from the CONFIRM_ALERT_GAS lines (forge -vv prints them).
/// The submissions are prepared in `setUp`, so that in each test (a transaction of its own) the
/// service manager and the registries are untouched, cold as in a real transaction. "execution"
/// is the gas the call used (gasleft() before minus after); "transaction" adds the 21,000 base
/// cost and the calldata cost (4 per zero byte, 16 per other byte) of the same call sent as a
/// transaction. The registries are the test doubles, whose by-index reads cost about what the
/// real ones do.
contract ConfirmAlertGasTest is MachFixture {
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
        vm.roll(REGISTRATION_BLOCK + 10);
        uint256[3] memory counts = [uint256(0), 1, 10];
        for (uint256 k = 0; k < 3; k++) {
            uint32 referenceBlock = uint32(block.number - 1);
            bytes32 messageHash = keccak256(abi.encode("gas", counts[k]));
            IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _sign(
                _reducedHash(messageHash, referenceBlock), _quorum0(), referenceBlock, _range(0, counts[k])
            );
            messageHashes[counts[k]] = messageHash;
            submissions[counts[k]] = abi.encodeCall(
                mach.confirmAlert, (_header(messageHash, _quorum0(), hex"42", referenceBlock), params)
            );
        }
    }

    /// @dev Calldata of `confirmAlert` by number of non-signers.
    mapping(uint256 => bytes) internal submissions;
    mapping(uint256 => bytes32) internal messageHashes;

    function _measure(uint256 nonSignerCount) internal {
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
                "CONFIRM_ALERT_GAS non_signers=",
                _decimal(nonSignerCount),
                " signers=",
                _decimal(OPERATORS - nonSignerCount),
                " execution=",
                _decimal(execution),
                " transaction=",
                _decimal(transaction),
                " calldata_bytes=",
                _decimal(callData.length)
            )
        );
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

    function test_gas_0_nonSigners() public {
        _measure(0);
    }

    function test_gas_1_nonSigner() public {
        _measure(1);
    }

    function test_gas_10_nonSigners() public {
        _measure(10);
    }
}
