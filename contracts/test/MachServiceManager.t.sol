// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MachServiceManager} from "../src/MachServiceManager.sol";
import {IMachServiceManager} from "../src/interfaces/IMachServiceManager.sol";
import {IBLSSignatureChecker} from "../src/interfaces/IBLSSignatureChecker.sol";
import {IPauserRegistry} from "../src/interfaces/IPauserRegistry.sol";
import {ISignatureUtils} from "../src/interfaces/ISignatureUtils.sol";
import {IStrategy} from "../src/interfaces/IStrategy.sol";
import {PauserRegistry} from "../src/PauserRegistry.sol";
import {TransparentUpgradeableProxy} from "../src/proxy/TransparentUpgradeableProxy.sol";
import {Initializable} from "../src/utils/Initializable.sol";
import {OwnableUpgradeable} from "../src/utils/OwnableUpgradeable.sol";
import {Pausable} from "../src/utils/Pausable.sol";
import {MachFixture} from "./MachFixture.sol";

/// @notice Initialisation, roles, configuration, allowlist, operator registration, pausing and
/// strategy listing of the MachServiceManager.
contract MachServiceManagerTest is MachFixture {
    event Initialized(uint8 version);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event Paused(address indexed account, uint256 newPausedStatus);
    event Unpaused(address indexed account, uint256 newPausedStatus);
    event PauserRegistrySet(IPauserRegistry pauserRegistry, IPauserRegistry newPauserRegistry);
    event AlertConfirmerChanged(address previousAddress, address newAddress);
    event WhitelisterChanged(address previousAddress, address newAddress);
    event OperatorAllowed(address operator);
    event OperatorDisallowed(address operator);
    event OperatorAdded(address indexed operator);
    event OperatorRemoved(address indexed operator);
    event AllowlistEnabled();
    event AllowlistDisabled();
    event QuorumThresholdPercentageChanged(uint8 thresholdPercentages);
    event StaleStakesForbiddenUpdate(bool value);
    event AVSMetadataURIUpdated(address indexed avs, string metadataURI);

    // ------------------------------------------------------------ initialisation

    function test_initialize_setsEverything() public view {
        vm.assertEq(mach.owner(), owner, "owner");
        vm.assertEq(mach.alertConfirmer(), confirmer, "alert confirmer");
        vm.assertEq(mach.whitelister(), whitelister, "whitelister");
        vm.assertTrue(mach.allowlistEnabled(), "allowlist enabled by default");
        vm.assertEq(mach.quorumThresholdPercentage(), 66, "default threshold");
        vm.assertEq(mach.THRESHOLD_DENOMINATOR(), 100, "denominator");
        vm.assertEq(mach.paused(), 0, "nothing paused");
        vm.assertEq(address(mach.pauserRegistry()), address(pauserRegistry), "pauser registry");
        vm.assertEq(mach.rollupChainId(), ROLLUP_CHAIN_ID, "rollup chain id");
        vm.assertEq(mach.avsDirectory(), address(avsDirectory), "avs directory");
        vm.assertEq(address(mach.registryCoordinator()), address(coordinator), "registry coordinator");
        vm.assertEq(address(mach.stakeRegistry()), address(stakeRegistry), "stake registry");
        vm.assertEq(address(mach.blsApkRegistry()), address(apkRegistry), "apk registry read from coordinator");
        vm.assertEq(address(mach.delegation()), address(delegation), "delegation read from stake registry");
        vm.assertFalse(mach.staleStakesForbidden(), "stale stakes allowed by default");
        vm.assertEq(mach.totalAlerts(), 0, "no alerts");
    }

    function test_initialize_emitsEvents() public {
        TransparentUpgradeableProxy fresh = new TransparentUpgradeableProxy(address(implementation), address(proxyAdmin), "");
        vm.expectEmit(address(fresh));
        emit Paused(address(this), 3);
        vm.expectEmit(address(fresh));
        emit PauserRegistrySet(IPauserRegistry(address(0)), pauserRegistry);
        vm.expectEmit(address(fresh));
        emit OwnershipTransferred(address(0), owner);
        vm.expectEmit(address(fresh));
        emit AlertConfirmerChanged(address(0), confirmer);
        vm.expectEmit(address(fresh));
        emit WhitelisterChanged(address(0), whitelister);
        vm.expectEmit(address(fresh));
        emit AllowlistEnabled();
        vm.expectEmit(address(fresh));
        emit QuorumThresholdPercentageChanged(66);
        vm.expectEmit(address(fresh));
        emit Initialized(1);
        MachServiceManager(address(fresh)).initialize(pauserRegistry, 3, owner, confirmer, whitelister);
        vm.assertEq(MachServiceManager(address(fresh)).paused(), 3, "initial paused status");
    }

    function test_initialize_onlyOnce() public {
        vm.expectRevert(Initializable.AlreadyInitialized.selector);
        mach.initialize(pauserRegistry, 0, stranger, stranger, stranger);
    }

    function test_implementation_cannotBeInitialized() public {
        vm.expectRevert(Initializable.AlreadyInitialized.selector);
        implementation.initialize(pauserRegistry, 0, owner, confirmer, whitelister);
    }

    function test_initialize_rejectsZeroAddresses() public {
        address[3] memory roles = [owner, confirmer, whitelister];
        for (uint256 k = 0; k < 3; k++) {
            address[3] memory args = roles;
            args[k] = address(0);
            TransparentUpgradeableProxy fresh =
                new TransparentUpgradeableProxy(address(implementation), address(proxyAdmin), "");
            vm.expectRevert(IMachServiceManager.ZeroAddress.selector);
            MachServiceManager(address(fresh)).initialize(pauserRegistry, 0, args[0], args[1], args[2]);
        }
        TransparentUpgradeableProxy another =
            new TransparentUpgradeableProxy(address(implementation), address(proxyAdmin), "");
        vm.expectRevert(Pausable.PauserRegistryIsZero.selector);
        MachServiceManager(address(another)).initialize(IPauserRegistry(address(0)), 0, owner, confirmer, whitelister);
    }

    // ------------------------------------------------------------ ownership and roles

    function test_transferOwnership() public {
        vm.prank(stranger);
        vm.expectRevert(OwnableUpgradeable.CallerIsNotOwner.selector);
        mach.transferOwnership(stranger);

        vm.prank(owner);
        vm.expectRevert(OwnableUpgradeable.NewOwnerIsZeroAddress.selector);
        mach.transferOwnership(address(0));

        vm.expectEmit(address(mach));
        emit OwnershipTransferred(owner, stranger);
        vm.prank(owner);
        mach.transferOwnership(stranger);
        vm.assertEq(mach.owner(), stranger, "new owner");

        vm.prank(owner);
        vm.expectRevert(OwnableUpgradeable.CallerIsNotOwner.selector);
        mach.enableAllowlist();
    }

    function test_renounceOwnership() public {
        vm.prank(stranger);
        vm.expectRevert(OwnableUpgradeable.CallerIsNotOwner.selector);
        mach.renounceOwnership();

        vm.prank(owner);
        mach.renounceOwnership();
        vm.assertEq(mach.owner(), address(0), "no owner");
        vm.prank(owner);
        vm.expectRevert(OwnableUpgradeable.CallerIsNotOwner.selector);
        mach.setConfirmer(stranger);
    }

    function test_setConfirmer() public {
        vm.prank(stranger);
        vm.expectRevert(OwnableUpgradeable.CallerIsNotOwner.selector);
        mach.setConfirmer(stranger);

        vm.prank(owner);
        vm.expectRevert(IMachServiceManager.ZeroAddress.selector);
        mach.setConfirmer(address(0));

        vm.expectEmit(address(mach));
        emit AlertConfirmerChanged(confirmer, stranger);
        vm.prank(owner);
        mach.setConfirmer(stranger);
        vm.assertEq(mach.alertConfirmer(), stranger, "confirmer");
    }

    function test_setWhitelister() public {
        vm.prank(stranger);
        vm.expectRevert(OwnableUpgradeable.CallerIsNotOwner.selector);
        mach.setWhitelister(stranger);

        vm.prank(owner);
        vm.expectRevert(IMachServiceManager.ZeroAddress.selector);
        mach.setWhitelister(address(0));

        vm.expectEmit(address(mach));
        emit WhitelisterChanged(whitelister, stranger);
        vm.prank(owner);
        mach.setWhitelister(stranger);
        vm.assertEq(mach.whitelister(), stranger, "whitelister");

        // The old whitelister lost the role, the new one has it.
        vm.prank(whitelister);
        vm.expectRevert(IMachServiceManager.NotWhitelister.selector);
        mach.addToAllowlist(operatorAddress[0]);
        vm.prank(stranger);
        mach.addToAllowlist(operatorAddress[0]);
    }

    function test_updateQuorumThresholdPercentage() public {
        vm.prank(stranger);
        vm.expectRevert(OwnableUpgradeable.CallerIsNotOwner.selector);
        mach.updateQuorumThresholdPercentage(80);

        vm.startPrank(owner);
        vm.expectRevert(IMachServiceManager.InvalidQuorumThresholdPercentage.selector);
        mach.updateQuorumThresholdPercentage(101);
        vm.expectRevert(IMachServiceManager.InvalidQuorumThresholdPercentage.selector);
        mach.updateQuorumThresholdPercentage(0);

        vm.expectEmit(address(mach));
        emit QuorumThresholdPercentageChanged(100);
        mach.updateQuorumThresholdPercentage(100);
        vm.assertEq(mach.quorumThresholdPercentage(), 100, "threshold 100");
        mach.updateQuorumThresholdPercentage(1);
        vm.assertEq(mach.quorumThresholdPercentage(), 1, "threshold 1");
        vm.stopPrank();
    }

    function test_setStaleStakesForbidden() public {
        vm.prank(stranger);
        vm.expectRevert(OwnableUpgradeable.CallerIsNotOwner.selector);
        mach.setStaleStakesForbidden(true);

        vm.expectEmit(address(mach));
        emit StaleStakesForbiddenUpdate(true);
        vm.prank(owner);
        mach.setStaleStakesForbidden(true);
        vm.assertTrue(mach.staleStakesForbidden(), "forbidden");
        vm.prank(owner);
        mach.setStaleStakesForbidden(false);
        vm.assertFalse(mach.staleStakesForbidden(), "allowed again");
    }

    function test_updateAVSMetadataURI() public {
        vm.prank(stranger);
        vm.expectRevert(OwnableUpgradeable.CallerIsNotOwner.selector);
        mach.updateAVSMetadataURI("https://example.invalid/mach.json");

        vm.expectEmit(address(avsDirectory));
        emit AVSMetadataURIUpdated(address(mach), "https://example.invalid/mach.json");
        vm.prank(owner);
        mach.updateAVSMetadataURI("https://example.invalid/mach.json");
        vm.assertEq(avsDirectory.metadataURI(address(mach)), "https://example.invalid/mach.json", "forwarded");
    }

    // ------------------------------------------------------------ allowlist

    function test_addToAllowlist() public {
        address operator = operatorAddress[3];
        vm.prank(stranger);
        vm.expectRevert(IMachServiceManager.NotWhitelister.selector);
        mach.addToAllowlist(operator);

        vm.startPrank(whitelister);
        vm.expectRevert(IMachServiceManager.ZeroAddress.selector);
        mach.addToAllowlist(address(0));

        vm.expectEmit(address(mach));
        emit OperatorAllowed(operator);
        mach.addToAllowlist(operator);
        vm.assertTrue(mach.allowlist(operator), "allowed");

        vm.expectRevert(IMachServiceManager.AlreadyInAllowlist.selector);
        mach.addToAllowlist(operator);
        vm.stopPrank();
    }

    function test_removeFromAllowlist() public {
        address operator = operatorAddress[3];
        vm.prank(whitelister);
        vm.expectRevert(IMachServiceManager.NotInAllowlist.selector);
        mach.removeFromAllowlist(operator);

        vm.prank(whitelister);
        mach.addToAllowlist(operator);

        vm.prank(stranger);
        vm.expectRevert(IMachServiceManager.NotWhitelister.selector);
        mach.removeFromAllowlist(operator);

        vm.expectEmit(address(mach));
        emit OperatorDisallowed(operator);
        vm.prank(whitelister);
        mach.removeFromAllowlist(operator);
        vm.assertFalse(mach.allowlist(operator), "no longer allowed");
    }

    function test_enableAndDisableAllowlist() public {
        vm.prank(stranger);
        vm.expectRevert(OwnableUpgradeable.CallerIsNotOwner.selector);
        mach.disableAllowlist();

        vm.startPrank(owner);
        vm.expectRevert(IMachServiceManager.AlreadyEnabled.selector);
        mach.enableAllowlist();

        vm.expectEmit(address(mach));
        emit AllowlistDisabled();
        mach.disableAllowlist();
        vm.assertFalse(mach.allowlistEnabled(), "disabled");

        vm.expectRevert(IMachServiceManager.AlreadyDisabled.selector);
        mach.disableAllowlist();

        vm.expectEmit(address(mach));
        emit AllowlistEnabled();
        mach.enableAllowlist();
        vm.assertTrue(mach.allowlistEnabled(), "enabled again");
        vm.stopPrank();

        vm.prank(stranger);
        vm.expectRevert(OwnableUpgradeable.CallerIsNotOwner.selector);
        mach.enableAllowlist();
    }

    // ------------------------------------------------------------ operator registration

    function _signature() internal pure returns (ISignatureUtils.SignatureWithSaltAndExpiry memory) {
        return ISignatureUtils.SignatureWithSaltAndExpiry({signature: hex"1234", salt: bytes32(uint256(7)), expiry: 99});
    }

    function test_registerOperatorToAVS_onlyRegistryCoordinator() public {
        vm.prank(whitelister);
        mach.addToAllowlist(operatorAddress[0]);
        vm.prank(stranger);
        vm.expectRevert(IMachServiceManager.NotRegistryCoordinator.selector);
        mach.registerOperatorToAVS(operatorAddress[0], _signature());
        vm.prank(owner);
        vm.expectRevert(IMachServiceManager.NotRegistryCoordinator.selector);
        mach.registerOperatorToAVS(operatorAddress[0], _signature());
    }

    function test_registerOperatorToAVS_allowlistEnforced() public {
        vm.prank(address(coordinator));
        vm.expectRevert(IMachServiceManager.NotInAllowlist.selector);
        mach.registerOperatorToAVS(operatorAddress[0], _signature());

        vm.prank(whitelister);
        mach.addToAllowlist(operatorAddress[0]);

        vm.expectEmit(address(mach));
        emit OperatorAdded(operatorAddress[0]);
        vm.prank(address(coordinator));
        mach.registerOperatorToAVS(operatorAddress[0], _signature());
        vm.assertTrue(avsDirectory.registered(address(mach), operatorAddress[0]), "forwarded to the AVSDirectory");
        vm.assertEq(avsDirectory.lastSalt(operatorAddress[0]), bytes32(uint256(7)), "signature forwarded");

        // Taken off the allowlist, the operator can no longer register again.
        vm.prank(address(coordinator));
        mach.deregisterOperatorFromAVS(operatorAddress[0]);
        vm.prank(whitelister);
        mach.removeFromAllowlist(operatorAddress[0]);
        vm.prank(address(coordinator));
        vm.expectRevert(IMachServiceManager.NotInAllowlist.selector);
        mach.registerOperatorToAVS(operatorAddress[0], _signature());
    }

    function test_registerOperatorToAVS_anyoneWhenAllowlistDisabled() public {
        vm.prank(owner);
        mach.disableAllowlist();
        vm.prank(address(coordinator));
        mach.registerOperatorToAVS(operatorAddress[5], _signature());
        vm.assertTrue(avsDirectory.registered(address(mach), operatorAddress[5]), "registered");
    }

    function test_deregisterOperatorFromAVS() public {
        vm.prank(owner);
        mach.disableAllowlist();
        vm.prank(address(coordinator));
        mach.registerOperatorToAVS(operatorAddress[1], _signature());

        vm.prank(stranger);
        vm.expectRevert(IMachServiceManager.NotRegistryCoordinator.selector);
        mach.deregisterOperatorFromAVS(operatorAddress[1]);

        vm.expectEmit(address(mach));
        emit OperatorRemoved(operatorAddress[1]);
        vm.prank(address(coordinator));
        mach.deregisterOperatorFromAVS(operatorAddress[1]);
        vm.assertFalse(avsDirectory.registered(address(mach), operatorAddress[1]), "deregistered");
    }

    // ------------------------------------------------------------ pausing

    function test_pause_onlyPausers() public {
        vm.prank(stranger);
        vm.expectRevert(Pausable.OnlyPauser.selector);
        mach.pause(1);
        vm.prank(stranger);
        vm.expectRevert(Pausable.OnlyPauser.selector);
        mach.pauseAll();

        vm.expectEmit(address(mach));
        emit Paused(pauser, 1);
        vm.prank(pauser);
        mach.pause(1);
        vm.assertEq(mach.paused(), 1, "flags");
        vm.assertTrue(mach.paused(0), "flag 0 set");
        vm.assertFalse(mach.paused(1), "flag 1 clear");

        // A pauser cannot clear a flag through pause().
        vm.prank(pauser);
        vm.expectRevert(Pausable.InvalidNewPausedStatus.selector);
        mach.pause(2);

        vm.expectEmit(address(mach));
        emit Paused(pauser, type(uint256).max);
        vm.prank(pauser);
        mach.pauseAll();
        vm.assertTrue(mach.paused(255), "all flags");
    }

    function test_unpause_onlyUnpauser() public {
        vm.prank(pauser);
        mach.pause(3);

        vm.prank(pauser);
        vm.expectRevert(Pausable.OnlyUnpauser.selector);
        mach.unpause(0);

        // The unpauser cannot set a flag through unpause().
        vm.prank(unpauser);
        vm.expectRevert(Pausable.InvalidNewPausedStatus.selector);
        mach.unpause(7);

        vm.expectEmit(address(mach));
        emit Unpaused(unpauser, 2);
        vm.prank(unpauser);
        mach.unpause(2);
        vm.assertEq(mach.paused(), 2, "flag 0 cleared");
    }

    function test_confirmAlert_refusedWhilePaused() public {
        _registerEqualStakes(10 ether);
        vm.roll(REGISTRATION_BLOCK + 10);
        vm.prank(pauser);
        mach.pause(1);
        uint32 referenceBlock = uint32(block.number - 1);
        bytes32 messageHash = keccak256("paused");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _sign(_reducedHash(messageHash, referenceBlock), _quorum0(), referenceBlock, new uint256[](0));
        vm.prank(confirmer, confirmer);
        vm.expectRevert(Pausable.CurrentlyPaused.selector);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);

        // Other flags do not stop it.
        vm.prank(unpauser);
        mach.unpause(0);
        vm.prank(pauser);
        mach.pause(2);
        vm.prank(confirmer, confirmer);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
        vm.assertTrue(mach.contains(messageHash), "confirmed once flag 0 is clear");
    }

    function test_setPauserRegistry() public {
        PauserRegistry other = new PauserRegistry(new address[](0), stranger);
        vm.prank(pauser);
        vm.expectRevert(Pausable.OnlyUnpauser.selector);
        mach.setPauserRegistry(other);

        vm.prank(unpauser);
        vm.expectRevert(Pausable.PauserRegistryIsZero.selector);
        mach.setPauserRegistry(IPauserRegistry(address(0)));

        vm.expectEmit(address(mach));
        emit PauserRegistrySet(pauserRegistry, other);
        vm.prank(unpauser);
        mach.setPauserRegistry(other);
        vm.assertEq(address(mach.pauserRegistry()), address(other), "registry replaced");

        // The old pauser is no pauser in the new registry.
        vm.prank(pauser);
        vm.expectRevert(Pausable.OnlyPauser.selector);
        mach.pause(1);
    }

    // ------------------------------------------------------------ strategies

    function test_getRestakeableStrategies_uniqueOverAllQuorums() public {
        IStrategy a = IStrategy(address(0xA));
        IStrategy b = IStrategy(address(0xB));
        IStrategy c = IStrategy(address(0xC));
        stakeRegistry.addStrategy(0, a, 1e18);
        stakeRegistry.addStrategy(0, b, 1e18);
        stakeRegistry.addStrategy(1, b, 2e18);
        stakeRegistry.addStrategy(1, c, 1e18);
        // A strategy of a quorum beyond quorumCount is not counted.
        stakeRegistry.addStrategy(2, IStrategy(address(0xD)), 1e18);

        address[] memory expected = new address[](3);
        expected[0] = address(a);
        expected[1] = address(b);
        expected[2] = address(c);
        vm.assertEq(mach.getRestakeableStrategies(), expected, "strategies");

        coordinator.setQuorumCount(0);
        vm.assertEq(mach.getRestakeableStrategies().length, 0, "no quorums, no strategies");
    }

    function test_getOperatorRestakedStrategies_quorumsOfTheOperator() public {
        IStrategy a = IStrategy(address(0xA));
        IStrategy b = IStrategy(address(0xB));
        IStrategy c = IStrategy(address(0xC));
        stakeRegistry.addStrategy(0, a, 1e18);
        stakeRegistry.addStrategy(0, b, 1e18);
        stakeRegistry.addStrategy(1, b, 1e18);
        stakeRegistry.addStrategy(1, c, 1e18);

        _setOperator(0, 2, 0, 5 ether); // quorum 1 only
        _setOperator(1, 3, 5 ether, 5 ether); // both quorums

        address[] memory onlyQuorum1 = new address[](2);
        onlyQuorum1[0] = address(b);
        onlyQuorum1[1] = address(c);
        vm.assertEq(mach.getOperatorRestakedStrategies(operatorAddress[0]), onlyQuorum1, "quorum 1");

        address[] memory both = new address[](3);
        both[0] = address(a);
        both[1] = address(b);
        both[2] = address(c);
        vm.assertEq(mach.getOperatorRestakedStrategies(operatorAddress[1]), both, "quorums 0 and 1");

        vm.assertEq(mach.getOperatorRestakedStrategies(stranger).length, 0, "unregistered: none");
    }
}
