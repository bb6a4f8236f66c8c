//! The EigenLayer steps of an operator: register as an operator, restake tokens, and register
//! (opt in) with the AVS's RegistryCoordinator with a BLS key.

use crate::{AvsAddresses, ChainError, Connection};
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{keccak256, Address, Bytes, FixedBytes, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use eigen_utils::rewardsv2::core::avs_directory::AVSDirectory;
use eigen_utils::rewardsv2::core::delegation_manager::{DelegationManager, IDelegationManager};
use eigen_utils::rewardsv2::core::strategy_manager::StrategyManager;
use eigen_utils::rewardsv2::middleware::registry_coordinator::{
    IBLSApkRegistry, ISignatureUtils, RegistryCoordinator, BN254,
};
use mach_contracts::{ERC20Strategy, MachServiceManager, TestERC20};
use mach_keys::{BlsSecretKey, BlsSignature, G1PublicKey, G2PublicKey};
use std::future::Future;

/// The operator's details in the DelegationManager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorDetails {
    /// Who must approve delegations to this operator; zero means anyone may delegate.
    pub delegation_approver: Address,
    /// Blocks a staker must wait to undelegate (the `eigenlayer` CLI's opt-out window).
    pub staker_opt_out_window_blocks: u32,
}

/// Registers the connection's account as an EigenLayer operator.
pub async fn register_as_operator(
    conn: &Connection,
    delegation_manager: Address,
    details: &OperatorDetails,
    metadata_uri: &str,
) -> Result<(), ChainError> {
    let dm = DelegationManager::new(delegation_manager, &conn.provider);
    let call = dm.registerAsOperator(
        IDelegationManager::OperatorDetails {
            __deprecated_earningsReceiver: conn.sender,
            delegationApprover: details.delegation_approver,
            stakerOptOutWindowBlocks: details.staker_opt_out_window_blocks,
        },
        metadata_uri.to_string(),
    );
    conn.send(
        "register as operator with the DelegationManager",
        call.into_transaction_request(),
    )
    .await?;
    Ok(())
}

/// Approves and deposits `amount` of the strategy's token from the connection's account.
/// Returns the shares the account holds in the strategy afterwards.
pub async fn deposit_into_strategy(
    conn: &Connection,
    strategy_manager: Address,
    strategy: Address,
    amount: U256,
) -> Result<U256, ChainError> {
    let token = ERC20Strategy::new(strategy, &conn.provider)
        .underlyingToken()
        .call()
        .await
        .map_err(|e| read_error("read the strategy's token", e))?;
    let erc20 = TestERC20::new(token, &conn.provider);
    conn.send(
        "approve the StrategyManager to move the token",
        erc20
            .approve(strategy_manager, amount)
            .into_transaction_request(),
    )
    .await?;
    let sm = StrategyManager::new(strategy_manager, &conn.provider);
    conn.send(
        "deposit into the strategy through the StrategyManager",
        sm.depositIntoStrategy(strategy, token, amount)
            .into_transaction_request(),
    )
    .await?;
    sm.stakerStrategyShares(conn.sender, strategy)
        .call()
        .await
        .map_err(|e| read_error("read the deposited shares", e))
}

/// The BLS key an operator registers with the AVS: in this process ([`BlsSecretKey`]), or held
/// by a remote signer (the node's Cerberus client implements it too).
pub trait RegistrationKey: Sync {
    /// The G1 public key (its hash is the operator ID).
    fn public_key_g1(&self) -> G1PublicKey;
    /// The G2 public key, registered beside the G1 key.
    fn public_key_g2(&self) -> impl Future<Output = Result<G2PublicKey, ChainError>> + Send;
    /// `sk · P` for the coordinator's registration point `P = (x, y)`: the proof of possession.
    fn sign_registration_point(
        &self,
        x: U256,
        y: U256,
    ) -> impl Future<Output = Result<BlsSignature, ChainError>> + Send;
}

impl RegistrationKey for BlsSecretKey {
    fn public_key_g1(&self) -> G1PublicKey {
        self.public_key()
    }

    async fn public_key_g2(&self) -> Result<G2PublicKey, ChainError> {
        Ok(BlsSecretKey::public_key_g2(self))
    }

    async fn sign_registration_point(&self, x: U256, y: U256) -> Result<BlsSignature, ChainError> {
        self.sign_g1_point(x, y).map_err(ChainError::Key)
    }
}

