//! Bringing operators into a deployment the way real operators join: EigenLayer registration,
//! a deposit into the restaking strategy, the allowlist, and the AVS opt-in, each through the
//! same `mach-chain` functions the `mach operator` / `mach opt-in` commands use.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use mach_chain::operator::{self, OperatorDetails};
use mach_chain::{connect, ChainError, Connection, Deployment};
use mach_contracts::{MachServiceManager, TestERC20};
use mach_keys::BlsSecretKey;

/// ETH an onboarded operator account is topped up to, enough for years of devnet use.
const OPERATOR_ETH: u128 = 10_000_000_000_000_000_000;

/// Onboards `operator` with `stake` tokens (18 decimals) restaked into quorums `quorums`.
/// `admin` is the deployer: it holds the token supply, pays the operator's gas money and
/// manages the allowlist.
pub async fn onboard_operator(
    admin: &Connection,
    deployment: &Deployment,
    operator: &PrivateKeySigner,
    bls: &BlsSecretKey,
    stake: U256,
    quorums: &[u8],
) -> Result<(), ChainError> {
    let address = operator.address();
    fund(admin, address).await?;
    let token = TestERC20::new(deployment.token, &admin.provider);
    admin
        .send(
            &format!("transfer {stake} restaking tokens to operator {address}"),
            token.transfer(address, stake).into_transaction_request(),
        )
        .await?;
    let conn = connect(&admin.url, operator.clone()).await?;
    let details = OperatorDetails {
        delegation_approver: Address::ZERO,
        staker_opt_out_window_blocks: 0,
    };
    operator::register_as_operator(
        &conn,
        deployment.delegation_manager,
        &details,
        "https://mach.devnet.invalid/metadata.json",
    )
    .await?;
    operator::deposit_into_strategy(
        &conn,
        deployment.strategy_manager,
        deployment.strategy,
        stake,
    )
    .await?;
    let msm = MachServiceManager::new(deployment.mach_service_manager, &admin.provider);
    admin
        .send(
            &format!("add operator {address} to the allowlist"),
            msm.addToAllowlist(address).into_transaction_request(),
        )
        .await?;
    operator::register_with_avs(&conn, bls, &deployment.avs(), quorums, "").await
}

/// Tops `address` up to [`OPERATOR_ETH`] from `admin`.
async fn fund(admin: &Connection, address: Address) -> Result<(), ChainError> {
    use alloy::providers::Provider;
    let balance = admin
        .provider
        .get_balance(address)
        .await
        .map_err(|e| mach_chain::tx::rpc_failure("read an operator's balance", &e))?;
    let target = U256::from(OPERATOR_ETH);
    if balance < target {
        let tx = TransactionRequest::default()
            .with_to(address)
            .with_value(target - balance);
        admin
            .send(&format!("fund operator {address} with ETH"), tx)
            .await?;
    }
    Ok(())
}
