//! alloy bindings, with deployable bytecode, for the contracts written in `contracts/`.
//!
//! The ABI and bytecode come from `artifacts/*.json`, which `scripts/contracts.sh build` exports
//! from a Foundry build and the test command checks are current, so building the Rust code never
//! needs node or forge. Each module holds one contract's `sol!` types, call builders and (for
//! deployment) `deploy` / `deploy_builder`.
//!
//! The EigenLayer core and middleware contracts come from `eigen-utils`; these are ours:
//! - [`MachServiceManager`]: alerts, allowlist, BLS quorum check (ABI-compatible with mainnet).
//! - [`TransparentUpgradeableProxy`], [`ProxyAdmin`], [`EmptyContract`]: EigenLayer-style
//!   upgradeable deployment.
//! - [`PauserRegistry`]: pausers and the unpauser for EigenLayer's pausable contracts.
//! - [`TestERC20`], [`ERC20Strategy`]: a token and the strategy that restakes it.

#![allow(missing_docs, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    MachServiceManager,
    "artifacts/MachServiceManager.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    TransparentUpgradeableProxy,
    "artifacts/TransparentUpgradeableProxy.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    ProxyAdmin,
    "artifacts/ProxyAdmin.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    PauserRegistry,
    "artifacts/PauserRegistry.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    EmptyContract,
    "artifacts/EmptyContract.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    TestERC20,
    "artifacts/TestERC20.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    ERC20Strategy,
    "artifacts/ERC20Strategy.json"
);

/// The JSON artifacts of every contract above, for lookups by ABI.
const ARTIFACTS: [&str; 7] = [
    include_str!("../artifacts/MachServiceManager.json"),
    include_str!("../artifacts/TransparentUpgradeableProxy.json"),
    include_str!("../artifacts/ProxyAdmin.json"),
    include_str!("../artifacts/PauserRegistry.json"),
    include_str!("../artifacts/EmptyContract.json"),
    include_str!("../artifacts/TestERC20.json"),
    include_str!("../artifacts/ERC20Strategy.json"),
];

/// The signature (`Name(type,…)`) of the custom error of our contracts that `revert_data`
/// starts with, so a revert can be reported as `NotInAllowlist()` rather than as bytes.
pub fn error_signature(revert_data: &[u8]) -> Option<String> {
    use alloy::json_abi::JsonAbi;
    use std::collections::HashMap;
    use std::sync::OnceLock;

    static ERRORS: OnceLock<HashMap<[u8; 4], String>> = OnceLock::new();
    let errors = ERRORS.get_or_init(|| {
        let mut map = HashMap::new();
        for text in ARTIFACTS {
            #[derive(serde::Deserialize)]
            struct Artifact {
                abi: JsonAbi,
            }
            if let Ok(artifact) = serde_json::from_str::<Artifact>(text) {
                for error in artifact.abi.errors() {
                    map.insert(error.selector().0, error.signature());
                }
            }
        }
        map
    });
    let selector: [u8; 4] = revert_data.get(..4)?.try_into().ok()?;
    errors.get(&selector).cloned()
}