/// Registers the connection's account with the AVS for `quorums`, proving possession of the BLS
/// key and signing the AVSDirectory's registration digest with the connection's signer.
/// No checks beyond the contracts' own: `mach opt-in` runs [`crate::avs::opt_in`], which
/// explains refusals before sending.
pub async fn register_with_avs(
    conn: &Connection,
    bls: &impl RegistrationKey,
    avs: &AvsAddresses,
    quorums: &[u8],
    socket: &str,
) -> Result<(), ChainError> {
    let tx = registration_tx(conn, bls, avs, quorums, socket).await?;
    conn.send("register the operator with the RegistryCoordinator", tx)
        .await?;
    Ok(())
}

/// The `registerOperator` transaction: BLS proof of possession, G1 and G2 keys, and the
/// operator's ECDSA signature over the AVSDirectory digest with a fresh salt and a one-hour
/// expiry. Both signatures are checked here before anything is sent, so a remote signer holding
/// another key is named now rather than by a revert.
pub async fn registration_tx(
    conn: &Connection,
    bls: &impl RegistrationKey,
    avs: &AvsAddresses,
    quorums: &[u8],
    socket: &str,
) -> Result<TransactionRequest, ChainError> {
    let ecdsa = conn.signer.as_ref().ok_or_else(|| {
        ChainError::Refused("registering needs a signing connection, not a read-only one".into())
    })?;
    let rc = RegistryCoordinator::new(avs.registry_coordinator, &conn.provider);
    let sm = MachServiceManager::new(avs.mach_service_manager, &conn.provider);
    let avs_directory = sm
        .avsDirectory()
        .call()
        .await
        .map_err(|e| read_error("read the service manager's AVSDirectory", e))?;

    // Proof of possession: the BLS key signs the coordinator's registration point for us.
    let point = rc
        .pubkeyRegistrationMessageHash(conn.sender)
        .call()
        .await
        .map_err(|e| read_error("read the BLS registration message", e))?;
    let g1 = bls.public_key_g1();
    let g2 = bls.public_key_g2().await?;
    if !g1.matches_g2(&g2) {
        return Err(ChainError::Refused(format!(
            "the BLS signer's G2 key is not the partner of its G1 key {g1}; it holds another key \
             than the one configured"
        )));
    }
    let signature = bls.sign_registration_point(point.X, point.Y).await?;
    if !mach_keys::bls::verify_g1_point(&g2, point.X, point.Y, &signature) {
        return Err(ChainError::Refused(format!(
            "the BLS signer's proof of possession does not verify against the G2 key of {g1}: \
             it signs with another key than the configured one"
        )));
    }
    let signature = signature.coordinates();
    let (g1x, g1y) = g1.coordinates();
    let (g2x, g2y) = g2.to_solidity();
    let params = IBLSApkRegistry::PubkeyRegistrationParams {
        pubkeyRegistrationSignature: BN254::G1Point {
            X: signature.0,
            Y: signature.1,
        },
        pubkeyG1: BN254::G1Point { X: g1x, Y: g1y },
        pubkeyG2: BN254::G2Point { X: g2x, Y: g2y },
    };

    // The AVSDirectory checks the operator's ECDSA signature over its registration digest.
    let salt = B256::random();
    let timestamp = conn
        .provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .map_err(|e| ChainError::Rpc {
            what: "read the latest block".into(),
            reason: e.to_string(),
        })?
        .map(|b| b.header.timestamp)
        .unwrap_or_default();
    let expiry = U256::from(timestamp + 3600);
    let preimage =
        registration_digest_preimage(conn, avs_directory, avs.mach_service_manager, salt, expiry)
            .await?;
    let ecdsa_signature = ecdsa.sign_keccak_preimage(&preimage).await.map_err(|e| {
        ChainError::Refused(format!("cannot sign the AVS registration digest: {e}"))
    })?;
    let operator_signature = ISignatureUtils::SignatureWithSaltAndExpiry {
        signature: Bytes::from(ecdsa_signature.as_bytes().to_vec()),
        salt,
        expiry,
    };
    Ok(rc
        .registerOperator(
            Bytes::from(quorums.to_vec()),
            socket.to_string(),
            params,
            operator_signature,
        )
        .into_transaction_request())
}

