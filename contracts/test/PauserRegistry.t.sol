// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {PauserRegistry} from "../src/PauserRegistry.sol";
import {Test} from "./utils/Test.sol";

/// @notice PauserRegistry: construction, and administration by the unpauser only.
contract PauserRegistryTest is Test {
    event PauserStatusChanged(address pauser, bool canPause);
    event UnpauserChanged(address previousUnpauser, address newUnpauser);

    // EigenLayer's PauserRegistry strings.
    string internal constant ONLY_UNPAUSER = "msg.sender is not permissioned as unpauser";
    string internal constant ZERO_PAUSER = "PauserRegistry._setPauser: zero address input";
    string internal constant ZERO_UNPAUSER = "PauserRegistry._setUnpauser: zero address input";

    address internal pauserA = address(0xA);
    address internal pauserB = address(0xB);
    address internal unpauser = address(0xC);
    PauserRegistry internal registry;

    function setUp() public {
        address[] memory pausers = new address[](2);
        pausers[0] = pauserA;
        pausers[1] = pauserB;
        registry = new PauserRegistry(pausers, unpauser);
    }

    function test_constructor() public {
        vm.assertTrue(registry.isPauser(pauserA) && registry.isPauser(pauserB), "pausers");
        vm.assertFalse(registry.isPauser(unpauser), "the unpauser is not a pauser");
        vm.assertEq(registry.unpauser(), unpauser, "unpauser");

        address[] memory pausers = new address[](1);
        pausers[0] = pauserA;
        vm.expectEmit();
        emit PauserStatusChanged(pauserA, true);
        vm.expectEmit();
        emit UnpauserChanged(address(0), unpauser);
        new PauserRegistry(pausers, unpauser);
    }

    function test_constructor_rejectsZeroAddresses() public {
        address[] memory pausers = new address[](1);
        vm.expectRevert(_reason(ZERO_PAUSER));
        new PauserRegistry(pausers, unpauser);
        vm.expectRevert(_reason(ZERO_UNPAUSER));
        new PauserRegistry(new address[](0), address(0));
    }

    function test_setIsPauser() public {
        vm.prank(pauserA);
        vm.expectRevert(_reason(ONLY_UNPAUSER));
        registry.setIsPauser(pauserB, false);

        vm.startPrank(unpauser);
        vm.expectEmit(address(registry));
        emit PauserStatusChanged(pauserB, false);
        registry.setIsPauser(pauserB, false);
        vm.assertFalse(registry.isPauser(pauserB), "revoked");
        registry.setIsPauser(address(0xD), true);
        vm.assertTrue(registry.isPauser(address(0xD)), "granted");
        vm.expectRevert(_reason(ZERO_PAUSER));
        registry.setIsPauser(address(0), true);
        vm.stopPrank();
    }

    function test_setUnpauser() public {
        vm.prank(pauserA);
        vm.expectRevert(_reason(ONLY_UNPAUSER));
        registry.setUnpauser(pauserA);

        vm.prank(unpauser);
        vm.expectRevert(_reason(ZERO_UNPAUSER));
        registry.setUnpauser(address(0));

        vm.expectEmit(address(registry));
        emit UnpauserChanged(unpauser, pauserA);
        vm.prank(unpauser);
        registry.setUnpauser(pauserA);
        vm.assertEq(registry.unpauser(), pauserA, "moved");

        vm.prank(unpauser);
        vm.expectRevert(_reason(ONLY_UNPAUSER));
        registry.setIsPauser(pauserB, false);
    }

    /// @dev Revert data of `require(false, reason)`.
    function _reason(string memory reason) internal pure returns (bytes memory) {
        return abi.encodeWithSignature("Error(string)", reason);
    }
}
