// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Initializable} from "./Initializable.sol";

/// @title Single-owner access control for proxied contracts.
/// @notice Same external surface and event as OpenZeppelin v4's `OwnableUpgradeable`
/// (`owner`, `transferOwnership`, `renounceOwnership`, `OwnershipTransferred`), with custom
/// errors instead of revert strings. Occupies 50 storage slots (1 used, 49 reserved).
abstract contract OwnableUpgradeable is Initializable {
    address private _owner;

    /// @notice Ownership moved from `previousOwner` to `newOwner` (zero: none).
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    /// @notice The caller is not the owner.
    error CallerIsNotOwner();
    /// @notice `transferOwnership` to the zero address; use `renounceOwnership` to give it up.
    error NewOwnerIsZeroAddress();

    modifier onlyOwner() {
        if (msg.sender != _owner) revert CallerIsNotOwner();
        _;
    }

    /// @notice Sets the first owner; only inside an initializer.
    function __Ownable_init(address initialOwner) internal onlyInitializing {
        _transferOwnership(initialOwner);
    }

    /// @notice The address allowed to call `onlyOwner` functions.
    function owner() public view virtual returns (address) {
        return _owner;
    }

    /// @notice Gives up ownership: every `onlyOwner` function becomes uncallable for good.
    function renounceOwnership() public virtual onlyOwner {
        _transferOwnership(address(0));
    }

    /// @notice Hands ownership to `newOwner`.
    function transferOwnership(address newOwner) public virtual onlyOwner {
        if (newOwner == address(0)) revert NewOwnerIsZeroAddress();
        _transferOwnership(newOwner);
    }

    function _transferOwnership(address newOwner) internal virtual {
        address previousOwner = _owner;
        _owner = newOwner;
        emit OwnershipTransferred(previousOwner, newOwner);
    }

    /// @dev Reserved so that later versions can add state without moving derived contracts'.
    uint256[49] private __gap;
}
