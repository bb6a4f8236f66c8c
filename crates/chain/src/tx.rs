//! A signing connection to L1 and the one way MACH sends transactions: estimate (a revert here
//! is decoded and reported before anything is signed), send, wait for the receipt, and explain a
//! revert in the contract's own words.

use crate::signer::EcdsaSigner;
use crate::ChainError;
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, TxHash};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{Panic, Revert, SolError};
use alloy::transports::{RpcError, TransportErrorKind};
use std::time::{Duration, Instant};

/// How long to wait for a transaction to be mined before giving up.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// A provider that signs with one account, and what it is connected to.
#[derive(Clone, Debug)]
pub struct Connection {
    /// The provider; it fills nonce, gas and chain ID and signs with `sender`'s key.
    pub provider: DynProvider,
    /// The account transactions are sent from.
    pub sender: Address,
    /// The chain ID the endpoint reported.
    pub chain_id: u64,
    /// The endpoint, for messages.
    pub url: String,
    /// The signer of `sender`, for signatures other than transactions (the AVS registration
    /// digest); `None` on a read-only connection.
    pub signer: Option<EcdsaSigner>,
}

/// The transaction signer of an ECDSA key (from a key file, [`mach_keys::open_ecdsa`]).
pub fn signer(key: &mach_keys::EcdsaSecretKey) -> PrivateKeySigner {
    PrivateKeySigner::from_signing_key(key.signing_key().clone())
}

/// Connects to `url` with `signer` (a [`PrivateKeySigner`] or any [`EcdsaSigner`]) and checks
/// the endpoint answers.
pub async fn connect(url: &str, signer: impl Into<EcdsaSigner>) -> Result<Connection, ChainError> {
    let signer: EcdsaSigner = signer.into();
    let parsed: url::Url = url
        .parse()
        .map_err(|e: url::ParseError| ChainError::InvalidUrl {
            url: url.into(),
            reason: e.to_string(),
        })?;
    let sender = signer.address();
    // Each transaction takes the account's pending nonce from the node. alloy's default nonce
    // cache advances for every transaction it prepares, sent or not, so one signature a remote
    // signer failed to make would leave every later transaction a nonce too high, stuck.
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::new(signer.clone()))
        .connect_http(parsed)
        .erased();
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| ChainError::Unreachable {
            url: url.into(),
            reason: e.to_string(),
        })?;
    Ok(Connection {
        provider,
        sender,
        chain_id,
        url: url.into(),
        signer: Some(signer),
    })
}

/// Connects to `url` without a key, for reads about `address` (status commands).
pub async fn connect_read_only(url: &str, address: Address) -> Result<Connection, ChainError> {
    let parsed: url::Url = url
        .parse()
        .map_err(|e: url::ParseError| ChainError::InvalidUrl {
            url: url.into(),
            reason: e.to_string(),
        })?;
    let provider = ProviderBuilder::new().connect_http(parsed).erased();
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| ChainError::Unreachable {
            url: url.into(),
            reason: e.to_string(),
        })?;
    Ok(Connection {
        provider,
        sender: address,
        chain_id,
        url: url.into(),
        signer: None,
    })
}

impl Connection {
    /// Refuses, before anything is sent, when the sender cannot pay for `tx`: its estimated gas
    /// at the current fee (doubled, as fees move) must be covered by the balance. A revert at
    /// estimation is reported as such.
    pub async fn ensure_funds(
        &self,
        what: &str,
        tx: &TransactionRequest,
    ) -> Result<(), ChainError> {
        let balance = self.balance().await?;
        let gas = self
            .provider
            .estimate_gas(tx.clone().from(self.sender))
            .await
            .map_err(|e| rpc_failure(what, &e))?;
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(|e| ChainError::Rpc {
                what: "estimate fees".into(),
                reason: e.to_string(),
            })?;
        let needed = alloy::primitives::U256::from(gas)
            * alloy::primitives::U256::from(fees.max_fee_per_gas)
            * alloy::primitives::U256::from(2);
        if balance < needed {
            return Err(ChainError::Refused(format!(
                "{} has {} ETH but needs about {} ETH to {what}; fund it and retry (the operator \
                 guide recommends 0.3 ETH on mainnet)",
                self.sender,
                format_ether(balance),
                format_ether(needed)
            )));
        }
        Ok(())
    }

    /// The sender's balance in wei.
    pub async fn balance(&self) -> Result<alloy::primitives::U256, ChainError> {
        self.provider
            .get_balance(self.sender)
            .await
            .map_err(|e| ChainError::Rpc {
                what: format!("read the balance of {}", self.sender),
                reason: e.to_string(),
            })
    }

