//! What the aggregator reads from the EigenLayer middleware to check signatures against stake at
//! a reference block, and the `confirmAlert` transaction that puts a confirmed alert on L1.
//!
//! Operator sets and stakes at a block come from the OperatorStateRetriever; BLS keys from the
//! BLSApkRegistry (G1 from storage, G2 from the `NewPubkeyRegistration` event, the only place
//! the pre-slashing registry keeps it). Keys never change once registered, so callers may cache
//! them for good.

use crate::operator::read_error;
use crate::{AvsAddresses, ChainError, Connection};
use alloy::primitives::{Address, TxHash, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use eigen_utils::rewardsv2::middleware::bls_apk_registry::BLSApkRegistry;
use eigen_utils::rewardsv2::middleware::operator_state_retriever::OperatorStateRetriever;
use eigen_utils::rewardsv2::middleware::registry_coordinator::RegistryCoordinator;
use mach_contracts::{IBLSSignatureChecker, IMachServiceManager, MachServiceManager};
use mach_keys::{G1PublicKey, G2PublicKey};
use std::collections::BTreeMap;

/// The contracts the aggregator talks to for one AVS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvsContracts {
    /// Middleware RegistryCoordinator.
    pub registry_coordinator: Address,
    /// Middleware OperatorStateRetriever.
    pub operator_state_retriever: Address,
    /// The rollup's MachServiceManager.
    pub service_manager: Address,
    /// The BLSApkRegistry behind the coordinator.
    pub bls_apk_registry: Address,
}

/// Resolves the BLSApkRegistry of the AVS and checks the service manager answers.
pub async fn avs_contracts(
    conn: &Connection,
    avs: &AvsAddresses,
) -> Result<AvsContracts, ChainError> {
    let rc = RegistryCoordinator::new(avs.registry_coordinator, &conn.provider);
    let bls_apk_registry = rc.blsApkRegistry().call().await.map_err(|e| {
        read_error(
            &format!(
                "read the BLSApkRegistry of the RegistryCoordinator at {}",
                avs.registry_coordinator
            ),
            e,
        )
    })?;
    Ok(AvsContracts {
        registry_coordinator: avs.registry_coordinator,
        operator_state_retriever: avs.operator_state_retriever,
        service_manager: avs.mach_service_manager,
        bls_apk_registry,
    })
}

/// An operator registered in at least one of the asked quorums at a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorStake {
    /// Its address.
    pub operator: Address,
    /// Its operator ID (hash of its G1 key).
    pub operator_id: B256,
    /// Its stake in each asked quorum it is in, in the StakeRegistry's weighted units.
    pub stakes: BTreeMap<u8, U256>,
}

/// Every operator registered in `quorums` at `block`, with its stake per quorum, ordered by
/// operator ID.
pub async fn operators_at(
    conn: &Connection,
    avs: &AvsContracts,
    quorums: &[u8],
    block: u32,
) -> Result<Vec<OperatorStake>, ChainError> {
    let osr = OperatorStateRetriever::new(avs.operator_state_retriever, &conn.provider);
    let state = osr
        .getOperatorState_0(avs.registry_coordinator, quorums.to_vec().into(), block)
        .call()
        .await
        .map_err(|e| read_error(&format!("read the operator set at block {block}"), e))?;
    let mut by_id: BTreeMap<B256, OperatorStake> = BTreeMap::new();
    for (quorum, operators) in quorums.iter().zip(state.iter()) {
        for op in operators {
            by_id
                .entry(op.operatorId)
                .or_insert_with(|| OperatorStake {
                    operator: op.operator,
                    operator_id: op.operatorId,
                    stakes: BTreeMap::new(),
                })
                .stakes
                .insert(*quorum, U256::from(op.stake));
        }
    }
    Ok(by_id.into_values().collect())
}

/// An operator's registered BLS keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperatorKeys {
    /// The G1 key (its hash is the operator ID).
    pub g1: G1PublicKey,
    /// The G2 key signatures are verified against.
    pub g2: G2PublicKey,
}