/// The EIP-712 preimage of the AVSDirectory's registration digest:
/// `0x1901 ‖ domainSeparator ‖ keccak256(abi.encode(TYPEHASH, operator, avs, salt, expiry))`,
/// checked against the digest the contract computes (a signer that hashes, web3signer, needs the
/// preimage, not the digest).
async fn registration_digest_preimage(
    conn: &Connection,
    avs_directory: Address,
    avs: Address,
    salt: B256,
    expiry: U256,
) -> Result<Vec<u8>, ChainError> {
    use alloy::sol_types::SolValue;
    let directory = AVSDirectory::new(avs_directory, &conn.provider);
    let digest = directory
        .calculateOperatorAVSRegistrationDigestHash(conn.sender, avs, salt, expiry)
        .call()
        .await
        .map_err(|e| read_error("compute the AVS registration digest", e))?;
    let domain = directory
        .domainSeparator()
        .call()
        .await
        .map_err(|e| read_error("read the AVSDirectory's domain separator", e))?;
    let typehash = directory
        .OPERATOR_AVS_REGISTRATION_TYPEHASH()
        .call()
        .await
        .map_err(|e| read_error("read the AVSDirectory's registration type hash", e))?;
    let struct_hash = keccak256((typehash, conn.sender, avs, salt, expiry).abi_encode());
    let mut preimage = vec![0x19, 0x01];
    preimage.extend_from_slice(domain.as_slice());
    preimage.extend_from_slice(struct_hash.as_slice());
    if keccak256(&preimage) != digest {
        return Err(ChainError::Refused(format!(
            "the AVSDirectory at {avs_directory} computes a registration digest in another form \
             than EIP-712 over (operator, avs, salt, expiry); this version of mach cannot sign it"
        )));
    }
    Ok(preimage)
}

/// Deregisters the connection's account from `quorums` of the AVS.
pub async fn deregister_from_avs(
    conn: &Connection,
    avs: &AvsAddresses,
    quorums: &[u8],
) -> Result<(), ChainError> {
    let rc = RegistryCoordinator::new(avs.registry_coordinator, &conn.provider);
    conn.send(
        "deregister the operator from the RegistryCoordinator",
        rc.deregisterOperator(Bytes::from(quorums.to_vec()))
            .into_transaction_request(),
    )
    .await?;
    Ok(())
}

/// The current stake of an operator ID in a quorum, as the StakeRegistry counts it.
pub async fn current_stake(
    conn: &Connection,
    stake_registry: Address,
    operator_id: FixedBytes<32>,
    quorum: u8,
) -> Result<u128, ChainError> {
    let sr = eigen_utils::rewardsv2::middleware::stake_registry::StakeRegistry::new(
        stake_registry,
        &conn.provider,
    );
    let stake = sr
        .getCurrentStake(operator_id, quorum)
        .call()
        .await
        .map_err(|e| read_error("read the operator's stake", e))?;
    Ok(stake.to::<u128>())
}

/// A failed view call, with a revert decoded where there is one.
pub(crate) fn read_error(what: &str, e: alloy::contract::Error) -> ChainError {
    match e {
        alloy::contract::Error::TransportError(rpc) => crate::tx::rpc_failure(what, &rpc),
        other => ChainError::Rpc {
            what: what.into(),
            reason: other.to_string(),
        },
    }
}

/// What EigenLayer knows about an operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElOperatorStatus {
    /// Whether the address is a registered EigenLayer operator.
    pub registered: bool,
    /// Its delegation approver and opt-out window (zero when not registered).
    pub details: OperatorDetails,
    /// The newest metadata URI it published, if the node can find the event.
    pub metadata_uri: Option<String>,
    /// Delegated shares per strategy (strategies found from share-increase events).
    pub shares: Vec<(Address, U256)>,
    /// AVSs it registered with, and whether it still is, from AVSDirectory events.
    pub avs_registrations: Vec<(Address, bool)>,
    /// Why events could not be read, when the endpoint refused the log queries.
    pub events_unavailable: Option<String>,
}

