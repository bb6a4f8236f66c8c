// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IBLSSignatureChecker} from "../src/interfaces/IBLSSignatureChecker.sol";
import {IMachServiceManager} from "../src/interfaces/IMachServiceManager.sol";
import {BN254} from "../src/libraries/BN254.sol";
import {OwnableUpgradeable} from "../src/utils/OwnableUpgradeable.sol";
import {MachFixture} from "./MachFixture.sol";

/// @notice `confirmAlert` end to end with real BN254 signatures, and the alert store around it
/// (`removeAlert`, `contains`, `totalAlerts`, `queryMessageHashes`).
contract ConfirmAlertTest is MachFixture {
    event AlertConfirmed(bytes32 indexed alertHeaderHash, bytes32 messageHash);
    event AlertRemoved(bytes32 messageHash, address sender);

    uint32 internal referenceBlock;

    function setUp() public override {
        super.setUp();
        // Quorum 0: operator 0 holds 34 % of the stake, operator 1 10 %, the 14 others 4 % each.
        uint96[16] memory stakes0;
        uint96[16] memory stakes1;
        stakes0[0] = 34 ether;
        stakes0[1] = 10 ether;
        for (uint256 i = 2; i < OPERATORS; i++) {
            stakes0[i] = 4 ether;
        }
        // Quorum 1: operators 0..3 with 25 each.
        for (uint256 i = 0; i < 4; i++) {
            stakes1[i] = 25 ether;
        }
        _registerOperators(stakes0, stakes1);
        vm.roll(REGISTRATION_BLOCK + 20);
        referenceBlock = REGISTRATION_BLOCK + 10;
    }

    function _params(bytes32 messageHash, bytes memory quorums, uint256[] memory nonSigners)
        internal
        view
        returns (IBLSSignatureChecker.NonSignerStakesAndSignature memory)
    {
        return _sign(_reducedHash(messageHash, referenceBlock), quorums, referenceBlock, nonSigners);
    }

    function _submit(
        bytes32 messageHash,
        bytes memory quorums,
        bytes memory thresholds,
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params
    ) internal {
        vm.prank(confirmer, confirmer);
        mach.confirmAlert(_header(messageHash, quorums, thresholds, referenceBlock), params);
    }

    // ------------------------------------------------------------ success

    function test_confirmAlert_allSign() public {
        bytes32 messageHash = keccak256("invalid block 1");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(messageHash, _quorum0(), new uint256[](0));

        vm.expectEmit(address(mach));
        emit AlertConfirmed(_reducedHash(messageHash, referenceBlock), messageHash);
        _submit(messageHash, _quorum0(), hex"64", params); // 100 %

        vm.assertTrue(mach.contains(messageHash), "stored");
        vm.assertEq(mach.totalAlerts(), 1, "one alert");
        vm.assertEq(mach.queryMessageHashes(0, 10)[0], messageHash, "listed");
    }

    function test_confirmAlert_twoQuorumsWithNonSigner() public {
        bytes32 messageHash = keccak256("two quorums");
        // Operator 0 (34 % of quorum 0, 25 % of quorum 1) does not sign: 66 % and 75 % signed.
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _sign(_reducedHash(messageHash, referenceBlock), hex"0001", referenceBlock, _list(0));
        _submit(messageHash, hex"0001", hex"4242", params);
        vm.assertTrue(mach.contains(messageHash), "confirmed on both quorums");
    }

    // ------------------------------------------------------------ threshold arithmetic

    function test_confirmAlert_thresholdBoundary() public {
        // Operator 0 (34 %) does not sign: exactly 66 % signed.
        bytes32 atBoundary = keccak256("66 percent");
        _submit(atBoundary, _quorum0(), hex"42", _params(atBoundary, _quorum0(), _list(0)));
        vm.assertTrue(mach.contains(atBoundary), "66 % >= 66 %");

        bytes32 above = keccak256("67 percent");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _params(above, _quorum0(), _list(0));
        vm.prank(confirmer, confirmer);
        vm.expectRevert(IMachServiceManager.InsufficientThreshold.selector);
        mach.confirmAlert(_header(above, _quorum0(), hex"43", referenceBlock), params);
    }

    function test_confirmAlert_thresholdPerQuorum() public {
        // Operator 0 out: quorum 0 at 66 %, quorum 1 at 75 %. Asking 76 % of quorum 1 fails.
        bytes32 messageHash = keccak256("per quorum");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _params(messageHash, hex"0001", _list(0));
        vm.prank(confirmer, confirmer);
        vm.expectRevert(IMachServiceManager.InsufficientThreshold.selector);
        mach.confirmAlert(_header(messageHash, hex"0001", hex"424c", referenceBlock), params);

        _submit(messageHash, hex"0001", hex"424b", params); // 66 %, 75 %
        vm.assertTrue(mach.contains(messageHash), "both thresholds met");
    }

    function test_confirmAlert_quorumWithoutStake() public {
        // Quorum 1 empties: its aggregate key returns to the point at infinity, its stake to 0.
        vm.roll(REGISTRATION_BLOCK + 30);
        for (uint256 i = 0; i < 4; i++) {
            _setOperator(i, 1, i == 0 ? 34 ether : (i == 1 ? 10 ether : 4 ether), 0);
        }
        vm.roll(REGISTRATION_BLOCK + 40);
        referenceBlock = REGISTRATION_BLOCK + 35;
        bytes32 messageHash = keccak256("empty quorum");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _indices(hex"01", referenceBlock, new uint256[](0));
        // No signer: signature and G2 key are the points at infinity, which the pairing accepts.
        vm.assertEq(params.quorumApks[0].X, 0, "empty quorum apk");
        (IBLSSignatureChecker.QuorumStakeTotals memory totals,) =
            mach.checkSignatures(_reducedHash(messageHash, referenceBlock), hex"01", referenceBlock, params);
        vm.assertEq(totals.totalStakeForQuorum[0], 0, "no stake");
        // ... but an alert needs stake behind it.
        vm.prank(confirmer, confirmer);
        vm.expectRevert(IMachServiceManager.InsufficientThreshold.selector);
        mach.confirmAlert(_header(messageHash, hex"01", hex"64", referenceBlock), params);
    }

    // ------------------------------------------------------------ caller and header checks

    function test_confirmAlert_onlyConfirmer() public {
        bytes32 messageHash = keccak256("caller");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(messageHash, _quorum0(), new uint256[](0));
        vm.prank(stranger, stranger);
        vm.expectRevert(IMachServiceManager.InvalidConfirmer.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
        vm.prank(owner, owner);
        vm.expectRevert(IMachServiceManager.InvalidConfirmer.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    function test_confirmAlert_confirmerMustBeTheOrigin() public {
        bytes32 messageHash = keccak256("origin");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(messageHash, _quorum0(), new uint256[](0));
        vm.prank(confirmer, stranger);
        vm.expectRevert(IMachServiceManager.InvalidSender.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    function test_confirmAlert_referenceBlockMustBePast() public {
        bytes32 messageHash = keccak256("future");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(messageHash, _quorum0(), new uint256[](0));
        uint32[2] memory bad = [uint32(block.number), uint32(block.number + 5)];
        for (uint256 k = 0; k < 2; k++) {
            vm.prank(confirmer, confirmer);
            vm.expectRevert(IBLSSignatureChecker.InvalidReferenceBlockNum.selector);
            mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", bad[k]), params);
        }
    }

    function test_confirmAlert_quorumParams() public {
        bytes32 messageHash = keccak256("params");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(messageHash, _quorum0(), new uint256[](0));
        bytes[3] memory quorums = [bytes(hex"00"), bytes(hex"0001"), bytes("")];
        bytes[3] memory thresholds = [bytes(hex"4242"), bytes(hex"42"), bytes("")];
        for (uint256 k = 0; k < 3; k++) {
            vm.prank(confirmer, confirmer);
            vm.expectRevert(IMachServiceManager.InvalidQuorumParam.selector);
            mach.confirmAlert(_header(messageHash, quorums[k], thresholds[k], referenceBlock), params);
        }
    }

    function test_confirmAlert_thresholdPercentageBounds() public {
        bytes32 messageHash = keccak256("bounds");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(messageHash, _quorum0(), new uint256[](0));
        vm.prank(confirmer, confirmer);
        vm.expectRevert(IMachServiceManager.InvalidQuorumThresholdPercentage.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"65", referenceBlock), params); // 101

        vm.prank(confirmer, confirmer);
        vm.expectRevert(IMachServiceManager.InsufficientThresholdPercentages.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"41", referenceBlock), params); // 65 < 66

        vm.prank(owner);
        mach.updateQuorumThresholdPercentage(80);
        vm.prank(confirmer, confirmer);
        vm.expectRevert(IMachServiceManager.InsufficientThresholdPercentages.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"4f", referenceBlock), params); // 79 < 80

        _submit(messageHash, _quorum0(), hex"50", params); // 80
        vm.assertTrue(mach.contains(messageHash), "80 % accepted");
    }

    // ------------------------------------------------------------ signatures

    function test_confirmAlert_wrongMessageSigned() public {
        bytes32 messageHash = keccak256("what was signed");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(keccak256("something else"), _quorum0(), new uint256[](0));
        vm.prank(confirmer, confirmer);
        vm.expectRevert(IBLSSignatureChecker.InvalidSignature.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    function test_confirmAlert_signedForAnotherReferenceBlock() public {
        bytes32 messageHash = keccak256("reference block is signed");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _sign(_reducedHash(messageHash, referenceBlock - 1), _quorum0(), referenceBlock, new uint256[](0));
        vm.prank(confirmer, confirmer);
        vm.expectRevert(IBLSSignatureChecker.InvalidSignature.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    function test_confirmAlert_hiddenNonSigner() public {
        // Operators 1..15 signed, but the submission claims everyone did.
        bytes32 messageHash = keccak256("hidden non-signer");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory honest = _params(messageHash, _quorum0(), _list(0));
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(messageHash, _quorum0(), new uint256[](0));
        params.sigma = honest.sigma;
        params.apkG2 = honest.apkG2;
        vm.prank(confirmer, confirmer);
        vm.expectRevert(IBLSSignatureChecker.InvalidSignature.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    function test_confirmAlert_malformedG2Key() public {
        bytes32 messageHash = keccak256("bad g2");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(messageHash, _quorum0(), new uint256[](0));
        params.apkG2.X[0] += 1; // off the curve
        vm.prank(confirmer, confirmer);
        vm.expectRevert(IBLSSignatureChecker.PairingPrecompileFailed.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    // ------------------------------------------------------------ duplicates and resolution

    function test_confirmAlert_duplicateRefused() public {
        bytes32 messageHash = keccak256("twice");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(messageHash, _quorum0(), new uint256[](0));
        _submit(messageHash, _quorum0(), hex"42", params);
        vm.prank(confirmer, confirmer);
        vm.expectRevert(IMachServiceManager.AlreadyAdded.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    function test_removeAlert_resolvesForGood() public {
        bytes32 messageHash = keccak256("removed");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(messageHash, _quorum0(), new uint256[](0));
        _submit(messageHash, _quorum0(), hex"42", params);

        vm.prank(confirmer);
        vm.expectRevert(OwnableUpgradeable.CallerIsNotOwner.selector);
        mach.removeAlert(messageHash);

        vm.expectEmit(address(mach));
        emit AlertRemoved(messageHash, owner);
        vm.prank(owner);
        mach.removeAlert(messageHash);
        vm.assertFalse(mach.contains(messageHash), "no longer contained");
        vm.assertEq(mach.totalAlerts(), 0, "no alerts");

        vm.prank(confirmer, confirmer);
        vm.expectRevert(IMachServiceManager.ResolvedAlert.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);

        vm.prank(owner);
        vm.expectRevert(IMachServiceManager.AlertNotFound.selector);
        mach.removeAlert(messageHash);
    }

    function test_removeAlert_unknown() public {
        vm.prank(owner);
        vm.expectRevert(IMachServiceManager.AlertNotFound.selector);
        mach.removeAlert(keccak256("never confirmed"));
    }

    // ------------------------------------------------------------ pagination

    function _confirmMany(uint256 n) internal returns (bytes32[] memory hashes) {
        hashes = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            hashes[i] = keccak256(abi.encode("alert", i));
            _submit(hashes[i], _quorum0(), hex"42", _params(hashes[i], _quorum0(), new uint256[](0)));
        }
    }

    function _slice(bytes32[] memory all, uint256 from, uint256 to) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](to - from);
        for (uint256 i = from; i < to; i++) {
            out[i - from] = all[i];
        }
    }

    function test_queryMessageHashes_pages() public {
        vm.expectRevert(IMachServiceManager.InvalidStartIndex.selector);
        mach.queryMessageHashes(0, 1);

        bytes32[] memory hashes = _confirmMany(5);
        vm.assertEq(mach.totalAlerts(), 5, "five alerts");
        vm.assertEq(mach.queryMessageHashes(0, 2), _slice(hashes, 0, 2), "first page");
        vm.assertEq(mach.queryMessageHashes(2, 2), _slice(hashes, 2, 4), "second page");
        vm.assertEq(mach.queryMessageHashes(4, 2), _slice(hashes, 4, 5), "last page is clamped");
        vm.assertEq(mach.queryMessageHashes(1, type(uint256).max), _slice(hashes, 1, 5), "huge size is clamped");
        vm.assertEq(mach.queryMessageHashes(3, 0).length, 0, "size zero");

        vm.expectRevert(IMachServiceManager.InvalidStartIndex.selector);
        mach.queryMessageHashes(5, 1);
        vm.expectRevert(IMachServiceManager.InvalidStartIndex.selector);
        mach.queryMessageHashes(type(uint256).max, 1);
    }

    function test_queryMessageHashes_afterRemoval() public {
        bytes32[] memory hashes = _confirmMany(4);
        vm.prank(owner);
        mach.removeAlert(hashes[1]);
        // The last alert takes the removed one's place.
        bytes32[] memory expected = new bytes32[](3);
        expected[0] = hashes[0];
        expected[1] = hashes[3];
        expected[2] = hashes[2];
        vm.assertEq(mach.queryMessageHashes(0, 10), expected, "after removing the second");
        vm.prank(owner);
        mach.removeAlert(hashes[2]); // now the last one
        vm.assertEq(mach.queryMessageHashes(0, 10), _slice(expected, 0, 2), "after removing the last");
        vm.assertTrue(mach.contains(hashes[3]), "moved alert still found");
        vm.prank(owner);
        mach.removeAlert(hashes[3]);
        vm.prank(owner);
        mach.removeAlert(hashes[0]);
        vm.assertEq(mach.totalAlerts(), 0, "all removed");
        vm.expectRevert(IMachServiceManager.InvalidStartIndex.selector);
        mach.queryMessageHashes(0, 1);
    }
}
