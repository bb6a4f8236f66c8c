// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {BLSSignatureChecker} from "./BLSSignatureChecker.sol";
import {IAVSDirectory} from "./interfaces/IAVSDirectory.sol";
import {IMachServiceManager} from "./interfaces/IMachServiceManager.sol";
import {IPauserRegistry} from "./interfaces/IPauserRegistry.sol";
import {IRegistryCoordinator} from "./interfaces/IRegistryCoordinator.sol";
import {ISignatureUtils} from "./interfaces/ISignatureUtils.sol";
import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";
import {Pausable} from "./utils/Pausable.sol";

/// @title State of the MACH service manager, declared in the deployed contract's order.
/// @notice The variables, their order and the reserved gap are those of AltLayer's deployed
/// `MachServiceManagerStorage`, and the bases of `MachServiceManager` come in the deployed order
/// (this, then OpenZeppelin's `OwnableUpgradeable`, the BLS checker's 50 slots, `Pausable`'s 50),
/// so every variable sits in the slot it has in the deployed proxy's storage.
abstract contract MachServiceManagerStorage is IMachServiceManager {
    /// @notice Percentages are out of this.
    uint256 public constant THRESHOLD_DENOMINATOR = 100;

    /// @notice The rollup this service manager's alerts are about.
    uint256 public immutable rollupChainId;

    /// @dev Confirmed alerts. Removal moves the last one into the freed position, so the order
    /// is confirmation order only until the first removal.
    EnumerableSet.Bytes32Set internal _messageHashes;

    /// @dev The deployed contract keeps a set of registered operators here that nothing reads;
    /// we do not maintain it and only keep its two slots.
    uint256[2] private __operatorSetSlots;

    /// @notice Operators allowed to register while the allowlist is enabled.
    mapping(address => bool) public allowlist;

    /// @notice The only address allowed to call `confirmAlert`.
    address public alertConfirmer;

    /// @notice When true, only allowlisted operators can register.
    bool public allowlistEnabled;

    /// @notice Every alert must ask at least this percentage of stake for each of its quorums.
    uint8 public quorumThresholdPercentage;

    /// @dev Alerts removed by the owner; they can never be confirmed again.
    EnumerableSet.Bytes32Set internal _resolvedMessageHashes;

    /// @notice The address that adds operators to and removes them from the allowlist.
    address public whitelister;

    /// @dev Reserved so that later versions can add state.
    uint256[44] private __GAP;

    constructor(uint256 _rollupChainId) {
        rollupChainId = _rollupChainId;
    }
}

