//! Following a rollup block by block: fetch the next block, check it links to the last
//! validated one (rewinding to the common ancestor after a reorg), validate it in the configured
//! mode with its pre-state over RPC, record progress, and report: a work proof for a valid
//! block, a queued alert for a provably invalid one (strict mode). A block that could not be
//! validated (RPC trouble, unsupported rule) is retried, never alerted.
//!
//! This covers Ethereum-format rollups; OP Stack blocks over RPC (deposit transactions) are the
//! next step.

use super::alerts::{alert, Evidence, NodeClient};
use super::config::{Mode, VerifierConfig};
use super::rpc::{Retry, RollupRpc, RpcFailure};
use super::rpc_state::RpcState;
use super::store::{BlockRef, Store, StoreError};
use crate::header::validate_header;
use crate::{validate_block, BlockError, ChainBlock, ChainRules};
use alloy_consensus::{Header, Sealed};
use alloy_primitives::B256;
use serde_json::{json, Value};
use std::sync::Arc;

/// What happened to one block.
#[derive(Debug)]
pub enum Outcome {
    /// Valid (or, in unsafe mode, linked and well-formed).
    Valid(BlockRef),
    /// Proven invalid; in strict mode with alerts enabled, an alert was queued.
    Invalid(BlockRef, BlockError),
    /// Not decided (RPC trouble, unsupported rule); retried later.
    Undecided(u64, String),
    /// The chain reorganized; progress went back to this ancestor.
    Reorg(BlockRef),
    /// Nothing new to validate.
    UpToDate,
}

/// Why following stopped.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The RPC is for another chain.
    #[error("the rollup RPC {url} is chain {got} but the genesis file is chain {expected}; fix [collector].url or --genesis-config")]
    ChainId {
        /// The endpoint.
        url: String,
        /// Genesis chain ID.
        expected: u64,
        /// RPC chain ID.
        got: u64,
    },
    /// The RPC failed beyond retries.
    #[error("rollup RPC: {0}")]
    Rpc(#[from] RpcFailure),
}

/// A follower of one rollup.
pub struct Follower {
    config: VerifierConfig,
    rules: ChainRules,
    rpc: Arc<RollupRpc>,
    store: Store,
    node: NodeClient,
    avs_name: String,
    retry: Retry,
}

impl Follower {
    /// A follower over `store`; checks the RPC serves the genesis chain. `avs_name` goes into
    /// alerts (empty when the node URL names the AVS).
    pub async fn new(
        config: VerifierConfig,
        rules: ChainRules,
        store: Store,
        avs_name: &str,
    ) -> Result<Self, FollowError> {
        let rpc = Arc::new(RollupRpc::new(
            &config.collector.url,
            config.rpc_rate(),
            std::time::Duration::from_secs(30),
        ));
        let retry = Retry::default();
        let chain_id: alloy_primitives::U64 =
            rpc.call_retrying("eth_chainId", json!([]), retry).await?;
        if chain_id.to::<u64>() != rules.chain_id {
            return Err(FollowError::ChainId {
                url: config.collector.url.clone(),
                expected: rules.chain_id,
                got: chain_id.to::<u64>(),
            });
        }
        let node = NodeClient::new(&config.operator.url);
        Ok(Self {
            config,
            rules,
            rpc,
            store,
            node,
            avs_name: avs_name.to_string(),
            retry,
        })
    }

