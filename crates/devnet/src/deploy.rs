//! Deploys EigenLayer (core M2 and BLS middleware, `eigen-utils` `rewardsv2` bytecode) and MACH's
//! contracts to any L1, the way EigenLayer deploys: proxies first (pointing at an empty
//! implementation), then implementations that take the proxies as immutables, then
//! `upgradeAndCall` with each initializer. The result is a [`Deployment`] record.

use alloy::primitives::{Address, Bytes, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use eigen_utils::rewardsv2::core::avs_directory::AVSDirectory;
use eigen_utils::rewardsv2::core::delegation_manager::DelegationManager;
use eigen_utils::rewardsv2::core::eigen_pod_manager::EigenPodManager;
use eigen_utils::rewardsv2::core::slasher::Slasher;
use eigen_utils::rewardsv2::core::strategy_manager::StrategyManager;
use eigen_utils::rewardsv2::middleware::bls_apk_registry::BLSApkRegistry;
use eigen_utils::rewardsv2::middleware::index_registry::IndexRegistry;
use eigen_utils::rewardsv2::middleware::operator_state_retriever::OperatorStateRetriever;
use eigen_utils::rewardsv2::middleware::registry_coordinator::{
    IRegistryCoordinator, IStakeRegistry, RegistryCoordinator,
};
use eigen_utils::rewardsv2::middleware::stake_registry::StakeRegistry;
use eigen_utils::slashing::middleware::socket_registry::SocketRegistry;
use mach_chain::{ChainError, Connection, Deployment};
use mach_contracts::{
    ERC20Strategy, EmptyContract, MachServiceManager, PauserRegistry, ProxyAdmin, TestERC20,
    TransparentUpgradeableProxy,
};

/// Rollup chain ID of Soneium, the default MACH rollup: the chain a deployment's service manager
/// watches unless told otherwise.
pub const DEFAULT_ROLLUP_CHAIN_ID: u64 = 1868;

/// Rollup chain ID of the local devnet's anvil rollup: the OP Stack's local-devnet ID (901), which
/// no live chain uses. Not Soneium's 1868: the devnet's rollup does not follow Soneium's fork
/// schedule, and a verifier checks the genesis of a chain the Superchain registry lists against
/// the registry.
pub const DEVNET_ROLLUP_CHAIN_ID: u64 = 901;

/// What to deploy, beyond the connection's account (which deploys and owns everything).
#[derive(Clone, Debug)]
pub struct DeployConfig {
    /// Chain ID of the rollup the service manager watches.
    pub rollup_chain_id: u64,
    /// Who may call `confirmAlert` (the aggregator's account); default the deployer.
    pub alert_confirmer: Option<Address>,
    /// Who manages the operator allowlist; default the deployer.
    pub whitelister: Option<Address>,
    /// Minimum stake (strategy shares × multiplier / 1e18) to join quorum 0.
    pub min_stake: u128,
    /// Most operators quorum 0 admits.
    pub max_operator_count: u32,
    /// Token supply minted to the deployer, in whole tokens (18 decimals).
    pub token_supply: u64,
    /// DelegationManager's minimum withdrawal delay; also bounds stale-stake checks.
    pub min_withdrawal_delay_blocks: u32,
}

impl Default for DeployConfig {
    fn default() -> Self {
        Self {
            rollup_chain_id: DEFAULT_ROLLUP_CHAIN_ID,
            alert_confirmer: None,
            whitelister: None,
            min_stake: 0,
            max_operator_count: 200,
            token_supply: 1_000_000_000,
            min_withdrawal_delay_blocks: 10,
        }
    }
}

/// One unit of the strategy weighs one unit of stake (multiplier / 1e18).
const STAKE_MULTIPLIER: u128 = 1_000_000_000_000_000_000;
/// Churn parameters of quorum 0: a newcomer may replace an operator with 10 % more stake
/// (11000 BIPs) whose stake is under 0.5 % of the total (50 BIPs).
const KICK_BIPS_OF_OPERATOR_STAKE: u16 = 11_000;
const KICK_BIPS_OF_TOTAL_STAKE: u16 = 50;

/// Deploys everything with `conn`'s account and returns the record. Each contract is logged
/// (`deployed name=… address=…`) as it lands; a revert names the contract and its reason.
pub async fn deploy(conn: &Connection, config: &DeployConfig) -> Result<Deployment, ChainError> {
    let p = &conn.provider;
    let owner = conn.sender;
    let d = Deployer { conn };

    let empty_contract = d
        .create(
            "EmptyContract",
            EmptyContract::deploy_builder(p).into_transaction_request(),
        )
        .await?;
    let pauser_registry = d
        .create(
            "PauserRegistry",
            PauserRegistry::deploy_builder(p, vec![owner], owner).into_transaction_request(),
        )
        .await?;
    let proxy_admin = d
        .create(
            "ProxyAdmin",
            ProxyAdmin::deploy_builder(p).into_transaction_request(),
        )
        .await?;
    let proxy = |name: &'static str| d.proxy(name, empty_contract, proxy_admin);

    // EigenLayer core: proxies, implementations, initializers.
    let delegation_manager = proxy("DelegationManager").await?;
    let strategy_manager = proxy("StrategyManager").await?;
    let avs_directory = proxy("AVSDirectory").await?;
    let slasher = proxy("Slasher").await?;
    let eigen_pod_manager = proxy("EigenPodManager").await?;

    let dm_impl = d
        .create(
            "DelegationManager implementation",
            DelegationManager::deploy_builder(p, strategy_manager, slasher, eigen_pod_manager)
                .into_transaction_request(),
        )
        .await?;
    let sm_impl = d
        .create(
            "StrategyManager implementation",
            StrategyManager::deploy_builder(p, delegation_manager, eigen_pod_manager, slasher)
                .into_transaction_request(),
        )
        .await?;
    let slasher_impl = d
        .create(
            "Slasher implementation",
            Slasher::deploy_builder(p, strategy_manager, delegation_manager)
                .into_transaction_request(),
        )
        .await?;
    // MACH restakes ERC20s only; the beacon-chain deposit contract and the EigenPod beacon are
    // never called, so the empty contract stands in for both.
    let epm_impl = d
        .create(
            "EigenPodManager implementation",
            EigenPodManager::deploy_builder(
                p,
                empty_contract,
                empty_contract,
                strategy_manager,
                slasher,
                delegation_manager,
            )
            .into_transaction_request(),
        )
        .await?;
    let avsd_impl = d
        .create(
            "AVSDirectory implementation",
            AVSDirectory::deploy_builder(p, delegation_manager).into_transaction_request(),
        )
        .await?;

    let admin = ProxyAdmin::new(proxy_admin, p);
    let upgrade_and_call =
        |name: &'static str, proxy: Address, implementation: Address, data: Vec<u8>| {
            let tx = admin
                .upgradeAndCall(proxy, implementation, Bytes::from(data))
                .into_transaction_request();
            async move { d.send(&format!("upgrade and initialize {name}"), tx).await }
        };
    upgrade_and_call(
        "DelegationManager",
        delegation_manager,
        dm_impl,
        DelegationManager::initializeCall {
            initialOwner: owner,
            _pauserRegistry: pauser_registry,
            initialPausedStatus: U256::ZERO,
            _minWithdrawalDelayBlocks: U256::from(config.min_withdrawal_delay_blocks),
            _strategies: vec![],
            _withdrawalDelayBlocks: vec![],
        }
        .abi_encode(),
    )
    .await?;
    upgrade_and_call(
        "StrategyManager",
        strategy_manager,
        sm_impl,
        StrategyManager::initializeCall {
            initialOwner: owner,
            initialStrategyWhitelister: owner,
            _pauserRegistry: pauser_registry,
            initialPausedStatus: U256::ZERO,
        }
        .abi_encode(),
    )
    .await?;
    upgrade_and_call(
        "Slasher",
        slasher,
        slasher_impl,
        Slasher::initializeCall {
            _0: owner,
            _1: pauser_registry,
            _2: U256::ZERO,
        }
        .abi_encode(),
    )
    .await?;
    upgrade_and_call(
        "EigenPodManager",
        eigen_pod_manager,
        epm_impl,
        EigenPodManager::initializeCall {
            initialOwner: owner,
            _pauserRegistry: pauser_registry,
            _initPausedStatus: U256::ZERO,
        }
        .abi_encode(),
    )
    .await?;
    upgrade_and_call(
        "AVSDirectory",
        avs_directory,
        avsd_impl,
        AVSDirectory::initializeCall {
            initialOwner: owner,
            _pauserRegistry: pauser_registry,
            initialPausedStatus: U256::ZERO,
        }
        .abi_encode(),
    )
    .await?;

    // The restaked token and its strategy, whitelisted for deposits.
    let supply = U256::from(config.token_supply) * U256::from(10u64).pow(U256::from(18));
    let token = d
        .create(
            "TestERC20",
            TestERC20::deploy_builder(
                p,
                "MACH Restaking Token".into(),
                "MRT".into(),
                supply,
                owner,
            )
            .into_transaction_request(),
        )
        .await?;
    let strategy_impl = d
        .create(
            "ERC20Strategy implementation",
            ERC20Strategy::deploy_builder(p, strategy_manager).into_transaction_request(),
        )
        .await?;
    let strategy_init = ERC20Strategy::initializeCall {
        _underlyingToken: token,
        _pauserRegistry: pauser_registry,
    };
    let strategy = d
        .create(
            "ERC20Strategy",
            TransparentUpgradeableProxy::deploy_builder(
                p,
                strategy_impl,
                proxy_admin,
                Bytes::from(strategy_init.abi_encode()),
            )
            .into_transaction_request(),
        )
        .await?;
    d.send(
        "whitelist the strategy for deposits in StrategyManager",
        StrategyManager::new(strategy_manager, p)
            .addStrategiesToDepositWhitelist(vec![strategy], vec![false])
            .into_transaction_request(),
    )
    .await?;

    // Middleware and MACH.
    let registry_coordinator = proxy("RegistryCoordinator").await?;
    let stake_registry = proxy("StakeRegistry").await?;
    let apk_registry = proxy("BLSApkRegistry").await?;
    let index_registry = proxy("IndexRegistry").await?;
    let mach_service_manager = proxy("MachServiceManager").await?;
    let socket_registry = d
        .create(
            "SocketRegistry",
            SocketRegistry::deploy_builder(p, registry_coordinator).into_transaction_request(),
        )
        .await?;

    let stake_registry_impl = d
        .create(
            "StakeRegistry implementation",
            StakeRegistry::deploy_builder(p, registry_coordinator, delegation_manager)
                .into_transaction_request(),
        )
        .await?;
    let apk_registry_impl = d
        .create(
            "BLSApkRegistry implementation",
            BLSApkRegistry::deploy_builder(p, registry_coordinator).into_transaction_request(),
        )
        .await?;
    let index_registry_impl = d
        .create(
            "IndexRegistry implementation",
            IndexRegistry::deploy_builder(p, registry_coordinator).into_transaction_request(),
        )
        .await?;
    for (name, proxy, implementation) in [
        ("StakeRegistry", stake_registry, stake_registry_impl),
        ("BLSApkRegistry", apk_registry, apk_registry_impl),
        ("IndexRegistry", index_registry, index_registry_impl),
    ] {
        d.send(
            &format!("upgrade {name}"),
            admin
                .upgrade(proxy, implementation)
                .into_transaction_request(),
        )
        .await?;
    }

    let registry_coordinator_impl = d
        .create(
            "RegistryCoordinator implementation",
            RegistryCoordinator::deploy_builder(
                p,
                mach_service_manager,
                stake_registry,
                apk_registry,
                index_registry,
                socket_registry,
            )
            .into_transaction_request(),
        )
        .await?;
    upgrade_and_call(
        "RegistryCoordinator (creates quorum 0)",
        registry_coordinator,
        registry_coordinator_impl,
        RegistryCoordinator::initializeCall {
            _initialOwner: owner,
            _churnApprover: owner,
            _ejector: owner,
            _pauserRegistry: pauser_registry,
            _initialPausedStatus: U256::ZERO,
            _operatorSetParams: vec![IRegistryCoordinator::OperatorSetParam {
                maxOperatorCount: config.max_operator_count,
                kickBIPsOfOperatorStake: KICK_BIPS_OF_OPERATOR_STAKE,
                kickBIPsOfTotalStake: KICK_BIPS_OF_TOTAL_STAKE,
            }],
            _minimumStakes: vec![alloy::primitives::Uint::<96, 2>::from(config.min_stake)],
            _strategyParams: vec![vec![IStakeRegistry::StrategyParams {
                strategy,
                multiplier: alloy::primitives::Uint::<96, 2>::from(STAKE_MULTIPLIER),
            }]],
        }
        .abi_encode(),
    )
    .await?;

    // The service manager's constructor reads the registries through the coordinator, so it
    // comes after them.
    let mach_service_manager_impl = d
        .create(
            "MachServiceManager implementation",
            MachServiceManager::deploy_builder(
                p,
                avs_directory,
                registry_coordinator,
                stake_registry,
                U256::from(config.rollup_chain_id),
            )
            .into_transaction_request(),
        )
        .await?;
    upgrade_and_call(
        "MachServiceManager",
        mach_service_manager,
        mach_service_manager_impl,
        MachServiceManager::initializeCall {
            _pauserRegistry: pauser_registry,
            _initialPausedStatus: U256::ZERO,
            _initialOwner: owner,
            _alertConfirmer: config.alert_confirmer.unwrap_or(owner),
            _whitelister: config.whitelister.unwrap_or(owner),
        }
        .abi_encode(),
    )
    .await?;
    let operator_state_retriever = d
        .create(
            "OperatorStateRetriever",
            OperatorStateRetriever::deploy_builder(p).into_transaction_request(),
        )
        .await?;

    Ok(Deployment {
        delegation_manager,
        strategy_manager,
        avs_directory,
        slasher,
        eigen_pod_manager,
        registry_coordinator,
        registry_coordinator_impl,
        stake_registry,
        stake_registry_impl,
        apk_registry,
        apk_registry_impl,
        index_registry,
        index_registry_impl,
        socket_registry,
        operator_state_retriever,
        mach_service_manager,
        mach_service_manager_impl,
        token,
        strategy,
        proxy_admin,
        mach_avs_proxy_admin: proxy_admin,
        pauser_registry,
        empty_contract,
        rollup_chain_id: config.rollup_chain_id,
        l1_chain_id: conn.chain_id,
        deployer: owner,
    })
}

/// Sends the deployment's transactions and logs each contract as it lands.
#[derive(Clone, Copy)]
struct Deployer<'a> {
    conn: &'a Connection,
}

impl Deployer<'_> {
    async fn create(&self, name: &str, tx: TransactionRequest) -> Result<Address, ChainError> {
        let address = self.conn.deploy(name, tx).await?;
        tracing::info!(contract = name, %address, "deployed");
        Ok(address)
    }

    async fn proxy(
        &self,
        name: &str,
        empty: Address,
        admin: Address,
    ) -> Result<Address, ChainError> {
        let tx = TransparentUpgradeableProxy::deploy_builder(
            &self.conn.provider,
            empty,
            admin,
            Bytes::new(),
        )
        .into_transaction_request();
        self.create(&format!("{name} proxy"), tx).await
    }

    async fn send(&self, what: &str, tx: TransactionRequest) -> Result<(), ChainError> {
        self.conn.send(what, tx).await.map(|_| ())
    }
}
