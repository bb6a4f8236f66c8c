// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "./interfaces/IERC20.sol";
import {IPauserRegistry} from "./interfaces/IPauserRegistry.sol";
import {IStrategy} from "./interfaces/IStrategy.sol";
import {IStrategyManager} from "./interfaces/IStrategyManager.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {Pausable} from "./utils/Pausable.sol";

/// @title EigenLayer strategy holding one ERC-20, with EigenLayer's `StrategyBase` accounting.
/// @notice Deployed behind a TransparentUpgradeableProxy and initialised with the token and a
/// pauser registry; whitelisted in EigenLayer's StrategyManager, which is the only caller of
/// `deposit` and `withdraw`.
///
/// Shares: the exchange rate is (token balance + 1e3) / (total shares + 1e3). The virtual 1e3
/// on both sides makes the first deposit mint shares 1:1 and makes inflating the rate by
/// donating tokens to an empty strategy too expensive to steal from later depositors.
/// Pause flags: 0 stops deposits, 1 stops withdrawals.
contract ERC20Strategy is Initializable, Pausable, IStrategy {
    /// @notice Pause flag that stops deposits.
    uint8 internal constant PAUSED_DEPOSITS = 0;
    /// @notice Pause flag that stops withdrawals.
    uint8 internal constant PAUSED_WITHDRAWALS = 1;

    /// @dev Virtual shares and virtual balance added to both sides of the exchange rate.
    uint256 internal constant SHARES_OFFSET = 1e3;
    uint256 internal constant BALANCE_OFFSET = 1e3;
    /// @notice Ceiling on total shares, which keeps the rate arithmetic far from overflow.
    uint256 public constant MAX_TOTAL_SHARES = 1e38 - 1;

    /// @notice EigenLayer's StrategyManager: the only caller of `deposit` and `withdraw`.
    IStrategyManager public immutable strategyManager;

    /// @inheritdoc IStrategy
    IERC20 public underlyingToken;

    /// @inheritdoc IStrategy
    uint256 public totalShares;

    /// @notice The caller is not the StrategyManager.
    error OnlyStrategyManager();
    /// @notice The token is not this strategy's underlying token.
    error OnlyUnderlyingToken();
    /// @notice The deposit is too small to be worth one share.
    error NewSharesZero();
    /// @notice The deposit would take total shares past `MAX_TOTAL_SHARES`.
    error TotalSharesExceedsMax();
    /// @notice More shares would be withdrawn than exist.
    error WithdrawalExceedsTotalShares();
    /// @notice The token transfer to the recipient failed.
    error TokenTransferFailed();

    modifier onlyStrategyManager() {
        if (msg.sender != address(strategyManager)) revert OnlyStrategyManager();
        _;
    }

    constructor(IStrategyManager _strategyManager) {
        strategyManager = _strategyManager;
        _disableInitializers();
    }

    /// @notice Binds a proxy to `_underlyingToken` and `_pauserRegistry`, nothing paused.
    function initialize(IERC20 _underlyingToken, IPauserRegistry _pauserRegistry) public initializer {
        underlyingToken = _underlyingToken;
        emit StrategyTokenSet(_underlyingToken, _underlyingToken.decimals());
        _initializePauser(_pauserRegistry, UNPAUSE_ALL);
    }

    /// @inheritdoc IStrategy
    /// @dev The StrategyManager transfers `amount` in before calling, so the balance already
    /// includes it.
    function deposit(IERC20 token, uint256 amount)
        external
        onlyStrategyManager
        onlyWhenNotPaused(PAUSED_DEPOSITS)
        returns (uint256 newShares)
    {
        if (address(token) != address(underlyingToken)) revert OnlyUnderlyingToken();
        uint256 priorTotalShares = totalShares;
        uint256 virtualPriorBalance = _tokenBalance() + BALANCE_OFFSET - amount;
        newShares = (amount * (priorTotalShares + SHARES_OFFSET)) / virtualPriorBalance;
        if (newShares == 0) revert NewSharesZero();
        uint256 newTotalShares = priorTotalShares + newShares;
        if (newTotalShares > MAX_TOTAL_SHARES) revert TotalSharesExceedsMax();
        totalShares = newTotalShares;
        _emitExchangeRate();
    }

    /// @inheritdoc IStrategy
    function withdraw(address recipient, IERC20 token, uint256 amountShares)
        external
        onlyStrategyManager
        onlyWhenNotPaused(PAUSED_WITHDRAWALS)
    {
        if (address(token) != address(underlyingToken)) revert OnlyUnderlyingToken();
        uint256 priorTotalShares = totalShares;
        if (amountShares > priorTotalShares) revert WithdrawalExceedsTotalShares();
        uint256 amountToSend =
            ((_tokenBalance() + BALANCE_OFFSET) * amountShares) / (priorTotalShares + SHARES_OFFSET);
        totalShares = priorTotalShares - amountShares;
        _emitExchangeRate();
        _safeTransfer(recipient, amountToSend);
    }

    /// @inheritdoc IStrategy
    function explanation() external pure virtual returns (string memory) {
        return "Holds one ERC-20 token; shares are claims on a pro-rata part of the balance.";
    }

    /// @inheritdoc IStrategy
    function sharesToUnderlyingView(uint256 amountShares) public view returns (uint256) {
        return ((_tokenBalance() + BALANCE_OFFSET) * amountShares) / (totalShares + SHARES_OFFSET);
    }

    /// @inheritdoc IStrategy
    function sharesToUnderlying(uint256 amountShares) external virtual returns (uint256) {
        return sharesToUnderlyingView(amountShares);
    }

    /// @inheritdoc IStrategy
    function underlyingToSharesView(uint256 amountUnderlying) public view returns (uint256) {
        return (amountUnderlying * (totalShares + SHARES_OFFSET)) / (_tokenBalance() + BALANCE_OFFSET);
    }

    /// @inheritdoc IStrategy
    function underlyingToShares(uint256 amountUnderlying) external virtual returns (uint256) {
        return underlyingToSharesView(amountUnderlying);
    }

    /// @inheritdoc IStrategy
    function userUnderlyingView(address user) external view returns (uint256) {
        return sharesToUnderlyingView(shares(user));
    }

    /// @inheritdoc IStrategy
    function userUnderlying(address user) external virtual returns (uint256) {
        return sharesToUnderlyingView(shares(user));
    }

    /// @inheritdoc IStrategy
    function shares(address user) public view returns (uint256) {
        return strategyManager.stakerStrategyShares(user, IStrategy(address(this)));
    }

    function _tokenBalance() internal view returns (uint256) {
        return underlyingToken.balanceOf(address(this));
    }

    /// @dev Underlying per share, scaled by 1e18, after the change just made.
    function _emitExchangeRate() private {
        emit ExchangeRateEmitted((1e18 * (_tokenBalance() + BALANCE_OFFSET)) / (totalShares + SHARES_OFFSET));
    }

    /// @dev `transfer` that also accepts tokens returning nothing, and fails on `false`.
    function _safeTransfer(address to, uint256 amount) private {
        (bool ok, bytes memory returndata) =
            address(underlyingToken).call(abi.encodeCall(IERC20.transfer, (to, amount)));
        if (!ok || (returndata.length != 0 && !abi.decode(returndata, (bool)))) revert TokenTransferFailed();
    }

    /// @dev Reserved so that later versions can add state.
    uint256[48] private __gap;
}
