// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Signature containers shared with EigenLayer core (`ISignatureUtils`).
/// @notice The layout must stay identical to EigenLayer's: the struct is part of the ABI of
/// `registerOperatorToAVS`, which EigenLayer's RegistryCoordinator calls on the service manager.
interface ISignatureUtils {
    /// @notice An ECDSA signature by an operator over an AVS-registration digest.
    /// @param signature 65-byte ECDSA signature (or an EIP-1271 blob for contract operators).
    /// @param salt Single-use salt, so a signature cannot be replayed.
    /// @param expiry Unix timestamp after which the signature is no longer accepted.
    struct SignatureWithSaltAndExpiry {
        bytes signature;
        bytes32 salt;
        uint256 expiry;
    }
}
