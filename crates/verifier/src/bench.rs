//! Measuring how fast blocks are validated: a synthetic Ethereum (Cancun) block range held in
//! memory (ETH transfers and calls to a counter contract that reads, writes and logs), and real
//! OP Stack blocks re-validated from their execution witnesses ([`validate_real_block`]).

use std::time::{Duration, Instant};

use alloy_consensus::{
    proofs::{calculate_transaction_root, calculate_withdrawals_root},
    transaction::Recovered,
    Block, BlockBody, Header, Sealed, SignableTransaction, TxEip1559, TxEnvelope,
    EMPTY_OMMER_ROOT_HASH,
};
use alloy_eips::{eip2930::AccessList, eip4895::Withdrawals};
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_trie::EMPTY_ROOT_HASH;

use crate::{
    chain::ChainRules,
    error::BlockError,
    execute::execute_ethereum,
    header::{expected_base_fee, expected_excess_blob_gas},
    state::{InMemoryState, PreState},
    validate::{validate_block, ChainBlock},
};

/// Counter contract: `sstore(caller, sload(caller) + 1)` then `log1(0, 0, caller)`.
const COUNTER_CODE: [u8; 14] = [
    0x33, 0x54, 0x60, 0x01, 0x01, 0x33, 0x55, 0x33, 0x60, 0x00, 0x60, 0x00, 0xa1, 0x00,
];
const COUNTER: Address = Address::repeat_byte(0xc0);
const GAS_LIMIT: u64 = 30_000_000;

/// Shape of the generated block range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeSpec {
    /// Number of blocks after genesis.
    pub blocks: usize,
    /// Transactions per block; every second one calls the counter contract.
    pub txs_per_block: usize,
    /// Distinct senders, used round-robin.
    pub senders: usize,
}

/// A generated chain: genesis header and state, then the blocks in order.
#[derive(Debug, Clone)]
pub struct BlockRange {
    /// Rules the range was built for (Cancun from genesis).
    pub rules: ChainRules,
    /// Genesis header, sealed.
    pub genesis: Sealed<Header>,
    /// Genesis state.
    pub state: InMemoryState,
    /// Blocks after genesis, each the child of the one before.
    pub blocks: Vec<ChainBlock>,
}

/// Timings of one pass over a range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// Blocks validated.
    pub blocks: usize,
    /// Transactions in them.
    pub transactions: usize,
    /// Gas used by them.
    pub gas: u64,
    /// Time spent validating (header rules, roots, senders, execution, state root).
    pub elapsed: Duration,
}

