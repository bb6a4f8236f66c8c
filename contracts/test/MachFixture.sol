// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {EmptyContract} from "../src/EmptyContract.sol";
import {MachServiceManager} from "../src/MachServiceManager.sol";
import {PauserRegistry} from "../src/PauserRegistry.sol";
import {BN254} from "../src/libraries/BN254.sol";
import {IAVSDirectory} from "../src/interfaces/IAVSDirectory.sol";
import {IBLSSignatureChecker} from "../src/interfaces/IBLSSignatureChecker.sol";
import {IMachServiceManager} from "../src/interfaces/IMachServiceManager.sol";
import {IPauserRegistry} from "../src/interfaces/IPauserRegistry.sol";
import {IRegistryCoordinator} from "../src/interfaces/IRegistryCoordinator.sol";
import {IStakeRegistry} from "../src/interfaces/IStakeRegistry.sol";
import {ProxyAdmin} from "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol";
import {
    ITransparentUpgradeableProxy,
    TransparentUpgradeableProxy
} from "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol";
import {
    MockAVSDirectory,
    MockBLSApkRegistry,
    MockDelegationManager,
    MockRegistryCoordinator,
    MockStakeRegistry
} from "./mocks/Middleware.sol";
import {BlsVectors} from "./utils/BlsVectors.sol";
import {Test} from "./utils/Test.sol";

