// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title The ERC-20 token interface (EIP-20), with the optional metadata getters.
interface IERC20 {
    /// @notice `value` tokens moved from `from` to `to` (`from` is zero for a mint).
    event Transfer(address indexed from, address indexed to, uint256 value);

    /// @notice `owner` allowed `spender` to move up to `value` of its tokens.
    event Approval(address indexed owner, address indexed spender, uint256 value);

    function name() external view returns (string memory);
    function symbol() external view returns (string memory);
    function decimals() external view returns (uint8);
    function totalSupply() external view returns (uint256);
    function balanceOf(address account) external view returns (uint256);
    function allowance(address owner, address spender) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    function approve(address spender, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}
