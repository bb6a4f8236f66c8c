// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IBLSSignatureChecker} from "../src/interfaces/IBLSSignatureChecker.sol";
import {BN254} from "../src/libraries/BN254.sol";
import {MachFixture} from "./MachFixture.sol";
import {BlsVectors} from "./utils/BlsVectors.sol";

/// @notice `checkSignatures` semantics against registry doubles: stake totals, the non-signer
/// weighting across quorums, history indices, input validation and stale-stake protection.
contract BLSSignatureCheckerTest is MachFixture {
    using BN254 for BN254.G1Point;

    uint32 internal constant BEFORE_CHANGE = REGISTRATION_BLOCK + 5;
    uint32 internal constant CHANGE = REGISTRATION_BLOCK + 10;
    uint32 internal constant AFTER_CHANGE = REGISTRATION_BLOCK + 15;

    uint96[16] internal stakes0;

    bytes32 internal constant MSG = keccak256("a reduced alert header hash");

    function setUp() public override {
        super.setUp();
        // Quorum 0: operator i has (i + 1) ether. Quorum 1: operators 0..3 with 7 ether each.
        uint96[16] memory stakes1;
        for (uint256 i = 0; i < OPERATORS; i++) {
            stakes0[i] = uint96((i + 1) * 1 ether);
            if (i < 4) stakes1[i] = 7 ether;
        }
        _registerOperators(stakes0, stakes1);
        // Later, operator 0 leaves quorum 1 and operator 5 doubles its stake in quorum 0.
        vm.roll(CHANGE);
        _setOperator(0, 1, stakes0[0], 0);
        _setOperator(5, 1, 12 ether, 0);
        vm.roll(CHANGE + 20);
    }

    function _check(bytes memory quorums, uint32 referenceBlock, IBLSSignatureChecker.NonSignerStakesAndSignature memory p)
        internal
        view
        returns (IBLSSignatureChecker.QuorumStakeTotals memory totals, bytes32 recordHash)
    {
        return mach.checkSignatures(MSG, quorums, referenceBlock, p);
    }

    /// @dev Signature by the aggregate secret `s` (the fixture's `_sign` derives `s` from the
    /// operators' current quorums, which differ from the past ones these tests look at).
    function _signAs(bytes memory quorums, uint32 referenceBlock, uint256[] memory nonSigners, uint256 s)
        internal
        view
        returns (IBLSSignatureChecker.NonSignerStakesAndSignature memory p)
    {
        p = _indices(quorums, referenceBlock, nonSigners);
        p.sigma = BN254.hashToG1(MSG).scalarMul(s);
        p.apkG2 = BlsVectors.g2Mul(s);
    }

    function _sumSk(uint256 from, uint256 to) internal view returns (uint256 s) {
        for (uint256 i = from; i < to; i++) {
            s = addmod(s, sk[i], BN254.FR_MODULUS);
        }
    }

    function _totalStake0(uint256 operator5Stake) internal view returns (uint96 total) {
        for (uint256 i = 0; i < OPERATORS; i++) {
            // forge-lint: disable-next-line(unsafe-typecast)
            total += i == 5 ? uint96(operator5Stake) : stakes0[i];
        }
    }

    // ------------------------------------------------------------ totals

    function test_allSign_totalsAndRecord() public view {
        (IBLSSignatureChecker.QuorumStakeTotals memory totals, bytes32 recordHash) =
            _check(_quorum0(), AFTER_CHANGE, _signAs(_quorum0(), AFTER_CHANGE, new uint256[](0), _sumSk(0, 16)));
        vm.assertEq(totals.totalStakeForQuorum[0], _totalStake0(12 ether), "total");
        vm.assertEq(totals.signedStakeForQuorum[0], _totalStake0(12 ether), "all signed");
        vm.assertEq(recordHash, keccak256(abi.encodePacked(AFTER_CHANGE, new bytes32[](0))), "record");
    }

    function test_nonSigners_subtractedAndRecorded() public view {
        uint256[] memory nonSigners = _range(0, 10);
        (IBLSSignatureChecker.QuorumStakeTotals memory totals, bytes32 recordHash) =
            _check(_quorum0(), AFTER_CHANGE, _signAs(_quorum0(), AFTER_CHANGE, nonSigners, _sumSk(10, 16)));
        uint96 missing = 0;
        for (uint256 i = 0; i < 10; i++) {
            missing += i == 5 ? 12 ether : stakes0[i];
        }
        vm.assertEq(totals.signedStakeForQuorum[0], _totalStake0(12 ether) - missing, "signed");
        uint256[] memory sorted = _sortedByOperatorId(nonSigners);
        bytes32[] memory ids = new bytes32[](10);
        for (uint256 j = 0; j < 10; j++) {
            ids[j] = operatorId[sorted[j]];
        }
        vm.assertEq(recordHash, keccak256(abi.encodePacked(AFTER_CHANGE, ids)), "record of sorted ids");
    }

    function test_historyAtReferenceBlock() public view {
        // Before the change: operator 5 had 6 ether and operator 0 was in quorum 1.
        (IBLSSignatureChecker.QuorumStakeTotals memory totals,) =
            _check(_quorum0(), BEFORE_CHANGE, _signAs(_quorum0(), BEFORE_CHANGE, new uint256[](0), _sumSk(0, 16)));
        vm.assertEq(totals.totalStakeForQuorum[0], _totalStake0(6 ether), "quorum 0 before");
        (totals,) = _check(hex"01", BEFORE_CHANGE, _signAs(hex"01", BEFORE_CHANGE, new uint256[](0), _sumSk(0, 4)));
        vm.assertEq(totals.totalStakeForQuorum[0], 28 ether, "quorum 1 before");

        // After it: operator 5 has 12 ether and operator 0 left quorum 1.
        (totals,) = _check(_quorum0(), AFTER_CHANGE, _signAs(_quorum0(), AFTER_CHANGE, new uint256[](0), _sumSk(0, 16)));
        vm.assertEq(totals.totalStakeForQuorum[0], _totalStake0(12 ether), "quorum 0 after");
        (totals,) = _check(hex"01", AFTER_CHANGE, _signAs(hex"01", AFTER_CHANGE, new uint256[](0), _sumSk(1, 4)));
        vm.assertEq(totals.totalStakeForQuorum[0], 21 ether, "quorum 1 after");
    }

    function test_nonSignerWeightedByCheckedQuorums() public view {
        // Before the change operator 0 was in both quorums: its key counts twice, and its stake
        // is taken from both.
        uint256 s = addmod(_sumSk(1, 16), _sumSk(1, 4), BN254.FR_MODULUS);
        (IBLSSignatureChecker.QuorumStakeTotals memory totals,) =
            _check(hex"0001", BEFORE_CHANGE, _signAs(hex"0001", BEFORE_CHANGE, _list(0), s));
        vm.assertEq(totals.signedStakeForQuorum[0], _totalStake0(6 ether) - stakes0[0], "quorum 0");
        vm.assertEq(totals.signedStakeForQuorum[1], 21 ether, "quorum 1");
    }

    function test_nonSignerOutsideTheCheckedQuorum() public view {
        // Operator 4 is not in quorum 1: listing it changes neither key nor stake there, and no
        // stake index is consumed for it.
        uint256[] memory nonSigners = new uint256[](2);
        nonSigners[0] = 4;
        nonSigners[1] = 1;
        IBLSSignatureChecker.NonSignerStakesAndSignature memory p =
            _signAs(hex"01", AFTER_CHANGE, nonSigners, addmod(sk[2], sk[3], BN254.FR_MODULUS));
        vm.assertEq(p.nonSignerStakeIndices[0].length, 1, "one stake index: operator 1");
        (IBLSSignatureChecker.QuorumStakeTotals memory totals,) = _check(hex"01", AFTER_CHANGE, p);
        vm.assertEq(totals.signedStakeForQuorum[0], 14 ether, "operators 2 and 3");
        vm.assertEq(totals.totalStakeForQuorum[0], 21 ether, "operators 1..3");
    }

    // ------------------------------------------------------------ input validation

    function _valid() internal view returns (IBLSSignatureChecker.NonSignerStakesAndSignature memory) {
        return _signAs(_quorum0(), AFTER_CHANGE, _range(0, 10), _sumSk(10, 16));
    }

    function test_emptyQuorumNumbers() public {
        IBLSSignatureChecker.NonSignerStakesAndSignature memory p = _valid();
        _expectReason(EMPTY_QUORUMS);
        _check("", AFTER_CHANGE, p);
    }

    function test_perQuorumArrayLengths() public {
        for (uint256 k = 0; k < 4; k++) {
            IBLSSignatureChecker.NonSignerStakesAndSignature memory p = _valid();
            if (k == 0) p.quorumApks = new BN254.G1Point[](2);
            if (k == 1) p.quorumApkIndices = new uint32[](0);
            if (k == 2) p.totalStakeIndices = new uint32[](3);
            if (k == 3) p.nonSignerStakeIndices = new uint32[][](2);
            _expectReason(QUORUM_LENGTH_MISMATCH);
            _check(_quorum0(), AFTER_CHANGE, p);
        }
    }

    function test_nonSignerArrayLengths() public {
        IBLSSignatureChecker.NonSignerStakesAndSignature memory p = _valid();
        p.nonSignerQuorumBitmapIndices = new uint32[](9);
        _expectReason(NONSIGNER_LENGTH_MISMATCH);
        _check(_quorum0(), AFTER_CHANGE, p);
    }

    function test_referenceBlockInThePast() public {
        IBLSSignatureChecker.NonSignerStakesAndSignature memory p = _valid();
        _expectReason(INVALID_REFERENCE_BLOCK);
        mach.checkSignatures(MSG, _quorum0(), uint32(block.number), p);
        _expectReason(INVALID_REFERENCE_BLOCK);
        mach.checkSignatures(MSG, _quorum0(), uint32(block.number + 1), p);
    }

    /// @dev Input sized for `quorums` so that the length checks pass.
    function _sizedFor(bytes memory quorums)
        internal
        view
        returns (IBLSSignatureChecker.NonSignerStakesAndSignature memory p)
    {
        p = _valid();
        p.quorumApks = new BN254.G1Point[](quorums.length);
        p.quorumApkIndices = new uint32[](quorums.length);
        p.totalStakeIndices = new uint32[](quorums.length);
        p.nonSignerStakeIndices = new uint32[][](quorums.length);
    }

    function test_quorumNumbersOrderedAndExisting() public {
        // Strictly ascending: no swaps, no duplicates.
        bytes[2] memory unordered = [bytes(hex"0100"), bytes(hex"0000")];
        for (uint256 k = 0; k < 2; k++) {
            IBLSSignatureChecker.NonSignerStakesAndSignature memory p = _sizedFor(unordered[k]);
            _expectReason(QUORUMS_NOT_ORDERED);
            _check(unordered[k], AFTER_CHANGE, p);
        }
        // Only the coordinator's quorums 0 and 1 exist.
        bytes[3] memory missing = [bytes(hex"02"), bytes(hex"0002"), bytes(hex"ff")];
        for (uint256 k = 0; k < 3; k++) {
            IBLSSignatureChecker.NonSignerStakesAndSignature memory p = _sizedFor(missing[k]);
            _expectReason(QUORUMS_EXCEED_COUNT);
            _check(missing[k], AFTER_CHANGE, p);
        }
        // At most 256 quorum numbers; the length is checked before the order.
        bytes memory tooLong = new bytes(257);
        IBLSSignatureChecker.NonSignerStakesAndSignature memory q = _sizedFor(tooLong);
        _expectReason(QUORUMS_TOO_LONG);
        _check(tooLong, AFTER_CHANGE, q);
    }

    function test_nonSignersMustBeSortedAndDistinct() public {
        IBLSSignatureChecker.NonSignerStakesAndSignature memory p = _valid();
        (p.nonSignerPubkeys[0], p.nonSignerPubkeys[1]) = (p.nonSignerPubkeys[1], p.nonSignerPubkeys[0]);
        _expectReason(NONSIGNERS_NOT_SORTED);
        _check(_quorum0(), AFTER_CHANGE, p);

        p = _valid();
        p.nonSignerPubkeys[1] = p.nonSignerPubkeys[0];
        _expectReason(NONSIGNERS_NOT_SORTED);
        _check(_quorum0(), AFTER_CHANGE, p);
    }

    function test_quorumApkMustMatchRegistry() public {
        IBLSSignatureChecker.NonSignerStakesAndSignature memory p = _valid();
        p.quorumApks[0] = p.quorumApks[0].plus(pk[0]);
        _expectReason(APK_MISMATCH);
        _check(_quorum0(), AFTER_CHANGE, p);
    }

    function test_signatureMustVerify() public {
        // The right signers' signature of another message.
        IBLSSignatureChecker.NonSignerStakesAndSignature memory p = _valid();
        p.sigma = BN254.hashToG1(keccak256("another message")).scalarMul(_sumSk(10, 16));
        _expectReason(SIGNATURE_INVALID);
        _check(_quorum0(), AFTER_CHANGE, p);

        // A G2 key off the curve makes the pairing precompile fail.
        p = _valid();
        p.apkG2.Y[1] += 1;
        _expectReason(PAIRING_FAILED);
        _check(_quorum0(), AFTER_CHANGE, p);
    }

    /// @notice With several faults in one input, the one that the middleware checks first is
    /// reported; each step below removes the fault reported last.
    function test_checksRunInTheMiddlewaresOrder() public {
        IBLSSignatureChecker.NonSignerStakesAndSignature memory p = _valid();
        // Every fault at once: no quorums (so also the wrong array lengths), a non-signer array of
        // the wrong length, a reference block that is not in the past, ...
        p.nonSignerQuorumBitmapIndices = new uint32[](9);
        _expectReason(EMPTY_QUORUMS);
        mach.checkSignatures(MSG, "", uint32(block.number), p);
        _expectReason(QUORUM_LENGTH_MISMATCH);
        mach.checkSignatures(MSG, hex"0100", uint32(block.number), p);
        _expectReason(NONSIGNER_LENGTH_MISMATCH);
        mach.checkSignatures(MSG, _quorum0(), uint32(block.number), p);

        // ... quorums out of order, non-signers out of order, ...
        p = _sizedFor(hex"0100");
        (p.nonSignerPubkeys[0], p.nonSignerPubkeys[1]) = (p.nonSignerPubkeys[1], p.nonSignerPubkeys[0]);
        _expectReason(INVALID_REFERENCE_BLOCK);
        mach.checkSignatures(MSG, hex"0100", uint32(block.number), p);
        _expectReason(QUORUMS_NOT_ORDERED);
        _check(hex"0100", AFTER_CHANGE, p);

        // ... a quorum apk that is not the registry's, an invalid signature, ...
        p = _valid();
        p.quorumApks[0] = p.quorumApks[0].plus(pk[0]);
        p.sigma = p.sigma.plus(pk[0]);
        (p.nonSignerPubkeys[0], p.nonSignerPubkeys[1]) = (p.nonSignerPubkeys[1], p.nonSignerPubkeys[0]);
        _expectReason(NONSIGNERS_NOT_SORTED);
        _check(_quorum0(), AFTER_CHANGE, p);

        // ... operator 0's bitmap index not covering the reference block (a registry revert) and
        // stale stakes ...
        (p.nonSignerPubkeys[0], p.nonSignerPubkeys[1]) = (p.nonSignerPubkeys[1], p.nonSignerPubkeys[0]);
        uint256[] memory sorted = _sortedByOperatorId(_range(0, 10));
        uint256 position;
        for (uint256 j = 0; j < sorted.length; j++) {
            if (sorted[j] == 0) position = j;
        }
        p.nonSignerQuorumBitmapIndices[position] = 0;
        delegation.setMinWithdrawalDelayBlocks(50);
        coordinator.setQuorumUpdateBlockNumber(0, AFTER_CHANGE - 50);
        vm.prank(coordinatorOwner);
        mach.setStaleStakesForbidden(true);
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "history entry is not the one at the block"));
        _check(_quorum0(), AFTER_CHANGE, p);
        p.nonSignerQuorumBitmapIndices[position] = 1;
        _expectReason(STALE_STAKES);
        _check(_quorum0(), AFTER_CHANGE, p);

        // ... then the apk, and last the signature.
        coordinator.setQuorumUpdateBlockNumber(0, AFTER_CHANGE);
        _expectReason(APK_MISMATCH);
        _check(_quorum0(), AFTER_CHANGE, p);
        p.quorumApks[0] = p.quorumApks[0].plus(pk[0].negate());
        _expectReason(SIGNATURE_INVALID);
        _check(_quorum0(), AFTER_CHANGE, p);
        p.sigma = p.sigma.plus(pk[0].negate());
        _check(_quorum0(), AFTER_CHANGE, p);
    }

    function test_historyIndicesMustCoverTheReferenceBlock() public {
        // Quorum 1's apk, quorum 0's total stake, operator 5's stake and operator 0's bitmap all
        // changed at CHANGE: entry 0 is before it, entry 1 from it on.
        IBLSSignatureChecker.NonSignerStakesAndSignature memory p =
            _signAs(hex"01", BEFORE_CHANGE, new uint256[](0), _sumSk(0, 4));
        p.quorumApkIndices[0] = 1;
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "history entry is after the block"));
        _check(hex"01", BEFORE_CHANGE, p);

        p = _valid();
        p.totalStakeIndices[0] = 0;
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "history entry is not the one at the block"));
        _check(_quorum0(), AFTER_CHANGE, p);

        p = _valid();
        // Operator 5 is a non-signer; find its position among the sorted non-signers.
        uint256[] memory sorted = _sortedByOperatorId(_range(0, 10));
        uint256 position;
        for (uint256 j = 0; j < sorted.length; j++) {
            if (sorted[j] == 5) position = j;
        }
        p.nonSignerStakeIndices[0][position] = 0;
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "history entry is not the one at the block"));
        _check(_quorum0(), AFTER_CHANGE, p);

        p = _valid();
        for (uint256 j = 0; j < sorted.length; j++) {
            if (sorted[j] == 0) position = j;
        }
        p.nonSignerQuorumBitmapIndices[position] = 0;
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "history entry is not the one at the block"));
        _check(_quorum0(), AFTER_CHANGE, p);
    }

    // ------------------------------------------------------------ stale stakes

    function test_staleStakesForbidden() public {
        IBLSSignatureChecker.NonSignerStakesAndSignature memory p = _valid();
        delegation.setMinWithdrawalDelayBlocks(50);
        coordinator.setQuorumUpdateBlockNumber(0, AFTER_CHANGE - 50);
        // Allowed by default.
        _check(_quorum0(), AFTER_CHANGE, p);

        vm.expectEmit(address(mach));
        emit IBLSSignatureChecker.StaleStakesForbiddenUpdate(true);
        vm.prank(coordinatorOwner);
        mach.setStaleStakesForbidden(true);
        vm.assertTrue(mach.staleStakesForbidden(), "switched on");
        _expectReason(STALE_STAKES);
        _check(_quorum0(), AFTER_CHANGE, p);

        coordinator.setQuorumUpdateBlockNumber(0, AFTER_CHANGE - 49);
        (IBLSSignatureChecker.QuorumStakeTotals memory totals,) = _check(_quorum0(), AFTER_CHANGE, p);
        vm.assertGt(totals.signedStakeForQuorum[0], 0, "fresh enough");

        coordinator.setQuorumUpdateBlockNumber(0, AFTER_CHANGE - 50);
        vm.prank(coordinatorOwner);
        mach.setStaleStakesForbidden(false);
        _check(_quorum0(), AFTER_CHANGE, p);
    }

    function test_staleStakesForbidden_onlyCoordinatorOwner() public {
        // Not even the service manager's owner: the stakes are the coordinator's.
        address[3] memory others = [owner, stranger, address(this)];
        for (uint256 k = 0; k < 3; k++) {
            vm.prank(others[k]);
            _expectReason(ONLY_COORDINATOR_OWNER);
            mach.setStaleStakesForbidden(true);
        }
        vm.assertFalse(mach.staleStakesForbidden(), "unchanged");

        // The check follows the coordinator's current owner.
        coordinator.setOwner(stranger);
        vm.prank(coordinatorOwner);
        _expectReason(ONLY_COORDINATOR_OWNER);
        mach.setStaleStakesForbidden(true);
        vm.prank(stranger);
        mach.setStaleStakesForbidden(true);
        vm.assertTrue(mach.staleStakesForbidden(), "set by the new owner");
    }

    // ------------------------------------------------------------ pairing

    function test_trySignatureAndApkVerification() public view {
        uint256 s = _sumSk(0, 4);
        BN254.G1Point memory apk = BN254.generatorG1().scalarMul(s);
        BN254.G2Point memory apkG2 = BlsVectors.g2Mul(s);
        BN254.G1Point memory sigma = BN254.hashToG1(MSG).scalarMul(s);

        (bool ok, bool valid) = mach.trySignatureAndApkVerification(MSG, apk, apkG2, sigma);
        vm.assertTrue(ok && valid, "valid signature");

        (ok, valid) = mach.trySignatureAndApkVerification(keccak256("other"), apk, apkG2, sigma);
        vm.assertTrue(ok && !valid, "other message");

        // G1 and G2 halves of different keys.
        (ok, valid) = mach.trySignatureAndApkVerification(MSG, apk.plus(pk[9]), apkG2, sigma);
        vm.assertTrue(ok && !valid, "apk mismatch");

        apkG2.Y[1] += 1;
        (ok, valid) = mach.trySignatureAndApkVerification(MSG, apk, apkG2, sigma);
        vm.assertTrue(!ok && !valid, "malformed G2 point");
    }
}
