// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Placeholder implementation for proxies deployed before their real implementation.
/// @notice EigenLayer-style deployments create every proxy first, pointing at this (a proxy
/// needs an implementation with code), so that the implementations, whose constructors take
/// each other's proxy addresses, can be deployed next; then each proxy is upgraded with
/// `ProxyAdmin.upgradeAndCall`. It has no functions: any call to it reverts.
contract EmptyContract {}