/// The keys `operator` registered with the BLSApkRegistry, from its `NewPubkeyRegistration`
/// event. Fails if it never registered a key or the event cannot be read.
pub async fn operator_keys(
    conn: &Connection,
    bls_apk_registry: Address,
    operator: Address,
) -> Result<OperatorKeys, ChainError> {
    let filter = Filter::new()
        .address(bls_apk_registry)
        .event_signature(BLSApkRegistry::NewPubkeyRegistration::SIGNATURE_HASH)
        .topic1(operator.into_word())
        .from_block(0u64);
    let what = format!("read the BLS key registration of operator {operator}");
    let logs = conn
        .provider
        .get_logs(&filter)
        .await
        .map_err(|e| crate::tx::rpc_failure(&what, &e))?;
    let log = logs.last().ok_or_else(|| ChainError::Rpc {
        what: what.clone(),
        reason: "no NewPubkeyRegistration event: the operator has not registered a BLS key".into(),
    })?;
    let event =
        BLSApkRegistry::NewPubkeyRegistration::decode_log_data(log.data()).map_err(|e| {
            ChainError::Rpc {
                what: what.clone(),
                reason: format!("undecodable event: {e}"),
            }
        })?;
    let g1 = G1PublicKey::from_coordinates(event.pubkeyG1.X, event.pubkeyG1.Y)?;
    let g2 = G2PublicKey::from_solidity(event.pubkeyG2.X, event.pubkeyG2.Y)?;
    Ok(OperatorKeys { g1, g2 })
}

/// The history indices `confirmAlert` needs for a set of non-signers (sorted by operator ID).
pub async fn check_signatures_indices(
    conn: &Connection,
    avs: &AvsContracts,
    block: u32,
    quorums: &[u8],
    non_signers: &[B256],
) -> Result<OperatorStateRetriever::CheckSignaturesIndices, ChainError> {
    let osr = OperatorStateRetriever::new(avs.operator_state_retriever, &conn.provider);
    osr.getCheckSignaturesIndices(
        avs.registry_coordinator,
        block,
        quorums.to_vec().into(),
        non_signers.to_vec(),
    )
    .call()
    .await
    .map_err(|e| {
        read_error(
            &format!("read the signature-check indices at block {block}"),
            e,
        )
    })
}

/// The alert header of `confirmAlert`.
pub type AlertHeader = IMachServiceManager::AlertHeader;
/// The aggregated signature and the non-signer data of `confirmAlert`.
pub type NonSignerStakesAndSignature = IBLSSignatureChecker::NonSignerStakesAndSignature;

/// Sends `confirmAlert` from the connection's account (which must be the alert confirmer) and
/// waits for the receipt. A revert is reported with the contract's error name (`AlreadyAdded()`,
/// `InsufficientThreshold()`, …).
pub async fn confirm_alert(
    conn: &Connection,
    service_manager: Address,
    header: AlertHeader,
    signature: NonSignerStakesAndSignature,
) -> Result<TxHash, ChainError> {
    let what = format!("confirmAlert({}) on MachServiceManager", header.messageHash);
    let sm = MachServiceManager::new(service_manager, &conn.provider);
    let tx = sm
        .confirmAlert(header, signature)
        .into_transaction_request();
    let receipt = conn.send(&what, tx).await?;
    Ok(receipt.transaction_hash)
}

/// Whether the service manager holds a confirmed alert for `message_hash`.
pub async fn alert_confirmed(
    conn: &Connection,
    service_manager: Address,
    message_hash: B256,
) -> Result<bool, ChainError> {
    MachServiceManager::new(service_manager, &conn.provider)
        .contains(message_hash)
        .call()
        .await
        .map_err(|e| read_error("ask MachServiceManager whether the alert is confirmed", e))
}

/// The transaction whose `AlertConfirmed` event carries `message_hash`, searching from
/// `from_block`; `None` if there is none.
pub async fn find_confirmation(
    conn: &Connection,
    service_manager: Address,
    message_hash: B256,
    from_block: u64,
) -> Result<Option<TxHash>, ChainError> {
    Ok(confirmed_alerts(conn, service_manager, from_block, None)
        .await?
        .into_iter()
        .find(|alert| alert.message_hash == message_hash)
        .map(|alert| alert.l1_tx))
}

/// One `AlertConfirmed` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfirmedAlert {
    /// The alert's message hash.
    pub message_hash: B256,
    /// The `confirmAlert` transaction.
    pub l1_tx: TxHash,
    /// Its block.
    pub l1_block: u64,
}

