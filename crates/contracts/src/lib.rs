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
