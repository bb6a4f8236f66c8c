// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice The forge cheatcodes these tests use (forge-std is not a dependency). Signatures are
/// forge's; forge answers calls to `VM_ADDRESS`.
interface Vm {
    /// @notice An event recorded by `recordLogs`.
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function prank(address msgSender) external;
    function prank(address msgSender, address txOrigin) external;
    function startPrank(address msgSender) external;
    function startPrank(address msgSender, address txOrigin) external;
    function stopPrank() external;
    function roll(uint256 newHeight) external;
    function deal(address account, uint256 newBalance) external;
    function load(address target, bytes32 slot) external view returns (bytes32 data);
    function label(address account, string calldata newLabel) external;
    function expectRevert() external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit() external;
    function expectEmit(address emitter) external;
    function expectCall(address callee, bytes calldata data) external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
    function mockCallRevert(address callee, bytes calldata data, bytes calldata revertData) external;
    function assertEq(uint256 left, uint256 right, string calldata message) external pure;
    function assertEq(address left, address right, string calldata message) external pure;
    function assertEq(bytes32 left, bytes32 right, string calldata message) external pure;
    function assertEq(bool left, bool right, string calldata message) external pure;
    function assertEq(string calldata left, string calldata right, string calldata message) external pure;
    function assertEq(bytes32[] calldata left, bytes32[] calldata right, string calldata message) external pure;
    function assertEq(address[] calldata left, address[] calldata right, string calldata message) external pure;
    function assertTrue(bool condition, string calldata message) external pure;
    function assertFalse(bool condition, string calldata message) external pure;
    function assertLt(uint256 left, uint256 right, string calldata message) external pure;
    function assertGt(uint256 left, uint256 right, string calldata message) external pure;
}

/// @notice Base of every test contract here: the cheatcode handle and console output.
abstract contract Test {
    address internal constant VM_ADDRESS = address(uint160(uint256(keccak256("hevm cheat code"))));
    Vm internal constant vm = Vm(VM_ADDRESS);

    /// @dev Forge prints calls to this address (the console.log convention) with -vv.
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    function _log(string memory text) internal view {
        _console(abi.encodeWithSignature("log(string)", text));
    }

    function _log(string memory text, uint256 value) internal view {
        _console(abi.encodeWithSignature("log(string,uint256)", text, value));
    }

    function _console(bytes memory payload) private view {
        (bool ok,) = CONSOLE.staticcall(payload);
        ok; // The console is a sink: nothing to do if it is absent.
    }
}
