// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "./IERC20.sol";

/// @title EigenLayer's `IStrategy` (pre-slashing core), as declared in `eigen-utils`
/// rewardsv2/core/i_strategy.rs: a vault that turns deposits of one ERC-20 into shares.
/// @notice Only the StrategyManager deposits and withdraws; share balances of stakers live in
/// the StrategyManager (`stakerStrategyShares`), the strategy keeps only the total.
interface IStrategy {
    /// @notice The underlying-per-share rate after a deposit or withdrawal, scaled by 1e18.
    event ExchangeRateEmitted(uint256 rate);

    /// @notice The strategy was bound to `token`, which has `decimals` decimals.
    event StrategyTokenSet(IERC20 token, uint8 decimals);

    /// @notice Accounts for `amount` of `token` that the StrategyManager already transferred in;
    /// returns the new shares.
    function deposit(IERC20 token, uint256 amount) external returns (uint256);

    /// @notice Burns `amountShares` and sends the underlying tokens they are worth to `recipient`.
    function withdraw(address recipient, IERC20 token, uint256 amountShares) external;

    /// @notice Underlying tokens that `amountShares` are worth now.
    function sharesToUnderlying(uint256 amountShares) external returns (uint256);

    /// @notice Shares that `amountUnderlying` tokens are worth now.
    function underlyingToShares(uint256 amountUnderlying) external returns (uint256);

    /// @notice Underlying tokens that `user`'s shares are worth now.
    function userUnderlying(address user) external returns (uint256);

    /// @notice `user`'s shares in this strategy, as recorded by the StrategyManager.
    function shares(address user) external view returns (uint256);

    /// @notice View form of `sharesToUnderlying`.
    function sharesToUnderlyingView(uint256 amountShares) external view returns (uint256);

    /// @notice View form of `underlyingToShares`.
    function underlyingToSharesView(uint256 amountUnderlying) external view returns (uint256);

    /// @notice View form of `userUnderlying`.
    function userUnderlyingView(address user) external view returns (uint256);

    /// @notice The ERC-20 this strategy holds.
    function underlyingToken() external view returns (IERC20);

    /// @notice Total shares outstanding.
    function totalShares() external view returns (uint256);

    /// @notice A human-readable description of the strategy.
    function explanation() external view returns (string memory);
}
