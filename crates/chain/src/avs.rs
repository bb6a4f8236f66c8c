//! An operator and one MACH AVS: its registration status, and opting in or out with every
//! refusal explained before a transaction is sent.

use crate::operator::{read_error, registration_tx, RegistrationKey};
use crate::{AvsAddresses, ChainError, Connection};
use alloy::primitives::{Address, Bytes, B256, U256};
use eigen_utils::rewardsv2::core::delegation_manager::DelegationManager;
use eigen_utils::rewardsv2::middleware::bls_apk_registry::BLSApkRegistry;
use eigen_utils::rewardsv2::middleware::registry_coordinator::RegistryCoordinator;
use eigen_utils::rewardsv2::middleware::stake_registry::StakeRegistry;
use mach_contracts::MachServiceManager;

/// `IRegistryCoordinator.OperatorStatus.REGISTERED` (0 never registered, 2 deregistered).
const OPERATOR_STATUS_REGISTERED: u8 = 1;

/// An operator's standing with one AVS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvsOperatorStatus {
    /// The operator's address.
    pub operator: Address,
    /// Whether it is a registered EigenLayer operator.
    pub el_operator: bool,
    /// Whether it is currently registered with the AVS's RegistryCoordinator.
    pub registered: bool,
    /// Its operator ID, once it has registered a BLS key (zero before).
    pub operator_id: B256,
    /// Quorums it is currently in.
    pub quorums: Vec<u8>,
    /// Its current stake in each of those quorums.
    pub stakes: Vec<(u8, u128)>,
    /// Whether the AVS restricts registration to its allowlist.
    pub allowlist_enabled: bool,
    /// Whether the operator is on the allowlist.
    pub allowlisted: bool,
    /// The service manager's pause flags: any flag set stops registration and deregistration
    /// with the AVS (and alert confirmation).
    pub paused_flags: U256,
}

/// Reads the operator's status with the AVS.
pub async fn status(
    conn: &Connection,
    avs: &AvsAddresses,
    operator: Address,
) -> Result<AvsOperatorStatus, ChainError> {
    let rc = RegistryCoordinator::new(avs.registry_coordinator, &conn.provider);
    let sm = MachServiceManager::new(avs.mach_service_manager, &conn.provider);
    let dm = sm
        .delegation()
        .call()
        .await
        .map_err(|e| read_error("read the service manager's DelegationManager", e))?;
    let el_operator = DelegationManager::new(dm, &conn.provider)
        .isOperator(operator)
        .call()
        .await
        .map_err(|e| {
            read_error(
                "ask the DelegationManager whether the address is an operator",
                e,
            )
        })?;
    let registered = rc
        .getOperatorStatus(operator)
        .call()
        .await
        .map_err(|e| read_error("read the operator's registration status", e))?
        == OPERATOR_STATUS_REGISTERED;
    let operator_id = rc
        .getOperatorId(operator)
        .call()
        .await
        .map_err(|e| read_error("read the operator ID", e))?;
    let mut quorums = Vec::new();
    let mut stakes = Vec::new();
    if operator_id != B256::ZERO {
        let bitmap = rc
            .getCurrentQuorumBitmap(operator_id)
            .call()
            .await
            .map_err(|e| read_error("read the operator's quorums", e))?;
        let stake_registry = rc
            .stakeRegistry()
            .call()
            .await
            .map_err(|e| read_error("read the StakeRegistry", e))?;
        let sr = StakeRegistry::new(stake_registry, &conn.provider);
        for quorum in 0u8..192 {
            if bitmap.bit(quorum as usize) {
                quorums.push(quorum);
                let stake = sr
                    .getCurrentStake(operator_id, quorum)
                    .call()
                    .await
                    .map_err(|e| read_error("read the operator's stake", e))?;
                stakes.push((quorum, stake.to::<u128>()));
            }
        }
    }
    let allowlist_enabled = sm
        .allowlistEnabled()
        .call()
        .await
        .map_err(|e| read_error("read whether the allowlist is enabled", e))?;
    let allowlisted = sm
        .allowlist(operator)
        .call()
        .await
        .map_err(|e| read_error("read the allowlist", e))?;
    let paused_flags = sm
        .paused_1()
        .call()
        .await
        .map_err(|e| read_error("read the service manager's pause flags", e))?;
    Ok(AvsOperatorStatus {
        operator,
        el_operator,
        registered,
        operator_id,
        quorums,
        stakes,
        allowlist_enabled,
        allowlisted,
        paused_flags,
    })
}

/// The refusal for a registration change while the service manager is paused.
fn paused_refusal(action: &str, flags: U256) -> ChainError {
    ChainError::Refused(format!(
        "the AVS is paused (MachServiceManager.paused() = {flags:#x}), which stops {action} until \
         its unpauser clears the flags; ask the AVS team and retry once it is unpaused"
    ))
}

