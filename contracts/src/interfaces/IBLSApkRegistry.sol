// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title The part of EigenLayer middleware's BLSApkRegistry that the signature checker reads.
/// @notice Selectors match `eigen-utils` rewardsv2/middleware/bls_apk_registry.rs.
interface IBLSApkRegistry {
    /// @notice The first 24 bytes of keccak256(X, Y) of quorum `quorumNumber`'s aggregate G1
    /// public key as it stood at `blockNumber`; `index` points into the quorum's history and the
    /// registry reverts if that entry does not cover `blockNumber`.
    function getApkHashAtBlockNumberAndIndex(uint8 quorumNumber, uint32 blockNumber, uint256 index)
        external
        view
        returns (bytes24);
}
