// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IBLSApkRegistry} from "./IBLSApkRegistry.sol";
import {IStakeRegistry} from "./IStakeRegistry.sol";

/// @title The part of EigenLayer middleware's RegistryCoordinator that the service manager reads.
/// @notice Selectors match `eigen-utils` rewardsv2/middleware/registry_coordinator.rs.
interface IRegistryCoordinator {
    /// @notice The BLSApkRegistry holding operators' BLS keys and quorum aggregate keys.
    function blsApkRegistry() external view returns (IBLSApkRegistry);

    /// @notice The StakeRegistry holding operator and quorum stake histories.
    function stakeRegistry() external view returns (IStakeRegistry);

    /// @notice Number of quorums created so far; quorums are numbered 0..quorumCount-1.
    function quorumCount() external view returns (uint8);

    /// @notice The RegistryCoordinator's owner (OpenZeppelin `Ownable`), who alone may switch the
    /// service manager's stale-stake protection.
    function owner() external view returns (address);

    /// @notice Block at which all operators' stakes of quorum `quorumNumber` were last updated.
    function quorumUpdateBlockNumber(uint8 quorumNumber) external view returns (uint256);

    /// @notice The quorums (bit i = quorum i) `operatorId` was in at `blockNumber`, read from its
    /// history entry `index` (reverts if that entry does not cover `blockNumber`).
    function getQuorumBitmapAtBlockNumberByIndex(bytes32 operatorId, uint32 blockNumber, uint256 index)
        external
        view
        returns (uint192);

    /// @notice The operator ID (hash of the BLS G1 public key) registered for `operator`.
    function getOperatorId(address operator) external view returns (bytes32);

    /// @notice The quorums `operatorId` is in now.
    function getCurrentQuorumBitmap(bytes32 operatorId) external view returns (uint192);
}
