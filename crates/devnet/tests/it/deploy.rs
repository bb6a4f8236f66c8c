//! Deploys EigenLayer + MACH to a real anvil chain, checks the wiring by reading the chain, and
//! uses the deployment: an operator registers, restakes, is allowlisted, registers its BLS key
//! for quorum 0 and gets stake.

use alloy::primitives::U256;
use eigen_utils::rewardsv2::core::strategy_manager::StrategyManager;
use eigen_utils::rewardsv2::middleware::registry_coordinator::RegistryCoordinator;
use mach_chain::operator::{self, OperatorDetails};
use mach_chain::{connect, Deployment};
use mach_contracts::MachServiceManager;
use mach_devnet::{deploy, Anvil, AnvilConfig, DeployConfig};
use mach_keys::BlsSecretKey;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread")]
async fn deploys_wired_and_usable() {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).expect("start anvil");
    let deployer = anvil.dev_signer(0).unwrap();
    let conn = connect(anvil.url(), deployer.clone()).await.unwrap();

    let started = Instant::now();
    let config = DeployConfig {
        rollup_chain_id: 42_069,
        ..DeployConfig::default()
    };
    let d = deploy(&conn, &config).await.expect("deployment");
    eprintln!("deployment took {:?}", started.elapsed());

    // The record survives a round trip through its file.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("deployment.json");
    d.save(&path).unwrap();
    assert_eq!(Deployment::load(&path).unwrap(), d);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for key in [
        "delegationManager",
        "strategyManager",
        "avsDirectory",
        "registryCoordinator",
        "operatorStateRetriever",
        "stakeRegistry",
        "apkRegistry",
        "indexRegistry",
        "machServiceManager",
        "token",
        "strategy",
        "proxyAdmin",
        "pauserRegistry",
        "rollupChainId",
        "l1ChainId",
        "deployer",
    ] {
        assert!(json.get(key).is_some(), "record lacks {key}");
    }
    assert_eq!(json["l1ChainId"], 31_337);

    // Wiring, read back from chain.
    let p = &conn.provider;
    let rc = RegistryCoordinator::new(d.registry_coordinator, p);
    let msm = MachServiceManager::new(d.mach_service_manager, p);
    assert_eq!(
        rc.serviceManager().call().await.unwrap(),
        d.mach_service_manager
    );
    assert_eq!(
        msm.registryCoordinator().call().await.unwrap(),
        d.registry_coordinator
    );
    assert_eq!(msm.stakeRegistry().call().await.unwrap(), d.stake_registry);
    assert_eq!(msm.blsApkRegistry().call().await.unwrap(), d.apk_registry);
    assert_eq!(msm.avsDirectory().call().await.unwrap(), d.avs_directory);
    assert!(rc.quorumCount().call().await.unwrap() >= 1);
    let sm = StrategyManager::new(d.strategy_manager, p);
    assert!(sm
        .strategyIsWhitelistedForDeposit(d.strategy)
        .call()
        .await
        .unwrap());
    assert_eq!(
        msm.alertConfirmer().call().await.unwrap(),
        deployer.address()
    );
    assert_eq!(msm.whitelister().call().await.unwrap(), deployer.address());
    assert!(msm.allowlistEnabled().call().await.unwrap());
    assert_eq!(
        msm.rollupChainId().call().await.unwrap(),
        U256::from(42_069)
    );

    // Usable: the deployer becomes an operator with stake in quorum 0.
    let details = OperatorDetails {
        delegation_approver: Default::default(),
        staker_opt_out_window_blocks: 0,
    };
    operator::register_as_operator(
        &conn,
        d.delegation_manager,
        &details,
        "https://example.com/op.json",
    )
    .await
    .unwrap();
    let amount = U256::from(1_000u64) * U256::from(10u64).pow(U256::from(18));
    let shares = operator::deposit_into_strategy(&conn, d.strategy_manager, d.strategy, amount)
        .await
        .unwrap();
    assert_eq!(shares, amount);
    conn.send(
        "allowlist the operator",
        msm.addToAllowlist(deployer.address())
            .into_transaction_request(),
    )
    .await
    .unwrap();
    let bls = BlsSecretKey::random();
    operator::register_with_avs(&conn, &bls, &d.avs(), &[0], "devnet")
        .await
        .unwrap();
    assert_eq!(
        rc.getOperatorId(deployer.address()).call().await.unwrap(),
        bls.operator_id().0
    );
    let stake = operator::current_stake(&conn, d.stake_registry, bls.operator_id().0, 0)
        .await
        .unwrap();
    assert_eq!(
        U256::from(stake),
        amount,
        "stake = shares × multiplier / 1e18"
    );

    // A revert names the action and the contract's reason: operator 1 is not allowlisted.
    let other = anvil.dev_signer(1).unwrap();
    let other_conn = connect(anvil.url(), other.clone()).await.unwrap();
    operator::register_as_operator(
        &other_conn,
        d.delegation_manager,
        &details,
        "https://example.com/o2.json",
    )
    .await
    .unwrap();
    let err =
        operator::register_with_avs(&other_conn, &BlsSecretKey::random(), &d.avs(), &[0], "x")
            .await
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("RegistryCoordinator") && err.contains("NotInAllowlist()"),
        "{err}"
    );
    // EigenLayer's own require strings come through too.
    let err = operator::register_as_operator(&conn, d.delegation_manager, &details, "x")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("DelegationManager") && err.contains("already"),
        "{err}"
    );
}

#[test]
fn anvil_is_gone_after_drop() {
    let anvil = Anvil::spawn(&AnvilConfig::new(1_337)).expect("start anvil");
    let pid = anvil.pid();
    let log = anvil.log_path().to_path_buf();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("Listening on"));
    drop(anvil);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "anvil {pid} still running"
    );
}

#[test]
fn anvil_is_gone_after_a_panicking_test() {
    let pid = std::sync::Mutex::new(None);
    let result = std::panic::catch_unwind(|| {
        let anvil = Anvil::spawn(&AnvilConfig::new(1_338)).expect("start anvil");
        *pid.lock().unwrap() = Some(anvil.pid());
        panic!("a failing test");
    });
    assert!(result.is_err());
    let pid = pid.lock().unwrap().expect("anvil started");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "anvil {pid} orphaned"
    );
}
