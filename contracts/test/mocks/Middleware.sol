// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BN254} from "../../src/libraries/BN254.sol";
import {IAVSDirectory} from "../../src/interfaces/IAVSDirectory.sol";
import {IBLSApkRegistry} from "../../src/interfaces/IBLSApkRegistry.sol";
import {IDelegationManager} from "../../src/interfaces/IDelegationManager.sol";
import {IRegistryCoordinator} from "../../src/interfaces/IRegistryCoordinator.sol";
import {ISignatureUtils} from "../../src/interfaces/ISignatureUtils.sol";
import {IStakeRegistry} from "../../src/interfaces/IStakeRegistry.sol";
import {IStrategy} from "../../src/interfaces/IStrategy.sol";

// Test doubles of the EigenLayer contracts the MachServiceManager reads. They keep histories the
// way the real registries do, in the same packed entries (one per change, each valid from its
// block until the next entry's block, so a read costs what it costs there), and their by-index
// getters revert, like the real ones, when the entry at the index does not cover the block asked
// about. Helpers that the real contracts lack (setters, index look-ups like the
// OperatorStateRetriever's) are for the tests to set the scene.

library History {
    /// @dev Reverts unless an entry valid for blocks [from, until) (until 0: still current)
    /// covers `blockNumber`.
    function check(uint32 from, uint32 until, uint32 blockNumber) internal pure {
        require(from <= blockNumber, "history entry is after the block");
        require(until == 0 || until > blockNumber, "history entry is not the one at the block");
    }

    /// @dev Whether a change at this block rewrites the last entry (made at this block too)
    /// rather than appending one.
    function rewrites(uint256 length, uint32 lastFrom) internal view returns (bool) {
        return length != 0 && lastFrom == uint32(block.number);
    }
}

contract MockDelegationManager is IDelegationManager {
    uint256 public minWithdrawalDelayBlocks;

    function setMinWithdrawalDelayBlocks(uint256 blocks) external {
        minWithdrawalDelayBlocks = blocks;
    }
}

contract MockAVSDirectory is IAVSDirectory {
    event AVSMetadataURIUpdated(address indexed avs, string metadataURI);

    mapping(address => mapping(address => bool)) public registered;
    mapping(address => bytes32) public lastSalt;
    mapping(address => string) public metadataURI;

    function registerOperatorToAVS(address operator, ISignatureUtils.SignatureWithSaltAndExpiry memory sig) external {
        require(!registered[msg.sender][operator], "operator already registered");
        registered[msg.sender][operator] = true;
        lastSalt[operator] = sig.salt;
    }

    function deregisterOperatorFromAVS(address operator) external {
        require(registered[msg.sender][operator], "operator not registered");
        registered[msg.sender][operator] = false;
    }

    function updateAVSMetadataURI(string calldata uri) external {
        metadataURI[msg.sender] = uri;
        emit AVSMetadataURIUpdated(msg.sender, uri);
    }
}

