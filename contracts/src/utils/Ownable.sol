// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Single-owner access control for contracts that are not proxied.
/// @notice Same external surface and event as OpenZeppelin v4's `Ownable`: the deployer is the
/// first owner.
abstract contract Ownable {
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

    constructor() {
        _transferOwnership(msg.sender);
    }

    /// @notice The address allowed to call `onlyOwner` functions.
    function owner() public view returns (address) {
        return _owner;
    }

    /// @notice Gives up ownership: every `onlyOwner` function becomes uncallable for good.
    function renounceOwnership() external onlyOwner {
        _transferOwnership(address(0));
    }

    /// @notice Hands ownership to `newOwner`.
    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert NewOwnerIsZeroAddress();
        _transferOwnership(newOwner);
    }

    function _transferOwnership(address newOwner) private {
        emit OwnershipTransferred(_owner, newOwner);
        _owner = newOwner;
    }
}
