// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "../../src/interfaces/IERC20.sol";
import {IStrategy} from "../../src/interfaces/IStrategy.sol";
import {IStrategyManager} from "../../src/interfaces/IStrategyManager.sol";

/// @dev Test double of EigenLayer's StrategyManager, doing what the real one does around a
/// strategy: move the tokens in, then call `deposit`; keep stakers' shares; call `withdraw`.
contract MockStrategyManager is IStrategyManager {
    mapping(address => mapping(IStrategy => uint256)) public stakerStrategyShares;

    function depositIntoStrategy(IStrategy strategy, IERC20 token, uint256 amount) external returns (uint256 shares) {
        require(token.transferFrom(msg.sender, address(strategy), amount), "transferFrom failed");
        shares = strategy.deposit(token, amount);
        stakerStrategyShares[msg.sender][strategy] += shares;
    }

    function withdrawSharesAsTokens(IStrategy strategy, IERC20 token, uint256 shares) external {
        stakerStrategyShares[msg.sender][strategy] -= shares;
        strategy.withdraw(msg.sender, token, shares);
    }
}
