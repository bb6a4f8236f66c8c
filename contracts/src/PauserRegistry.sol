// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IPauserRegistry} from "./interfaces/IPauserRegistry.sol";

/// @title Who may pause and unpause, in EigenLayer's `PauserRegistry` shape and revert strings.
/// @notice Any number of pausers, one unpauser; the unpauser also manages the list.
contract PauserRegistry is IPauserRegistry {
    /// @inheritdoc IPauserRegistry
    mapping(address => bool) public isPauser;

    /// @inheritdoc IPauserRegistry
    address public unpauser;

    modifier onlyUnpauser() {
        require(msg.sender == unpauser, "msg.sender is not permissioned as unpauser");
        _;
    }

    /// @param _pausers Initial pausers.
    /// @param _unpauser The unpauser.
    constructor(address[] memory _pausers, address _unpauser) {
        for (uint256 i = 0; i < _pausers.length; i++) {
            _setIsPauser(_pausers[i], true);
        }
        _setUnpauser(_unpauser);
    }

    /// @notice Grants (`canPause` true) or revokes `newPauser`'s right to pause.
    function setIsPauser(address newPauser, bool canPause) external onlyUnpauser {
        _setIsPauser(newPauser, canPause);
    }

    /// @notice Hands the unpauser role to `newUnpauser`.
    function setUnpauser(address newUnpauser) external onlyUnpauser {
        _setUnpauser(newUnpauser);
    }

    function _setIsPauser(address pauser, bool canPause) private {
        require(pauser != address(0), "PauserRegistry._setPauser: zero address input");
        isPauser[pauser] = canPause;
        emit PauserStatusChanged(pauser, canPause);
    }

    function _setUnpauser(address newUnpauser) private {
        require(newUnpauser != address(0), "PauserRegistry._setUnpauser: zero address input");
        emit UnpauserChanged(unpauser, newUnpauser);
        unpauser = newUnpauser;
    }
}