impl Measurement {
    /// Millions of gas per second.
    pub fn mgas_per_second(&self) -> f64 {
        self.gas as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn key(i: usize) -> Result<k256::ecdsa::SigningKey, BlockError> {
    let mut bytes = [0u8; 32];
    bytes[24..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    k256::ecdsa::SigningKey::from_slice(&bytes).map_err(|e| BlockError::Internal(e.to_string()))
}

/// Builds a valid range: each block is executed once to fill in gas used, receipts root, logs
/// bloom and state root.
pub fn generate(spec: RangeSpec) -> Result<BlockRange, BlockError> {
    let rules =
        ChainRules::ethereum_network("Cancun").map_err(|e| BlockError::Internal(e.to_string()))?;
    let keys: Vec<_> = (0..spec.senders.max(1))
        .map(key)
        .collect::<Result<_, _>>()?;
    let addresses: Vec<Address> = keys.iter().map(Address::from_private_key).collect();
    let mut state = InMemoryState::new();
    for address in &addresses {
        state.insert_account(
            *address,
            0,
            U256::from(10u128.pow(24)),
            Bytes::new(),
            Default::default(),
        );
    }
    state.insert_account(
        COUNTER,
        1,
        U256::ZERO,
        Bytes::from_static(&COUNTER_CODE),
        Default::default(),
    );
    let genesis = Header {
        number: 0,
        timestamp: 1_700_000_000,
        gas_limit: GAS_LIMIT,
        base_fee_per_gas: Some(1_000_000_000),
        state_root: state.state_root(),
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        ..Default::default()
    };
    let genesis_hash = genesis.hash_slow();
    state.set_block_hash(0, genesis_hash);
    let genesis = Sealed::new_unchecked(genesis, genesis_hash);
    let start_state = state.clone();

    let mut nonces = vec![0u64; keys.len()];
    let mut parent = genesis.clone();
    let mut blocks = Vec::with_capacity(spec.blocks);
    let mut next_sender = 0usize;
    for _ in 0..spec.blocks {
        let mut transactions = Vec::with_capacity(spec.txs_per_block);
        let mut signers = Vec::with_capacity(spec.txs_per_block);
        for t in 0..spec.txs_per_block {
            let s = next_sender % keys.len();
            next_sender += 1;
            let call = t % 2 == 1;
            let tx = TxEip1559 {
                chain_id: rules.chain_id,
                nonce: nonces[s],
                gas_limit: if call { 100_000 } else { 21_000 },
                max_fee_per_gas: 100_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                to: TxKind::Call(if call {
                    COUNTER
                } else {
                    addresses[(s + 1) % addresses.len()]
                }),
                value: U256::from(if call { 0 } else { 1_000 }),
                access_list: AccessList::default(),
                input: Bytes::new(),
            };
            nonces[s] += 1;
            signers.push(addresses[s]);
            let (sig, recid) = keys[s]
                .sign_prehash_recoverable(tx.signature_hash().as_slice())
                .map_err(|e| BlockError::Internal(e.to_string()))?;
            transactions.push(TxEnvelope::Eip1559(tx.into_signed((sig, recid).into())));
        }
        let number = parent.number + 1;
        let timestamp = parent.timestamp + 12;
        let withdrawals = Withdrawals::default();
        let mut header = Header {
            parent_hash: parent.hash(),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: Address::repeat_byte(0xfe),
            transactions_root: calculate_transaction_root(&transactions),
            number,
            gas_limit: GAS_LIMIT,
            timestamp,
            mix_hash: B256::from(U256::from(number)),
            base_fee_per_gas: expected_base_fee(&rules, &parent, number, timestamp)?,
            withdrawals_root: Some(calculate_withdrawals_root(&withdrawals)),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(expected_excess_blob_gas(&rules, &parent, timestamp)),
            parent_beacon_block_root: Some(B256::from(U256::from(number))),
            ..Default::default()
        };
        let recovered: Vec<Recovered<&TxEnvelope>> = transactions
            .iter()
            .zip(&signers)
            .map(|(tx, signer)| Recovered::new_unchecked(tx, *signer))
            .collect();
        let executed = execute_ethereum(&rules, &header, &recovered, Some(&withdrawals), &state)?;
        header.gas_used = executed.gas_used;
        header.receipts_root = executed.receipts_root;
        header.logs_bloom = executed.logs_bloom;
        header.state_root = state.state_root_after(&executed.changes)?;
        state.apply(&executed.changes);
        let hash = header.hash_slow();
        state.set_block_hash(number, hash);
        blocks.push(ChainBlock::Ethereum(Block {
            header: header.clone(),
            body: BlockBody {
                transactions,
                ommers: vec![],
                withdrawals: Some(withdrawals),
            },
        }));
        parent = Sealed::new_unchecked(header, hash);
    }
    Ok(BlockRange {
        rules,
        genesis,
        state: start_state,
        blocks,
    })
}

/// Validates every block of `range` in order from its genesis state, timing only validation
/// (applying each block's changes to get the next pre-state is not counted).
pub fn validate_range(range: &BlockRange) -> Result<Measurement, BlockError> {
    let mut state = range.state.clone();
    let mut parent = range.genesis.clone();
    let mut elapsed = Duration::ZERO;
    let (mut gas, mut transactions) = (0u64, 0usize);
    for block in &range.blocks {
        let start = Instant::now();
        let valid = validate_block(&range.rules, &parent, &state, block, None)?;
        elapsed += start.elapsed();
        gas += valid.gas_used;
        if let ChainBlock::Ethereum(b) = block {
            transactions += b.body.transactions.len();
        }
        state.apply(&valid.changes);
        state.set_block_hash(block.header().number, valid.hash);
        parent = Sealed::new_unchecked(block.header().clone(), valid.hash);
    }
    Ok(Measurement {
        blocks: range.blocks.len(),
        transactions,
        gas,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn a_generated_range_validates_and_a_tampered_block_does_not() {
        let range = generate(RangeSpec {
            blocks: 3,
            txs_per_block: 6,
            senders: 4,
        })
        .unwrap();
        let m = validate_range(&range).unwrap();
        assert_eq!(m.blocks, 3);
        assert_eq!(m.transactions, 18);
        // 9 transfers at 21000 and 9 counter calls costing more.
        assert!(m.gas > 18 * 21_000, "{m:?}");

        let mut tampered = range.clone();
        if let Some(ChainBlock::Ethereum(b)) = tampered.blocks.get_mut(1) {
            b.header.state_root = B256::repeat_byte(1);
        }
        assert!(matches!(
            validate_range(&tampered),
            Err(BlockError::StateRoot { .. })
        ));
    }
}

/// One real OP Stack block re-validated from its execution witness.
#[derive(Debug, Clone)]
pub struct RealBlockMeasurement {
    /// The fixture's name (chain and block number).
    pub name: String,
    /// The chain ID.
    pub chain_id: u64,
    /// The block number.
    pub number: u64,
    /// Transactions in the block.
    pub transactions: usize,
    /// Gas the block used.
    pub gas: u64,
    /// Preimages in the witness.
    pub preimages: usize,
    /// Fastest run: reading the witness into a pre-state (hashing every preimage) and
    /// validating the block on it (header rules, roots, senders, execution, state root).
    pub elapsed: Duration,
}

impl RealBlockMeasurement {
    /// Millions of gas validated per second in the fastest run.
    pub fn mgas_per_second(&self) -> f64 {
        self.gas as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Re-validates the real block of `fixture` `runs` times, as the live verifier validates a
/// block on a node's `debug_executionWitness`, and keeps the fastest run. The block is first
/// rebuilt from the fixture's payload attributes; an error when that fails or does not give the
/// real block's hash, since only a real block is worth measuring.
pub fn validate_real_block(
    fixture: &crate::fixture::op_stack::OpBlockFixture,
    runs: u32,
) -> Result<RealBlockMeasurement, String> {
    let block = match fixture.check() {
        crate::fixture::op_stack::Outcome::Valid(block) => ChainBlock::Optimism(*block),
        other => {
            return Err(format!(
                "{}: not a valid real block: {other:?}",
                fixture.name
            ))
        }
    };
    let mut best: Option<Duration> = None;
    for _ in 0..runs.max(1) {
        let witness = crate::witness::ExecutionWitness::from_preimages(fixture.witness.clone());
        let started = Instant::now();
        let pre = crate::witness::WitnessState::new(&fixture.parent, witness);
        validate_block(
            &fixture.rules,
            &fixture.parent,
            &pre,
            &block,
            Some(fixture.expected_block_hash),
        )
        .map_err(|e| format!("{}: {e}", fixture.name))?;
        let elapsed = started.elapsed();
        best = Some(best.map_or(elapsed, |b| b.min(elapsed)));
    }
    let header = block.header();
    Ok(RealBlockMeasurement {
        name: fixture.name.clone(),
        chain_id: fixture.rules.chain_id,
        number: header.number,
        transactions: match &block {
            ChainBlock::Optimism(b) => b.body.transactions.len(),
            ChainBlock::Ethereum(b) => b.body.transactions.len(),
        },
        gas: header.gas_used,
        preimages: fixture.witness.len(),
        elapsed: best.unwrap_or_default(),
    })
}