/// Opts the connection's account in to the AVS for `quorums` with `bls`, after checking, in
/// this order, that it can pay, is an EigenLayer operator, is not opted in yet, the AVS is not
/// paused, it is allowlisted,
/// and that the BLS key is not another operator's (nor a different key than it registered
/// before). Each refusal says what to do; nothing is sent unless every check passes.
pub async fn opt_in(
    conn: &Connection,
    bls: &impl RegistrationKey,
    avs: &AvsAddresses,
    quorums: &[u8],
    socket: &str,
) -> Result<(), ChainError> {
    let operator = conn.sender;
    if conn.balance().await?.is_zero() {
        return Err(ChainError::Refused(format!(
            "{operator} has no ETH to pay for the opt-in; fund it (the operator guide recommends \
             0.3 ETH on mainnet) and retry"
        )));
    }
    let current = status(conn, avs, operator).await?;
    if !current.el_operator {
        return Err(ChainError::Refused(format!(
            "{operator} is not an EigenLayer operator yet; run `mach operator register operator.yaml` first"
        )));
    }
    if current.registered {
        return Err(ChainError::Refused(format!(
            "{operator} is already opted in to this AVS (operator ID {}, quorums {:?}); run \
             `mach opt-out` first to re-register",
            current.operator_id, current.quorums
        )));
    }
    if !current.paused_flags.is_zero() {
        return Err(paused_refusal("opting in", current.paused_flags));
    }
    if current.allowlist_enabled && !current.allowlisted {
        return Err(ChainError::Refused(format!(
            "{operator} is not in the AVS allowlist: submit your address to the AVS team and retry \
             once they have added it"
        )));
    }
    let rc = RegistryCoordinator::new(avs.registry_coordinator, &conn.provider);
    let apk = BLSApkRegistry::new(
        rc.blsApkRegistry()
            .call()
            .await
            .map_err(|e| read_error("read the BLSApkRegistry", e))?,
        &conn.provider,
    );
    let key_hash = bls.public_key_g1().operator_id().0;
    let owner = apk
        .pubkeyHashToOperator(key_hash)
        .call()
        .await
        .map_err(|e| read_error("look up the BLS key's owner", e))?;
    if owner != Address::ZERO && owner != operator {
        return Err(ChainError::Refused(format!(
            "the BLS key {} is already registered to operator {owner}; every operator needs its \
             own BLS key (create one with `mach keys create --key-type bls NAME`)",
            bls.public_key_g1().operator_id()
        )));
    }
    let registered_hash = apk
        .operatorToPubkeyHash(operator)
        .call()
        .await
        .map_err(|e| read_error("look up the operator's BLS key", e))?;
    if registered_hash != B256::ZERO && registered_hash != key_hash {
        return Err(ChainError::Refused(format!(
            "{operator} registered a different BLS key before (operator ID {registered_hash}); \
             use that key file (NODE_BLS_KEY_FILE_HOST)"
        )));
    }
    let what = "register the operator with the RegistryCoordinator";
    let tx = registration_tx(conn, bls, avs, quorums, socket).await?;
    conn.ensure_funds(what, &tx).await?;
    conn.send(what, tx).await?;
    Ok(())
}

/// Opts the connection's account out of `quorums`, refusing when it is not opted in, or when it
/// would leave its last quorum while the AVS is paused.
pub async fn opt_out(
    conn: &Connection,
    avs: &AvsAddresses,
    quorums: &[u8],
) -> Result<(), ChainError> {
    let current = status(conn, avs, conn.sender).await?;
    if !current.registered {
        return Err(ChainError::Refused(format!(
            "{} is not opted in to this AVS; nothing to opt out of",
            conn.sender
        )));
    }
    let missing: Vec<u8> = quorums
        .iter()
        .copied()
        .filter(|q| !current.quorums.contains(q))
        .collect();
    if !missing.is_empty() {
        return Err(ChainError::Refused(format!(
            "{} is not in quorums {missing:?} (it is in {:?})",
            conn.sender, current.quorums
        )));
    }
    // Leaving the last quorum deregisters from the AVS, which a pause stops.
    let leaves_all = current.quorums.iter().all(|q| quorums.contains(q));
    if leaves_all && !current.paused_flags.is_zero() {
        return Err(paused_refusal(
            "opting out of the last quorum",
            current.paused_flags,
        ));
    }
    let what = "deregister the operator from the RegistryCoordinator";
    let rc = RegistryCoordinator::new(avs.registry_coordinator, &conn.provider);
    let tx = rc
        .deregisterOperator(Bytes::from(quorums.to_vec()))
        .into_transaction_request();
    conn.ensure_funds(what, &tx).await?;
    conn.send(what, tx).await?;
    Ok(())
}

/// The AVS addresses from the RegistryCoordinator alone, reading the service manager from it
/// when not given.
pub async fn resolve_addresses(
    conn: &Connection,
    registry_coordinator: Address,
    operator_state_retriever: Option<Address>,
    service_manager: Option<Address>,
) -> Result<AvsAddresses, ChainError> {
    let mach_service_manager = match service_manager {
        Some(address) => address,
        None => RegistryCoordinator::new(registry_coordinator, &conn.provider)
            .serviceManager()
            .call()
            .await
            .map_err(|e| read_error("read the RegistryCoordinator's service manager", e))?,
    };
    Ok(AvsAddresses {
        registry_coordinator,
        operator_state_retriever: operator_state_retriever.unwrap_or(Address::ZERO),
        mach_service_manager,
    })
}
