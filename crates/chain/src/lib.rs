//! Everything MACH does on Ethereum (L1): connecting with a signer, sending transactions and
//! explaining their reverts, the deployment record that names the contracts, and the
//! EigenLayer steps an operator takes (register, deposit, register with the AVS), and what the
//! aggregator reads and sends (operator stakes and keys at a block, `confirmAlert`). The
//! operator commands start here too: [`registration`] from `operator.yaml`, [`optin`] from the
//! `.env.opt` variables.
//!
//! EigenLayer bindings come from `eigen-utils` (`rewardsv2`, the pre-slashing line MACH mainnet
//! runs); ours from `mach-contracts`.

pub mod avs;
pub mod deployment;
mod error;
pub mod operator;
pub mod optin;
pub mod quorum;
pub mod registration;
pub mod signer;
pub mod tx;

pub use deployment::{AvsAddresses, Deployment};
pub use error::ChainError;
pub use signer::{EcdsaSigner, EcdsaSignerConfig, SignerError, Web3Signer};
pub use tx::{connect, connect_read_only, signer, Connection};