contract MockBLSApkRegistry is IBLSApkRegistry {
    using BN254 for BN254.G1Point;

    struct ApkUpdate {
        bytes24 apkHash;
        uint32 updateBlockNumber;
        uint32 nextUpdateBlockNumber;
    }

    mapping(uint8 => ApkUpdate[]) internal history;
    /// @dev The full points behind `history`, for the tests' submissions.
    mapping(uint8 => BN254.G1Point[]) internal apks;

    /// @dev Adds `pubkey` to quorum `quorumNumber`'s aggregate key (or removes it).
    function update(uint8 quorumNumber, BN254.G1Point memory pubkey, bool add) external {
        BN254.G1Point memory next = currentApk(quorumNumber).plus(add ? pubkey : pubkey.negate());
        ApkUpdate[] storage entries = history[quorumNumber];
        uint256 length = entries.length;
        uint32 now_ = uint32(block.number);
        if (History.rewrites(length, length == 0 ? 0 : entries[length - 1].updateBlockNumber)) {
            entries[length - 1].apkHash = bytes24(next.hashG1Point());
            apks[quorumNumber][length - 1] = next;
            return;
        }
        if (length != 0) entries[length - 1].nextUpdateBlockNumber = now_;
        entries.push(ApkUpdate(bytes24(next.hashG1Point()), now_, 0));
        apks[quorumNumber].push(next);
    }

    function currentApk(uint8 quorumNumber) public view returns (BN254.G1Point memory) {
        uint256 length = apks[quorumNumber].length;
        return length == 0 ? BN254.G1Point(0, 0) : apks[quorumNumber][length - 1];
    }

    function apkIndexAt(uint8 quorumNumber, uint32 blockNumber) external view returns (uint32) {
        ApkUpdate[] storage entries = history[quorumNumber];
        for (uint256 i = entries.length; i > 0; i--) {
            // forge-lint: disable-next-line(unsafe-typecast)
            if (entries[i - 1].updateBlockNumber <= blockNumber) return uint32(i - 1);
        }
        revert("no history entry at or before the block");
    }

    function apkAt(uint8 quorumNumber, uint256 index) external view returns (BN254.G1Point memory) {
        return apks[quorumNumber][index];
    }

    function getApkHashAtBlockNumberAndIndex(uint8 quorumNumber, uint32 blockNumber, uint256 index)
        external
        view
        returns (bytes24)
    {
        ApkUpdate memory entry = history[quorumNumber][index];
        History.check(entry.updateBlockNumber, entry.nextUpdateBlockNumber, blockNumber);
        return entry.apkHash;
    }
}

contract MockStakeRegistry is IStakeRegistry {
    struct StakeUpdate {
        uint32 updateBlockNumber;
        uint32 nextUpdateBlockNumber;
        uint96 stake;
    }

    IDelegationManager public immutable delegation;

    mapping(uint8 => StakeUpdate[]) internal totalHistory;
    mapping(bytes32 => mapping(uint8 => StakeUpdate[])) internal operatorHistory;
    mapping(uint8 => StrategyParams[]) internal strategies;

    constructor(IDelegationManager _delegation) {
        delegation = _delegation;
    }

    /// @dev Sets `operatorId`'s stake in `quorumNumber` from this block on, and the total with it.
    function setStake(bytes32 operatorId, uint8 quorumNumber, uint96 stake) external {
        uint96 previous = _write(operatorHistory[operatorId][quorumNumber], stake);
        StakeUpdate[] storage totals = totalHistory[quorumNumber];
        uint96 previousTotal = totals.length == 0 ? 0 : totals[totals.length - 1].stake;
        _write(totals, previousTotal - previous + stake);
    }

    function addStrategy(uint8 quorumNumber, IStrategy strategy, uint96 multiplier) external {
        strategies[quorumNumber].push(StrategyParams(strategy, multiplier));
    }

    function totalStakeIndexAt(uint8 quorumNumber, uint32 blockNumber) external view returns (uint32) {
        return _indexAt(totalHistory[quorumNumber], blockNumber);
    }

    function stakeIndexAt(bytes32 operatorId, uint8 quorumNumber, uint32 blockNumber) external view returns (uint32) {
        return _indexAt(operatorHistory[operatorId][quorumNumber], blockNumber);
    }

    function getTotalStakeAtBlockNumberFromIndex(uint8 quorumNumber, uint32 blockNumber, uint256 index)
        external
        view
        returns (uint96)
    {
        return _at(totalHistory[quorumNumber][index], blockNumber);
    }

    function getStakeAtBlockNumberAndIndex(uint8 quorumNumber, uint32 blockNumber, bytes32 operatorId, uint256 index)
        external
        view
        returns (uint96)
    {
        return _at(operatorHistory[operatorId][quorumNumber][index], blockNumber);
    }

    function strategyParamsLength(uint8 quorumNumber) external view returns (uint256) {
        return strategies[quorumNumber].length;
    }

    function strategyParamsByIndex(uint8 quorumNumber, uint256 index) external view returns (StrategyParams memory) {
        return strategies[quorumNumber][index];
    }

    function _at(StakeUpdate memory entry, uint32 blockNumber) private pure returns (uint96) {
        History.check(entry.updateBlockNumber, entry.nextUpdateBlockNumber, blockNumber);
        return entry.stake;
    }

    function _indexAt(StakeUpdate[] storage entries, uint32 blockNumber) private view returns (uint32) {
        for (uint256 i = entries.length; i > 0; i--) {
            // forge-lint: disable-next-line(unsafe-typecast)
            if (entries[i - 1].updateBlockNumber <= blockNumber) return uint32(i - 1);
        }
        revert("no history entry at or before the block");
    }

    /// @dev Records `stake` from this block on; returns the stake it replaces.
    function _write(StakeUpdate[] storage entries, uint96 stake) private returns (uint96 previous) {
        uint256 length = entries.length;
        uint32 now_ = uint32(block.number);
        previous = length == 0 ? 0 : entries[length - 1].stake;
        if (History.rewrites(length, length == 0 ? 0 : entries[length - 1].updateBlockNumber)) {
            entries[length - 1].stake = stake;
            return previous;
        }
        if (length != 0) entries[length - 1].nextUpdateBlockNumber = now_;
        entries.push(StakeUpdate(now_, 0, stake));
    }
}

