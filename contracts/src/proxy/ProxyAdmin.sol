// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TransparentUpgradeableProxy} from "./TransparentUpgradeableProxy.sol";
import {Ownable} from "../utils/Ownable.sol";

/// @title Admin of TransparentUpgradeableProxy instances, in the shape of OpenZeppelin v4's.
/// @notice Deploy it, make it the admin of the proxies, and upgrade them through its owner (the
/// deployer at first). Because the proxies' admin is this contract, the owner's own calls reach
/// the implementations normally.
contract ProxyAdmin is Ownable {
    /// @notice A read of a proxy's admin or implementation failed: this contract is not its admin.
    error NotProxyAdmin(address proxy);

    /// @notice The implementation `proxy` delegates to (this contract must be its admin).
    function getProxyImplementation(TransparentUpgradeableProxy proxy) external view returns (address) {
        return _read(proxy, TransparentUpgradeableProxy.implementation.selector);
    }

    /// @notice The admin of `proxy` (this contract must be its admin).
    function getProxyAdmin(TransparentUpgradeableProxy proxy) external view returns (address) {
        return _read(proxy, TransparentUpgradeableProxy.admin.selector);
    }

    /// @notice Hands the admin role of `proxy` to `newAdmin`.
    function changeProxyAdmin(TransparentUpgradeableProxy proxy, address newAdmin) external onlyOwner {
        proxy.changeAdmin(newAdmin);
    }

    /// @notice Points `proxy` at `implementation`.
    function upgrade(TransparentUpgradeableProxy proxy, address implementation) external onlyOwner {
        proxy.upgradeTo(implementation);
    }

    /// @notice Points `proxy` at `implementation` and calls it with `data` (typically
    /// `initialize`), forwarding the value sent.
    function upgradeAndCall(TransparentUpgradeableProxy proxy, address implementation, bytes calldata data)
        external
        payable
        onlyOwner
    {
        proxy.upgradeToAndCall{value: msg.value}(implementation, data);
    }

    /// @dev The proxy's admin getters are not `view` (others' calls are delegated), so read them
    /// with a static call.
    function _read(TransparentUpgradeableProxy proxy, bytes4 selector) private view returns (address) {
        (bool ok, bytes memory returndata) = address(proxy).staticcall(abi.encodeWithSelector(selector));
        if (!ok || returndata.length != 32) revert NotProxyAdmin(address(proxy));
        return abi.decode(returndata, (address));
    }
}
