//! The deployment record: which contract lives at which address.
//!
//! Field names follow AltLayer's deployment output (`machServiceManager`, `registryCoordinator`,
//! `apkRegistry`, `…Impl`, `machAVSProxyAdmin`, …) so records from either side can be read.

use crate::ChainError;
use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Everything `mach devnet deploy` puts on chain, as written to `deployment.json`. Addresses are
/// the proxies unless the name ends in `Impl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// EigenLayer DelegationManager (operators, delegation, shares).
    #[serde(serialize_with = "checksummed")]
    pub delegation_manager: Address,
    /// EigenLayer StrategyManager (deposits).
    #[serde(serialize_with = "checksummed")]
    pub strategy_manager: Address,
    /// EigenLayer AVSDirectory (operator ↔ AVS registrations).
    #[serde(serialize_with = "checksummed")]
    pub avs_directory: Address,
    /// EigenLayer Slasher (M2 placeholder the core contracts reference).
    #[serde(serialize_with = "checksummed")]
    pub slasher: Address,
    /// EigenLayer EigenPodManager (beacon-chain ETH restaking; unused by MACH, required by core).
    #[serde(serialize_with = "checksummed")]
    pub eigen_pod_manager: Address,
    /// Middleware RegistryCoordinator: operator registration per quorum.
    #[serde(serialize_with = "checksummed")]
    pub registry_coordinator: Address,
    /// Implementation behind `registry_coordinator`.
    #[serde(serialize_with = "checksummed")]
    pub registry_coordinator_impl: Address,
    /// Middleware StakeRegistry: stake history per quorum.
    #[serde(serialize_with = "checksummed")]
    pub stake_registry: Address,
    /// Implementation behind `stake_registry`.
    #[serde(serialize_with = "checksummed")]
    pub stake_registry_impl: Address,
    /// Middleware BLSApkRegistry: BLS keys and aggregate keys.
    #[serde(serialize_with = "checksummed")]
    pub apk_registry: Address,
    /// Implementation behind `apk_registry`.
    #[serde(serialize_with = "checksummed")]
    pub apk_registry_impl: Address,
    /// Middleware IndexRegistry: operator lists per quorum.
    #[serde(serialize_with = "checksummed")]
    pub index_registry: Address,
    /// Implementation behind `index_registry`.
    #[serde(serialize_with = "checksummed")]
    pub index_registry_impl: Address,
    /// SocketRegistry the RegistryCoordinator stores operator sockets in.
    #[serde(serialize_with = "checksummed")]
    pub socket_registry: Address,
    /// Middleware OperatorStateRetriever: batched reads for the aggregator.
    #[serde(serialize_with = "checksummed")]
    pub operator_state_retriever: Address,
    /// MACH's service manager for this rollup.
    #[serde(serialize_with = "checksummed")]
    pub mach_service_manager: Address,
    /// Implementation behind `mach_service_manager`.
    #[serde(serialize_with = "checksummed")]
    pub mach_service_manager_impl: Address,
    /// The ERC20 operators restake.
    #[serde(serialize_with = "checksummed")]
    pub token: Address,
    /// The EigenLayer strategy holding `token`; quorum 0 weighs its shares.
    #[serde(serialize_with = "checksummed")]
    pub strategy: Address,
    /// Admin of every proxy above.
    #[serde(serialize_with = "checksummed")]
    pub proxy_admin: Address,
    /// The same admin under the name AltLayer's records use.
    #[serde(rename = "machAVSProxyAdmin")]
    #[serde(serialize_with = "checksummed")]
    pub mach_avs_proxy_admin: Address,
    /// Pausers and unpauser of every pausable contract.
    #[serde(serialize_with = "checksummed")]
    pub pauser_registry: Address,
    /// The placeholder implementation proxies start with.
    #[serde(serialize_with = "checksummed")]
    pub empty_contract: Address,
    /// Chain ID of the rollup the service manager watches.
    pub rollup_chain_id: u64,
    /// Chain ID of the L1 the contracts live on.
    pub l1_chain_id: u64,
    /// The account that deployed and owns everything.
    #[serde(serialize_with = "checksummed")]
    pub deployer: Address,
}

impl Deployment {
    /// Reads a record written by [`Deployment::save`].
    pub fn load(path: &Path) -> Result<Self, ChainError> {
        let text = read(path)?;
        serde_json::from_str(&text).map_err(|e| record_error(path, e))
    }

    /// Writes the record as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), ChainError> {
        let text = serde_json::to_string_pretty(self).map_err(|e| record_error(path, e))?;
        std::fs::write(path, text + "\n").map_err(|e| ChainError::Record {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// The addresses an operator needs.
    pub fn avs(&self) -> AvsAddresses {
        AvsAddresses {
            registry_coordinator: self.registry_coordinator,
            operator_state_retriever: self.operator_state_retriever,
            mach_service_manager: self.mach_service_manager,
        }
    }
}

/// The three addresses every operator-side command needs, readable from our record or
/// AltLayer's (`machavs_deploy_output.*.json`); the rest is read from chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AvsAddresses {
    /// Middleware RegistryCoordinator (`AVS_REGISTRY_COORDINATOR_ADDRESS`).
    #[serde(serialize_with = "checksummed")]
    pub registry_coordinator: Address,
    /// Middleware OperatorStateRetriever (`OPERATOR_STATE_RETRIEVER_ADDRESS`).
    #[serde(serialize_with = "checksummed")]
    pub operator_state_retriever: Address,
    /// The rollup's MachServiceManager (`SERVICE_MANAGER_ADDRESS`).
    #[serde(serialize_with = "checksummed")]
    pub mach_service_manager: Address,
}

impl AvsAddresses {
    /// Reads the three addresses from a deployment record.
    pub fn load(path: &Path) -> Result<Self, ChainError> {
        let text = read(path)?;
        serde_json::from_str(&text).map_err(|e| record_error(path, e))
    }
}

/// Writes addresses in EIP-55 mixed case, as AltLayer's records and block explorers show them.
fn checksummed<S: serde::Serializer>(address: &Address, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&address.to_checksum(None))
}

fn read(path: &Path) -> Result<String, ChainError> {
    std::fs::read_to_string(path).map_err(|e| ChainError::Record {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn record_error(path: &Path, e: serde_json::Error) -> ChainError {
    ChainError::Record {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_altlayer_mainnet_record_shape() {
        let text = r#"{
          "apkRegistry": "0x6A699E05d9a8BC9109EA149a9c6C015A92e7d13B",
          "machServiceManager": "0xb3AcAF09a1B801E36655B786da4EAA6aE9F5DC37",
          "object": "GM Network MACH",
          "operatorStateRetriever": "0xCACc7483f5268366EDf9Cb7e9d6eE2fd47Bc3ff9",
          "registryCoordinator": "0xDc7e13f1A2Bd0346D741E932CaA341AB6EC21e92"
        }"#;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("d.json");
        std::fs::write(&path, text).unwrap();
        let avs = AvsAddresses::load(&path).unwrap();
        assert_eq!(
            avs.registry_coordinator.to_string(),
            "0xDc7e13f1A2Bd0346D741E932CaA341AB6EC21e92"
        );
        let err = Deployment::load(&path).unwrap_err().to_string();
        assert!(err.contains("missing field"), "{err}");
    }
}
