// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BN254} from "../libraries/BN254.sol";

/// @title Checks aggregate BLS signatures of an AVS's operators against EigenLayer's registries.
/// @notice The structs are EigenLayer middleware's `IBLSSignatureChecker` ones (pre-slashing),
/// field for field, so the aggregator's `eigen-utils` bindings encode them as we decode them.
interface IBLSSignatureChecker {
    /// @notice What the aggregator submits besides the message: who did not sign, where to find
    /// each value in the registries' histories, and the aggregate signature.
    /// @param nonSignerQuorumBitmapIndices Per non-signer: index into its quorum-bitmap history
    /// (RegistryCoordinator) of the entry covering the reference block.
    /// @param nonSignerPubkeys G1 public keys of the non-signers, ordered by strictly ascending
    /// keccak256(X, Y) (their operator IDs).
    /// @param quorumApks Per quorum: the quorum's aggregate G1 key at the reference block.
    /// @param apkG2 Aggregate G2 key of the signers, each counted once per signed quorum it is in.
    /// @param sigma Aggregate signature (G1) of the signers, weighted the same way.
    /// @param quorumApkIndices Per quorum: index into the BLSApkRegistry apk history.
    /// @param totalStakeIndices Per quorum: index into the StakeRegistry total-stake history.
    /// @param nonSignerStakeIndices Per quorum, per non-signer in that quorum (in
    /// `nonSignerPubkeys` order): index into the operator's stake history.
    struct NonSignerStakesAndSignature {
        uint32[] nonSignerQuorumBitmapIndices;
        BN254.G1Point[] nonSignerPubkeys;
        BN254.G1Point[] quorumApks;
        BN254.G2Point apkG2;
        BN254.G1Point sigma;
        uint32[] quorumApkIndices;
        uint32[] totalStakeIndices;
        uint32[][] nonSignerStakeIndices;
    }

    /// @notice Stake per checked quorum (same order as the quorum numbers), in the StakeRegistry's
    /// weighted units.
    struct QuorumStakeTotals {
        uint96[] signedStakeForQuorum;
        uint96[] totalStakeForQuorum;
    }

    /// @notice Stale-stake protection was switched on (`value` true) or off.
    event StaleStakesForbiddenUpdate(bool value);

    function checkSignatures(
        bytes32 msgHash,
        bytes calldata quorumNumbers,
        uint32 referenceBlockNumber,
        NonSignerStakesAndSignature memory params
    ) external view returns (QuorumStakeTotals memory, bytes32);
}