    /// The rollup's latest block number.
    pub async fn latest(&self) -> Result<u64, FollowError> {
        let latest: alloy_primitives::U64 = self
            .rpc
            .call_retrying("eth_blockNumber", json!([]), self.retry)
            .await?;
        tracing::info!("Latest block #{latest}");
        Ok(latest.to::<u64>())
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    async fn block(&self, number: u64) -> Result<(ChainBlock, B256), String> {
        let value: Value = self
            .rpc
            .call_retrying(
                "eth_getBlockByNumber",
                json!([format!("{number:#x}"), true]),
                self.retry,
            )
            .await
            .map_err(|e| e.to_string())?;
        let block: alloy_rpc_types_eth::Block = serde_json::from_value(value)
            .map_err(|e| format!("block {number} is not a block the verifier can read: {e}"))?;
        let claimed = block.header.hash;
        let consensus = block
            .into_consensus()
            .map_transactions(|tx| tx.into_inner());
        let rlp = alloy_rlp::encode(&consensus);
        let decoded = ChainBlock::decode(&self.rules, &rlp).map_err(|e| e.to_string())?;
        Ok((decoded, claimed))
    }

    /// Validates the block after the last validated one (starting after `start` on a fresh
    /// store). Returns what happened; call again for the next block.
    pub async fn step(&self, start: u64) -> Result<Outcome, FollowError> {
        let latest: alloy_primitives::U64 = self
            .rpc
            .call_retrying("eth_blockNumber", json!([]), self.retry)
            .await?;
        let last = self.store.last_validated()?;
        let next = last.map_or(start + 1, |b| b.number + 1);
        if next > latest.to::<u64>() {
            return Ok(Outcome::UpToDate);
        }
        let (parent, parent_hash) = match self.block(next - 1).await {
            Ok(p) => p,
            Err(e) => return Ok(Outcome::Undecided(next, e)),
        };
        if let Some(last) = last {
            if parent_hash != last.hash {
                return self.rewind(last).await;
            }
        }
        let (block, claimed) = match self.block(next).await {
            Ok(b) => b,
            Err(e) => return Ok(Outcome::Undecided(next, e)),
        };
        let this = BlockRef {
            number: next,
            hash: claimed,
        };
        if block.header().parent_hash != parent_hash {
            // The node changed its chain between the two reads; ask again.
            return Ok(Outcome::Undecided(
                next,
                "the chain moved while reading".into(),
            ));
        }
        let parent_header = Sealed::new_unchecked(parent.header().clone(), parent_hash);
        let verdict = match self.config.validator.mode {
            Mode::Unsafe => unsafe_checks(&self.rules, &parent_header, &block, claimed),
            Mode::Safe | Mode::Strict => {
                let state = RpcState::new(
                    self.rpc.clone(),
                    tokio::runtime::Handle::current(),
                    next - 1,
                    parent.header().state_root,
                );
                let rules = self.rules.clone();
                let checked = block.clone();
                tokio::task::spawn_blocking(move || {
                    validate_block(&rules, &parent_header, &state, &checked, Some(claimed))
                        .map(|_| ())
                })
                .await
                .unwrap_or_else(|e| Err(BlockError::Internal(e.to_string())))
            }
        };
        match verdict {
            Ok(()) => {
                self.store.record_validated(this)?;
                tracing::info!("Validate block #{}({}) passed", this.number, this.hash);
                if self.config.operator.enable
                    && next % self.config.scheduler.verify_block_interval == 0
                {
                    self.node.work_proof(this).await;
                }
                Ok(Outcome::Valid(this))
            }
            Err(e) if e.is_verdict() => {
                tracing::error!(block = %format!("#{}({})", this.number, this.hash), rule = e.rule(), reason = %e, "invalid block");
                if self.config.sends_alerts() {
                    let queued =
                        alert(&self.avs_name, this, Evidence::InvalidBlock, &e.to_string());
                    self.store.queue_alert(&queued)?;
                    if let Err(send) = self.node.send_pending(&self.store).await {
                        tracing::warn!(error = %send, "alert queued; will retry");
                    }
                } else {
                    tracing::warn!(mode = ?self.config.validator.mode, "not alerting (mode or [operator] settings)");
                }
                // The chain goes on from the sequencer's state; so does validation.
                self.store.record_validated(this)?;
                Ok(Outcome::Invalid(this, e))
            }
            Err(e) => Ok(Outcome::Undecided(next, e.to_string())),
        }
    }

    /// Walks back from `last` to the newest validated block the node still has.
    async fn rewind(&self, last: BlockRef) -> Result<Outcome, FollowError> {
        let mut number = last.number;
        while number > 0 {
            number -= 1;
            let Some(ours) = self.store.validated_hash(number)? else {
                break;
            };
            let theirs = match self.block(number).await {
                Ok((_, hash)) => hash,
                Err(e) => return Ok(Outcome::Undecided(number, e)),
            };
            if ours == theirs {
                let ancestor = BlockRef { number, hash: ours };
                tracing::warn!(
                    from = last.number,
                    to = number,
                    "reorg: re-validating from the common ancestor"
                );
                self.store.rewind_to(ancestor)?;
                return Ok(Outcome::Reorg(ancestor));
            }
        }
        Ok(Outcome::Undecided(
            last.number,
            "reorg deeper than the validated blocks kept".into(),
        ))
    }
}

/// Unsafe mode: the block's hash, linkage and header rules only.
fn unsafe_checks(
    rules: &ChainRules,
    parent: &Sealed<Header>,
    block: &ChainBlock,
    claimed: B256,
) -> Result<(), BlockError> {
    let hash = block.header().hash_slow();
    if hash != claimed {
        return Err(BlockError::Hash {
            computed: hash,
            claimed,
        });
    }
    validate_header(rules, parent.inner(), parent.hash(), block.header())
}