/// The `AlertConfirmed` events of `service_manager` from `from_block` to `to_block` (the
/// latest block when `None`), in chain order.
pub async fn confirmed_alerts(
    conn: &Connection,
    service_manager: Address,
    from_block: u64,
    to_block: Option<u64>,
) -> Result<Vec<ConfirmedAlert>, ChainError> {
    let mut filter = Filter::new()
        .address(service_manager)
        .event_signature(MachServiceManager::AlertConfirmed::SIGNATURE_HASH)
        .from_block(from_block);
    if let Some(to) = to_block {
        filter = filter.to_block(to);
    }
    let logs = conn
        .provider
        .get_logs(&filter)
        .await
        .map_err(|e| crate::tx::rpc_failure("read AlertConfirmed events", &e))?;
    Ok(logs
        .iter()
        .filter_map(|log| {
            let event = MachServiceManager::AlertConfirmed::decode_log_data(log.data()).ok()?;
            Some(ConfirmedAlert {
                message_hash: event.messageHash,
                l1_tx: log.transaction_hash?,
                l1_block: log.block_number?,
            })
        })
        .collect())
}

/// Where [`watch_confirmed_alerts`] hands what it reads: the finality RPC's state, the devnet's
/// record.
pub trait AlertSink: Send {
    /// The first L1 block not read yet.
    fn next_block(&mut self) -> u64;

    /// The `AlertConfirmed` events of the blocks from [`AlertSink::next_block`] to `head`
    /// (possibly none), in chain order; after it, `next_block` should be past `head`. `conn`
    /// is there for further reads.
    fn record(
        &mut self,
        conn: &Connection,
        alerts: Vec<ConfirmedAlert>,
        head: u64,
    ) -> impl std::future::Future<Output = ()> + Send;
}

/// The L1 alert watcher: every `poll`, reads the head and the `AlertConfirmed` events of
/// `service_manager` up to it and hands them to `sink`. A failed read is logged and asked again
/// at the next poll. Runs until dropped.
pub async fn watch_confirmed_alerts(
    conn: Connection,
    service_manager: Address,
    poll: std::time::Duration,
    mut sink: impl AlertSink,
) {
    loop {
        tokio::time::sleep(poll).await;
        let head = match block_number(&conn).await {
            Ok(head) => head,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the L1 head; trying again");
                continue;
            }
        };
        let from = sink.next_block();
        if head < from {
            continue;
        }
        match confirmed_alerts(&conn, service_manager, from, Some(head)).await {
            Ok(alerts) => sink.record(&conn, alerts, head).await,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read AlertConfirmed events; trying again")
            }
        }
    }
}

/// How many alerts the service manager holds (`totalAlerts`).
pub async fn total_alerts(conn: &Connection, service_manager: Address) -> Result<u64, ChainError> {
    MachServiceManager::new(service_manager, &conn.provider)
        .totalAlerts()
        .call()
        .await
        .map(|n| n.saturating_to())
        .map_err(|e| read_error("read totalAlerts", e))
}

/// The message hashes of the alerts the service manager holds now, confirmed and not removed
/// (`queryMessageHashes` over `totalAlerts`).
pub async fn current_alerts(
    conn: &Connection,
    service_manager: Address,
) -> Result<Vec<B256>, ChainError> {
    let total = total_alerts(conn, service_manager).await?;
    if total == 0 {
        return Ok(Vec::new());
    }
    MachServiceManager::new(service_manager, &conn.provider)
        .queryMessageHashes(
            alloy::primitives::U256::ZERO,
            alloy::primitives::U256::from(total),
        )
        .call()
        .await
        .map_err(|e| read_error("read the confirmed alerts (queryMessageHashes)", e))
}

/// The lowest quorum threshold percentage the service manager accepts in `confirmAlert`.
pub async fn minimum_threshold(
    conn: &Connection,
    service_manager: Address,
) -> Result<u8, ChainError> {
    MachServiceManager::new(service_manager, &conn.provider)
        .quorumThresholdPercentage()
        .call()
        .await
        .map_err(|e| read_error("read the service manager's quorum threshold percentage", e))
}

/// The account allowed to send `confirmAlert`.
pub async fn alert_confirmer(
    conn: &Connection,
    service_manager: Address,
) -> Result<Address, ChainError> {
    MachServiceManager::new(service_manager, &conn.provider)
        .alertConfirmer()
        .call()
        .await
        .map_err(|e| read_error("read the service manager's alert confirmer", e))
}

/// The newest block number.
pub async fn block_number(conn: &Connection) -> Result<u64, ChainError> {
    conn.provider
        .get_block_number()
        .await
        .map_err(|e| crate::tx::rpc_failure("read the latest block number", &e))
}
