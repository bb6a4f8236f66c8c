// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BN254} from "./libraries/BN254.sol";
import {IBLSSignatureChecker} from "./interfaces/IBLSSignatureChecker.sol";
import {IBLSApkRegistry} from "./interfaces/IBLSApkRegistry.sol";
import {IDelegationManager} from "./interfaces/IDelegationManager.sol";
import {IRegistryCoordinator} from "./interfaces/IRegistryCoordinator.sol";
import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";

/// @title Aggregate-BLS-signature and stake check against EigenLayer middleware registries.
/// @notice Semantics of EigenLayer middleware's (pre-slashing) `BLSSignatureChecker`:
/// the aggregate key of the signers is recomputed on chain as the sum of the checked quorums'
/// aggregate keys (each verified against the BLSApkRegistry's history at the reference block)
/// minus every non-signer's key once per checked quorum it was in; the signed stake of a quorum
/// is its total stake minus its non-signers' stakes. The signature is then checked with a single
/// pairing equation that also binds the G1 aggregate key to the submitted G2 one.
///
/// The checks run in the middleware's order and revert with its exact strings
/// ("BLSSignatureChecker.checkSignatures: …", "BitmapUtils.orderedBytesArrayToBitmap: …");
/// reverts of the registries it reads come back unchanged, as they do from the middleware.
///
/// The registries' addresses are immutables of the implementation, read in the constructor:
/// deploy this after the RegistryCoordinator and StakeRegistry proxies point at their
/// implementations.
abstract contract BLSSignatureChecker is IBLSSignatureChecker {
    using BN254 for BN254.G1Point;

    /// @notice Gas granted to the pairing precompile (two pairings cost 113,000 since EIP-1108).
    uint256 internal constant PAIRING_EQUALITY_CHECK_GAS = 120_000;

    IRegistryCoordinator public immutable registryCoordinator;
    IStakeRegistry public immutable stakeRegistry;
    IBLSApkRegistry public immutable blsApkRegistry;
    IDelegationManager public immutable delegation;

    /// @notice When true, a check fails for a quorum whose stakes were last updated
    /// `delegation.minWithdrawalDelayBlocks()` or more blocks before the reference block, since
    /// stake withdrawn since then may be counted.
    bool public staleStakesForbidden;

    /// @dev Per-call scratch data, kept in memory to stay clear of stack limits.
    struct NonSignerInfo {
        bytes32[] pubkeyHashes;
        uint256[] quorumBitmaps;
    }

    constructor(IRegistryCoordinator _registryCoordinator, IStakeRegistry _stakeRegistry) {
        registryCoordinator = _registryCoordinator;
        stakeRegistry = _stakeRegistry;
        blsApkRegistry = _registryCoordinator.blsApkRegistry();
        delegation = _stakeRegistry.delegation();
    }

    /// @notice Verifies that the signers of `msgHash` (everyone registered in `quorumNumbers` at
    /// `referenceBlockNumber` except the listed non-signers) produced `params.sigma`, and returns
    /// the signed and total stake of each quorum.
    /// @return The signed and total stake per quorum, in `quorumNumbers` order.
    /// @return keccak256(referenceBlockNumber ‖ non-signer operator IDs): a record of who did not
    /// sign.
    function checkSignatures(
        bytes32 msgHash,
        bytes calldata quorumNumbers,
        uint32 referenceBlockNumber,
        NonSignerStakesAndSignature memory params
    ) public view returns (QuorumStakeTotals memory, bytes32) {
        uint256 quorumCount = quorumNumbers.length;
        require(quorumCount != 0, "BLSSignatureChecker.checkSignatures: empty quorum input");
        require(
            params.quorumApks.length == quorumCount && params.quorumApkIndices.length == quorumCount
                && params.totalStakeIndices.length == quorumCount && params.nonSignerStakeIndices.length == quorumCount,
            "BLSSignatureChecker.checkSignatures: input quorum length mismatch"
        );
        require(
            params.nonSignerPubkeys.length == params.nonSignerQuorumBitmapIndices.length,
            "BLSSignatureChecker.checkSignatures: input nonsigner length mismatch"
        );
        require(
            referenceBlockNumber < uint32(block.number), "BLSSignatureChecker.checkSignatures: invalid reference block"
        );

        // The signers' aggregate key: minus the non-signers' keys, each once per checked quorum
        // it was in, plus every checked quorum's aggregate key. And the stakes.
        (NonSignerInfo memory nonSigners, BN254.G1Point memory nonSignerSum) =
            _nonSignerKeys(params, referenceBlockNumber, _quorumBitmap(quorumNumbers));
        (QuorumStakeTotals memory totals, BN254.G1Point memory apk) =
            _quorumApksAndStakes(quorumNumbers, referenceBlockNumber, params, nonSigners, nonSignerSum.negate());

        (bool pairingSuccessful, bool signatureIsValid) =
            trySignatureAndApkVerification(msgHash, apk, params.apkG2, params.sigma);
        require(pairingSuccessful, "BLSSignatureChecker.checkSignatures: pairing precompile call failed");
        require(signatureIsValid, "BLSSignatureChecker.checkSignatures: signature is invalid");

        return (totals, keccak256(abi.encodePacked(referenceBlockNumber, nonSigners.pubkeyHashes)));
    }

    /// @notice Evaluates the pairing equation
    /// e(sigma + γ·apk, −G2) · e(H(msgHash) + γ·G1, apkG2) = 1 with
    /// γ = keccak256(msgHash, apk, apkG2, sigma) mod r, which holds exactly when sigma is the
    /// signature of `msgHash` under the key whose G1 and G2 halves are `apk` and `apkG2`.
    /// @return pairingSuccessful False when the precompile failed (malformed input).
    /// @return siganatureIsValid True when the equation holds. (The name's spelling is the
    /// deployed contract's, kept for ABI compatibility.)
    function trySignatureAndApkVerification(
        bytes32 msgHash,
        BN254.G1Point memory apk,
        BN254.G2Point memory apkG2,
        BN254.G1Point memory sigma
    ) public view returns (bool pairingSuccessful, bool siganatureIsValid) {
        uint256 gamma = uint256(
            keccak256(
                abi.encodePacked(
                    msgHash, apk.X, apk.Y, apkG2.X[0], apkG2.X[1], apkG2.Y[0], apkG2.Y[1], sigma.X, sigma.Y
                )
            )
        ) % BN254.FR_MODULUS;
        (pairingSuccessful, siganatureIsValid) = BN254.safePairing(
            sigma.plus(apk.scalarMul(gamma)),
            BN254.negGeneratorG2(),
            BN254.hashToG1(msgHash).plus(BN254.generatorG1().scalarMul(gamma)),
            apkG2,
            PAIRING_EQUALITY_CHECK_GAS
        );
    }

    /// @notice Turns stale-stake protection on or off. Only the RegistryCoordinator's owner may,
    /// as in the middleware: the stakes belong to its registries.
    function setStaleStakesForbidden(bool value) external {
        require(
            msg.sender == registryCoordinator.owner(),
            "BLSSignatureChecker.onlyCoordinatorOwner: caller is not the owner of the registryCoordinator"
        );
        staleStakesForbidden = value;
        emit StaleStakesForbiddenUpdate(value);
    }

    /// @dev Bitmap of `quorumNumbers`, which must be strictly ascending existing quorums: at most
    /// 256 entries, then the order, then the quorum count are checked, as the middleware's
    /// `BitmapUtils.orderedBytesArrayToBitmap` does.
    function _quorumBitmap(bytes calldata quorumNumbers) private view returns (uint256 bitmap) {
        uint256 existing = registryCoordinator.quorumCount();
        require(
            quorumNumbers.length <= 256, "BitmapUtils.orderedBytesArrayToBitmap: orderedBytesArray is too long"
        );
        for (uint256 i = 0; i < quorumNumbers.length; i++) {
            uint256 mask = uint256(1) << uint8(quorumNumbers[i]);
            // Strictly ascending exactly when each new bit is above every bit so far.
            require(mask > bitmap, "BitmapUtils.orderedBytesArrayToBitmap: orderedBytesArray is not ordered");
            bitmap |= mask;
        }
        require(
            existing >= 256 || (uint256(1) << existing) > bitmap,
            "BitmapUtils.orderedBytesArrayToBitmap: bitmap exceeds max value"
        );
    }

    /// @dev Hashes, quorum bitmaps at the reference block, and the sum of the non-signers' keys
    /// weighted by how many of the signing quorums each was in.
    function _nonSignerKeys(
        NonSignerStakesAndSignature memory params,
        uint32 referenceBlockNumber,
        uint256 signingQuorumBitmap
    ) private view returns (NonSignerInfo memory info, BN254.G1Point memory sum) {
        uint256 count = params.nonSignerPubkeys.length;
        info.pubkeyHashes = new bytes32[](count);
        info.quorumBitmaps = new uint256[](count);
        for (uint256 j = 0; j < count; j++) {
            bytes32 pubkeyHash = params.nonSignerPubkeys[j].hashG1Point();
            if (j != 0) {
                require(
                    uint256(pubkeyHash) > uint256(info.pubkeyHashes[j - 1]),
                    "BLSSignatureChecker.checkSignatures: nonSignerPubkeys not sorted"
                );
            }
            info.pubkeyHashes[j] = pubkeyHash;
            uint256 bitmap = registryCoordinator.getQuorumBitmapAtBlockNumberByIndex(
                pubkeyHash, referenceBlockNumber, params.nonSignerQuorumBitmapIndices[j]
            );
            info.quorumBitmaps[j] = bitmap;
            uint256 weight = _popCount(bitmap & signingQuorumBitmap);
            if (weight == 1) {
                sum = sum.plus(params.nonSignerPubkeys[j]);
            } else if (weight > 1) {
                sum = sum.plus(params.nonSignerPubkeys[j].scalarMul(weight));
            }
        }
    }

    /// @dev Checks each quorum's aggregate key against the BLSApkRegistry and adds it to `apk`;
    /// reads the quorum's stakes.
    function _quorumApksAndStakes(
        bytes calldata quorumNumbers,
        uint32 referenceBlockNumber,
        NonSignerStakesAndSignature memory params,
        NonSignerInfo memory nonSigners,
        BN254.G1Point memory apk
    ) private view returns (QuorumStakeTotals memory totals, BN254.G1Point memory) {
        uint256 quorumCount = quorumNumbers.length;
        totals.signedStakeForQuorum = new uint96[](quorumCount);
        totals.totalStakeForQuorum = new uint96[](quorumCount);
        bool checkStaleness = staleStakesForbidden;
        uint256 withdrawalDelayBlocks = checkStaleness ? delegation.minWithdrawalDelayBlocks() : 0;
        for (uint256 i = 0; i < quorumCount; i++) {
            uint8 quorumNumber = uint8(quorumNumbers[i]);
            if (checkStaleness) {
                require(
                    registryCoordinator.quorumUpdateBlockNumber(quorumNumber) + withdrawalDelayBlocks
                        > referenceBlockNumber,
                    "BLSSignatureChecker.checkSignatures: StakeRegistry updates must be within withdrawalDelayBlocks window"
                );
            }
            require(
                bytes24(params.quorumApks[i].hashG1Point())
                    == blsApkRegistry.getApkHashAtBlockNumberAndIndex(
                        quorumNumber, referenceBlockNumber, params.quorumApkIndices[i]
                    ),
                "BLSSignatureChecker.checkSignatures: quorumApk hash in storage does not match provided quorum apk"
            );
            apk = apk.plus(params.quorumApks[i]);
            (totals.signedStakeForQuorum[i], totals.totalStakeForQuorum[i]) =
                _quorumStakes(params, nonSigners, i, quorumNumber, referenceBlockNumber);
        }
        return (totals, apk);
    }

    /// @dev Signed and total stake of the `i`-th checked quorum.
    function _quorumStakes(
        NonSignerStakesAndSignature memory params,
        NonSignerInfo memory nonSigners,
        uint256 i,
        uint8 quorumNumber,
        uint32 referenceBlockNumber
    ) private view returns (uint96 signedStake, uint96 totalStake) {
        totalStake =
            stakeRegistry.getTotalStakeAtBlockNumberFromIndex(quorumNumber, referenceBlockNumber, params.totalStakeIndices[i]);
        signedStake = totalStake;
        uint32[] memory stakeIndices = params.nonSignerStakeIndices[i];
        uint256 k = 0;
        for (uint256 j = 0; j < nonSigners.pubkeyHashes.length; j++) {
            if ((nonSigners.quorumBitmaps[j] >> quorumNumber) & 1 == 1) {
                signedStake -= stakeRegistry.getStakeAtBlockNumberAndIndex(
                    quorumNumber, referenceBlockNumber, nonSigners.pubkeyHashes[j], stakeIndices[k]
                );
                k++;
            }
        }
    }

    /// @dev Number of set bits.
    function _popCount(uint256 x) private pure returns (uint256 count) {
        while (x != 0) {
            x &= x - 1;
            count++;
        }
    }

    /// @dev Reserved, with `staleStakesForbidden`, the 50 slots the middleware's checker takes.
    uint256[49] private __GAP;
}