/// @title MACH AVS service manager for one rollup.
/// @notice Holds the alerts that MACH operators confirmed about the rollup `rollupChainId`, and
/// is the AVS's entry in EigenLayer: the RegistryCoordinator registers and deregisters operators
/// through it with the AVSDirectory, subject to an allowlist.
///
/// Roles: the owner configures; the alert confirmer (the aggregator's EOA) submits alerts; the
/// whitelister keeps the allowlist; pausers and the unpauser come from the PauserRegistry; the
/// RegistryCoordinator's owner switches stale-stake protection.
///
/// Pausing acts as in the deployed contract: while any pause flag is set, `confirmAlert` and
/// operator registration and deregistration revert "Pausable: contract is paused".
///
/// Alerts: an alert is confirmed when, for each listed quorum, the operators who BLS-signed
/// keccak256(abi.encode(messageHash, referenceBlockNumber)) held at least the alert's threshold
/// percentage of the quorum's stake at the reference block. The owner can remove a confirmed
/// alert (for instance one found to be false); a removed alert is "resolved": it is no longer
/// reported by `contains`, and `confirmAlert` refuses it for good (`ResolvedAlert`).
///
/// Revert data is the deployed contract's: the custom errors of its ABI, and on inherited paths
/// the exact strings of OpenZeppelin 4.9, EigenLayer's `Pausable` and the middleware's
/// `BLSSignatureChecker` and `ServiceManagerBase`. Where we are stricter (zero addresses, a zero
/// minimum threshold, a quorum without stake), the refusal uses an error of the deployed ABI;
/// docs/decisions.md gives the reasons.
///
/// Deployment: behind a TransparentUpgradeableProxy; the implementation's constructor reads the
/// BLSApkRegistry from the RegistryCoordinator and the DelegationManager from the StakeRegistry,
/// so those proxies must point at their implementations first.
contract MachServiceManager is
    MachServiceManagerStorage,
    OwnableUpgradeable,
    BLSSignatureChecker,
    Pausable
{
    using EnumerableSet for EnumerableSet.Bytes32Set;

    /// @notice Contract-wide minimum threshold set by `initialize`.
    uint8 internal constant DEFAULT_QUORUM_THRESHOLD_PERCENTAGE = 66;

    IAVSDirectory internal immutable _avsDirectory;

    modifier onlyAlertConfirmer() {
        if (msg.sender != alertConfirmer) revert InvalidConfirmer();
        _;
    }

    modifier onlyWhitelister() {
        if (msg.sender != whitelister) revert NotWhitelister();
        _;
    }

    /// @dev The middleware's `ServiceManagerBase` modifier, with its string.
    modifier onlyRegistryCoordinator() {
        require(
            msg.sender == address(registryCoordinator),
            "ServiceManagerBase.onlyRegistryCoordinator: caller is not the registry coordinator"
        );
        _;
    }

    /// @param __avsDirectory EigenLayer's AVSDirectory.
    /// @param __registryCoordinator The AVS's RegistryCoordinator (proxy).
    /// @param __stakeRegistry The AVS's StakeRegistry (proxy).
    /// @param __rollupChainId Chain ID of the rollup this instance watches.
    constructor(
        IAVSDirectory __avsDirectory,
        IRegistryCoordinator __registryCoordinator,
        IStakeRegistry __stakeRegistry,
        uint256 __rollupChainId
    ) MachServiceManagerStorage(__rollupChainId) BLSSignatureChecker(__registryCoordinator, __stakeRegistry) {
        _avsDirectory = __avsDirectory;
        _disableInitializers();
    }

    /// @notice Sets up a proxy: pauser registry and initial pause flags, owner, alert confirmer,
    /// whitelister; the allowlist starts enabled and the minimum threshold at 66 %.
    function initialize(
        IPauserRegistry _pauserRegistry,
        uint256 _initialPausedStatus,
        address _initialOwner,
        address _alertConfirmer,
        address _whitelister
    ) public initializer {
        _initializePauser(_pauserRegistry, _initialPausedStatus);
        if (_initialOwner == address(0) || _alertConfirmer == address(0) || _whitelister == address(0)) {
            revert ZeroAddress();
        }
        _transferOwnership(_initialOwner);
        _setAlertConfirmer(_alertConfirmer);
        _setWhitelister(_whitelister);
        allowlistEnabled = true;
        quorumThresholdPercentage = DEFAULT_QUORUM_THRESHOLD_PERCENTAGE;
    }

    // ---------------------------------------------------------------- alerts

    /// @inheritdoc IMachServiceManager
    /// @dev Checks in the deployed contract's order: pause flags, caller, EOA, resolved, reference
    /// block, parameter lengths, the BLS check (the middleware's strings), then per quorum the
    /// percentage bounds and the signed stake, and last whether the alert is already confirmed.
    function confirmAlert(
        AlertHeader calldata alertHeader,
        NonSignerStakesAndSignature calldata nonSignerStakesAndSignature
    ) external whenNotPaused onlyAlertConfirmer {
        // The confirmer must be an EOA calling directly, not a contract relaying for others.
        if (tx.origin != msg.sender) revert InvalidSender();
        bytes32 messageHash = alertHeader.messageHash;
        if (_resolvedMessageHashes.contains(messageHash)) revert ResolvedAlert();
        if (alertHeader.referenceBlockNumber >= block.number) revert InvalidReferenceBlockNum();
        uint256 quorumCount = alertHeader.quorumNumbers.length;
        if (quorumCount != alertHeader.quorumThresholdPercentages.length) revert InvalidQuorumParam();

        bytes32 reducedAlertHeaderHash = _hashReducedAlertHeader(
            ReducedAlertHeader({messageHash: messageHash, referenceBlockNumber: alertHeader.referenceBlockNumber})
        );
        (QuorumStakeTotals memory totals,) = checkSignatures(
            reducedAlertHeaderHash,
            alertHeader.quorumNumbers,
            alertHeader.referenceBlockNumber,
            nonSignerStakesAndSignature
        );
        uint8 minimumPercentage = quorumThresholdPercentage;
        for (uint256 i = 0; i < quorumCount; i++) {
            uint8 percentage = uint8(alertHeader.quorumThresholdPercentages[i]);
            if (percentage > THRESHOLD_DENOMINATOR) revert InvalidQuorumThresholdPercentage();
            if (percentage < minimumPercentage) revert InsufficientThresholdPercentages();
            uint256 totalStake = totals.totalStakeForQuorum[i];
            // Stricter than deployed: a quorum without stake backs nothing, whatever its percentage.
            if (
                totalStake == 0
                    || uint256(totals.signedStakeForQuorum[i]) * THRESHOLD_DENOMINATOR < totalStake * percentage
            ) revert InsufficientThreshold();
        }
        if (!_messageHashes.add(messageHash)) revert AlreadyAdded();
        emit AlertConfirmed(reducedAlertHeaderHash, messageHash);
    }

    /// @inheritdoc IMachServiceManager
    /// @dev A hash that is not a confirmed alert (never confirmed, or already removed) is left
    /// alone without a revert, as in the deployed contract.
    function removeAlert(bytes32 messageHash) external onlyOwner {
        if (_messageHashes.remove(messageHash)) {
            _resolvedMessageHashes.add(messageHash);
            emit AlertRemoved(messageHash, msg.sender);
        }
    }

    /// @inheritdoc IMachServiceManager
    function contains(bytes32 messageHash) external view returns (bool) {
        return _messageHashes.contains(messageHash);
    }

    /// @inheritdoc IMachServiceManager
    function totalAlerts() external view returns (uint256) {
        return _messageHashes.length();
    }

    /// @inheritdoc IMachServiceManager
    /// @dev Reverts `InvalidStartIndex` when `start >= totalAlerts()` (so always when there are
    /// none); returns fewer than `querySize` hashes when the end is reached.
    function queryMessageHashes(uint256 start, uint256 querySize) external view returns (bytes32[] memory) {
        uint256 total = _messageHashes.length();
        if (start >= total) revert InvalidStartIndex();
        uint256 count = total - start;
        if (querySize < count) count = querySize;
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i = 0; i < count; i++) {
            hashes[i] = _messageHashes.at(start + i);
        }
        return hashes;
    }

    // ---------------------------------------------------------------- operators

    /// @notice Registers `operator` with the AVS in EigenLayer's AVSDirectory; called by the
    /// RegistryCoordinator when the operator registers for its first quorum. While the allowlist
    /// is enabled the operator must be on it; while any pause flag is set nobody can register.
    function registerOperatorToAVS(
        address operator,
        ISignatureUtils.SignatureWithSaltAndExpiry memory operatorSignature
    ) external whenNotPaused onlyRegistryCoordinator {
        if (allowlistEnabled && !allowlist[operator]) revert NotInAllowlist();
        _avsDirectory.registerOperatorToAVS(operator, operatorSignature);
        emit OperatorAdded(operator);
    }

    /// @notice Deregisters `operator` from the AVS in the AVSDirectory; called by the
    /// RegistryCoordinator when the operator leaves its last quorum; not while any pause flag is
    /// set.
    function deregisterOperatorFromAVS(address operator) external whenNotPaused onlyRegistryCoordinator {
        _avsDirectory.deregisterOperatorFromAVS(operator);
        emit OperatorRemoved(operator);
    }

    /// @inheritdoc IMachServiceManager
    function addToAllowlist(address operator) external onlyWhitelister {
        if (operator == address(0)) revert ZeroAddress();
        if (allowlist[operator]) revert AlreadyInAllowlist();
        allowlist[operator] = true;
        emit OperatorAllowed(operator);
    }

    /// @inheritdoc IMachServiceManager
    function removeFromAllowlist(address operator) external onlyWhitelister {
        if (!allowlist[operator]) revert NotInAllowlist();
        allowlist[operator] = false;
        emit OperatorDisallowed(operator);
    }

    /// @inheritdoc IMachServiceManager
    function enableAllowlist() external onlyOwner {
        if (allowlistEnabled) revert AlreadyEnabled();
        allowlistEnabled = true;
        emit AllowlistEnabled();
    }

    /// @inheritdoc IMachServiceManager
    function disableAllowlist() external onlyOwner {
        if (!allowlistEnabled) revert AlreadyDisabled();
        allowlistEnabled = false;
        emit AllowlistDisabled();
    }

    /// @notice Every strategy that some quorum counts, each once.
    function getRestakeableStrategies() external view returns (address[] memory) {
        return _strategiesOfQuorums(type(uint256).max, registryCoordinator.quorumCount());
    }

    /// @notice The strategies counted by the quorums `operator` is in now, each once; empty for
    /// an operator that is not registered.
    function getOperatorRestakedStrategies(address operator) external view returns (address[] memory) {
        bytes32 operatorId = registryCoordinator.getOperatorId(operator);
        return _strategiesOfQuorums(
            registryCoordinator.getCurrentQuorumBitmap(operatorId), registryCoordinator.quorumCount()
        );
    }

    // ---------------------------------------------------------------- configuration

    /// @inheritdoc IMachServiceManager
    /// @dev Stricter than deployed: zero is refused as well (`InvalidQuorumThresholdPercentage`),
    /// since it would let the confirmer alone confirm an alert that no operator signed.
    function updateQuorumThresholdPercentage(uint8 thresholdPercentage) external onlyOwner {
        if (thresholdPercentage == 0 || thresholdPercentage > THRESHOLD_DENOMINATOR) {
            revert InvalidQuorumThresholdPercentage();
        }
        quorumThresholdPercentage = thresholdPercentage;
        emit QuorumThresholdPercentageChanged(thresholdPercentage);
    }

    /// @inheritdoc IMachServiceManager
    /// @dev Stricter than deployed: the zero address is refused (`ZeroAddress`).
    function setConfirmer(address confirmer) external onlyOwner {
        if (confirmer == address(0)) revert ZeroAddress();
        _setAlertConfirmer(confirmer);
    }

    /// @inheritdoc IMachServiceManager
    /// @dev Stricter than deployed: the zero address is refused (`ZeroAddress`).
    function setWhitelister(address whitelister) external onlyOwner {
        if (whitelister == address(0)) revert ZeroAddress();
        _setWhitelister(whitelister);
    }

    /// @notice Publishes the AVS's metadata URI through the AVSDirectory (owner).
    function updateAVSMetadataURI(string memory _metadataURI) external onlyOwner {
        _avsDirectory.updateAVSMetadataURI(_metadataURI);
    }

    /// @notice EigenLayer's AVSDirectory that operator registrations are forwarded to.
    function avsDirectory() external view returns (address) {
        return address(_avsDirectory);
    }

    // ---------------------------------------------------------------- internals

    function _setAlertConfirmer(address confirmer) private {
        emit AlertConfirmerChanged(alertConfirmer, confirmer);
        alertConfirmer = confirmer;
    }

    function _setWhitelister(address newWhitelister) private {
        emit WhitelisterChanged(whitelister, newWhitelister);
        whitelister = newWhitelister;
    }

    function _hashReducedAlertHeader(ReducedAlertHeader memory header) private pure returns (bytes32) {
        return keccak256(abi.encode(header));
    }

    /// @dev Strategies of the quorums below `quorumCount` that are set in `quorumBitmap`, without
    /// repeats.
    function _strategiesOfQuorums(uint256 quorumBitmap, uint8 quorumCount)
        private
        view
        returns (address[] memory strategies)
    {
        uint256[] memory lengths = new uint256[](quorumCount);
        uint256 total = 0;
        for (uint8 q = 0; q < quorumCount; q++) {
            if ((quorumBitmap >> q) & 1 == 1) {
                lengths[q] = stakeRegistry.strategyParamsLength(q);
                total += lengths[q];
            }
        }
        strategies = new address[](total);
        uint256 unique = 0;
        for (uint8 q = 0; q < quorumCount; q++) {
            for (uint256 i = 0; i < lengths[q]; i++) {
                address strategy = address(stakeRegistry.strategyParamsByIndex(q, i).strategy);
                bool seen = false;
                for (uint256 k = 0; k < unique && !seen; k++) {
                    seen = strategies[k] == strategy;
                }
                if (!seen) strategies[unique++] = strategy;
            }
        }
        // Shrink the array to the strategies actually written.
        assembly ("memory-safe") {
            mstore(strategies, unique)
        }
    }
}
