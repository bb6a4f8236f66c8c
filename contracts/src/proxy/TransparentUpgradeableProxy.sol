// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title EIP-1967 transparent upgradeable proxy, in the shape of OpenZeppelin v4's.
/// @notice Every call is delegated to the implementation, except calls from the admin (in
/// practice a ProxyAdmin contract), which can only reach the administrative functions below:
/// the admin can never call the implementation through the proxy, so an implementation function
/// cannot clash with them. Implementation and admin live in the EIP-1967 slots, so explorers and
/// `cast implementation` / `cast admin` read them.
/// Administrative functions called by anyone but the admin are delegated like any other call.
contract TransparentUpgradeableProxy {
    /// @dev keccak256("eip1967.proxy.implementation") - 1
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    /// @dev keccak256("eip1967.proxy.admin") - 1
    bytes32 internal constant ADMIN_SLOT = 0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103;

    /// @notice The proxy now delegates to `implementation`.
    event Upgraded(address indexed implementation);
    /// @notice The admin changed from `previousAdmin` to `newAdmin`.
    event AdminChanged(address previousAdmin, address newAdmin);

    /// @notice The new implementation has no code.
    error ImplementationIsNotContract(address implementation);
    /// @notice The new admin is the zero address.
    error AdminIsZeroAddress();
    /// @notice The admin called something other than an administrative function.
    error AdminCannotFallbackToImplementation();

    modifier ifAdmin() {
        if (msg.sender == _admin()) {
            _;
        } else {
            _delegate(_implementation());
        }
    }

    /// @param _logic First implementation.
    /// @param admin_ Address allowed to upgrade the proxy (a ProxyAdmin).
    /// @param _data Call to make on the implementation right away (e.g. `initialize`); may be empty.
    constructor(address _logic, address admin_, bytes memory _data) payable {
        _upgradeToAndCall(_logic, _data, false);
        _changeAdmin(admin_);
    }

    /// @notice The admin (only the admin gets an answer; others are delegated).
    function admin() external ifAdmin returns (address admin_) {
        admin_ = _admin();
    }

    /// @notice The implementation (only the admin gets an answer; others are delegated).
    function implementation() external ifAdmin returns (address implementation_) {
        implementation_ = _implementation();
    }

    /// @notice Hands the admin role to `newAdmin`.
    function changeAdmin(address newAdmin) external ifAdmin {
        _changeAdmin(newAdmin);
    }

    /// @notice Points the proxy at `newImplementation`.
    function upgradeTo(address newImplementation) external ifAdmin {
        _upgradeToAndCall(newImplementation, "", false);
    }

    /// @notice Points the proxy at `newImplementation` and calls it with `data` (e.g. an
    /// initializer), forwarding the value sent; the call is made even when `data` is empty.
    function upgradeToAndCall(address newImplementation, bytes calldata data) external payable ifAdmin {
        _upgradeToAndCall(newImplementation, data, true);
    }

    fallback() external payable {
        _fallback();
    }

    receive() external payable {
        _fallback();
    }

    function _fallback() private {
        if (msg.sender == _admin()) revert AdminCannotFallbackToImplementation();
        _delegate(_implementation());
    }

    function _implementation() private view returns (address implementation_) {
        bytes32 slot = IMPLEMENTATION_SLOT;
        assembly ("memory-safe") {
            implementation_ := sload(slot)
        }
    }

    function _admin() private view returns (address admin_) {
        bytes32 slot = ADMIN_SLOT;
        assembly ("memory-safe") {
            admin_ := sload(slot)
        }
    }

    function _upgradeToAndCall(address newImplementation, bytes memory data, bool forceCall) private {
        if (newImplementation.code.length == 0) revert ImplementationIsNotContract(newImplementation);
        bytes32 slot = IMPLEMENTATION_SLOT;
        assembly ("memory-safe") {
            sstore(slot, newImplementation)
        }
        emit Upgraded(newImplementation);
        if (data.length != 0 || forceCall) {
            (bool ok, bytes memory returndata) = newImplementation.delegatecall(data);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(returndata, 0x20), mload(returndata))
                }
            }
        }
    }

    function _changeAdmin(address newAdmin) private {
        if (newAdmin == address(0)) revert AdminIsZeroAddress();
        emit AdminChanged(_admin(), newAdmin);
        bytes32 slot = ADMIN_SLOT;
        assembly ("memory-safe") {
            sstore(slot, newAdmin)
        }
    }

    /// @dev Runs the current call in `target`'s code and returns or reverts with its result;
    /// never returns to the caller.
    function _delegate(address target) private {
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }
}
