// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IBLSSignatureChecker} from "./IBLSSignatureChecker.sol";
import {ISignatureUtils} from "./ISignatureUtils.sol";

/// @title The MACH AVS service manager: confirmed alerts of one rollup, and who may produce them.
/// @notice Names, events and errors match AltLayer's deployed MachServiceManager ABI, and it
/// declares no error that ABI lacks.
interface IMachServiceManager {
    /// @notice An alert as the aggregator submits it.
    /// @param messageHash What operators attest to (e.g. a hash of an invalid output root).
    /// @param quorumNumbers Quorums whose stake must back the alert, strictly ascending.
    /// @param quorumThresholdPercentages Per quorum: percentage of its stake that must sign.
    /// @param referenceBlockNumber L1 block at which operator stakes and keys are read.
    struct AlertHeader {
        bytes32 messageHash;
        bytes quorumNumbers;
        bytes quorumThresholdPercentages;
        uint32 referenceBlockNumber;
    }

    /// @notice What operators actually sign: keccak256(abi.encode(messageHash,
    /// referenceBlockNumber)) is the BLS message and the `alertHeaderHash` of `AlertConfirmed`.
    struct ReducedAlertHeader {
        bytes32 messageHash;
        uint32 referenceBlockNumber;
    }

    event AlertConfirmed(bytes32 indexed alertHeaderHash, bytes32 messageHash);
    event AlertRemoved(bytes32 messageHash, address sender);
    event AlertConfirmerChanged(address previousAddress, address newAddress);
    event WhitelisterChanged(address previousAddress, address newAddress);
    event OperatorAllowed(address operator);
    event OperatorDisallowed(address operator);
    event OperatorAdded(address indexed operator);
    event OperatorRemoved(address indexed operator);
    event AllowlistEnabled();
    event AllowlistDisabled();
    event QuorumThresholdPercentageChanged(uint8 thresholdPercentages);

    /// @notice The message hash is already a confirmed alert.
    error AlreadyAdded();
    /// @notice The allowlist is already off.
    error AlreadyDisabled();
    /// @notice The allowlist is already on.
    error AlreadyEnabled();
    /// @notice The operator is already on the allowlist.
    error AlreadyInAllowlist();
    /// @notice A quorum's signed stake is below its threshold (or the quorum has no stake).
    error InsufficientThreshold();
    /// @notice An alert's threshold for a quorum is below `quorumThresholdPercentage`.
    error InsufficientThresholdPercentages();
    /// @notice The caller is not the alert confirmer.
    error InvalidConfirmer();
    /// @notice Quorum numbers and thresholds differ in length.
    error InvalidQuorumParam();
    /// @notice A threshold percentage is above 100 (or, for the contract-wide minimum, zero).
    error InvalidQuorumThresholdPercentage();
    /// @notice The reference block is not in the past (it must be below `block.number`).
    error InvalidReferenceBlockNum();
    /// @notice The confirmer is a contract or calls through one (`tx.origin != msg.sender`).
    error InvalidSender();
    /// @notice `queryMessageHashes` start is not below `totalAlerts()`.
    error InvalidStartIndex();
    /// @notice The operator is not on the allowlist.
    error NotInAllowlist();
    /// @notice The caller is not the whitelister.
    error NotWhitelister();
    /// @notice The alert was confirmed and then removed by the owner: it stays resolved.
    error ResolvedAlert();
    /// @notice An address argument is zero.
    error ZeroAddress();

    /// @notice Stores `alertHeader.messageHash` as a confirmed alert once enough stake of every
    /// listed quorum signed the reduced alert header; only the alert confirmer, as an EOA.
    function confirmAlert(
        AlertHeader calldata alertHeader,
        IBLSSignatureChecker.NonSignerStakesAndSignature calldata nonSignerStakesAndSignature
    ) external;

    /// @notice Withdraws a confirmed alert (owner); it stays resolved and cannot be confirmed again.
    function removeAlert(bytes32 messageHash) external;

    /// @notice True when `messageHash` is a confirmed (and not removed) alert.
    function contains(bytes32 messageHash) external view returns (bool);

    /// @notice Number of confirmed (and not removed) alerts.
    function totalAlerts() external view returns (uint256);

    /// @notice Up to `querySize` confirmed alerts from position `start`.
    function queryMessageHashes(uint256 start, uint256 querySize) external view returns (bytes32[] memory);

    /// @notice Puts `operator` on the allowlist (whitelister).
    function addToAllowlist(address operator) external;

    /// @notice Takes `operator` off the allowlist (whitelister).
    function removeFromAllowlist(address operator) external;

    /// @notice Requires operators to be on the allowlist to register (owner).
    function enableAllowlist() external;

    /// @notice Lets any operator register (owner).
    function disableAllowlist() external;

    /// @notice Sets the contract-wide minimum threshold percentage for alerts (owner).
    function updateQuorumThresholdPercentage(uint8 thresholdPercentage) external;

    /// @notice Sets the address allowed to call `confirmAlert` (owner).
    function setConfirmer(address confirmer) external;

    /// @notice Sets the address that manages the allowlist (owner).
    function setWhitelister(address whitelister) external;

    /// @notice The rollup whose blocks this service manager's alerts are about.
    function rollupChainId() external view returns (uint256);
}
