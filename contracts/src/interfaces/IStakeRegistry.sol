// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IDelegationManager} from "./IDelegationManager.sol";
import {IStrategy} from "./IStrategy.sol";

/// @title The part of EigenLayer middleware's StakeRegistry that the service manager reads.
/// @notice Selectors match `eigen-utils` rewardsv2/middleware/stake_registry.rs.
interface IStakeRegistry {
    /// @notice A strategy counted by a quorum, with the weight of one of its shares
    /// (`multiplier / 1e18` stake per share).
    struct StrategyParams {
        IStrategy strategy;
        uint96 multiplier;
    }

    /// @notice EigenLayer's DelegationManager that operator stakes are read from.
    function delegation() external view returns (IDelegationManager);

    /// @notice Total stake of quorum `quorumNumber` at `blockNumber`, from history entry `index`
    /// (reverts if that entry does not cover `blockNumber`).
    function getTotalStakeAtBlockNumberFromIndex(uint8 quorumNumber, uint32 blockNumber, uint256 index)
        external
        view
        returns (uint96);

    /// @notice Stake of `operatorId` in quorum `quorumNumber` at `blockNumber`, from the operator's
    /// history entry `index` (reverts if that entry does not cover `blockNumber`).
    function getStakeAtBlockNumberAndIndex(uint8 quorumNumber, uint32 blockNumber, bytes32 operatorId, uint256 index)
        external
        view
        returns (uint96);

    /// @notice Number of strategies that quorum `quorumNumber` counts.
    function strategyParamsLength(uint8 quorumNumber) external view returns (uint256);

    /// @notice The `index`-th strategy of quorum `quorumNumber` with its multiplier.
    function strategyParamsByIndex(uint8 quorumNumber, uint256 index) external view returns (StrategyParams memory);
}
