// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// The proxy contracts every EigenLayer-style deployment uses, taken unchanged from OpenZeppelin
// 4.9 (pinned in package.json). Importing them here makes the build export their artifacts for
// the Rust deployer (`crates/contracts`).
import {ProxyAdmin} from "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol";
import {TransparentUpgradeableProxy} from "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol";
