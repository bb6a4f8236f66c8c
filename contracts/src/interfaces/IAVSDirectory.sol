// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ISignatureUtils} from "./ISignatureUtils.sol";

/// @title The part of EigenLayer's AVSDirectory (pre-slashing core) that a service manager calls.
/// @notice Selectors match `eigen-utils` rewardsv2/core/avs_directory.rs.
interface IAVSDirectory {
    /// @notice Records `operator` as registered with the calling AVS, checking its signature.
    function registerOperatorToAVS(
        address operator,
        ISignatureUtils.SignatureWithSaltAndExpiry memory operatorSignature
    ) external;

    /// @notice Records `operator` as no longer registered with the calling AVS.
    function deregisterOperatorFromAVS(address operator) external;

    /// @notice Emits the calling AVS's metadata URI for off-chain indexers.
    function updateAVSMetadataURI(string calldata metadataURI) external;
}
