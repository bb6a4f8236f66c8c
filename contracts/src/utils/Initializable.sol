// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title One-time initialisation for contracts that live behind a proxy.
/// @notice Storage-compatible with OpenZeppelin v4's `Initializable` (a uint8 version and an
/// "initialising" flag in the first slot) and emits the same `Initialized(uint8)` event, so
/// tooling that reads either keeps working. Implementations call `_disableInitializers()` in
/// their constructor so only proxies can be initialised.
abstract contract Initializable {
    /// @dev Highest version initialised so far; type(uint8).max once disabled.
    uint8 private _initialized;
    /// @dev True while an initializer or reinitializer runs.
    bool private _initializing;

    /// @notice The contract was initialised to `version` (255: initialisers disabled).
    event Initialized(uint8 version);

    /// @notice The contract (or this version of it) is already initialised.
    error AlreadyInitialized();
    /// @notice A function meant to run only inside an initializer was called outside one.
    error NotInitializing();

    /// @notice Guards the first initialisation (version 1). Nested initializers of base
    /// contracts run inside it; a second top-level call reverts `AlreadyInitialized`.
    modifier initializer() {
        bool topLevel = !_initializing;
        // Inside a constructor (no code yet) a nested `initializer` may follow the first one.
        if (!((topLevel && _initialized < 1) || (address(this).code.length == 0 && _initialized == 1))) {
            revert AlreadyInitialized();
        }
        _initialized = 1;
        if (topLevel) _initializing = true;
        _;
        if (topLevel) {
            _initializing = false;
            emit Initialized(1);
        }
    }

    /// @notice Guards a later initialisation step after an upgrade; each `version` runs once
    /// and only in increasing order.
    modifier reinitializer(uint8 version) {
        if (_initializing || _initialized >= version) revert AlreadyInitialized();
        _initialized = version;
        _initializing = true;
        _;
        _initializing = false;
        emit Initialized(version);
    }

    /// @notice Restricts a function to the body of an initializer.
    modifier onlyInitializing() {
        if (!_initializing) revert NotInitializing();
        _;
    }

    /// @notice Locks initialisation for good; implementations call this in their constructor.
    function _disableInitializers() internal virtual {
        if (_initializing) revert AlreadyInitialized();
        if (_initialized != type(uint8).max) {
            _initialized = type(uint8).max;
            emit Initialized(type(uint8).max);
        }
    }

    /// @notice The highest version initialised so far.
    function _getInitializedVersion() internal view returns (uint8) {
        return _initialized;
    }
}
