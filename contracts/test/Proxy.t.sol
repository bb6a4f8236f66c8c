// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {EmptyContract} from "../src/EmptyContract.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {ProxyAdmin} from "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol";
import {
    ITransparentUpgradeableProxy,
    TransparentUpgradeableProxy
} from "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol";
import {Test} from "./utils/Test.sol";

/// @dev First implementation: a counter with an initializer.
contract CounterV1 is Initializable {
    uint256 public count;
    address public initializedBy;

    error Boom(uint256 code);

    constructor() {
        _disableInitializers();
    }

    function initialize(uint256 start) external initializer {
        count = start;
        initializedBy = msg.sender;
    }

    /// @dev An initializer that always fails, with revert data to recognise.
    function initializeAndFail() external initializer {
        count = 99;
        revert Boom(42);
    }

    function increment() external {
        count += 1;
    }

    function version() external pure virtual returns (uint256) {
        return 1;
    }
}

/// @dev Second implementation: same storage, new code.
contract CounterV2 is CounterV1 {
    function version() external pure override returns (uint256) {
        return 2;
    }
}

/// @notice What our EigenLayer-style deployments rely on from OpenZeppelin 4.9's
/// TransparentUpgradeableProxy and ProxyAdmin: a proxy created on EmptyContract and initialised
/// by `upgradeAndCall`, the admin's getters, upgrades that keep state, owner-only upgrades,
/// transparency, and the reverts of each refusal. OpenZeppelin's own tests cover the rest.
contract ProxyTest is Test {
    bytes32 internal constant IMPLEMENTATION_SLOT = bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1);
    bytes32 internal constant ADMIN_SLOT = bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1);

    address internal stranger = address(0xBAD);
    ProxyAdmin internal proxyAdmin;
    EmptyContract internal empty;
    CounterV1 internal v1;
    CounterV2 internal v2;
    TransparentUpgradeableProxy internal proxy;
    ITransparentUpgradeableProxy internal proxyHandle;

    function setUp() public {
        proxyAdmin = new ProxyAdmin();
        empty = new EmptyContract();
        v1 = new CounterV1();
        v2 = new CounterV2();
        proxy = new TransparentUpgradeableProxy(address(empty), address(proxyAdmin), "");
        proxyHandle = ITransparentUpgradeableProxy(address(proxy));
    }

    function _slot(bytes32 slot) internal view returns (address) {
        return address(uint160(uint256(vm.load(address(proxy), slot))));
    }

    /// @dev Revert data of `require(false, reason)`.
    function _reason(string memory reason) internal pure returns (bytes memory) {
        return abi.encodeWithSignature("Error(string)", reason);
    }

    function _initialize(uint256 start) internal {
        proxyAdmin.upgradeAndCall(proxyHandle, address(v1), abi.encodeCall(CounterV1.initialize, (start)));
    }

    function test_deploymentPattern() public {
        // Before the upgrade the proxy has EmptyContract's code: every call reverts, without data.
        vm.assertEq(proxyAdmin.getProxyImplementation(proxyHandle), address(empty), "placeholder");
        vm.expectRevert(bytes(""));
        CounterV1(address(proxy)).count();

        _initialize(7);
        CounterV1 counter = CounterV1(address(proxy));
        vm.assertEq(counter.count(), 7, "initialised");
        vm.assertEq(counter.initializedBy(), address(proxyAdmin), "initialised by the admin contract");
        vm.assertEq(proxyAdmin.getProxyImplementation(proxyHandle), address(v1), "implementation");
        vm.assertEq(proxyAdmin.getProxyAdmin(proxyHandle), address(proxyAdmin), "admin");
        vm.assertEq(_slot(IMPLEMENTATION_SLOT), address(v1), "EIP-1967 implementation slot");
        vm.assertEq(_slot(ADMIN_SLOT), address(proxyAdmin), "EIP-1967 admin slot");
        vm.assertEq(proxyAdmin.owner(), address(this), "the deployer owns the admin");
    }

    function test_initializeOnlyOnce() public {
        _initialize(7);
        // Neither again through the admin, nor directly, nor on the implementation itself.
        vm.expectRevert(_reason("Initializable: contract is already initialized"));
        proxyAdmin.upgradeAndCall(proxyHandle, address(v1), abi.encodeCall(CounterV1.initialize, (8)));
        vm.prank(stranger);
        vm.expectRevert(_reason("Initializable: contract is already initialized"));
        CounterV1(address(proxy)).initialize(8);
        vm.expectRevert(_reason("Initializable: contract is already initialized"));
        v1.initialize(8);
        vm.assertEq(CounterV1(address(proxy)).count(), 7, "unchanged");
    }

    function test_upgradeAndCall_bubblesInitializerRevert() public {
        vm.expectRevert(abi.encodeWithSelector(CounterV1.Boom.selector, 42));
        proxyAdmin.upgradeAndCall(proxyHandle, address(v1), abi.encodeCall(CounterV1.initializeAndFail, ()));
        // The whole upgrade was undone.
        vm.assertEq(proxyAdmin.getProxyImplementation(proxyHandle), address(empty), "not upgraded");
    }

    function test_upgrade_keepsState() public {
        _initialize(10);
        CounterV1(address(proxy)).increment();

        proxyAdmin.upgrade(proxyHandle, address(v2));
        CounterV2 counter = CounterV2(address(proxy));
        vm.assertEq(proxyAdmin.getProxyImplementation(proxyHandle), address(v2), "implementation");
        vm.assertEq(counter.version(), 2, "new code");
        vm.assertEq(counter.count(), 11, "state kept");
        vm.assertEq(counter.initializedBy(), address(proxyAdmin), "state kept (initializer)");
    }

    function test_upgrade_rejectsNonContract() public {
        _initialize(1);
        vm.expectRevert(_reason("ERC1967: new implementation is not a contract"));
        proxyAdmin.upgrade(proxyHandle, stranger);
        vm.expectRevert(_reason("ERC1967: new implementation is not a contract"));
        proxyAdmin.upgradeAndCall(proxyHandle, stranger, abi.encodeCall(CounterV1.increment, ()));
        vm.assertEq(proxyAdmin.getProxyImplementation(proxyHandle), address(v1), "unchanged");
    }

    function test_onlyOwnerUpgrades() public {
        vm.startPrank(stranger);
        vm.expectRevert(_reason("Ownable: caller is not the owner"));
        proxyAdmin.upgrade(proxyHandle, address(v1));
        vm.expectRevert(_reason("Ownable: caller is not the owner"));
        proxyAdmin.upgradeAndCall(proxyHandle, address(v1), abi.encodeCall(CounterV1.initialize, (1)));
        vm.expectRevert(_reason("Ownable: caller is not the owner"));
        proxyAdmin.changeProxyAdmin(proxyHandle, stranger);
        vm.stopPrank();
        vm.assertEq(proxyAdmin.getProxyImplementation(proxyHandle), address(empty), "not upgraded");

        // Only through the ProxyAdmin: the proxy's own upgrade entry is the admin's alone, and
        // reaches the (empty) implementation for anyone else.
        vm.prank(stranger);
        vm.expectRevert(bytes(""));
        proxyHandle.upgradeTo(address(v1));
    }

    function test_adminCannotCallTheImplementation() public {
        _initialize(1);
        vm.prank(address(proxyAdmin));
        vm.expectRevert(_reason("TransparentUpgradeableProxy: admin cannot fallback to proxy target"));
        CounterV1(address(proxy)).count();
        // Anyone else reaches it.
        vm.prank(stranger);
        vm.assertEq(CounterV1(address(proxy)).count(), 1, "delegated");
    }
}