contract MockRegistryCoordinator is IRegistryCoordinator {
    struct QuorumBitmapUpdate {
        uint32 updateBlockNumber;
        uint32 nextUpdateBlockNumber;
        uint192 quorumBitmap;
    }

    IBLSApkRegistry public immutable blsApkRegistry;
    IStakeRegistry public immutable stakeRegistry;

    uint8 public quorumCount;
    /// @notice The coordinator's owner: the only one who may switch stale-stake protection.
    address public owner;
    mapping(uint8 => uint256) public quorumUpdateBlockNumber;
    mapping(address => bytes32) public getOperatorId;
    mapping(bytes32 => QuorumBitmapUpdate[]) internal history;

    constructor(IBLSApkRegistry _blsApkRegistry, IStakeRegistry _stakeRegistry) {
        blsApkRegistry = _blsApkRegistry;
        stakeRegistry = _stakeRegistry;
    }

    function setOwner(address newOwner) external {
        owner = newOwner;
    }

    function setQuorumCount(uint8 count) external {
        quorumCount = count;
    }

    function setQuorumUpdateBlockNumber(uint8 quorumNumber, uint256 blockNumber) external {
        quorumUpdateBlockNumber[quorumNumber] = blockNumber;
    }

    function setOperatorId(address operator, bytes32 operatorId) external {
        getOperatorId[operator] = operatorId;
    }

    /// @dev Sets the quorums `operatorId` is in from this block on.
    function setQuorumBitmap(bytes32 operatorId, uint192 bitmap) external {
        QuorumBitmapUpdate[] storage entries = history[operatorId];
        uint256 length = entries.length;
        uint32 now_ = uint32(block.number);
        if (History.rewrites(length, length == 0 ? 0 : entries[length - 1].updateBlockNumber)) {
            entries[length - 1].quorumBitmap = bitmap;
            return;
        }
        if (length != 0) entries[length - 1].nextUpdateBlockNumber = now_;
        entries.push(QuorumBitmapUpdate(now_, 0, bitmap));
    }

    function quorumBitmapIndexAt(bytes32 operatorId, uint32 blockNumber) external view returns (uint32) {
        QuorumBitmapUpdate[] storage entries = history[operatorId];
        for (uint256 i = entries.length; i > 0; i--) {
            // forge-lint: disable-next-line(unsafe-typecast)
            if (entries[i - 1].updateBlockNumber <= blockNumber) return uint32(i - 1);
        }
        revert("no history entry at or before the block");
    }

    function getQuorumBitmapAtBlockNumberByIndex(bytes32 operatorId, uint32 blockNumber, uint256 index)
        external
        view
        returns (uint192)
    {
        QuorumBitmapUpdate memory entry = history[operatorId][index];
        History.check(entry.updateBlockNumber, entry.nextUpdateBlockNumber, blockNumber);
        return entry.quorumBitmap;
    }

    function getCurrentQuorumBitmap(bytes32 operatorId) external view returns (uint192) {
        uint256 length = history[operatorId].length;
        return length == 0 ? 0 : history[operatorId][length - 1].quorumBitmap;
    }
}
