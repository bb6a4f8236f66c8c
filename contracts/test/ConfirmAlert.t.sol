// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IBLSSignatureChecker} from "../src/interfaces/IBLSSignatureChecker.sol";
import {IMachServiceManager} from "../src/interfaces/IMachServiceManager.sol";
import {BN254} from "../src/libraries/BN254.sol";
import {MachFixture} from "./MachFixture.sol";

/// @notice `confirmAlert` end to end with real BN254 signatures, the order of its checks, every
/// way it refuses a submission (with the exact revert data), and the alert store around it
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

    /// @dev A complete, valid submission on quorum 0 signed by everyone.
    function _allSigned(bytes32 messageHash)
        internal
        view
        returns (IBLSSignatureChecker.NonSignerStakesAndSignature memory)
    {
        return _params(messageHash, _quorum0(), new uint256[](0));
    }

    /// @dev Everyone signed on quorum 0, but a message other than `messageHash`'s.
    function _badSignature(bytes32 messageHash)
        internal
        view
        returns (IBLSSignatureChecker.NonSignerStakesAndSignature memory)
    {
        return _params(keccak256(abi.encode("not", messageHash)), _quorum0(), new uint256[](0));
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

    /// @dev Confirms `messageHash` on quorum 0 at 66 %, signed by everyone.
    function _confirmAll(bytes32 messageHash) internal {
        _submit(messageHash, _quorum0(), hex"42", _allSigned(messageHash));
    }

    // ------------------------------------------------------------ success

    /// @notice Everyone signs, 100 % asked: stored, counted, listed, `AlertConfirmed` emitted.
    function test_confirmAlert_allSign() public {
        bytes32 messageHash = keccak256("invalid block 1");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);

        vm.expectEmit(address(mach));
        emit AlertConfirmed(_reducedHash(messageHash, referenceBlock), messageHash);
        _submit(messageHash, _quorum0(), hex"64", params); // 100 %

        vm.assertTrue(mach.contains(messageHash), "stored");
        vm.assertEq(mach.totalAlerts(), 1, "one alert");
        vm.assertEq(mach.queryMessageHashes(0, 10)[0], messageHash, "listed");
    }

    /// @notice Two quorums with a non-signer in both: confirmed when both thresholds are met.
    function test_confirmAlert_twoQuorumsWithNonSigner() public {
        bytes32 messageHash = keccak256("two quorums");
        // Operator 0 (34 % of quorum 0, 25 % of quorum 1) does not sign: 66 % and 75 % signed.
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _sign(_reducedHash(messageHash, referenceBlock), hex"0001", referenceBlock, _list(0));
        _submit(messageHash, hex"0001", hex"4242", params);
        vm.assertTrue(mach.contains(messageHash), "confirmed on both quorums");
    }

    // ------------------------------------------------------------ threshold arithmetic

    /// @notice Exactly 66 % signed passes at 66 %; asking 67 % of it is `InsufficientThreshold`.
    function test_confirmAlert_thresholdBoundary() public {
        // Operator 0 (34 %) does not sign: exactly 66 % signed.
        bytes32 atBoundary = keccak256("66 percent");
        _submit(atBoundary, _quorum0(), hex"42", _params(atBoundary, _quorum0(), _list(0)));
        vm.assertTrue(mach.contains(atBoundary), "66 % >= 66 %");

        bytes32 above = keccak256("67 percent");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _params(above, _quorum0(), _list(0));
        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InsufficientThreshold.selector);
        mach.confirmAlert(_header(above, _quorum0(), hex"43", referenceBlock), params);
        vm.assertFalse(mach.contains(above), "not stored");
    }

    /// @notice Each quorum is held to its own threshold: 76 % of quorum 1 is refused when 75 %
    /// signed there, 75 % passes.
    function test_confirmAlert_thresholdPerQuorum() public {
        // Operator 0 out: quorum 0 at 66 %, quorum 1 at 75 %. Asking 76 % of quorum 1 fails.
        bytes32 messageHash = keccak256("per quorum");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _params(messageHash, hex"0001", _list(0));
        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InsufficientThreshold.selector);
        mach.confirmAlert(_header(messageHash, hex"0001", hex"424c", referenceBlock), params);

        _submit(messageHash, hex"0001", hex"424b", params); // 66 %, 75 %
        vm.assertTrue(mach.contains(messageHash), "both thresholds met");
    }

    /// @notice A quorum without stake passes the signature check (all points at infinity) but
    /// backs no alert: `InsufficientThreshold`, even at 100 %.
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
        _expectError(IMachServiceManager.InsufficientThreshold.selector);
        mach.confirmAlert(_header(messageHash, hex"01", hex"64", referenceBlock), params);
    }

    /// @notice The quorums are checked in order: the first quorum's failure is the one reported.
    function test_confirmAlert_quorumsCheckedInOrder() public {
        bytes32 messageHash = keccak256("quorum order");
        // Operator 0 out: quorum 0 at 66 %, quorum 1 at 75 %.
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _params(messageHash, hex"0001", _list(0));
        // Quorum 0 asks too little, quorum 1 more than 100 %: quorum 0's error.
        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InsufficientThresholdPercentages.selector);
        mach.confirmAlert(_header(messageHash, hex"0001", hex"4165", referenceBlock), params);
        // Quorum 0 asks more than was signed, quorum 1 more than 100 %: quorum 0's error.
        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InsufficientThreshold.selector);
        mach.confirmAlert(_header(messageHash, hex"0001", hex"4365", referenceBlock), params);
        // Quorum 0 fine, quorum 1 more than 100 %.
        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InvalidQuorumThresholdPercentage.selector);
        mach.confirmAlert(_header(messageHash, hex"0001", hex"4265", referenceBlock), params);
    }

    // ------------------------------------------------------------ caller and header checks

    /// @notice Only the alert confirmer may submit (`InvalidConfirmer`), even the owner may not.
    function test_confirmAlert_onlyConfirmer() public {
        bytes32 messageHash = keccak256("caller");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        vm.prank(stranger, stranger);
        _expectError(IMachServiceManager.InvalidConfirmer.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
        vm.prank(owner, owner);
        _expectError(IMachServiceManager.InvalidConfirmer.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    /// @notice The confirmer must call as an EOA (`tx.origin == msg.sender`): `InvalidSender`.
    function test_confirmAlert_confirmerMustBeTheOrigin() public {
        bytes32 messageHash = keccak256("origin");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        vm.prank(confirmer, stranger);
        _expectError(IMachServiceManager.InvalidSender.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    /// @notice The reference block must be below the current one: the current block and a
    /// future one are `InvalidReferenceBlockNum`.
    function test_confirmAlert_referenceBlockMustBePast() public {
        bytes32 messageHash = keccak256("future");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        uint32[2] memory bad = [uint32(block.number), uint32(block.number + 5)];
        for (uint256 k = 0; k < 2; k++) {
            vm.prank(confirmer, confirmer);
            _expectError(IMachServiceManager.InvalidReferenceBlockNum.selector);
            mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", bad[k]), params);
        }
    }

    /// @notice Quorum numbers and thresholds of different lengths are `InvalidQuorumParam`; both
    /// empty is not, it reaches the signature check: "empty quorum input".
    function test_confirmAlert_quorumParams() public {
        bytes32 messageHash = keccak256("params");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        bytes[3] memory quorums = [bytes(hex"00"), bytes(hex"0001"), bytes("")];
        bytes[3] memory thresholds = [bytes(hex"4242"), bytes(hex"42"), bytes(hex"42")];
        for (uint256 k = 0; k < 3; k++) {
            vm.prank(confirmer, confirmer);
            _expectError(IMachServiceManager.InvalidQuorumParam.selector);
            mach.confirmAlert(_header(messageHash, quorums[k], thresholds[k], referenceBlock), params);
        }

        vm.prank(confirmer, confirmer);
        _expectReason(EMPTY_QUORUMS);
        mach.confirmAlert(_header(messageHash, "", "", referenceBlock), params);
    }

    /// @notice With a valid signature: a percentage above 100 is `InvalidQuorumThresholdPercentage`,
    /// one below the contract-wide minimum `InsufficientThresholdPercentages`; the minimum follows
    /// `updateQuorumThresholdPercentage`.
    function test_confirmAlert_thresholdPercentageBounds() public {
        bytes32 messageHash = keccak256("bounds");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InvalidQuorumThresholdPercentage.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"65", referenceBlock), params); // 101

        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InvalidQuorumThresholdPercentage.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"ff", referenceBlock), params); // 255

        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InsufficientThresholdPercentages.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"41", referenceBlock), params); // 65 < 66

        vm.prank(owner);
        mach.updateQuorumThresholdPercentage(80);
        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InsufficientThresholdPercentages.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"4f", referenceBlock), params); // 79 < 80

        _submit(messageHash, _quorum0(), hex"50", params); // 80
        vm.assertTrue(mach.contains(messageHash), "80 % accepted");
    }

    // ------------------------------------------------------------ check order

    /// @notice (a) The pause check comes before the caller check: a stranger submitting while
    /// any flag is set gets "Pausable: contract is paused", not `InvalidConfirmer`.
    function test_order_pausedBeforeCaller() public {
        bytes32 messageHash = keccak256("order: paused");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        IBLSSignatureChecker.NonSignerStakesAndSignature memory bad = _badSignature(messageHash);
        vm.prank(pauser);
        mach.pause(1 << 200);
        vm.prank(stranger, stranger);
        _expectReason(PAUSED);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
        // Paused, with everything else wrong as well.
        vm.prank(stranger, owner);
        _expectReason(PAUSED);
        mach.confirmAlert(_header(messageHash, hex"0100", hex"ff", uint32(block.number)), bad);
    }

    /// @notice (b) The caller check comes before the EOA check: a stranger calling through a
    /// contract gets `InvalidConfirmer`, not `InvalidSender`.
    function test_order_callerBeforeOrigin() public {
        bytes32 messageHash = keccak256("order: caller");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        vm.prank(stranger, owner);
        _expectError(IMachServiceManager.InvalidConfirmer.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    /// @notice (c) A resolved alert is refused before its reference block is looked at
    /// (`ResolvedAlert` with a future block), and the EOA check comes before both.
    function test_order_resolvedBeforeReferenceBlock() public {
        bytes32 messageHash = keccak256("order: resolved");
        _confirmAll(messageHash);
        vm.prank(owner);
        mach.removeAlert(messageHash);

        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.ResolvedAlert.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", uint32(block.number + 1)), params);

        vm.prank(confirmer, stranger);
        _expectError(IMachServiceManager.InvalidSender.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", uint32(block.number + 1)), params);
    }

    /// @notice (d) The reference block is checked before the quorum parameters: a future block
    /// with mismatched lengths is `InvalidReferenceBlockNum`; the lengths are then checked before
    /// the signature.
    function test_order_referenceBlockBeforeQuorumParams() public {
        bytes32 messageHash = keccak256("order: reference block");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        IBLSSignatureChecker.NonSignerStakesAndSignature memory bad = _badSignature(messageHash);
        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InvalidReferenceBlockNum.selector);
        mach.confirmAlert(_header(messageHash, hex"0001", hex"42", uint32(block.number)), params);

        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InvalidQuorumParam.selector);
        mach.confirmAlert(_header(messageHash, hex"0001", hex"42", referenceBlock), bad);
    }

    /// @notice (e) An alert already confirmed, resubmitted with a bad signature, fails on the
    /// signature: the duplicate check is the last one.
    function test_order_signatureBeforeDuplicate() public {
        bytes32 messageHash = keccak256("order: duplicate");
        _confirmAll(messageHash);
        IBLSSignatureChecker.NonSignerStakesAndSignature memory bad = _badSignature(messageHash);
        vm.prank(confirmer, confirmer);
        _expectReason(SIGNATURE_INVALID);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), bad);
        vm.assertEq(mach.totalAlerts(), 1, "still one alert");
    }

    /// @notice (f) A percentage above 100 with a bad signature fails on the signature: the
    /// percentages are checked after it.
    function test_order_signatureBeforePercentage() public {
        bytes32 messageHash = keccak256("order: percentage");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory bad = _badSignature(messageHash);
        vm.prank(confirmer, confirmer);
        _expectReason(SIGNATURE_INVALID);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"65", referenceBlock), bad); // 101
        vm.prank(confirmer, confirmer);
        _expectReason(SIGNATURE_INVALID);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"01", referenceBlock), bad); // 1 < 66
    }

    /// @notice (g) With a valid signature the alert checks come in order: percentage above 100,
    /// percentage below the minimum, then (last) the duplicate, even for an already confirmed
    /// alert.
    function test_order_afterValidSignature() public {
        bytes32 messageHash = keccak256("order: valid signature");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        _submit(messageHash, _quorum0(), hex"42", params);

        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InvalidQuorumThresholdPercentage.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"65", referenceBlock), params); // 101

        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InsufficientThresholdPercentages.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"41", referenceBlock), params); // 65 < 66

        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.AlreadyAdded.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    // ------------------------------------------------------------ signature parameters

    /// @notice The lengths of the per-quorum arrays must match the quorum count: each array one
    /// entry short, and a second quorum with one-quorum parameters, are "input quorum length
    /// mismatch".
    function test_confirmAlert_quorumLengthMismatch() public {
        bytes32 messageHash = keccak256("quorum length");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory one = _allSigned(messageHash);
        vm.prank(confirmer, confirmer);
        _expectReason(QUORUM_LENGTH_MISMATCH);
        mach.confirmAlert(_header(messageHash, hex"0001", hex"4242", referenceBlock), one);

        for (uint256 k = 0; k < 4; k++) {
            IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
            if (k == 0) params.quorumApks = new BN254.G1Point[](0);
            if (k == 1) params.quorumApkIndices = new uint32[](0);
            if (k == 2) params.totalStakeIndices = new uint32[](0);
            if (k == 3) params.nonSignerStakeIndices = new uint32[][](0);
            vm.prank(confirmer, confirmer);
            _expectReason(QUORUM_LENGTH_MISMATCH);
            mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
        }
    }

    /// @notice Non-signer keys and their bitmap indices must pair up: "input nonsigner length
    /// mismatch".
    function test_confirmAlert_nonSignerLengthMismatch() public {
        bytes32 messageHash = keccak256("nonsigner length");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _params(messageHash, _quorum0(), _list(0));
        params.nonSignerQuorumBitmapIndices = new uint32[](2);
        vm.prank(confirmer, confirmer);
        _expectReason(NONSIGNER_LENGTH_MISMATCH);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);

        params = _allSigned(messageHash);
        params.nonSignerQuorumBitmapIndices = new uint32[](1);
        vm.prank(confirmer, confirmer);
        _expectReason(NONSIGNER_LENGTH_MISMATCH);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    /// @notice Quorum numbers must be strictly ascending ("not ordered", duplicates included, and
    /// checked before the quorum count) and below the quorum count ("bitmap exceeds max value").
    function test_confirmAlert_quorumNumbersOrderedAndExisting() public {
        bytes32 messageHash = keccak256("quorum numbers");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory one = _allSigned(messageHash);
        // Sized for two quorums; the signature is never reached.
        IBLSSignatureChecker.NonSignerStakesAndSignature memory two =
            _indices(hex"0001", referenceBlock, new uint256[](0));
        bytes[3] memory unordered = [bytes(hex"0100"), bytes(hex"0000"), bytes(hex"0302")];
        for (uint256 k = 0; k < 3; k++) {
            vm.prank(confirmer, confirmer);
            _expectReason(QUORUMS_NOT_ORDERED);
            mach.confirmAlert(_header(messageHash, unordered[k], hex"4242", referenceBlock), two);
        }

        // Quorum 2 does not exist (the coordinator has two quorums).
        vm.prank(confirmer, confirmer);
        _expectReason(QUORUMS_EXCEED_COUNT);
        mach.confirmAlert(_header(messageHash, hex"02", hex"42", referenceBlock), one);
        vm.prank(confirmer, confirmer);
        _expectReason(QUORUMS_EXCEED_COUNT);
        mach.confirmAlert(_header(messageHash, hex"0002", hex"4242", referenceBlock), two);
        vm.prank(confirmer, confirmer);
        _expectReason(QUORUMS_EXCEED_COUNT);
        mach.confirmAlert(_header(messageHash, hex"ff", hex"42", referenceBlock), one);
    }

    /// @notice More than 256 quorum numbers (with as many thresholds and per-quorum parameters)
    /// are "orderedBytesArray is too long", before their order is looked at.
    function test_confirmAlert_tooManyQuorums() public {
        bytes32 messageHash = keccak256("257 quorums");
        bytes memory quorums = new bytes(257);
        bytes memory thresholds = new bytes(257);
        for (uint256 i = 0; i < 257; i++) {
            // forge-lint: disable-next-line(unsafe-typecast)
            quorums[i] = bytes1(uint8(i)); // 0, 1, ..., 255, 0
            thresholds[i] = hex"42";
        }
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        params.quorumApks = new BN254.G1Point[](257);
        params.quorumApkIndices = new uint32[](257);
        params.totalStakeIndices = new uint32[](257);
        params.nonSignerStakeIndices = new uint32[][](257);
        vm.prank(confirmer, confirmer);
        _expectReason(QUORUMS_TOO_LONG);
        mach.confirmAlert(_header(messageHash, quorums, thresholds, referenceBlock), params);
    }

    /// @notice Non-signer keys must come in strictly ascending hash order: swapped and repeated
    /// keys are "nonSignerPubkeys not sorted"; in order, the same list passes that check and the
    /// signature check (and then fails on the stake: operators 0..9 did not sign).
    function test_confirmAlert_nonSignersNotSorted() public {
        bytes32 messageHash = keccak256("nonsigner order");
        // Operators 10..15 signed (24 % of quorum 0); the non-signers 0..9 are listed sorted.
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(messageHash, _quorum0(), _range(0, 10));
        (params.nonSignerPubkeys[0], params.nonSignerPubkeys[1]) =
            (params.nonSignerPubkeys[1], params.nonSignerPubkeys[0]);
        (params.nonSignerQuorumBitmapIndices[0], params.nonSignerQuorumBitmapIndices[1]) =
            (params.nonSignerQuorumBitmapIndices[1], params.nonSignerQuorumBitmapIndices[0]);
        vm.prank(confirmer, confirmer);
        _expectReason(NONSIGNERS_NOT_SORTED);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);

        params = _params(messageHash, _quorum0(), _range(0, 10));
        params.nonSignerPubkeys[5] = params.nonSignerPubkeys[4];
        vm.prank(confirmer, confirmer);
        _expectReason(NONSIGNERS_NOT_SORTED);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);

        params = _params(messageHash, _quorum0(), _range(0, 10));
        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.InsufficientThreshold.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    /// @notice With stale-stake protection on (switched by the coordinator's owner), a quorum
    /// whose stakes were last updated `minWithdrawalDelayBlocks` or more before the reference
    /// block fails; one updated later passes.
    function test_confirmAlert_staleStakes() public {
        bytes32 messageHash = keccak256("stale stakes");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        vm.prank(coordinatorOwner);
        mach.setStaleStakesForbidden(true);
        delegation.setMinWithdrawalDelayBlocks(10);
        // Updated at 100: 100 + 10 is not after the reference block 110.
        coordinator.setQuorumUpdateBlockNumber(0, REGISTRATION_BLOCK);
        vm.prank(confirmer, confirmer);
        _expectReason(STALE_STAKES);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);

        // Updated at 101: 111 > 110.
        coordinator.setQuorumUpdateBlockNumber(0, REGISTRATION_BLOCK + 1);
        _submit(messageHash, _quorum0(), hex"42", params);
        vm.assertTrue(mach.contains(messageHash), "fresh stakes accepted");
    }

    /// @notice A quorum apk other than the one the BLSApkRegistry recorded: "quorumApk hash in
    /// storage does not match provided quorum apk".
    function test_confirmAlert_quorumApkMismatch() public {
        bytes32 messageHash = keccak256("apk mismatch");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        params.quorumApks[0] = pk[0];
        vm.prank(confirmer, confirmer);
        _expectReason(APK_MISMATCH);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    /// @notice A registry history index that does not cover the reference block: the registry
    /// double's own revert comes back unchanged.
    function test_confirmAlert_registryRevertBubblesUp() public {
        // A later stake change gives quorum 0's total stake a second history entry (block 125).
        vm.roll(REGISTRATION_BLOCK + 25);
        _setOperator(15, 1, 5 ether, 0);
        vm.roll(REGISTRATION_BLOCK + 30);
        bytes32 messageHash = keccak256("wrong index");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        params.totalStakeIndices[0] = 1;
        vm.prank(confirmer, confirmer);
        vm.expectRevert(bytes("history entry is after the block"));
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    // ------------------------------------------------------------ signatures

    /// @notice A signature of another message is "signature is invalid".
    function test_confirmAlert_wrongMessageSigned() public {
        bytes32 messageHash = keccak256("what was signed");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _params(keccak256("something else"), _quorum0(), new uint256[](0));
        vm.prank(confirmer, confirmer);
        _expectReason(SIGNATURE_INVALID);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    /// @notice The reference block is part of the signed message: a signature for another one is
    /// "signature is invalid".
    function test_confirmAlert_signedForAnotherReferenceBlock() public {
        bytes32 messageHash = keccak256("reference block is signed");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _sign(_reducedHash(messageHash, referenceBlock - 1), _quorum0(), referenceBlock, new uint256[](0));
        vm.prank(confirmer, confirmer);
        _expectReason(SIGNATURE_INVALID);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    /// @notice A non-signer left out of the list (claiming everyone signed) breaks the aggregate
    /// key: "signature is invalid".
    function test_confirmAlert_hiddenNonSigner() public {
        // Operators 1..15 signed, but the submission claims everyone did.
        bytes32 messageHash = keccak256("hidden non-signer");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory honest = _params(messageHash, _quorum0(), _list(0));
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        params.sigma = honest.sigma;
        params.apkG2 = honest.apkG2;
        vm.prank(confirmer, confirmer);
        _expectReason(SIGNATURE_INVALID);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    /// @notice A G2 key that is not a point of G2 makes the pairing precompile fail: "pairing
    /// precompile call failed".
    function test_confirmAlert_malformedG2Key() public {
        bytes32 messageHash = keccak256("bad g2");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        params.apkG2.X[0] += 1; // off the curve
        vm.prank(confirmer, confirmer);
        _expectReason(PAIRING_FAILED);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);

        params.apkG2 = BN254.G2Point([uint256(1), 1], [uint256(1), 1]);
        vm.prank(confirmer, confirmer);
        _expectReason(PAIRING_FAILED);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    /// @notice A signature that is not a point of the curve makes the G1 addition fail:
    /// "ec-add-failed".
    function test_confirmAlert_malformedSignature() public {
        bytes32 messageHash = keccak256("bad sigma");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        params.sigma = BN254.G1Point(1, 1);
        vm.prank(confirmer, confirmer);
        _expectReason("ec-add-failed");
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }

    /// @notice A non-signer key that is not a point of the curve, counted in two signed quorums,
    /// makes the G1 scalar multiplication fail: "ec-mul-failed".
    function test_confirmAlert_malformedNonSignerKey() public {
        // The registry double records the off-curve key (1, 1) as an operator in both quorums.
        BN254.G1Point memory offCurve = BN254.G1Point(1, 1);
        vm.roll(REGISTRATION_BLOCK + 30);
        coordinator.setQuorumBitmap(keccak256(abi.encode(uint256(1), uint256(1))), 3);
        vm.roll(REGISTRATION_BLOCK + 40);
        referenceBlock = REGISTRATION_BLOCK + 35;
        bytes32 messageHash = keccak256("bad non-signer key");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _params(messageHash, hex"0001", _list(0));
        params.nonSignerPubkeys[0] = offCurve;
        params.nonSignerQuorumBitmapIndices[0] = 0;
        vm.prank(confirmer, confirmer);
        _expectReason("ec-mul-failed");
        mach.confirmAlert(_header(messageHash, hex"0001", hex"4242", referenceBlock), params);
    }

    /// @notice `checkSignatures` is public on the service manager: called directly with a
    /// reference block that is not in the past it refuses with the middleware's string (through
    /// `confirmAlert` the earlier `InvalidReferenceBlockNum` check answers instead).
    function test_checkSignatures_invalidReferenceBlock() public {
        bytes32 messageHash = keccak256("direct check");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        bytes32 signedHash = _reducedHash(messageHash, referenceBlock);
        _expectReason("BLSSignatureChecker.checkSignatures: invalid reference block");
        mach.checkSignatures(signedHash, _quorum0(), uint32(block.number), params);
        _expectReason("BLSSignatureChecker.checkSignatures: invalid reference block");
        mach.checkSignatures(signedHash, _quorum0(), uint32(block.number + 1), params);
        // At the reference block it was signed for, it passes.
        (IBLSSignatureChecker.QuorumStakeTotals memory totals,) =
            mach.checkSignatures(signedHash, _quorum0(), referenceBlock, params);
        vm.assertEq(totals.signedStakeForQuorum[0], totals.totalStakeForQuorum[0], "everyone signed");
    }

    // ------------------------------------------------------------ duplicates and resolution

    /// @notice A valid resubmission of a confirmed alert is `AlreadyAdded`.
    function test_confirmAlert_duplicateRefused() public {
        bytes32 messageHash = keccak256("twice");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        _submit(messageHash, _quorum0(), hex"42", params);
        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.AlreadyAdded.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
        vm.assertEq(mach.totalAlerts(), 1, "one alert");
    }

    /// @notice Only the owner removes alerts; a removed alert is gone, resolved for good
    /// (`ResolvedAlert`), and removing it again does nothing.
    function test_removeAlert_resolvesForGood() public {
        bytes32 messageHash = keccak256("removed");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params = _allSigned(messageHash);
        _submit(messageHash, _quorum0(), hex"42", params);

        vm.prank(confirmer);
        _expectReason(NOT_OWNER);
        mach.removeAlert(messageHash);
        vm.prank(stranger);
        _expectReason(NOT_OWNER);
        mach.removeAlert(messageHash);
        vm.assertTrue(mach.contains(messageHash), "still there");

        vm.expectEmit(address(mach));
        emit AlertRemoved(messageHash, owner);
        vm.prank(owner);
        mach.removeAlert(messageHash);
        vm.assertFalse(mach.contains(messageHash), "no longer contained");
        vm.assertEq(mach.totalAlerts(), 0, "no alerts");

        vm.prank(confirmer, confirmer);
        _expectError(IMachServiceManager.ResolvedAlert.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);

        // Removing it again is a no-op: no revert, no event, nothing changes.
        bytes32 other = keccak256("still confirmed");
        _confirmAll(other);
        vm.recordLogs();
        vm.prank(owner);
        mach.removeAlert(messageHash);
        vm.assertEq(vm.getRecordedLogs().length, 0, "no event");
        vm.assertEq(mach.totalAlerts(), 1, "total unchanged");
        vm.assertFalse(mach.contains(messageHash), "still not contained");
        vm.assertTrue(mach.contains(other), "the other alert stays");
    }

    /// @notice Removing a hash that was never confirmed is a no-op: no revert, no event, the
    /// total unchanged, still not contained (and it does not become resolved).
    function test_removeAlert_unknown() public {
        bytes32 confirmed = keccak256("confirmed");
        _confirmAll(confirmed);
        bytes32 unknown = keccak256("never confirmed");

        vm.recordLogs();
        vm.prank(owner);
        mach.removeAlert(unknown);
        vm.assertEq(vm.getRecordedLogs().length, 0, "no event");
        vm.assertEq(mach.totalAlerts(), 1, "total unchanged");
        vm.assertFalse(mach.contains(unknown), "not contained");
        vm.assertTrue(mach.contains(confirmed), "the confirmed alert stays");

        // Not resolved either: it can still be confirmed.
        _confirmAll(unknown);
        vm.assertTrue(mach.contains(unknown), "confirmable");
    }

    // ------------------------------------------------------------ pagination

    function _confirmMany(uint256 n) internal returns (bytes32[] memory hashes) {
        hashes = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            hashes[i] = keccak256(abi.encode("alert", i));
            _confirmAll(hashes[i]);
        }
    }

    function _slice(bytes32[] memory all, uint256 from, uint256 to) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](to - from);
        for (uint256 i = from; i < to; i++) {
            out[i - from] = all[i];
        }
    }

    /// @notice Pages in confirmation order, clamped at the end; a start at or past the total
    /// (always, when there are none) is `InvalidStartIndex`.
    function test_queryMessageHashes_pages() public {
        _expectError(IMachServiceManager.InvalidStartIndex.selector);
        mach.queryMessageHashes(0, 1);

        bytes32[] memory hashes = _confirmMany(5);
        vm.assertEq(mach.totalAlerts(), 5, "five alerts");
        vm.assertEq(mach.queryMessageHashes(0, 2), _slice(hashes, 0, 2), "first page");
        vm.assertEq(mach.queryMessageHashes(2, 2), _slice(hashes, 2, 4), "second page");
        vm.assertEq(mach.queryMessageHashes(4, 2), _slice(hashes, 4, 5), "last page is clamped");
        vm.assertEq(mach.queryMessageHashes(1, type(uint256).max), _slice(hashes, 1, 5), "huge size is clamped");
        vm.assertEq(mach.queryMessageHashes(3, 0).length, 0, "size zero");

        _expectError(IMachServiceManager.InvalidStartIndex.selector);
        mach.queryMessageHashes(5, 1);
        _expectError(IMachServiceManager.InvalidStartIndex.selector);
        mach.queryMessageHashes(type(uint256).max, 1);
    }

    /// @notice Removal moves the last alert into the freed position; once all are removed a
    /// query is `InvalidStartIndex` again.
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
        _expectError(IMachServiceManager.InvalidStartIndex.selector);
        mach.queryMessageHashes(0, 1);
    }
}
