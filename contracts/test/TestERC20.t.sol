// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestERC20} from "../src/TestERC20.sol";
import {Test} from "./utils/Test.sol";

/// @notice TestERC20: metadata, initial supply, transfers, allowances, owner minting and
/// OpenZeppelin's ownership.
contract TestERC20Test is Test {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    address internal holder = address(0x1);
    address internal alice = address(0x2);
    address internal bob = address(0x3);
    TestERC20 internal token;

    function setUp() public {
        token = new TestERC20("Mach Test Token", "MTT", 1000 ether, holder);
    }

    function test_metadataAndInitialSupply() public {
        vm.assertEq(token.name(), "Mach Test Token", "name");
        vm.assertEq(token.symbol(), "MTT", "symbol");
        vm.assertEq(token.decimals(), 18, "decimals");
        vm.assertEq(token.totalSupply(), 1000 ether, "supply");
        vm.assertEq(token.balanceOf(holder), 1000 ether, "holder balance");
        vm.assertEq(token.owner(), address(this), "deployer owns");

        vm.expectEmit();
        emit Transfer(address(0), alice, 5);
        TestERC20 other = new TestERC20("A", "B", 5, alice);
        vm.assertEq(other.balanceOf(alice), 5, "minted to the holder");
        vm.assertEq(new TestERC20("A", "B", 0, address(0)).totalSupply(), 0, "no initial supply");
        vm.expectRevert(TestERC20.ZeroAddress.selector);
        new TestERC20("A", "B", 1, address(0));
    }

    function test_transfer() public {
        vm.expectEmit(address(token));
        emit Transfer(holder, alice, 10 ether);
        vm.prank(holder);
        vm.assertTrue(token.transfer(alice, 10 ether), "returns true");
        vm.assertEq(token.balanceOf(alice), 10 ether, "alice");
        vm.assertEq(token.balanceOf(holder), 990 ether, "holder");

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(TestERC20.InsufficientBalance.selector, alice, 10 ether, 11 ether));
        // forge-lint: disable-next-line(erc20-unchecked-transfer)
        token.transfer(bob, 11 ether);
        vm.prank(alice);
        vm.expectRevert(TestERC20.ZeroAddress.selector);
        // forge-lint: disable-next-line(erc20-unchecked-transfer)
        token.transfer(address(0), 1);
    }

    function test_approveAndTransferFrom() public {
        vm.expectEmit(address(token));
        emit Approval(holder, alice, 30 ether);
        vm.prank(holder);
        token.approve(alice, 30 ether);
        vm.assertEq(token.allowance(holder, alice), 30 ether, "allowance");

        vm.prank(alice);
        vm.assertTrue(token.transferFrom(holder, bob, 20 ether), "returns true");
        vm.assertEq(token.balanceOf(bob), 20 ether, "bob");
        vm.assertEq(token.allowance(holder, alice), 10 ether, "allowance spent");

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(TestERC20.InsufficientAllowance.selector, alice, 10 ether, 11 ether));
        // forge-lint: disable-next-line(erc20-unchecked-transfer)
        token.transferFrom(holder, bob, 11 ether);

        vm.prank(holder);
        vm.expectRevert(TestERC20.ZeroAddress.selector);
        token.approve(address(0), 1);
    }

    function test_infiniteAllowanceIsNotSpent() public {
        vm.prank(holder);
        token.approve(alice, type(uint256).max);
        vm.prank(alice);
        vm.assertTrue(token.transferFrom(holder, bob, 100 ether), "returns true");
        vm.assertEq(token.allowance(holder, alice), type(uint256).max, "unchanged");
    }

    function test_mintOnlyOwner() public {
        vm.prank(alice);
        vm.expectRevert(_reason("Ownable: caller is not the owner"));
        token.mint(alice, 1);

        token.mint(alice, 5 ether);
        vm.assertEq(token.balanceOf(alice), 5 ether, "minted");
        vm.assertEq(token.totalSupply(), 1005 ether, "supply grew");
    }

    function test_ownershipTransfer() public {
        vm.prank(alice);
        vm.expectRevert(_reason("Ownable: caller is not the owner"));
        token.transferOwnership(alice);
        vm.expectRevert(_reason("Ownable: new owner is the zero address"));
        token.transferOwnership(address(0));

        token.transferOwnership(alice);
        vm.assertEq(token.owner(), alice, "transferred");
        vm.expectRevert(_reason("Ownable: caller is not the owner"));
        token.mint(bob, 1);
        vm.prank(alice);
        token.mint(bob, 1);
        vm.assertEq(token.balanceOf(bob), 1, "the new owner mints");
    }

    /// @dev Revert data of `require(false, reason)`.
    function _reason(string memory reason) internal pure returns (bytes memory) {
        return abi.encodeWithSignature("Error(string)", reason);
    }
}
