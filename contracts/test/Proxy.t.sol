// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {EmptyContract} from "../src/EmptyContract.sol";
import {ProxyAdmin} from "../src/proxy/ProxyAdmin.sol";
import {TransparentUpgradeableProxy} from "../src/proxy/TransparentUpgradeableProxy.sol";
import {Ownable} from "../src/utils/Ownable.sol";
import {Initializable} from "../src/utils/Initializable.sol";
import {Test} from "./utils/Test.sol";

/// @dev First implementation: a counter with an initializer.
contract CounterV1 is Initializable {
    uint256 public count;
    address public initializedBy;

    error Boom();

    constructor() {
        _disableInitializers();
    }

    function initialize(uint256 start) external payable initializer {
        count = start;
        initializedBy = msg.sender;
    }

    function increment() external {
        count += 1;
    }

    function fail() external pure {
        revert Boom();
    }

    function version() external pure virtual returns (uint256) {
        return 1;
    }

    /// @dev Same selector as the proxy's `admin()`: only non-admin callers reach it.
    function admin() external pure returns (address) {
        return address(0xDEAD);
    }
}

/// @dev Second implementation: same storage, a new function and a reinitializer.
contract CounterV2 is CounterV1 {
    uint256 public step;

    function initializeV2(uint256 step_) external reinitializer(2) {
        step = step_;
    }

    function version() external pure override returns (uint256) {
        return 2;
    }
}