    /// Sends `tx` and waits for its receipt; `what` names the action and contract in errors
    /// ("initialize DelegationManager"). A revert, at estimation or on chain, is decoded.
    pub async fn send(
        &self,
        what: &str,
        tx: TransactionRequest,
    ) -> Result<TransactionReceipt, ChainError> {
        let tx = tx.from(self.sender);
        let pending = self
            .provider
            .send_transaction(tx.clone())
            .await
            .map_err(|e| rpc_failure(what, &e))?;
        let hash = *pending.tx_hash();
        let receipt = self.wait_for_receipt(what, hash).await?;
        if !receipt.status() {
            // Replay at the block it failed in to learn why.
            let reason = match receipt.block_number {
                Some(n) => match self.provider.call(tx).block(n.into()).await {
                    Err(e) => revert_reason(&e).unwrap_or_else(|| e.to_string()),
                    Ok(_) => {
                        "reverted on chain (out of gas or state changed since estimation)".into()
                    }
                },
                None => "reverted on chain".into(),
            };
            return Err(ChainError::Reverted {
                what: what.into(),
                reason: format!("{reason} (transaction {hash})"),
            });
        }
        tracing::debug!(%hash, gas = receipt.gas_used, what, "transaction mined");
        Ok(receipt)
    }

    /// Deploys contract creation code `tx` (a `deploy_builder(..)` request) and returns the new
    /// address.
    pub async fn deploy(&self, name: &str, tx: TransactionRequest) -> Result<Address, ChainError> {
        let what = format!("deploy {name}");
        let receipt = self.send(&what, tx).await?;
        receipt.contract_address.ok_or_else(|| ChainError::Rpc {
            what,
            reason: "the receipt has no contract address".into(),
        })
    }

    /// Polls for the receipt quickly at first (local chains mine at once), then every second.
    async fn wait_for_receipt(
        &self,
        what: &str,
        hash: TxHash,
    ) -> Result<TransactionReceipt, ChainError> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(5);
        loop {
            match self.provider.get_transaction_receipt(hash).await {
                Ok(Some(receipt)) => return Ok(receipt),
                Ok(None) => {}
                Err(e) => tracing::debug!(%hash, error = %e, "receipt poll failed; retrying"),
            }
            if started.elapsed() > RECEIPT_TIMEOUT {
                return Err(ChainError::Timeout {
                    what: what.into(),
                    hash: hash.to_string(),
                    seconds: RECEIPT_TIMEOUT.as_secs(),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }
}

/// Wei as ETH with up to 6 decimals.
pub fn format_ether(wei: alloy::primitives::U256) -> String {
    let micro = wei / alloy::primitives::U256::from(1_000_000_000_000u64);
    let micro: u128 = micro.try_into().unwrap_or(u128::MAX);
    let text = format!("{}.{:06}", micro / 1_000_000, micro % 1_000_000);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Turns a failed RPC call into a revert with its decoded reason, or an RPC error.
pub fn rpc_failure(what: &str, e: &RpcError<TransportErrorKind>) -> ChainError {
    match revert_reason(e) {
        Some(reason) => ChainError::Reverted {
            what: what.into(),
            reason,
        },
        None => ChainError::Rpc {
            what: what.into(),
            reason: e.to_string(),
        },
    }
}

/// The decoded reason of a revert carried by an RPC error, if it is one.
pub fn revert_reason(e: &RpcError<TransportErrorKind>) -> Option<String> {
    let payload = e.as_error_resp()?;
    match payload.as_revert_data() {
        Some(data) => Some(decode_revert(&data)),
        // Some nodes report a bare "execution reverted" without data.
        None if payload.message.contains("revert") => Some(payload.message.to_string()),
        None => None,
    }
}

/// Explains revert data: `Error(string)` gives its message, `Panic(uint256)` its code, a custom
/// error of our contracts its name, anything else its selector.
pub fn decode_revert(data: &Bytes) -> String {
    if data.is_empty() {
        return "reverted without a reason".into();
    }
    if let Ok(revert) = Revert::abi_decode(data) {
        return revert.reason;
    }
    if let Ok(panic) = Panic::abi_decode(data) {
        return format!("panic code {:#x}", panic.code);
    }
    match mach_contracts::error_signature(data) {
        Some(signature) => format!("custom error {signature}"),
        None => format!("unknown custom error {data}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolError;

    #[test]
    fn ether_amounts() {
        let eth = alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(18));
        assert_eq!(
            format_ether(
                eth * alloy::primitives::U256::from(3) / alloy::primitives::U256::from(10)
            ),
            "0.3"
        );
        assert_eq!(format_ether(eth * alloy::primitives::U256::from(12)), "12");
        assert_eq!(format_ether(alloy::primitives::U256::from(1000)), "0");
        assert_eq!(
            format_ether(alloy::primitives::U256::from(1_234_567_000_000_000u64)),
            "0.001234"
        );
    }

    #[test]
    fn decodes_the_three_kinds_of_revert() {
        let msg =
            Revert::from("DelegationManager.registerAsOperator: operator has already registered");
        assert_eq!(
            decode_revert(&msg.abi_encode().into()),
            "DelegationManager.registerAsOperator: operator has already registered"
        );
        let panic = Panic {
            code: alloy::primitives::U256::from(0x11),
        };
        assert_eq!(decode_revert(&panic.abi_encode().into()), "panic code 0x11");
        let custom = mach_contracts::MachServiceManager::NotInAllowlist {};
        assert_eq!(
            decode_revert(&custom.abi_encode().into()),
            "custom error NotInAllowlist()"
        );
        assert!(decode_revert(&Bytes::from(vec![1, 2, 3, 4])).starts_with("unknown custom error"));
        assert_eq!(decode_revert(&Bytes::new()), "reverted without a reason");
    }
}