/// @notice A MachServiceManager deployed EigenLayer-style (EmptyContract, proxy, ProxyAdmin
/// `upgradeAndCall` with `initialize`) over registry doubles, 16 operators with BLS keys, and
/// helpers that build what the aggregator submits.
///
/// Tests of the service manager expect its reverts through `_expectError`, `_expectReason` and
/// `_expectRevertData`: besides arming `vm.expectRevert` with the exact data, they log it as a
/// `RevertExpected` event, and `scripts/contracts.sh test` decodes every logged revert with the
/// deployed contract's ABI and its libraries' strings and checks that every revert the
/// contract's source can raise is among them (`tools/artifacts.js reverts`). Reverts of the
/// registry doubles are not the service manager's and use `vm.expectRevert` directly.
abstract contract MachFixture is Test {
    using BN254 for BN254.G1Point;

    /// @notice Exact revert data a test expects from the service manager (see the notes above).
    event RevertExpected(bytes data);

    // Revert strings of the libraries the deployed contract is built on (OpenZeppelin 4.9,
    // EigenLayer's Pausable, the middleware's checker, BitmapUtils and ServiceManagerBase).
    string internal constant EMPTY_QUORUMS = "BLSSignatureChecker.checkSignatures: empty quorum input";
    string internal constant QUORUM_LENGTH_MISMATCH =
        "BLSSignatureChecker.checkSignatures: input quorum length mismatch";
    string internal constant NONSIGNER_LENGTH_MISMATCH =
        "BLSSignatureChecker.checkSignatures: input nonsigner length mismatch";
    string internal constant INVALID_REFERENCE_BLOCK = "BLSSignatureChecker.checkSignatures: invalid reference block";
    string internal constant QUORUMS_TOO_LONG = "BitmapUtils.orderedBytesArrayToBitmap: orderedBytesArray is too long";
    string internal constant QUORUMS_NOT_ORDERED =
        "BitmapUtils.orderedBytesArrayToBitmap: orderedBytesArray is not ordered";
    string internal constant QUORUMS_EXCEED_COUNT = "BitmapUtils.orderedBytesArrayToBitmap: bitmap exceeds max value";
    string internal constant NONSIGNERS_NOT_SORTED = "BLSSignatureChecker.checkSignatures: nonSignerPubkeys not sorted";
    string internal constant STALE_STAKES =
        "BLSSignatureChecker.checkSignatures: StakeRegistry updates must be within withdrawalDelayBlocks window";
    string internal constant APK_MISMATCH =
        "BLSSignatureChecker.checkSignatures: quorumApk hash in storage does not match provided quorum apk";
    string internal constant PAIRING_FAILED = "BLSSignatureChecker.checkSignatures: pairing precompile call failed";
    string internal constant SIGNATURE_INVALID = "BLSSignatureChecker.checkSignatures: signature is invalid";
    string internal constant ONLY_COORDINATOR_OWNER =
        "BLSSignatureChecker.onlyCoordinatorOwner: caller is not the owner of the registryCoordinator";
    string internal constant NOT_OWNER = "Ownable: caller is not the owner";
    string internal constant NEW_OWNER_ZERO = "Ownable: new owner is the zero address";
    string internal constant ALREADY_INITIALIZED = "Initializable: contract is already initialized";
    string internal constant NOT_PAUSER = "msg.sender is not permissioned as pauser";
    string internal constant NOT_UNPAUSER = "msg.sender is not permissioned as unpauser";
    string internal constant PAUSED = "Pausable: contract is paused";
    string internal constant INITIALIZE_PAUSER =
        "Pausable._initializePauser: _initializePauser() can only be called once";
    string internal constant PAUSE_WOULD_UNPAUSE = "Pausable.pause: invalid attempt to unpause functionality";
    string internal constant UNPAUSE_WOULD_PAUSE = "Pausable.unpause: invalid attempt to pause functionality";
    string internal constant PAUSER_REGISTRY_ZERO =
        "Pausable._setPauserRegistry: newPauserRegistry cannot be the zero address";
    string internal constant NOT_COORDINATOR =
        "ServiceManagerBase.onlyRegistryCoordinator: caller is not the registry coordinator";

    uint256 internal constant ROLLUP_CHAIN_ID = 1868;
    uint256 internal constant OPERATORS = 16;
    /// @dev Block at which `_registerOperators` records the operators.
    uint32 internal constant REGISTRATION_BLOCK = 100;

    address internal owner = address(0xA11CE);
    address internal confirmer = address(0xC0DE);
    address internal whitelister = address(0x1157);
    address internal pauser = address(0x9A05E);
    address internal unpauser = address(0x0F9A05E);
    address internal stranger = address(0xBAD);
    address internal coordinatorOwner = address(0xC00D);

    MockDelegationManager internal delegation;
    MockStakeRegistry internal stakeRegistry;
    MockBLSApkRegistry internal apkRegistry;
    MockRegistryCoordinator internal coordinator;
    MockAVSDirectory internal avsDirectory;
    PauserRegistry internal pauserRegistry;
    ProxyAdmin internal proxyAdmin;
    TransparentUpgradeableProxy internal proxy;
    MachServiceManager internal implementation;
    MachServiceManager internal mach;

    uint256[16] internal sk;
    BN254.G1Point[16] internal pk;
    bytes32[16] internal operatorId;
    address[16] internal operatorAddress;
    /// @dev Quorum bitmap of each operator as registered by `_registerOperators`.
    uint192[16] internal operatorQuorums;

    function setUp() public virtual {
        vm.roll(REGISTRATION_BLOCK);
        delegation = new MockDelegationManager();
        stakeRegistry = new MockStakeRegistry(delegation);
        apkRegistry = new MockBLSApkRegistry();
        coordinator = new MockRegistryCoordinator(apkRegistry, stakeRegistry);
        avsDirectory = new MockAVSDirectory();
        coordinator.setQuorumCount(2);
        coordinator.setOwner(coordinatorOwner);

        address[] memory pausers = new address[](1);
        pausers[0] = pauser;
        pauserRegistry = new PauserRegistry(pausers, unpauser);

        proxyAdmin = new ProxyAdmin();
        EmptyContract empty = new EmptyContract();
        proxy = new TransparentUpgradeableProxy(address(empty), address(proxyAdmin), "");
        implementation = _newImplementation(ROLLUP_CHAIN_ID);
        proxyAdmin.upgradeAndCall(
            ITransparentUpgradeableProxy(address(proxy)),
            address(implementation),
            abi.encodeCall(
                MachServiceManager.initialize, (IPauserRegistry(pauserRegistry), 0, owner, confirmer, whitelister)
            )
        );
        mach = MachServiceManager(address(proxy));

        sk = BlsVectors.secretKeys();
        for (uint256 i = 0; i < OPERATORS; i++) {
            pk[i] = BN254.generatorG1().scalarMul(sk[i]);
            operatorId[i] = pk[i].hashG1Point();
            // forge-lint: disable-next-line(unsafe-typecast)
            operatorAddress[i] = address(uint160(0x10000 + i));
            coordinator.setOperatorId(operatorAddress[i], operatorId[i]);
        }
    }

    /// @dev The next call must revert with exactly `data`.
    function _expectRevertData(bytes memory data) internal {
        emit RevertExpected(data);
        vm.expectRevert(data);
    }

    /// @dev The next call must revert with exactly the argument-less custom error `selector`.
    function _expectError(bytes4 selector) internal {
        _expectRevertData(abi.encodePacked(selector));
    }

    /// @dev The next call must revert with exactly `Error(reason)` (a `require` string).
    function _expectReason(string memory reason) internal {
        _expectRevertData(abi.encodeWithSignature("Error(string)", reason));
    }

    function _newImplementation(uint256 rollupChainId) internal returns (MachServiceManager) {
        return new MachServiceManager(
            IAVSDirectory(address(avsDirectory)),
            IRegistryCoordinator(address(coordinator)),
            IStakeRegistry(address(stakeRegistry)),
            rollupChainId
        );
    }

    /// @dev Registers operator i with stake `stakes0[i]` in quorum 0 and `stakes1[i]` in quorum 1
    /// (zero: not in that quorum), at the current block.
    function _registerOperators(uint96[16] memory stakes0, uint96[16] memory stakes1) internal {
        for (uint256 i = 0; i < OPERATORS; i++) {
            uint192 bitmap = 0;
            if (stakes0[i] != 0) bitmap |= 1;
            if (stakes1[i] != 0) bitmap |= 2;
            _setOperator(i, bitmap, stakes0[i], stakes1[i]);
        }
    }

    /// @dev Moves operator i to the quorums in `bitmap` with the given stakes, at this block.
    function _setOperator(uint256 i, uint192 bitmap, uint96 stake0, uint96 stake1) internal {
        uint192 previous = operatorQuorums[i];
        for (uint8 q = 0; q < 2; q++) {
            bool was = (previous >> q) & 1 == 1;
            bool is_ = (bitmap >> q) & 1 == 1;
            if (was != is_) apkRegistry.update(q, pk[i], is_);
            if (was || is_) stakeRegistry.setStake(operatorId[i], q, q == 0 ? stake0 : stake1);
        }
        coordinator.setQuorumBitmap(operatorId[i], bitmap);
        operatorQuorums[i] = bitmap;
    }

    /// @dev Every operator in quorum 0 with `stake` each.
    function _registerEqualStakes(uint96 stake) internal {
        uint96[16] memory stakes0;
        uint96[16] memory none;
        for (uint256 i = 0; i < OPERATORS; i++) {
            stakes0[i] = stake;
        }
        _registerOperators(stakes0, none);
    }

    function _list(uint256 a) internal pure returns (uint256[] memory l) {
        l = new uint256[](1);
        l[0] = a;
    }

    function _range(uint256 from, uint256 to) internal pure returns (uint256[] memory l) {
        l = new uint256[](to - from);
        for (uint256 i = from; i < to; i++) {
            l[i - from] = i;
        }
    }

    function _bitmapOf(bytes memory quorumNumbers) internal pure returns (uint256 bitmap) {
        for (uint256 i = 0; i < quorumNumbers.length; i++) {
            bitmap |= uint256(1) << uint8(quorumNumbers[i]);
        }
    }

    function _isIn(uint256 i, uint256[] memory set) internal pure returns (bool) {
        for (uint256 k = 0; k < set.length; k++) {
            if (set[k] == i) return true;
        }
        return false;
    }

    /// @dev Non-signer operator indices ordered by ascending operator ID, as the checker wants.
    function _sortedByOperatorId(uint256[] memory indices) internal view returns (uint256[] memory sorted) {
        sorted = new uint256[](indices.length);
        for (uint256 k = 0; k < indices.length; k++) {
            sorted[k] = indices[k];
        }
        for (uint256 a = 1; a < sorted.length; a++) {
            for (uint256 b = a; b > 0 && uint256(operatorId[sorted[b - 1]]) > uint256(operatorId[sorted[b]]); b--) {
                (sorted[b - 1], sorted[b]) = (sorted[b], sorted[b - 1]);
            }
        }
    }

    /// @dev The aggregate secret of the signers, each counted once per signed quorum it is in
    /// (EigenLayer's weighting, which the on-chain apk recomputation implies).
    function _signerScalar(uint256 quorumBitmap, uint256[] memory nonSigners) internal view returns (uint256 s) {
        for (uint256 i = 0; i < OPERATORS; i++) {
            if (_isIn(i, nonSigners)) continue;
            uint256 weight = _popCount(uint256(operatorQuorums[i]) & quorumBitmap);
            s = addmod(s, mulmod(sk[i], weight, BN254.FR_MODULUS), BN254.FR_MODULUS);
        }
    }

    function _popCount(uint256 x) internal pure returns (uint256 n) {
        for (; x != 0; x &= x - 1) {
            n++;
        }
    }

    /// @dev What the aggregator submits for `msgHash` when everyone registered in
    /// `quorumNumbers` at `referenceBlockNumber` except `nonSigners` signed.
    function _sign(bytes32 msgHash, bytes memory quorumNumbers, uint32 referenceBlockNumber, uint256[] memory nonSigners)
        internal
        view
        returns (IBLSSignatureChecker.NonSignerStakesAndSignature memory params)
    {
        params = _indices(quorumNumbers, referenceBlockNumber, nonSigners);
        uint256 s = _signerScalar(_bitmapOf(quorumNumbers), nonSigners);
        params.sigma = BN254.hashToG1(msgHash).scalarMul(s);
        params.apkG2 = BlsVectors.g2Mul(s);
    }

    /// @dev Everything but the signature: non-signer keys and the registry history indices, as
    /// EigenLayer's OperatorStateRetriever would return them.
    function _indices(bytes memory quorumNumbers, uint32 referenceBlockNumber, uint256[] memory nonSigners)
        internal
        view
        returns (IBLSSignatureChecker.NonSignerStakesAndSignature memory params)
    {
        uint256[] memory sorted = _sortedByOperatorId(nonSigners);
        params.nonSignerPubkeys = new BN254.G1Point[](sorted.length);
        params.nonSignerQuorumBitmapIndices = new uint32[](sorted.length);
        for (uint256 j = 0; j < sorted.length; j++) {
            params.nonSignerPubkeys[j] = pk[sorted[j]];
            params.nonSignerQuorumBitmapIndices[j] =
                coordinator.quorumBitmapIndexAt(operatorId[sorted[j]], referenceBlockNumber);
        }
        uint256 quorumCount = quorumNumbers.length;
        params.quorumApks = new BN254.G1Point[](quorumCount);
        params.quorumApkIndices = new uint32[](quorumCount);
        params.totalStakeIndices = new uint32[](quorumCount);
        params.nonSignerStakeIndices = new uint32[][](quorumCount);
        for (uint256 i = 0; i < quorumCount; i++) {
            uint8 q = uint8(quorumNumbers[i]);
            params.quorumApkIndices[i] = apkRegistry.apkIndexAt(q, referenceBlockNumber);
            params.quorumApks[i] = apkRegistry.apkAt(q, params.quorumApkIndices[i]);
            params.totalStakeIndices[i] = stakeRegistry.totalStakeIndexAt(q, referenceBlockNumber);
            uint256 inQuorum = 0;
            uint32[] memory stakeIndices = new uint32[](sorted.length);
            for (uint256 j = 0; j < sorted.length; j++) {
                bytes32 id = operatorId[sorted[j]];
                uint256 bitmap = coordinator.getQuorumBitmapAtBlockNumberByIndex(
                    id, referenceBlockNumber, params.nonSignerQuorumBitmapIndices[j]
                );
                if ((bitmap >> q) & 1 == 1) {
                    stakeIndices[inQuorum++] = stakeRegistry.stakeIndexAt(id, q, referenceBlockNumber);
                }
            }
            assembly ("memory-safe") {
                mstore(stakeIndices, inQuorum)
            }
            params.nonSignerStakeIndices[i] = stakeIndices;
        }
    }

    function _quorum0() internal pure returns (bytes memory) {
        return hex"00";
    }

    function _header(bytes32 messageHash, bytes memory quorumNumbers, bytes memory thresholds, uint32 referenceBlock)
        internal
        pure
        returns (IMachServiceManager.AlertHeader memory)
    {
        return IMachServiceManager.AlertHeader({
            messageHash: messageHash,
            quorumNumbers: quorumNumbers,
            quorumThresholdPercentages: thresholds,
            referenceBlockNumber: referenceBlock
        });
    }

    function _reducedHash(bytes32 messageHash, uint32 referenceBlock) internal pure returns (bytes32) {
        return keccak256(abi.encode(messageHash, referenceBlock));
    }

    /// @dev Confirms `messageHash` on quorum 0 at 66 % signed by all but `nonSigners`, as the
    /// confirmer EOA.
    function _confirm(bytes32 messageHash, uint256[] memory nonSigners) internal {
        uint32 referenceBlock = uint32(block.number - 1);
        IBLSSignatureChecker.NonSignerStakesAndSignature memory params =
            _sign(_reducedHash(messageHash, referenceBlock), _quorum0(), referenceBlock, nonSigners);
        vm.prank(confirmer, confirmer);
        mach.confirmAlert(_header(messageHash, _quorum0(), hex"42", referenceBlock), params);
    }
}
