// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Who may pause and unpause, in EigenLayer's `IPauserRegistry` shape.
interface IPauserRegistry {
    /// @notice Emitted when `pauser` gains (`canPause` true) or loses the right to pause.
    event PauserStatusChanged(address pauser, bool canPause);

    /// @notice Emitted when the unpauser role moves from `previousUnpauser` to `newUnpauser`.
    event UnpauserChanged(address previousUnpauser, address newUnpauser);

    /// @notice True when `pauser` may pause contracts that use this registry.
    function isPauser(address pauser) external view returns (bool);

    /// @notice The one address that may unpause contracts and administer this registry.
    function unpauser() external view returns (address);
}
