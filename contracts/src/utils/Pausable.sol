// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IPauserRegistry} from "../interfaces/IPauserRegistry.sol";

/// @title Bit-flag pausing in EigenLayer's `Pausable` style.
/// @notice Each bit of `paused()` pauses one kind of action (the contract using this says which
/// bit is which). Pausers listed in the PauserRegistry may only set more bits (`pause`,
/// `pauseAll`); only the registry's unpauser may clear bits (`unpause`) or replace the
/// registry. Occupies 50 storage slots (2 used, 48 reserved).
abstract contract Pausable {
    /// @notice Where pausers and the unpauser are looked up.
    IPauserRegistry public pauserRegistry;

    uint256 private _paused;

    uint256 internal constant UNPAUSE_ALL = 0;
    uint256 internal constant PAUSE_ALL = type(uint256).max;

    /// @notice `account` set the paused flags to `newPausedStatus` (more bits set).
    event Paused(address indexed account, uint256 newPausedStatus);
    /// @notice `account` set the paused flags to `newPausedStatus` (bits cleared).
    event Unpaused(address indexed account, uint256 newPausedStatus);
    /// @notice The pauser registry changed from `pauserRegistry` to `newPauserRegistry`.
    event PauserRegistrySet(IPauserRegistry pauserRegistry, IPauserRegistry newPauserRegistry);

    /// @notice The caller is not a pauser in the pauser registry.
    error OnlyPauser();
    /// @notice The caller is not the pauser registry's unpauser.
    error OnlyUnpauser();
    /// @notice The action is paused (the flag `index` of `paused()`, or any flag).
    error CurrentlyPaused();
    /// @notice `pause` would clear a flag, or `unpause` would set one.
    error InvalidNewPausedStatus();
    /// @notice The pauser registry was already set at initialisation.
    error PauserRegistryAlreadySet();
    /// @notice The pauser registry cannot be the zero address.
    error PauserRegistryIsZero();

    modifier onlyPauser() {
        if (!pauserRegistry.isPauser(msg.sender)) revert OnlyPauser();
        _;
    }

    modifier onlyUnpauser() {
        if (msg.sender != pauserRegistry.unpauser()) revert OnlyUnpauser();
        _;
    }

    /// @notice Allows the function only while no flag at all is set.
    modifier whenNotPaused() {
        if (_paused != 0) revert CurrentlyPaused();
        _;
    }

    /// @notice Allows the function only while flag `index` is clear.
    modifier onlyWhenNotPaused(uint8 index) {
        if (paused(index)) revert CurrentlyPaused();
        _;
    }

    /// @notice Sets the registry and the initial flags; once, from an initializer.
    function _initializePauser(IPauserRegistry _pauserRegistry, uint256 initialPausedStatus) internal {
        if (address(pauserRegistry) != address(0)) revert PauserRegistryAlreadySet();
        _paused = initialPausedStatus;
        emit Paused(msg.sender, initialPausedStatus);
        _setPauserRegistry(_pauserRegistry);
    }

    /// @notice Sets the paused flags to `newPausedStatus`, which must keep every flag already set.
    function pause(uint256 newPausedStatus) external onlyPauser {
        if ((_paused & newPausedStatus) != _paused) revert InvalidNewPausedStatus();
        _paused = newPausedStatus;
        emit Paused(msg.sender, newPausedStatus);
    }

    /// @notice Sets every paused flag.
    function pauseAll() external onlyPauser {
        _paused = PAUSE_ALL;
        emit Paused(msg.sender, PAUSE_ALL);
    }

    /// @notice Sets the paused flags to `newPausedStatus`, which must not set a flag that is clear.
    function unpause(uint256 newPausedStatus) external onlyUnpauser {
        if (((~_paused) & (~newPausedStatus)) != (~_paused)) revert InvalidNewPausedStatus();
        _paused = newPausedStatus;
        emit Unpaused(msg.sender, newPausedStatus);
    }

    /// @notice All paused flags.
    function paused() public view virtual returns (uint256) {
        return _paused;
    }

    /// @notice True when flag `index` is set.
    function paused(uint8 index) public view virtual returns (bool) {
        uint256 mask = uint256(1) << index;
        return (_paused & mask) == mask;
    }

    /// @notice Replaces the pauser registry; only its current unpauser may.
    function setPauserRegistry(IPauserRegistry newPauserRegistry) external onlyUnpauser {
        _setPauserRegistry(newPauserRegistry);
    }

    function _setPauserRegistry(IPauserRegistry newPauserRegistry) internal {
        if (address(newPauserRegistry) == address(0)) revert PauserRegistryIsZero();
        emit PauserRegistrySet(pauserRegistry, newPauserRegistry);
        pauserRegistry = newPauserRegistry;
    }

    /// @dev Reserved so that later versions can add state without moving derived contracts'.
    uint256[48] private __gap;
}