/// @notice TransparentUpgradeableProxy and ProxyAdmin: EIP-1967 slots, transparency, upgrades
/// with and without a call, admin changes, and owner-only administration.
contract ProxyTest is Test {
    event Upgraded(address indexed implementation);
    event AdminChanged(address previousAdmin, address newAdmin);

    bytes32 internal constant IMPLEMENTATION_SLOT = bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1);
    bytes32 internal constant ADMIN_SLOT = bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1);

    address internal stranger = address(0xBAD);
    ProxyAdmin internal proxyAdmin;
    EmptyContract internal empty;
    CounterV1 internal v1;
    CounterV2 internal v2;
    TransparentUpgradeableProxy internal proxy;

    function setUp() public {
        proxyAdmin = new ProxyAdmin();
        empty = new EmptyContract();
        v1 = new CounterV1();
        v2 = new CounterV2();
        proxy = new TransparentUpgradeableProxy(address(empty), address(proxyAdmin), "");
    }

    function _slot(bytes32 slot) internal view returns (address) {
        return address(uint160(uint256(vm.load(address(proxy), slot))));
    }

    function test_constructor_slotsEventsAndCall() public {
        vm.expectEmit();
        emit Upgraded(address(v1));
        vm.expectEmit();
        emit AdminChanged(address(0), address(proxyAdmin));
        TransparentUpgradeableProxy p = new TransparentUpgradeableProxy(
            address(v1), address(proxyAdmin), abi.encodeCall(CounterV1.initialize, (41))
        );
        vm.assertEq(CounterV1(address(p)).count(), 41, "initialised through the constructor");
        vm.assertEq(CounterV1(address(p)).initializedBy(), address(this), "deployer is msg.sender");
        vm.assertEq(
            address(uint160(uint256(vm.load(address(p), IMPLEMENTATION_SLOT)))), address(v1), "implementation slot"
        );
        vm.assertEq(address(uint160(uint256(vm.load(address(p), ADMIN_SLOT)))), address(proxyAdmin), "admin slot");
    }

    function test_constructor_rejectsBadArguments() public {
        vm.expectRevert(abi.encodeWithSelector(TransparentUpgradeableProxy.ImplementationIsNotContract.selector, stranger));
        new TransparentUpgradeableProxy(stranger, address(proxyAdmin), "");
        vm.expectRevert(TransparentUpgradeableProxy.AdminIsZeroAddress.selector);
        new TransparentUpgradeableProxy(address(v1), address(0), "");
        vm.expectRevert(CounterV1.Boom.selector);
        new TransparentUpgradeableProxy(address(v1), address(proxyAdmin), abi.encodeCall(CounterV1.fail, ()));
    }

    function test_emptyContractImplementationRejectsCalls() public {
        vm.expectRevert();
        CounterV1(address(proxy)).count();
    }

    function test_upgradeAndCall_deploymentPattern() public {
        vm.expectEmit(address(proxy));
        emit Upgraded(address(v1));
        proxyAdmin.upgradeAndCall(proxy, address(v1), abi.encodeCall(CounterV1.initialize, (7)));
        CounterV1 counter = CounterV1(address(proxy));
        vm.assertEq(counter.count(), 7, "initialised");
        vm.assertEq(counter.initializedBy(), address(proxyAdmin), "initialised by the admin contract");
        vm.assertEq(proxyAdmin.getProxyImplementation(proxy), address(v1), "implementation");
        vm.assertEq(proxyAdmin.getProxyAdmin(proxy), address(proxyAdmin), "admin");
        vm.assertEq(_slot(IMPLEMENTATION_SLOT), address(v1), "slot");

        // Initialising again through another upgradeAndCall fails in the implementation.
        vm.expectRevert(Initializable.AlreadyInitialized.selector);
        proxyAdmin.upgradeAndCall(proxy, address(v1), abi.encodeCall(CounterV1.initialize, (8)));
    }

    function test_upgradeAndCall_forwardsValue() public {
        vm.deal(address(this), 1 ether);
        proxyAdmin.upgradeAndCall{value: 1 ether}(proxy, address(v1), abi.encodeCall(CounterV1.initialize, (1)));
        vm.assertEq(address(proxy).balance, 1 ether, "value reached the proxy");
    }

    function test_upgrade_keepsStateAndReinitializes() public {
        proxyAdmin.upgradeAndCall(proxy, address(v1), abi.encodeCall(CounterV1.initialize, (10)));
        CounterV1(address(proxy)).increment();

        proxyAdmin.upgrade(proxy, address(v2));
        CounterV2 counter = CounterV2(address(proxy));
        vm.assertEq(counter.version(), 2, "new code");
        vm.assertEq(counter.count(), 11, "state kept");

        proxyAdmin.upgradeAndCall(proxy, address(v2), abi.encodeCall(CounterV2.initializeV2, (5)));
        vm.assertEq(counter.step(), 5, "reinitialised");
        vm.expectRevert(Initializable.AlreadyInitialized.selector);
        proxyAdmin.upgradeAndCall(proxy, address(v2), abi.encodeCall(CounterV2.initializeV2, (6)));

        vm.expectRevert(abi.encodeWithSelector(TransparentUpgradeableProxy.ImplementationIsNotContract.selector, stranger));
        proxyAdmin.upgrade(proxy, stranger);
    }

    function test_onlyOwnerAdministers() public {
        vm.startPrank(stranger);
        vm.expectRevert(Ownable.CallerIsNotOwner.selector);
        proxyAdmin.upgrade(proxy, address(v1));
        vm.expectRevert(Ownable.CallerIsNotOwner.selector);
        proxyAdmin.upgradeAndCall(proxy, address(v1), "");
        vm.expectRevert(Ownable.CallerIsNotOwner.selector);
        proxyAdmin.changeProxyAdmin(proxy, stranger);
        vm.stopPrank();
        vm.assertEq(proxyAdmin.owner(), address(this), "deployer owns the admin");
    }

    function test_transparency() public {
        proxyAdmin.upgradeAndCall(proxy, address(v1), abi.encodeCall(CounterV1.initialize, (1)));
        // Others reach the implementation, even for a selector the proxy also has.
        vm.prank(stranger);
        vm.assertEq(TransparentUpgradeableProxy(payable(address(proxy))).admin(), address(0xDEAD), "delegated");
        // The admin reaches only the administrative functions.
        vm.prank(address(proxyAdmin));
        vm.assertEq(TransparentUpgradeableProxy(payable(address(proxy))).admin(), address(proxyAdmin), "admin()");
        vm.prank(address(proxyAdmin));
        vm.expectRevert(TransparentUpgradeableProxy.AdminCannotFallbackToImplementation.selector);
        CounterV1(address(proxy)).count();
    }

    function test_changeProxyAdmin() public {
        vm.expectRevert(TransparentUpgradeableProxy.AdminIsZeroAddress.selector);
        proxyAdmin.changeProxyAdmin(proxy, address(0));

        ProxyAdmin other = new ProxyAdmin();
        vm.expectEmit(address(proxy));
        emit AdminChanged(address(proxyAdmin), address(other));
        proxyAdmin.changeProxyAdmin(proxy, address(other));
        vm.assertEq(other.getProxyAdmin(proxy), address(other), "new admin");

        // The old admin has lost the proxy.
        vm.expectRevert(abi.encodeWithSelector(ProxyAdmin.NotProxyAdmin.selector, address(proxy)));
        proxyAdmin.getProxyImplementation(proxy);
        vm.expectRevert();
        proxyAdmin.upgrade(proxy, address(v1));
        other.upgrade(proxy, address(v1));
        vm.assertEq(other.getProxyImplementation(proxy), address(v1), "upgraded by the new admin");
    }

    function test_proxyAdminOwnership() public {
        vm.prank(stranger);
        vm.expectRevert(Ownable.CallerIsNotOwner.selector);
        proxyAdmin.transferOwnership(stranger);
        vm.expectRevert(Ownable.NewOwnerIsZeroAddress.selector);
        proxyAdmin.transferOwnership(address(0));
        proxyAdmin.transferOwnership(stranger);
        vm.assertEq(proxyAdmin.owner(), stranger, "transferred");
        vm.expectRevert(Ownable.CallerIsNotOwner.selector);
        proxyAdmin.upgrade(proxy, address(v1));
        vm.prank(stranger);
        proxyAdmin.renounceOwnership();
        vm.assertEq(proxyAdmin.owner(), address(0), "renounced");
    }
}
