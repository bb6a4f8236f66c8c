// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IStrategy} from "./IStrategy.sol";

/// @title The part of EigenLayer's StrategyManager (pre-slashing core) that a strategy reads.
interface IStrategyManager {
    /// @notice Shares of `strategy` that `staker` holds.
    function stakerStrategyShares(address staker, IStrategy strategy) external view returns (uint256);
}
