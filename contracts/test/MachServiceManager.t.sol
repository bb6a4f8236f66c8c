// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MachServiceManager} from "../src/MachServiceManager.sol";
import {IMachServiceManager} from "../src/interfaces/IMachServiceManager.sol";
import {IBLSSignatureChecker} from "../src/interfaces/IBLSSignatureChecker.sol";
import {IPauserRegistry} from "../src/interfaces/IPauserRegistry.sol";
import {ISignatureUtils} from "../src/interfaces/ISignatureUtils.sol";
import {IStrategy} from "../src/interfaces/IStrategy.sol";
import {PauserRegistry} from "../src/PauserRegistry.sol";
import {TransparentUpgradeableProxy} from "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol";
import {MachFixture} from "./MachFixture.sol";
import {Vm} from "./utils/Test.sol";

/// @notice Initialisation, roles, configuration, allowlist, operator registration, pausing,
/// storage layout and strategy listing of the MachServiceManager, with the exact revert data of
/// every refusal.
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

    /// @dev A proxy over the implementation, not initialized yet.
    function _freshProxy() internal returns (MachServiceManager) {
        return MachServiceManager(
            address(new TransparentUpgradeableProxy(address(implementation), address(proxyAdmin), ""))
        );
    }

    // ------------------------------------------------------------ initialisation

    /// @notice After `initialize` through the ProxyAdmin: roles, defaults (allowlist on, 66 %),
    /// nothing paused, and the registries read by the implementation's constructor.
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

    /// @notice `initialize` emits exactly Paused, PauserRegistrySet, OwnershipTransferred,
    /// AlertConfirmerChanged, WhitelisterChanged and Initialized(1), in that order; neither
    /// AllowlistEnabled nor QuorumThresholdPercentageChanged (the deployed contract emits
    /// neither), though both values are set.
    function test_initialize_emitsEvents() public {
        MachServiceManager fresh = _freshProxy();
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
        emit Initialized(1);
        vm.recordLogs();
        fresh.initialize(pauserRegistry, 3, owner, confirmer, whitelister);

        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32[6] memory expected = [
            Paused.selector,
            PauserRegistrySet.selector,
            OwnershipTransferred.selector,
            AlertConfirmerChanged.selector,
            WhitelisterChanged.selector,
            Initialized.selector
        ];
        vm.assertEq(logs.length, 6, "exactly six events");
        for (uint256 i = 0; i < 6; i++) {
            vm.assertEq(logs[i].emitter, address(fresh), "emitted by the proxy");
            vm.assertEq(logs[i].topics[0], expected[i], "event in order");
            vm.assertTrue(logs[i].topics[0] != AllowlistEnabled.selector, "no AllowlistEnabled");
            vm.assertTrue(logs[i].topics[0] != QuorumThresholdPercentageChanged.selector, "no threshold event");
        }
        vm.assertEq(fresh.paused(), 3, "initial paused status");
        vm.assertTrue(fresh.allowlistEnabled(), "allowlist enabled");
        vm.assertEq(fresh.quorumThresholdPercentage(), 66, "threshold 66");
    }

    /// @notice A second `initialize` of the proxy is refused with OpenZeppelin's string.
    function test_initialize_onlyOnce() public {
        _expectReason(ALREADY_INITIALIZED);
        mach.initialize(pauserRegistry, 0, stranger, stranger, stranger);
        vm.prank(owner);
        _expectReason(ALREADY_INITIALIZED);
        mach.initialize(pauserRegistry, 0, owner, confirmer, whitelister);
    }

    /// @notice The implementation's constructor disabled its initializers.
    function test_implementation_cannotBeInitialized() public {
        _expectReason(ALREADY_INITIALIZED);
        implementation.initialize(pauserRegistry, 0, owner, confirmer, whitelister);
    }

    /// @notice A zero owner, confirmer or whitelister is `ZeroAddress`; a zero pauser registry is
    /// Pausable's `_initializePauser` string, checked first (even when a role is zero too).
    function test_initialize_rejectsZeroAddresses() public {
        address[3] memory roles = [owner, confirmer, whitelister];
        for (uint256 k = 0; k < 3; k++) {
            address[3] memory args = roles;
            args[k] = address(0);
            MachServiceManager fresh = _freshProxy();
            _expectError(IMachServiceManager.ZeroAddress.selector);
            fresh.initialize(pauserRegistry, 0, args[0], args[1], args[2]);
        }
        MachServiceManager another = _freshProxy();
        _expectReason(INITIALIZE_PAUSER);
        another.initialize(IPauserRegistry(address(0)), 0, owner, confirmer, whitelister);
        _expectReason(INITIALIZE_PAUSER);
        another.initialize(IPauserRegistry(address(0)), 0, address(0), address(0), address(0));

        // The failed attempts left the proxy uninitialized.
        another.initialize(pauserRegistry, 0, owner, confirmer, whitelister);
        vm.assertEq(another.owner(), owner, "initialized afterwards");
    }

    // ------------------------------------------------------------ ownership and roles

    /// @notice Only the owner transfers ownership, never to zero; the old owner loses its rights.
    function test_transferOwnership() public {
        vm.prank(stranger);
        _expectReason(NOT_OWNER);
        mach.transferOwnership(stranger);

        vm.prank(owner);
        _expectReason(NEW_OWNER_ZERO);
        mach.transferOwnership(address(0));

        vm.expectEmit(address(mach));
        emit OwnershipTransferred(owner, stranger);
        vm.prank(owner);
        mach.transferOwnership(stranger);
        vm.assertEq(mach.owner(), stranger, "new owner");

        vm.prank(owner);
        _expectReason(NOT_OWNER);
        mach.enableAllowlist();
    }

    /// @notice Only the owner renounces; afterwards nobody has the owner's rights.
    function test_renounceOwnership() public {
        vm.prank(stranger);
        _expectReason(NOT_OWNER);
        mach.renounceOwnership();

        vm.expectEmit(address(mach));
        emit OwnershipTransferred(owner, address(0));
        vm.prank(owner);
        mach.renounceOwnership();
        vm.assertEq(mach.owner(), address(0), "no owner");
        vm.prank(owner);
        _expectReason(NOT_OWNER);
        mach.setConfirmer(stranger);
    }

    /// @notice `setConfirmer`: owner only, never zero (`ZeroAddress`), emits the change.
    function test_setConfirmer() public {
        vm.prank(stranger);
        _expectReason(NOT_OWNER);
        mach.setConfirmer(stranger);
        vm.prank(confirmer);
        _expectReason(NOT_OWNER);
        mach.setConfirmer(confirmer);

        vm.prank(owner);
        _expectError(IMachServiceManager.ZeroAddress.selector);
        mach.setConfirmer(address(0));

        vm.expectEmit(address(mach));
        emit AlertConfirmerChanged(confirmer, stranger);
        vm.prank(owner);
        mach.setConfirmer(stranger);
        vm.assertEq(mach.alertConfirmer(), stranger, "confirmer");
    }

    /// @notice `setWhitelister`: owner only, never zero; the role moves to the new address.
    function test_setWhitelister() public {
        vm.prank(stranger);
        _expectReason(NOT_OWNER);
        mach.setWhitelister(stranger);
        vm.prank(whitelister);
        _expectReason(NOT_OWNER);
        mach.setWhitelister(whitelister);

        vm.prank(owner);
        _expectError(IMachServiceManager.ZeroAddress.selector);
        mach.setWhitelister(address(0));

        vm.expectEmit(address(mach));
        emit WhitelisterChanged(whitelister, stranger);
        vm.prank(owner);
        mach.setWhitelister(stranger);
        vm.assertEq(mach.whitelister(), stranger, "whitelister");

        // The old whitelister lost the role, the new one has it.
        vm.prank(whitelister);
        _expectError(IMachServiceManager.NotWhitelister.selector);
        mach.addToAllowlist(operatorAddress[0]);
        vm.prank(stranger);
        mach.addToAllowlist(operatorAddress[0]);
    }

    /// @notice `updateQuorumThresholdPercentage`: owner only; 0 and anything above 100 are
    /// `InvalidQuorumThresholdPercentage`; 1 and 100 are accepted.
    function test_updateQuorumThresholdPercentage() public {
        vm.prank(stranger);
        _expectReason(NOT_OWNER);
        mach.updateQuorumThresholdPercentage(80);

        vm.startPrank(owner);
        _expectError(IMachServiceManager.InvalidQuorumThresholdPercentage.selector);
        mach.updateQuorumThresholdPercentage(101);
        _expectError(IMachServiceManager.InvalidQuorumThresholdPercentage.selector);
        mach.updateQuorumThresholdPercentage(0);
        _expectError(IMachServiceManager.InvalidQuorumThresholdPercentage.selector);
        mach.updateQuorumThresholdPercentage(255);
        vm.assertEq(mach.quorumThresholdPercentage(), 66, "unchanged");

        vm.expectEmit(address(mach));
        emit QuorumThresholdPercentageChanged(100);
        mach.updateQuorumThresholdPercentage(100);
        vm.assertEq(mach.quorumThresholdPercentage(), 100, "threshold 100");
        mach.updateQuorumThresholdPercentage(1);
        vm.assertEq(mach.quorumThresholdPercentage(), 1, "threshold 1");
        vm.stopPrank();
    }

    /// @notice Stale-stake protection is switched by the RegistryCoordinator's owner only (read
    /// from the coordinator at each call); the service manager's owner gets the
    /// onlyCoordinatorOwner string.
    function test_setStaleStakesForbidden() public {
        vm.prank(stranger);
        _expectReason(ONLY_COORDINATOR_OWNER);
        mach.setStaleStakesForbidden(true);
        vm.prank(owner);
        _expectReason(ONLY_COORDINATOR_OWNER);
        mach.setStaleStakesForbidden(true);

        vm.expectEmit(address(mach));
        emit StaleStakesForbiddenUpdate(true);
        vm.prank(coordinatorOwner);
        mach.setStaleStakesForbidden(true);
        vm.assertTrue(mach.staleStakesForbidden(), "forbidden");

        vm.expectEmit(address(mach));
        emit StaleStakesForbiddenUpdate(false);
        vm.prank(coordinatorOwner);
        mach.setStaleStakesForbidden(false);
        vm.assertFalse(mach.staleStakesForbidden(), "allowed again");

        // A new coordinator owner takes the right over.
        coordinator.setOwner(stranger);
        vm.prank(coordinatorOwner);
        _expectReason(ONLY_COORDINATOR_OWNER);
        mach.setStaleStakesForbidden(true);
        vm.prank(stranger);
        mach.setStaleStakesForbidden(true);
        vm.assertTrue(mach.staleStakesForbidden(), "set by the new coordinator owner");
    }

    /// @notice `updateAVSMetadataURI`: owner only, forwarded to the AVSDirectory.
    function test_updateAVSMetadataURI() public {
        vm.prank(stranger);
        _expectReason(NOT_OWNER);
        mach.updateAVSMetadataURI("https://example.invalid/mach.json");

        vm.expectEmit(address(avsDirectory));
        emit AVSMetadataURIUpdated(address(mach), "https://example.invalid/mach.json");
        vm.prank(owner);
        mach.updateAVSMetadataURI("https://example.invalid/mach.json");
        vm.assertEq(avsDirectory.metadataURI(address(mach)), "https://example.invalid/mach.json", "forwarded");
    }

    // ------------------------------------------------------------ allowlist

    /// @notice `addToAllowlist`: whitelister only (`NotWhitelister`, even for the owner), never
    /// zero, never twice (`AlreadyInAllowlist`).
    function test_addToAllowlist() public {
        address operator = operatorAddress[3];
        vm.prank(stranger);
        _expectError(IMachServiceManager.NotWhitelister.selector);
        mach.addToAllowlist(operator);
        vm.prank(owner);
        _expectError(IMachServiceManager.NotWhitelister.selector);
        mach.addToAllowlist(operator);

        vm.startPrank(whitelister);
        _expectError(IMachServiceManager.ZeroAddress.selector);
        mach.addToAllowlist(address(0));

        vm.expectEmit(address(mach));
        emit OperatorAllowed(operator);
        mach.addToAllowlist(operator);
        vm.assertTrue(mach.allowlist(operator), "allowed");

        _expectError(IMachServiceManager.AlreadyInAllowlist.selector);
        mach.addToAllowlist(operator);
        vm.stopPrank();
    }

    /// @notice `removeFromAllowlist`: whitelister only, and only for an allowlisted operator
    /// (`NotInAllowlist`).
    function test_removeFromAllowlist() public {
        address operator = operatorAddress[3];
        vm.prank(whitelister);
        _expectError(IMachServiceManager.NotInAllowlist.selector);
        mach.removeFromAllowlist(operator);

        vm.prank(whitelister);
        mach.addToAllowlist(operator);

        vm.prank(stranger);
        _expectError(IMachServiceManager.NotWhitelister.selector);
        mach.removeFromAllowlist(operator);

        vm.expectEmit(address(mach));
        emit OperatorDisallowed(operator);
        vm.prank(whitelister);
        mach.removeFromAllowlist(operator);
        vm.assertFalse(mach.allowlist(operator), "no longer allowed");

        vm.prank(whitelister);
        _expectError(IMachServiceManager.NotInAllowlist.selector);
        mach.removeFromAllowlist(operator);
    }

    /// @notice `enableAllowlist` / `disableAllowlist`: owner only, `AlreadyEnabled` /
    /// `AlreadyDisabled` when there is nothing to switch.
    function test_enableAndDisableAllowlist() public {
        vm.prank(stranger);
        _expectReason(NOT_OWNER);
        mach.disableAllowlist();
        vm.prank(whitelister);
        _expectReason(NOT_OWNER);
        mach.disableAllowlist();

        vm.startPrank(owner);
        _expectError(IMachServiceManager.AlreadyEnabled.selector);
        mach.enableAllowlist();

        vm.expectEmit(address(mach));
        emit AllowlistDisabled();
        mach.disableAllowlist();
        vm.assertFalse(mach.allowlistEnabled(), "disabled");

        _expectError(IMachServiceManager.AlreadyDisabled.selector);
        mach.disableAllowlist();

        vm.expectEmit(address(mach));
        emit AllowlistEnabled();
        mach.enableAllowlist();
        vm.assertTrue(mach.allowlistEnabled(), "enabled again");
        vm.stopPrank();

        vm.prank(stranger);
        _expectReason(NOT_OWNER);
        mach.enableAllowlist();
    }

    // ------------------------------------------------------------ operator registration

    function _signature() internal pure returns (ISignatureUtils.SignatureWithSaltAndExpiry memory) {
        return ISignatureUtils.SignatureWithSaltAndExpiry({signature: hex"1234", salt: bytes32(uint256(7)), expiry: 99});
    }

    /// @notice Only the RegistryCoordinator registers operators: others (the owner too) get
    /// ServiceManagerBase's string, before the allowlist is looked at.
    function test_registerOperatorToAVS_onlyRegistryCoordinator() public {
        vm.prank(whitelister);
        mach.addToAllowlist(operatorAddress[0]);
        vm.prank(stranger);
        _expectReason(NOT_COORDINATOR);
        mach.registerOperatorToAVS(operatorAddress[0], _signature());
        vm.prank(owner);
        _expectReason(NOT_COORDINATOR);
        mach.registerOperatorToAVS(operatorAddress[0], _signature());
        // Not allowlisted either: the caller is checked first.
        vm.prank(stranger);
        _expectReason(NOT_COORDINATOR);
        mach.registerOperatorToAVS(operatorAddress[1], _signature());
    }

    /// @notice With the allowlist on, only allowlisted operators register (`NotInAllowlist`);
    /// registration is forwarded to the AVSDirectory.
    function test_registerOperatorToAVS_allowlistEnforced() public {
        vm.prank(address(coordinator));
        _expectError(IMachServiceManager.NotInAllowlist.selector);
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
        _expectError(IMachServiceManager.NotInAllowlist.selector);
        mach.registerOperatorToAVS(operatorAddress[0], _signature());
    }

    /// @notice With the allowlist off, any operator registers.
    function test_registerOperatorToAVS_anyoneWhenAllowlistDisabled() public {
        vm.prank(owner);
        mach.disableAllowlist();
        vm.prank(address(coordinator));
        mach.registerOperatorToAVS(operatorAddress[5], _signature());
        vm.assertTrue(avsDirectory.registered(address(mach), operatorAddress[5]), "registered");
    }

    /// @notice Only the RegistryCoordinator deregisters; forwarded to the AVSDirectory.
    function test_deregisterOperatorFromAVS() public {
        vm.prank(owner);
        mach.disableAllowlist();
        vm.prank(address(coordinator));
        mach.registerOperatorToAVS(operatorAddress[1], _signature());

        vm.prank(stranger);
        _expectReason(NOT_COORDINATOR);
        mach.deregisterOperatorFromAVS(operatorAddress[1]);
        vm.prank(owner);
        _expectReason(NOT_COORDINATOR);
        mach.deregisterOperatorFromAVS(operatorAddress[1]);

        vm.expectEmit(address(mach));
        emit OperatorRemoved(operatorAddress[1]);
        vm.prank(address(coordinator));
        mach.deregisterOperatorFromAVS(operatorAddress[1]);
        vm.assertFalse(avsDirectory.registered(address(mach), operatorAddress[1]), "deregistered");
    }

    /// @notice While paused, registration and deregistration are refused with the pause string,
    /// checked before the caller and the allowlist.
    function test_registration_refusedWhilePaused() public {
        vm.prank(whitelister);
        mach.addToAllowlist(operatorAddress[0]);
        vm.prank(address(coordinator));
        mach.registerOperatorToAVS(operatorAddress[0], _signature());
        vm.prank(pauser);
        mach.pause(1 << 3);

        vm.prank(address(coordinator));
        _expectReason(PAUSED);
        mach.registerOperatorToAVS(operatorAddress[2], _signature());
        vm.prank(address(coordinator));
        _expectReason(PAUSED);
        mach.deregisterOperatorFromAVS(operatorAddress[0]);
        // Wrong caller and not allowlisted: still the pause first.
        vm.prank(stranger);
        _expectReason(PAUSED);
        mach.registerOperatorToAVS(operatorAddress[2], _signature());
        vm.prank(stranger);
        _expectReason(PAUSED);
        mach.deregisterOperatorFromAVS(operatorAddress[0]);

        vm.prank(unpauser);
        mach.unpause(0);
        vm.prank(address(coordinator));
        mach.deregisterOperatorFromAVS(operatorAddress[0]);
        vm.assertFalse(avsDirectory.registered(address(mach), operatorAddress[0]), "deregistered after unpause");
    }

    // ------------------------------------------------------------ pausing

    /// @notice Only pausers pause (`pause` and `pauseAll`), and `pause` can only add flags.
    function test_pause_onlyPausers() public {
        vm.prank(stranger);
        _expectReason(NOT_PAUSER);
        mach.pause(1);
        vm.prank(stranger);
        _expectReason(NOT_PAUSER);
        mach.pauseAll();
        // The unpauser is no pauser.
        vm.prank(unpauser);
        _expectReason(NOT_PAUSER);
        mach.pause(1);

        vm.expectEmit(address(mach));
        emit Paused(pauser, 1);
        vm.prank(pauser);
        mach.pause(1);
        vm.assertEq(mach.paused(), 1, "flags");
        vm.assertTrue(mach.paused(0), "flag 0 set");
        vm.assertFalse(mach.paused(1), "flag 1 clear");

        // A pauser cannot clear a flag through pause().
        vm.prank(pauser);
        _expectReason(PAUSE_WOULD_UNPAUSE);
        mach.pause(2);
        vm.prank(pauser);
        _expectReason(PAUSE_WOULD_UNPAUSE);
        mach.pause(0);

        vm.prank(pauser);
        mach.pause(3);
        vm.assertEq(mach.paused(), 3, "flag added");

        vm.expectEmit(address(mach));
        emit Paused(pauser, type(uint256).max);
        vm.prank(pauser);
        mach.pauseAll();
        vm.assertTrue(mach.paused(255), "all flags");
        vm.assertEq(mach.paused(), type(uint256).max, "every flag");
    }

    /// @notice Only the unpauser unpauses, and `unpause` can only clear flags.
    function test_unpause_onlyUnpauser() public {
        vm.prank(pauser);
        mach.pause(3);

        vm.prank(pauser);
        _expectReason(NOT_UNPAUSER);
        mach.unpause(0);
        vm.prank(owner);
        _expectReason(NOT_UNPAUSER);
        mach.unpause(0);

        // The unpauser cannot set a flag through unpause().
        vm.prank(unpauser);
        _expectReason(UNPAUSE_WOULD_PAUSE);
        mach.unpause(7);

        vm.expectEmit(address(mach));
        emit Unpaused(unpauser, 2);
        vm.prank(unpauser);
        mach.unpause(2);
        vm.assertEq(mach.paused(), 2, "flag 0 cleared");

        vm.prank(unpauser);
        _expectReason(UNPAUSE_WOULD_PAUSE);
        mach.unpause(1);
    }

    /// @notice `confirmAlert` is refused while any flag is set (not only flag 0) and succeeds
    /// once all are clear.
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
        _expectReason(PAUSED);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);

        // Another flag stops it as well.
        vm.prank(unpauser);
        mach.unpause(0);
        vm.prank(pauser);
        mach.pause(2);
        vm.prank(confirmer, confirmer);
        _expectReason(PAUSED);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);

        vm.prank(unpauser);
        mach.unpause(0);
        vm.prank(confirmer, confirmer);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
        vm.assertTrue(mach.contains(messageHash), "confirmed once every flag is clear");
    }

    /// @notice Each of the 256 flags on its own stops `confirmAlert` (with an otherwise valid
    /// submission), `registerOperatorToAVS` and `deregisterOperatorFromAVS` (from the
    /// coordinator, for operators that could otherwise register and deregister); `paused(i)`
    /// reports exactly that flag. After the last unpause all three succeed.
    function test_pause_everyFlagStopsAlertsAndRegistration() public {
        _registerEqualStakes(10 ether);
        vm.roll(REGISTRATION_BLOCK + 10);
        uint32 referenceBlock = uint32(block.number - 1);
        bytes32 messageHash = keccak256("every flag");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _sign(_reducedHash(messageHash, referenceBlock), _quorum0(), referenceBlock, new uint256[](0));
        IMachServiceManager.AlertHeader memory header = _header(messageHash, _quorum0(), hex"42", referenceBlock);
        ISignatureUtils.SignatureWithSaltAndExpiry memory signature = _signature();
        // Operator 0 may register; operator 1 is registered and may deregister.
        vm.startPrank(whitelister);
        mach.addToAllowlist(operatorAddress[0]);
        mach.addToAllowlist(operatorAddress[1]);
        vm.stopPrank();
        vm.prank(address(coordinator));
        mach.registerOperatorToAVS(operatorAddress[1], signature);

        for (uint256 i = 0; i < 256; i++) {
            vm.prank(pauser);
            mach.pause(uint256(1) << i);
            vm.assertEq(mach.paused(), uint256(1) << i, "exactly flag i");
            vm.assertTrue(mach.paused(uint8(i)), "paused(i)");
            vm.assertFalse(mach.paused(uint8((i + 1) % 256)), "paused(j) for j != i");

            vm.prank(confirmer, confirmer);
            _expectReason(PAUSED);
            mach.confirmAlert(header, params);
            vm.prank(address(coordinator));
            _expectReason(PAUSED);
            mach.registerOperatorToAVS(operatorAddress[0], signature);
            vm.prank(address(coordinator));
            _expectReason(PAUSED);
            mach.deregisterOperatorFromAVS(operatorAddress[1]);

            vm.prank(unpauser);
            mach.unpause(0);
        }

        vm.prank(confirmer, confirmer);
        mach.confirmAlert(header, params);
        vm.assertTrue(mach.contains(messageHash), "confirmed once unpaused");
        vm.prank(address(coordinator));
        mach.registerOperatorToAVS(operatorAddress[0], signature);
        vm.assertTrue(avsDirectory.registered(address(mach), operatorAddress[0]), "registered once unpaused");
        vm.prank(address(coordinator));
        mach.deregisterOperatorFromAVS(operatorAddress[1]);
        vm.assertFalse(avsDirectory.registered(address(mach), operatorAddress[1]), "deregistered once unpaused");
    }

    /// @notice While everything is paused, configuration (owner), the allowlist (whitelister),
    /// alert removal, stale-stake switching and the views keep working; after `unpause(0)` an
    /// alert is confirmed again.
    function test_pause_adminAndViewsKeepWorking() public {
        _registerEqualStakes(10 ether);
        stakeRegistry.addStrategy(0, IStrategy(address(0xA)), 1e18);
        vm.roll(REGISTRATION_BLOCK + 10);
        bytes32 kept = keccak256("kept");
        bytes32 removed = keccak256("removed while paused");
        _confirm(kept, new uint256[](0));
        _confirm(removed, new uint256[](0));

        vm.prank(pauser);
        mach.pauseAll();

        vm.startPrank(owner);
        mach.setConfirmer(stranger);
        mach.setConfirmer(confirmer);
        mach.setWhitelister(stranger);
        mach.setWhitelister(whitelister);
        mach.disableAllowlist();
        mach.enableAllowlist();
        mach.updateQuorumThresholdPercentage(70);
        mach.removeAlert(removed);
        mach.updateAVSMetadataURI("https://example.invalid/paused.json");
        vm.stopPrank();
        vm.startPrank(whitelister);
        mach.addToAllowlist(operatorAddress[0]);
        mach.addToAllowlist(operatorAddress[1]);
        mach.removeFromAllowlist(operatorAddress[1]);
        vm.stopPrank();
        vm.prank(coordinatorOwner);
        mach.setStaleStakesForbidden(false);

        vm.assertEq(mach.alertConfirmer(), confirmer, "confirmer set while paused");
        vm.assertTrue(mach.allowlistEnabled(), "allowlist switched while paused");
        vm.assertEq(mach.quorumThresholdPercentage(), 70, "threshold set while paused");
        vm.assertTrue(mach.allowlist(operatorAddress[0]), "allowlisted while paused");
        vm.assertFalse(mach.allowlist(operatorAddress[1]), "removed from the allowlist while paused");
        vm.assertEq(mach.totalAlerts(), 1, "removed while paused");
        vm.assertTrue(mach.contains(kept), "kept alert");
        vm.assertFalse(mach.contains(removed), "removed alert");
        vm.assertEq(mach.queryMessageHashes(0, 10)[0], kept, "query while paused");
        vm.assertEq(mach.getRestakeableStrategies().length, 1, "strategies while paused");
        vm.assertEq(avsDirectory.metadataURI(address(mach)), "https://example.invalid/paused.json", "metadata");

        // A new alert: its signature checks out (a view) but it cannot be confirmed while paused.
        uint32 referenceBlock = uint32(block.number - 1);
        bytes32 messageHash = keccak256("after the pause");
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _sign(_reducedHash(messageHash, referenceBlock), _quorum0(), referenceBlock, new uint256[](0));
        (IBLSSignatureChecker.QuorumStakeTotals memory totals,) =
            mach.checkSignatures(_reducedHash(messageHash, referenceBlock), _quorum0(), referenceBlock, params);
        vm.assertEq(totals.signedStakeForQuorum[0], 160 ether, "checked while paused");
        vm.prank(confirmer, confirmer);
        _expectReason(PAUSED);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"46", referenceBlock), params);

        vm.expectEmit(address(mach));
        emit Unpaused(unpauser, 0);
        vm.prank(unpauser);
        mach.unpause(0);
        vm.prank(confirmer, confirmer);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"46", referenceBlock), params); // 70 %
        vm.assertTrue(mach.contains(messageHash), "confirmed after unpause");
        vm.assertEq(mach.totalAlerts(), 2, "two alerts");
    }

    /// @notice `setPauserRegistry`: the current unpauser only, never zero; afterwards the new
    /// registry decides who pauses.
    function test_setPauserRegistry() public {
        PauserRegistry other = new PauserRegistry(new address[](0), stranger);
        vm.prank(pauser);
        _expectReason(NOT_UNPAUSER);
        mach.setPauserRegistry(other);
        vm.prank(owner);
        _expectReason(NOT_UNPAUSER);
        mach.setPauserRegistry(other);

        vm.prank(unpauser);
        _expectReason(PAUSER_REGISTRY_ZERO);
        mach.setPauserRegistry(IPauserRegistry(address(0)));

        vm.expectEmit(address(mach));
        emit PauserRegistrySet(pauserRegistry, other);
        vm.prank(unpauser);
        mach.setPauserRegistry(other);
        vm.assertEq(address(mach.pauserRegistry()), address(other), "registry replaced");

        // The old pauser is no pauser in the new registry, and the old unpauser no unpauser.
        vm.prank(pauser);
        _expectReason(NOT_PAUSER);
        mach.pause(1);
        vm.prank(unpauser);
        _expectReason(NOT_UNPAUSER);
        mach.unpause(0);
        vm.prank(stranger);
        mach.unpause(0);
    }

    // ------------------------------------------------------------ storage layout

    function _slot(uint256 slot) internal view returns (uint256) {
        return uint256(vm.load(address(mach), bytes32(slot)));
    }

    function _mappingSlot(bytes32 key, uint256 slot) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(key, slot)));
    }

    function _arraySlot(uint256 slot) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(slot)));
    }

    /// @dev Slot 5: alertConfirmer (bytes 0..19), allowlistEnabled (byte 20),
    /// quorumThresholdPercentage (byte 21).
    function _packedSlot5(address alertConfirmer, bool enabled, uint8 percentage) internal pure returns (uint256) {
        return uint256(uint160(alertConfirmer)) | (enabled ? uint256(1) << 160 : 0) | (uint256(percentage) << 168);
    }

    /// @dev The reserved and unused slots are all zero.
    function _assertGapsEmpty() internal view {
        uint256[2][6] memory ranges = [
            [uint256(2), 4],
            [uint256(9), 53],
            [uint256(54), 104],
            [uint256(105), 154],
            [uint256(155), 204],
            [uint256(206), 254]
        ];
        for (uint256 r = 0; r < ranges.length; r++) {
            for (uint256 slot = ranges[r][0]; slot < ranges[r][1]; slot++) {
                vm.assertEq(_slot(slot), 0, "reserved slot is zero");
            }
        }
    }

    /// @notice The proxy's storage is laid out as the deployed contract's: confirmed set at 0-1,
    /// reserved 2-3, allowlist 4, confirmer/allowlistEnabled/threshold packed in 5, resolved set
    /// 6-7, whitelister 8, gap 9-52, OpenZeppelin Initializable 53, Context gap 54-103, owner 104,
    /// gap 105-153, staleStakesForbidden 154, gap 155-203, pauserRegistry 204, paused flags 205.
    function test_storageLayout() public {
        // After initialize.
        vm.assertEq(_slot(0), 0, "slot 0: no confirmed alert");
        vm.assertEq(_slot(1), 0, "slot 1: confirmed-set index mapping");
        vm.assertEq(_slot(5), _packedSlot5(confirmer, true, 66), "slot 5: confirmer, allowlist on, 66");
        vm.assertEq(_slot(6), 0, "slot 6: no resolved alert");
        vm.assertEq(_slot(8), uint256(uint160(whitelister)), "slot 8: whitelister");
        vm.assertEq(_slot(53) & 0xff, 1, "slot 53: _initialized");
        vm.assertEq(_slot(53), 1, "slot 53: not initializing");
        vm.assertEq(_slot(104), uint256(uint160(owner)), "slot 104: owner");
        vm.assertEq(_slot(154), 0, "slot 154: stale stakes allowed");
        vm.assertEq(_slot(204), uint256(uint160(address(pauserRegistry))), "slot 204: pauser registry");
        vm.assertEq(_slot(205), 0, "slot 205: nothing paused");
        _assertGapsEmpty();
        // The implementation's initializers are disabled (type(uint8).max).
        vm.assertEq(uint256(vm.load(address(implementation), bytes32(uint256(53)))), 0xff, "implementation");

        // Allowlist mapping at slot 4; packed flags in slot 5.
        address operator = operatorAddress[2];
        vm.prank(whitelister);
        mach.addToAllowlist(operator);
        vm.assertEq(_slot(_mappingSlot(bytes32(uint256(uint160(operator))), 4)), 1, "allowlist[operator]");
        vm.startPrank(owner);
        mach.disableAllowlist();
        mach.updateQuorumThresholdPercentage(80);
        mach.setConfirmer(stranger);
        vm.stopPrank();
        vm.assertEq(_slot(5), _packedSlot5(stranger, false, 80), "slot 5 after changes");
        vm.startPrank(owner);
        mach.setConfirmer(confirmer);
        mach.enableAllowlist();
        mach.setWhitelister(stranger);
        vm.stopPrank();
        vm.assertEq(_slot(5), _packedSlot5(confirmer, true, 80), "slot 5 restored");
        vm.assertEq(_slot(8), uint256(uint160(stranger)), "slot 8: new whitelister");

        // A confirmation: the confirmed set's array at slot 0, its index mapping at slot 1.
        _registerEqualStakes(10 ether);
        vm.roll(REGISTRATION_BLOCK + 10);
        vm.prank(owner);
        mach.updateQuorumThresholdPercentage(66);
        bytes32 messageHash = keccak256("layout");
        _confirm(messageHash, new uint256[](0));
        vm.assertEq(_slot(0), 1, "slot 0: totalAlerts");
        vm.assertEq(_slot(0), mach.totalAlerts(), "slot 0 is totalAlerts");
        vm.assertEq(bytes32(_slot(_arraySlot(0))), messageHash, "confirmed[0]");
        vm.assertEq(_slot(_mappingSlot(messageHash, 1)), 1, "confirmed index (position + 1)");
        vm.assertEq(_slot(6), 0, "nothing resolved yet");

        // A removal: out of the confirmed set, into the resolved set at slots 6-7.
        vm.prank(owner);
        mach.removeAlert(messageHash);
        vm.assertEq(_slot(0), 0, "slot 0: no alert");
        vm.assertEq(_slot(_mappingSlot(messageHash, 1)), 0, "confirmed index cleared");
        vm.assertEq(_slot(6), 1, "slot 6: one resolved alert");
        vm.assertEq(bytes32(_slot(_arraySlot(6))), messageHash, "resolved[0]");
        vm.assertEq(_slot(_mappingSlot(messageHash, 7)), 1, "resolved index (position + 1)");

        // Stale-stake protection at slot 154.
        vm.prank(coordinatorOwner);
        mach.setStaleStakesForbidden(true);
        vm.assertEq(_slot(154), 1, "slot 154: stale stakes forbidden");

        // Paused flags at slot 205; ownership at 104.
        vm.prank(pauser);
        mach.pause(5);
        vm.assertEq(_slot(205), 5, "slot 205: paused flags");
        vm.prank(owner);
        mach.transferOwnership(stranger);
        vm.assertEq(_slot(104), uint256(uint160(stranger)), "slot 104: new owner");
        vm.assertEq(_slot(53), 1, "slot 53 unchanged");
        vm.assertEq(_slot(204), uint256(uint160(address(pauserRegistry))), "slot 204 unchanged");
        _assertGapsEmpty();
    }

    // ------------------------------------------------------------ strategies

    /// @notice Every strategy of the existing quorums, each once.
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

    /// @notice The strategies of the quorums an operator is in, each once; none when unregistered.
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
