// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title The part of EigenLayer's DelegationManager (pre-slashing core) the signature checker
/// reads.
interface IDelegationManager {
    /// @notice Minimum number of blocks a queued withdrawal waits before it can complete.
    function minWithdrawalDelayBlocks() external view returns (uint256);
}
