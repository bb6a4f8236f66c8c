// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IPauserRegistry} from "../interfaces/IPauserRegistry.sol";

/// @title Bit-flag pausing with EigenLayer's `Pausable` semantics and revert strings.
/// @notice Each bit of `paused()` pauses one kind of action (the contract using this says which
/// bit is which). Pausers listed in the PauserRegistry may only set more bits (`pause`,
/// `pauseAll`); only the registry's unpauser may clear bits (`unpause`) or replace the
/// registry. Occupies 50 storage slots (2 used, 48 reserved), as EigenLayer's does. Reverts
/// carry EigenLayer's exact strings, so clients that decode the deployed contracts read ours.
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

    modifier onlyPauser() {
        require(pauserRegistry.isPauser(msg.sender), "msg.sender is not permissioned as pauser");
        _;
    }

    modifier onlyUnpauser() {
        require(msg.sender == pauserRegistry.unpauser(), "msg.sender is not permissioned as unpauser");
        _;
    }

    /// @notice Allows the function only while no flag at all is set.
    modifier whenNotPaused() {
        require(_paused == 0, "Pausable: contract is paused");
        _;
    }

    /// @notice Allows the function only while flag `index` is clear.
    modifier onlyWhenNotPaused(uint8 index) {
        require(!paused(index), "Pausable: index is paused");
        _;
    }

    /// @notice Sets the registry and the initial flags; once, from an initializer.
    function _initializePauser(IPauserRegistry _pauserRegistry, uint256 initialPausedStatus) internal {
        require(
            address(pauserRegistry) == address(0) && address(_pauserRegistry) != address(0),
            "Pausable._initializePauser: _initializePauser() can only be called once"
        );
        _paused = initialPausedStatus;
        emit Paused(msg.sender, initialPausedStatus);
        _setPauserRegistry(_pauserRegistry);
    }

    /// @notice Sets the paused flags to `newPausedStatus`, which must keep every flag already set.
    function pause(uint256 newPausedStatus) external onlyPauser {
        require((_paused & newPausedStatus) == _paused, "Pausable.pause: invalid attempt to unpause functionality");
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
        require(
            ((~_paused) & (~newPausedStatus)) == (~_paused), "Pausable.unpause: invalid attempt to pause functionality"
        );
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
        require(
            address(newPauserRegistry) != address(0),
            "Pausable._setPauserRegistry: newPauserRegistry cannot be the zero address"
        );
        emit PauserRegistrySet(pauserRegistry, newPauserRegistry);
        pauserRegistry = newPauserRegistry;
    }

    /// @dev Reserved so that later versions can add state without moving derived contracts'.
    uint256[48] private __gap;
}
