// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20Strategy} from "../src/ERC20Strategy.sol";
import {PauserRegistry} from "../src/PauserRegistry.sol";
import {TestERC20} from "../src/TestERC20.sol";
import {IERC20} from "../src/interfaces/IERC20.sol";
import {IPauserRegistry} from "../src/interfaces/IPauserRegistry.sol";
import {IStrategy} from "../src/interfaces/IStrategy.sol";
import {IStrategyManager} from "../src/interfaces/IStrategyManager.sol";
import {ProxyAdmin} from "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol";
import {TransparentUpgradeableProxy} from "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol";
import {MockStrategyManager} from "./mocks/MockStrategyManager.sol";
import {Test} from "./utils/Test.sol";

/// @notice ERC20Strategy behind a proxy, driven by a StrategyManager double: share accounting,
/// conversions, access control and pausing.
contract ERC20StrategyTest is Test {
    event StrategyTokenSet(IERC20 token, uint8 decimals);
    event ExchangeRateEmitted(uint256 rate);

    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);
    address internal pauser = address(0x9A);
    address internal unpauser = address(0x9B);

    MockStrategyManager internal manager;
    TestERC20 internal token;
    TestERC20 internal otherToken;
    PauserRegistry internal pauserRegistry;
    ERC20Strategy internal implementation;
    ERC20Strategy internal strategy;

    function setUp() public {
        manager = new MockStrategyManager();
        token = new TestERC20("Restaked", "RST", 0, address(0));
        otherToken = new TestERC20("Other", "OTH", 1000 ether, address(this));
        address[] memory pausers = new address[](1);
        pausers[0] = pauser;
        pauserRegistry = new PauserRegistry(pausers, unpauser);
        implementation = new ERC20Strategy(IStrategyManager(address(manager)));
        ProxyAdmin admin = new ProxyAdmin();
        TransparentUpgradeableProxy proxy = new TransparentUpgradeableProxy(
            address(implementation),
            address(admin),
            abi.encodeCall(ERC20Strategy.initialize, (IERC20(address(token)), IPauserRegistry(pauserRegistry)))
        );
        strategy = ERC20Strategy(address(proxy));

        token.mint(alice, 1000 ether);
        token.mint(bob, 1000 ether);
        vm.prank(alice);
        token.approve(address(manager), type(uint256).max);
        vm.prank(bob);
        token.approve(address(manager), type(uint256).max);
    }

    function _deposit(address staker, uint256 amount) internal returns (uint256 shares) {
        vm.prank(staker);
        shares = manager.depositIntoStrategy(strategy, token, amount);
    }

    function test_initialize() public {
        vm.assertEq(address(strategy.underlyingToken()), address(token), "token");
        vm.assertEq(address(strategy.strategyManager()), address(manager), "manager");
        vm.assertEq(address(strategy.pauserRegistry()), address(pauserRegistry), "pauser registry");
        vm.assertEq(strategy.totalShares(), 0, "no shares");
        vm.assertTrue(bytes(strategy.explanation()).length > 0, "explanation");

        vm.expectRevert(_reason("Initializable: contract is already initialized"));
        strategy.initialize(token, pauserRegistry);
        vm.expectRevert(_reason("Initializable: contract is already initialized"));
        implementation.initialize(token, pauserRegistry);

        vm.expectEmit();
        emit StrategyTokenSet(token, 18);
        new TransparentUpgradeableProxy(
            address(implementation),
            address(new ProxyAdmin()),
            abi.encodeCall(ERC20Strategy.initialize, (IERC20(address(token)), IPauserRegistry(pauserRegistry)))
        );
    }

    function test_firstDepositIsOneToOne() public {
        vm.expectEmit(address(strategy));
        emit ExchangeRateEmitted(1e18);
        uint256 shares = _deposit(alice, 100 ether);
        vm.assertEq(shares, 100 ether, "1:1");
        vm.assertEq(strategy.totalShares(), 100 ether, "total");
        vm.assertEq(strategy.shares(alice), 100 ether, "shares read from the manager");
        vm.assertEq(strategy.userUnderlyingView(alice), 100 ether, "underlying");
        vm.assertEq(strategy.userUnderlying(alice), 100 ether, "underlying (non-view)");
        vm.assertEq(token.balanceOf(address(strategy)), 100 ether, "tokens held");
    }

    function test_sharesTrackGains() public {
        _deposit(alice, 100 ether);
        // The strategy earns 100 tokens: each share is now worth about 2 tokens.
        token.mint(address(strategy), 100 ether);
        uint256 bobShares = _deposit(bob, 100 ether);
        vm.assertEq(bobShares, uint256(100 ether * (100 ether + 1e3)) / (200 ether + 1e3), "half as many shares");
        uint256 totalShares = 100 ether + bobShares;
        vm.assertEq(
            strategy.underlyingToSharesView(100 ether), (100 ether * (totalShares + 1e3)) / (300 ether + 1e3), "conversion"
        );
        vm.assertEq(strategy.underlyingToShares(2 ether), strategy.underlyingToSharesView(2 ether), "non-view");
        uint256 aliceValue = strategy.sharesToUnderlyingView(100 ether);
        vm.assertEq(aliceValue, ((300 ether + 1e3) * 100 ether) / (totalShares + 1e3), "alice's value");
        vm.assertEq(strategy.sharesToUnderlying(100 ether), aliceValue, "non-view");
        vm.assertGt(aliceValue, 199 ether, "alice got the gain");
    }

    function test_withdraw() public {
        _deposit(alice, 100 ether);
        _deposit(bob, 50 ether);
        uint256 before = token.balanceOf(alice);
        vm.prank(alice);
        manager.withdrawSharesAsTokens(strategy, token, 40 ether);
        vm.assertEq(token.balanceOf(alice) - before, 40 ether, "tokens back");
        vm.assertEq(strategy.totalShares(), 110 ether, "shares burned");
        vm.assertEq(strategy.shares(alice), 60 ether, "alice's shares");
    }

    function test_withdrawMoreThanTotal() public {
        _deposit(alice, 10 ether);
        vm.prank(address(manager));
        vm.expectRevert(ERC20Strategy.WithdrawalExceedsTotalShares.selector);
        strategy.withdraw(alice, token, 10 ether + 1);
    }

    function test_onlyStrategyManager() public {
        vm.expectRevert(ERC20Strategy.OnlyStrategyManager.selector);
        strategy.deposit(token, 1);
        vm.expectRevert(ERC20Strategy.OnlyStrategyManager.selector);
        strategy.withdraw(alice, token, 1);
    }

    function test_onlyUnderlyingToken() public {
        vm.assertTrue(otherToken.transfer(address(strategy), 1 ether), "transfer");
        vm.prank(address(manager));
        vm.expectRevert(ERC20Strategy.OnlyUnderlyingToken.selector);
        strategy.deposit(otherToken, 1 ether);
        vm.prank(address(manager));
        vm.expectRevert(ERC20Strategy.OnlyUnderlyingToken.selector);
        strategy.withdraw(alice, otherToken, 0);
    }

    function test_depositTooSmallForAShare() public {
        _deposit(alice, 1 ether);
        token.mint(address(strategy), 1000 ether);
        vm.prank(bob);
        vm.expectRevert(ERC20Strategy.NewSharesZero.selector);
        manager.depositIntoStrategy(strategy, token, 1);
        vm.prank(bob);
        vm.expectRevert(ERC20Strategy.NewSharesZero.selector);
        manager.depositIntoStrategy(strategy, token, 0);
    }

    function test_pausing() public {
        _deposit(alice, 10 ether);
        vm.prank(pauser);
        strategy.pause(1); // deposits
        vm.prank(alice);
        vm.expectRevert(_reason("Pausable: index is paused"));
        manager.depositIntoStrategy(strategy, token, 1 ether);
        vm.prank(alice);
        manager.withdrawSharesAsTokens(strategy, token, 1 ether);

        vm.prank(pauser);
        strategy.pause(3); // and withdrawals
        vm.prank(alice);
        vm.expectRevert(_reason("Pausable: index is paused"));
        manager.withdrawSharesAsTokens(strategy, token, 1 ether);

        vm.prank(unpauser);
        strategy.unpause(0);
        _deposit(alice, 1 ether);
        vm.prank(alice);
        manager.withdrawSharesAsTokens(strategy, token, 1 ether);
    }

    function test_pauseAccessControl() public {
        vm.expectRevert(_reason("msg.sender is not permissioned as pauser"));
        strategy.pause(1);
        vm.expectRevert(_reason("msg.sender is not permissioned as pauser"));
        strategy.pauseAll();
        vm.prank(pauser);
        strategy.pause(2);

        // Pausers only add flags; the unpauser only removes them.
        vm.prank(pauser);
        vm.expectRevert(_reason("Pausable.pause: invalid attempt to unpause functionality"));
        strategy.pause(1);
        vm.prank(pauser);
        vm.expectRevert(_reason("msg.sender is not permissioned as unpauser"));
        strategy.unpause(0);
        vm.prank(unpauser);
        vm.expectRevert(_reason("Pausable.unpause: invalid attempt to pause functionality"));
        strategy.unpause(3);
        vm.prank(unpauser);
        strategy.unpause(0);
        vm.assertEq(strategy.paused(), 0, "unpaused");

        vm.expectRevert(_reason("msg.sender is not permissioned as unpauser"));
        strategy.setPauserRegistry(pauserRegistry);
        vm.prank(unpauser);
        vm.expectRevert(_reason("Pausable._setPauserRegistry: newPauserRegistry cannot be the zero address"));
        strategy.setPauserRegistry(IPauserRegistry(address(0)));
    }

    function test_initializeRequiresAPauserRegistry() public {
        ProxyAdmin admin = new ProxyAdmin();
        vm.expectRevert(_reason("Pausable._initializePauser: _initializePauser() can only be called once"));
        new TransparentUpgradeableProxy(
            address(implementation),
            address(admin),
            abi.encodeCall(ERC20Strategy.initialize, (IERC20(address(token)), IPauserRegistry(address(0))))
        );
    }

    function test_implementsIStrategy() public view {
        IStrategy s = IStrategy(address(strategy));
        vm.assertEq(s.totalShares(), 0, "callable through IStrategy");
        vm.assertEq(address(s.underlyingToken()), address(token), "token through IStrategy");
    }

    /// @dev Revert data of `require(false, reason)`.
    function _reason(string memory reason) internal pure returns (bytes memory) {
        return abi.encodeWithSignature("Error(string)", reason);
    }
}