/// Reads an operator's EigenLayer state. Metadata, strategies and AVS registrations come from
/// event logs; an endpoint that refuses wide log queries leaves them empty and says why.
pub async fn el_status(
    conn: &Connection,
    delegation_manager: Address,
    operator: Address,
) -> Result<ElOperatorStatus, ChainError> {
    use alloy::rpc::types::Filter;
    use alloy::sol_types::SolEvent;
    use eigen_utils::rewardsv2::core::avs_directory::AVSDirectory as Avsd;

    let dm = DelegationManager::new(delegation_manager, &conn.provider);
    let registered = dm.isOperator(operator).call().await.map_err(|e| {
        read_error(
            "ask the DelegationManager whether the address is an operator",
            e,
        )
    })?;
    let mut status = ElOperatorStatus {
        registered,
        details: OperatorDetails {
            delegation_approver: Address::ZERO,
            staker_opt_out_window_blocks: 0,
        },
        metadata_uri: None,
        shares: Vec::new(),
        avs_registrations: Vec::new(),
        events_unavailable: None,
    };
    if !registered {
        return Ok(status);
    }
    let details = dm
        .operatorDetails(operator)
        .call()
        .await
        .map_err(|e| read_error("read the operator details", e))?;
    status.details = OperatorDetails {
        delegation_approver: details.delegationApprover,
        staker_opt_out_window_blocks: details.stakerOptOutWindowBlocks,
    };

    let topic = operator.into_word();
    let by_operator = |address: Option<Address>, signature: B256| {
        let filter = Filter::new()
            .event_signature(signature)
            .topic1(topic)
            .from_block(0u64);
        match address {
            Some(a) => filter.address(a),
            None => filter,
        }
    };
    let metadata_logs = conn
        .provider
        .get_logs(&by_operator(
            Some(delegation_manager),
            DelegationManager::OperatorMetadataURIUpdated::SIGNATURE_HASH,
        ))
        .await;
    let share_logs = conn
        .provider
        .get_logs(&by_operator(
            Some(delegation_manager),
            DelegationManager::OperatorSharesIncreased::SIGNATURE_HASH,
        ))
        .await;
    let avs_logs = conn
        .provider
        .get_logs(&by_operator(
            None,
            Avsd::OperatorAVSRegistrationStatusUpdated::SIGNATURE_HASH,
        ))
        .await;
    let (metadata_logs, share_logs, avs_logs) = match (metadata_logs, share_logs, avs_logs) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            status.events_unavailable = Some(e.to_string());
            return Ok(status);
        }
    };
    status.metadata_uri = metadata_logs.iter().rev().find_map(|log| {
        DelegationManager::OperatorMetadataURIUpdated::decode_log_data(log.data())
            .ok()
            .map(|e| e.metadataURI)
    });
    let mut strategies: Vec<Address> = share_logs
        .iter()
        .filter_map(|log| {
            DelegationManager::OperatorSharesIncreased::decode_log_data(log.data()).ok()
        })
        .map(|e| e.strategy)
        .collect();
    strategies.sort();
    strategies.dedup();
    for strategy in strategies {
        let shares = dm
            .operatorShares(operator, strategy)
            .call()
            .await
            .map_err(|e| read_error("read the operator's shares", e))?;
        status.shares.push((strategy, shares));
    }
    for log in &avs_logs {
        if let Ok(event) = Avsd::OperatorAVSRegistrationStatusUpdated::decode_log_data(log.data()) {
            let registered = event.status == 1;
            match status
                .avs_registrations
                .iter_mut()
                .find(|(avs, _)| *avs == event.avs)
            {
                Some(entry) => entry.1 = registered,
                None => status.avs_registrations.push((event.avs, registered)),
            }
        }
    }
    Ok(status)
}

/// Updates the operator's details and, when given, its metadata URI.
pub async fn update_operator(
    conn: &Connection,
    delegation_manager: Address,
    details: &OperatorDetails,
    metadata_uri: Option<&str>,
) -> Result<(), ChainError> {
    let dm = DelegationManager::new(delegation_manager, &conn.provider);
    let call = dm.modifyOperatorDetails(IDelegationManager::OperatorDetails {
        __deprecated_earningsReceiver: conn.sender,
        delegationApprover: details.delegation_approver,
        stakerOptOutWindowBlocks: details.staker_opt_out_window_blocks,
    });
    conn.send(
        "modify the operator details in the DelegationManager",
        call.into_transaction_request(),
    )
    .await?;
    if let Some(uri) = metadata_uri {
        conn.send(
            "update the operator metadata URI in the DelegationManager",
            dm.updateOperatorMetadataURI(uri.to_string())
                .into_transaction_request(),
        )
        .await?;
    }
    Ok(())
}
