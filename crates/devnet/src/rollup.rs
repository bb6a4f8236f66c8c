//! A rollup sequencer on anvil whose every block validates strictly with MACH's verifier, under
//! a random load and transactions sent from outside, and that can play a malicious sequencer.
//!
//! [`Rollup::start`] runs anvil with `--no-mining --order fifo` and a zero base fee, prepares
//! the chain, and mines the setup block (the load's contracts). Each [`Rollup::produce`] then
//! sends one block's load and mines it with `evm_mine`; [`Rollup::inject`] changes state
//! between two blocks as no transaction did, so the next block's state root is invalid.
//! [`Rollup::genesis_json`] describes the chain's real rules to a verifier, which starts after
//! [`Rollup::setup_block`] (anvil's genesis state root is not real).
//!
//! # Blocks, and transactions from outside
//!
//! Anyone may send transactions to [`Rollup::url`] at any moment, as to a real rollup:
//! `eth_sendRawTransaction`, or `eth_sendTransaction` from an unlocked dev account (best one of
//! [`Rollup::outside_accounts`], which the load never uses, so no outside transaction races the
//! load for a nonce). anvil's pool keeps them in arrival order (`--order fifo`, nonces
//! permitting), and the next block holds them, so a block is:
//! 1. (OP Stack) the sequencer's deposits: the L1 attributes deposit, then 0 to 2 user
//!    deposits. The sequencer sends them right after mining the block before (and, for the
//!    first block, right after the setup block), so anything that arrives later comes after
//!    them;
//! 2. the load and the outside transactions, each in the order they reached anvil: outside
//!    transactions that arrived between the two blocks come before the load, which
//!    [`Rollup::produce`] sends just before mining.
//!
//! After mining, the sequencer checks that the block holds its own transactions in the order
//! sent, its deposits first, and that every other transaction comes after its deposits and is
//! not a deposit ([`RollupError::Order`] otherwise); [`Produced::external`] counts the others.
//! Deposits come from L1, through the sequencer only: an outside one (anvil takes
//! `eth_sendTransaction` with deposit fields from anyone) is dropped from the pool before the
//! block is built; one that arrives while the block is being built fails the check.
//!
//! Outside transactions' gas comes on top of the load's: [`Rollup::produce`] shrinks its load
//! by the gas limits of the outside transactions pending when it builds the block (the load is
//! capped to keep blocks at or under the gas target, see below), but cannot shrink the outside
//! transactions. Outside gas over the target, half the gas limit on Ethereum and a sixth on
//! the OP Stack (less the deposits' gas), makes the next block invalid.
//!
//! # Ethereum ([`Network::Ethereum`])
//!
//! The [`AnvilConfig::validatable`] chain: Prague from genesis, base fee zero (a fixed point of
//! the EIP-1559 rule, which anvil does not apply to block 1), one second between blocks.
//!
//! # OP Stack ([`Network::Optimism`]): what anvil does as a sequencer, and what it leaves out
//!
//! `anvil --network optimism` (1.7.1), found by running it (docs/decisions.md):
//! - It executes with op-revm at the OP hardfork given by `--hardfork` (Jovian by default).
//!   Granite is used here: it is the newest fork whose header rules anvil's blocks meet (from
//!   Holocene on, extra data must carry the EIP-1559 parameters; anvil's is empty).
//! - Base fees go to the BaseFeeVault (0x4200…0019), priority fees to the coinbase (zero
//!   address), the L1 data fee to the L1FeeVault; the L1 fee comes from the L1Block predeploy's
//!   storage, which anvil leaves empty (fee zero) unless told otherwise. Its EIP-1559
//!   parameters are OP mainnet's (denominator 250 after Canyon, elasticity 6); a zero base fee
//!   keeps the base fee at the rule's fixed point while blocks stay at or under the gas target.
//! - Deposit receipts carry the sender's nonce after the deposit, not before it as the OP Stack
//!   has it, and its receipts root commits to that: the genesis says so with the test-chain
//!   quirk `quirkDepositReceiptNonceAfter` (pinned by a test in `crates/verifier-live/tests/it/
//!   follow_op.rs`).
//! - It does not insert the L1 attributes deposit, nor order deposits first. [`Rollup`] is the
//!   sequencer that does, as above. Deposits go in with `eth_sendTransaction` and the deposit
//!   fields (`sourceHash`, `mint`, `isSystemTx`; no signature). Two deposits from one sender in
//!   one block are refused as a replacement. Asked for a pending deposit's encoding
//!   (`eth_getRawTransactionByHash`), anvil crashes; the sequencer never asks.
//! - The predeploys have no code. Stand-ins go in before block 1 (`anvil_setCode`,
//!   `anvil_setStorageAt`): L1Block stops, with the L1 fee parameters an L1 attributes deposit
//!   would have written (so users pay a real L1 data fee); the L2ToL1MessagePasser records each
//!   caller by block number, so output roots commit to a non-empty storage root.
//!
//! # anvil's state-trie deviations, and how the load avoids them
//!
//! anvil is not an exact Ethereum state machine (docs/decisions.md), so the load stays clear of:
//! - a storage slot read or written as zero becoming a zero-valued leaf of its storage trie
//!   (Ethereum's tries hold no zeros): no slot is ever cleared, every value written is
//!   non-zero, the load reads no unset slot, and every L1Block slot op-revm reads at Granite
//!   (1, 3, 7) is non-zero;
//! - empty accounts that a transaction touches, or merely reads (`BALANCE` and `EXTCODEHASH`
//!   of a fresh address both do it, measured), staying in its state trie (EIP-161 removes
//!   them): every value sent is non-zero, the L1 attributes deposit calls L1Block's stand-in
//!   (code), and the fee vaults and the coinbase, which a zero base fee and a zero L1 fee touch
//!   with nothing, hold 1 wei from before block 1 (`anvil_setBalance`);
//! - a contract created and self-destructed in one transaction (EIP-6780 deletes it): the load
//!   calls a contract deployed in the setup block that self-destructs to its caller, which since
//!   Cancun sends its balance and keeps the account;
//! - reverted contract creations: every creation has the gas to succeed;
//! - blocks over the gas target (anvil keeps the base fee at zero where EIP-1559 raises it):
//!   [`Rollup::produce`] caps its load.
//!
//! All of this is in place before the setup block, so before any block an outside transaction
//! can reach, and nothing an outside transaction can do undoes it: the fee vaults and the
//! predeploys have no code that pays out, nobody holds the coinbase's key, and the load's
//! contracts never clear what they hold.
//!
//! # What outside transactions keep a block valid
//!
//! The sequencer cannot see what an outside transaction will do, and does not try: a block
//! that holds one that runs into a deviation above is invalid to every strict verifier (its
//! state root is anvil's, not Ethereum's), exactly as if a malicious sequencer had made it.
//! Blocks stay valid with outside transactions that:
//! - transfer a non-zero value, to a fresh account or a known one, with any priority fee;
//! - call contracts that read only accounts that exist and slots that are set, and write only
//!   non-zero values (the store-and-log contract with a non-zero 32-byte word; the
//!   self-destructing contract, with or without value; on the OP Stack the
//!   L2ToL1MessagePasser stand-in);
//! - deploy contracts whose creation succeeds (enough gas, no revert) and whose init code
//!   keeps to the same rules.
//!
//! They make the block invalid when they:
//! - send a zero value to, call, or read (`BALANCE`, `EXTCODEHASH`, `EXTCODESIZE`, ...) an
//!   account that is empty: fresh, or emptied; a zero-value transfer to a fresh address is the
//!   common case;
//! - leave a storage slot they read or wrote at zero: clearing a slot, writing zero, or
//!   reading an unset slot without writing it (which most real contracts do: a mapping lookup
//!   of a missing key, an `approve(…, 0)`);
//! - create a contract that self-destructs in the same transaction, or a creation that reverts
//!   or runs out of gas;
//! - together use more than the gas target (the next block then breaks the base-fee rule).
//!
//! Other transaction kinds (blob, EIP-7702 set-code) are untested.
//!
//! # Faults
//!
//! [`Rollup::inject`] uses anvil's state-injection methods. The verifier carries the state it
//! proved and computed from block to block, so the injection shows as a state-root mismatch in
//! exactly the next block. anvil also rewrites what it serves as the previous block's state,
//! whose proofs then fail against that block's root, so a verifier that has to read it cannot
//! decide the block. The block after an injection therefore touches no account the block before
//! it did not name (a verifier that validated that block carries them all), and writes new
//! slots only in contracts whose storage the fault left alone (their proofs check against the
//! storage root the verifier carries). It holds no user deposits: the first fault injected
//! before a block drops that block's queued user deposits from anvil's pool (they were drawn
//! before anyone knew); the L1 attributes deposit stays, as it only touches what every block
//! touches. It may hold fewer load transactions than asked: none when the block before held
//! no user transaction. Hence a fault needs a validated block before it: neither the setup
//! block nor a faulty one.
//!
//! Outside transactions would break that rule, so the faulty block holds none: just before
//! mining it, the sequencer takes every outside transaction out of anvil's pool (their signed
//! encodings, `anvil_dropTransaction`), leaves the accounts with outside transactions pending
//! out of its load (so no load transaction waits on a held nonce), and sends them again right
//! after the block, after the next block's deposits: they land in the block after the faulty
//! one, which verifiers read afresh from anvil. One that reaches anvil in the few milliseconds
//! between that sweep and `evm_mine` (or that comes from an account the faulty block's load
//! uses after the sequencer looked) still lands in the faulty block; the sequencer logs a
//! warning and [`Produced::external`] counts it. If it touches an account the block before
//! did not, verifiers cannot prove that account (anvil serves the rewritten state) and leave
//! the block undecided, retrying it without end, so they stop at it (measured: `pre-state
//! unavailable`): whoever injected the fault should take a faulty block with outside
//! transactions as spoiled, and restart the devnet to get verifiers going again. Sending outside
//! transactions only from [`Rollup::outside_accounts`] or their own keys keeps the window to
//! those milliseconds.

use crate::anvil::{Anvil, AnvilConfig, AnvilError};
use alloy::primitives::{address, keccak256, Address, Bytes, B256, U256};
use alloy::providers::{Provider, ProviderBuilder, RootProvider};
use alloy::signers::local::LocalSignerError;
use mach_verifier::op::{
    BASE_FEE_VAULT, L1_ATTRIBUTES_DEPOSITOR, L1_BLOCK, L1_FEE_VAULT, L2_TO_L1_MESSAGE_PASSER,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::SystemTime;

/// Runtime of the store-and-log contract: with calldata `x`, stores `x` at slot `block.number`
/// and logs topic `x`; without calldata, reverts.
pub const STORE_AND_LOG: [u8; 21] = [
    0x36, 0x15, 0x60, 0x10, 0x57, // if calldatasize == 0 goto revert
    0x60, 0x00, 0x35, 0x80, 0x43, 0x55, // sstore(number, x)
    0x60, 0x00, 0x80, 0xa1, 0x00, // log1(0, 0, x); stop
    0x5b, 0x60, 0x00, 0x80, 0xfd, // revert(0, 0)
];

/// Runtime that self-destructs to its caller (`selfdestruct(caller)`): since Cancun (EIP-6780)
/// this sends the contract's balance and keeps the account.
pub const SELF_DESTRUCT: [u8; 2] = [0x33, 0xff];

/// Stand-in L2ToL1MessagePasser: `sstore(block.number, caller)`.
const MESSAGE_PASSER_CODE: [u8; 4] = [0x33, 0x43, 0x55, 0x00];

/// Stand-in L1Block: stops.
const L1_BLOCK_CODE: [u8; 1] = [0x00];

/// The OperatorFeeVault predeploy (Isthmus): op-revm credits it, with zero before Isthmus.
const OPERATOR_FEE_VAULT: Address = address!("0x420000000000000000000000000000000000001B");

/// The L1Block slots op-revm reads for the L1 data fee from Ecotone to Granite, with values like
/// OP mainnet's: L1 base fee (slot 1), base fee scalar and blob base fee scalar at bytes 16..20
/// and 20..24 of slot 3, L1 blob base fee (slot 7).
const L1_FEE_SLOTS: [(u64, &str); 3] = [
    (
        1,
        "0x000000000000000000000000000000000000000000000000000000003b9aca00",
    ),
    (
        3,
        "0x0000000000000000000000000000000000000558000c5fc50000000000000000",
    ),
    (
        7,
        "0x0000000000000000000000000000000000000000000000000000000000000001",
    ),
];

/// Dev accounts the load sends from (anvil's first ones, 10000 ETH each at genesis).
const DEV_ACCOUNTS: u32 = 10;
/// Unlocked dev accounts after the load's (10000 ETH each at genesis), which the load never
/// uses: for outside transactions.
const OUTSIDE_ACCOUNTS: u32 = 10;
/// Gas limit of deposits (the L1 attributes deposit included) and of [`Rollup::call`].
const DEPOSIT_GAS: u64 = 200_000;
/// Gas limit of [`Rollup::create`].
const CREATE_GAS: u64 = 500_000;
/// Most user deposits in one produced block.
const MAX_DEPOSITS: u64 = 2;
/// Gas limits of the load's transactions, by kind: each is ample for what it runs (a creation
/// that ran out of gas would revert, which anvil commits differently, see the module docs).
const TRANSFER_GAS: u64 = 21_000;
const STORE_GAS: u64 = 60_000;
const REVERT_GAS: u64 = 30_000;
const SELF_DESTRUCT_GAS: u64 = 40_000;
const PASSER_GAS: u64 = 60_000;
const LOAD_CREATE_GAS: u64 = 100_000;
/// The largest of the load's gas limits, which [`Rollup::produce`] caps its count by.
const MAX_LOAD_GAS: u64 = LOAD_CREATE_GAS;
/// Max fee per gas of every user transaction (1 gwei; the base fee stays zero).
const MAX_FEE: &str = "0x3b9aca00";

/// Which rules the rollup's blocks follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// Plain Ethereum rules through Prague (anvil's own `--hardfork prague`).
    Ethereum,
    /// An OP Stack chain at Granite (`anvil --network optimism`), with deposits.
    Optimism,
}

impl FromStr for Network {
    type Err = RollupError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ethereum" => Ok(Self::Ethereum),
            "optimism" => Ok(Self::Optimism),
            other => Err(RollupError::UnknownNetwork(other.to_string())),
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ethereum => "ethereum",
            Self::Optimism => "optimism",
        })
    }
}

/// A state change a malicious sequencer makes between two blocks ([`Rollup::inject`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// A fresh address gets a balance no transaction sent.
    Balance,
    /// The store-and-log contract gets a storage slot no transaction wrote.
    Storage,
    /// A fresh address gets code no creation deployed.
    Code,
    /// A fresh address gets a nonce no transaction used.
    Nonce,
}

impl FaultKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FaultKind; 4] = [Self::Balance, Self::Storage, Self::Code, Self::Nonce];
}

impl FromStr for FaultKind {
    type Err = RollupError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "balance" => Ok(Self::Balance),
            "storage" => Ok(Self::Storage),
            "code" => Ok(Self::Code),
            "nonce" => Ok(Self::Nonce),
            other => Err(RollupError::UnknownFault(other.to_string())),
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Balance => "balance",
            Self::Storage => "storage",
            Self::Code => "code",
            Self::Nonce => "nonce",
        })
    }
}

/// How to start a [`Rollup`].
#[derive(Clone, Debug)]
pub struct RollupConfig {
    /// The rules its blocks follow.
    pub network: Network,
    /// Its chain ID.
    pub chain_id: u64,
    /// Port anvil listens on; 0 lets the system pick a free one.
    pub port: u16,
    /// Where anvil's output goes; `None` keeps it in a temporary file that lives as long as the
    /// rollup.
    pub log_path: Option<PathBuf>,
    /// Seed of the random load and faults: the same seed sends the same transactions.
    pub seed: u64,
}

impl RollupConfig {
    /// A rollup of `network` with `chain_id` on a free port, a temporary log and seed 1.
    pub fn new(network: Network, chain_id: u64) -> Self {
        Self {
            network,
            chain_id,
            port: 0,
            log_path: None,
            seed: 1,
        }
    }
}

/// One block [`Rollup::produce`] mined.
#[derive(Clone, Debug)]
pub struct Produced {
    /// Its number.
    pub number: u64,
    /// Its hash.
    pub hash: B256,
    /// When `evm_mine` returned.
    pub produced_at: SystemTime,
    /// Transactions in it: the deposits (the L1 attributes deposit on an OP Stack chain), the
    /// load and the outside transactions.
    pub transactions: usize,
    /// Transactions in it that the sequencer did not send: those sent to [`Rollup::url`] from
    /// outside (module docs).
    pub external: usize,
    /// Gas it used.
    pub gas_used: u64,
}

/// Why the rollup could not start, mine or inject.
#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    /// anvil could not be found or started.
    #[error("cannot start the rollup's anvil: {0}")]
    Anvil(#[from] AnvilError),
    /// Not a network name.
    #[error("unknown network {0:?}: use `ethereum` or `optimism`")]
    UnknownNetwork(String),
    /// Not a fault name.
    #[error("unknown fault {0:?}: use `balance`, `storage`, `code` or `nonce`")]
    UnknownFault(String),
    /// A dev account could not be derived.
    #[error("cannot derive dev account {index} from anvil's mnemonic: {source}")]
    DevAccount {
        /// Its index.
        index: u32,
        /// Why.
        source: LocalSignerError,
    },
    /// A JSON-RPC call to anvil failed.
    #[error("{method} on the rollup's anvil at {url} failed: {message}; check that anvil still runs (log: {})", log.display())]
    Rpc {
        /// The method.
        method: String,
        /// anvil's endpoint.
        url: String,
        /// What failed.
        message: String,
        /// anvil's log file.
        log: PathBuf,
    },
    /// anvil answered something unexpected.
    #[error("{method} on the rollup's anvil answered {answer} where {expected} was expected; is the anvil at {url} the pinned version (`make setup`)?")]
    Answer {
        /// The method.
        method: String,
        /// anvil's endpoint.
        url: String,
        /// What it answered.
        answer: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The setup block did not deploy a load contract.
    #[error("setup block {number} did not deploy the {what} contract at {address}; see the anvil log {}", log.display())]
    Setup {
        /// The setup block.
        number: u64,
        /// Which contract.
        what: &'static str,
        /// Where it should be.
        address: Address,
        /// anvil's log file.
        log: PathBuf,
    },
    /// A mined block does not hold the sequencer's transactions in the order sent with its
    /// deposits first, or holds an outside transaction before its deposits, or an outside
    /// deposit.
    #[error("block {number} holds transactions {got} but the sequencer sent {sent} in that order: its own must come in that order, its deposits first, and outside transactions (never deposits) only after its deposits; anvil must run with --no-mining --order fifo and nothing else may mine or send deposits")]
    Order {
        /// The block.
        number: u64,
        /// Hashes of the transactions sent.
        sent: String,
        /// Hashes of the transactions in the block.
        got: String,
    },
    /// Deposits were given for an Ethereum rollup.
    #[error(
        "deposits need an OP Stack rollup, but this one is {0}; start it with network optimism"
    )]
    DepositsNeedOptimism(Network),
    /// A fault cannot be injected now: the block after it would not be decidable.
    #[error("cannot inject a fault now: {0}; produce a block first, so that verifiers carry its state into the faulty one")]
    InjectNotReady(&'static str),
}

/// xorshift64*: a seeded, reproducible load.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    /// A generator whose state is `seed` mixed (splitmix64), never zero.
    fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self((z ^ (z >> 31)).max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// One of `items`, which must not be empty.
    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        items.get(self.below(items.len() as u64) as usize).copied()
    }

    /// A non-zero 256-bit word.
    fn word(&mut self) -> B256 {
        let mut word = [0u8; 32];
        for chunk in word.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_be_bytes());
        }
        word[31] |= 1;
        B256::from(word)
    }

    /// A random address: fresh, in all likelihood.
    fn address(&mut self) -> Address {
        Address::from_slice(&self.word()[..20])
    }
}

/// Init code that deploys `runtime` (our runtimes are all shorter than 256 bytes).
fn init_code(runtime: &[u8]) -> Bytes {
    let len = u8::try_from(runtime.len()).unwrap_or(u8::MAX);
    // push1 len, dup1, push1 11, push1 0, codecopy; push1 0, return
    let mut code = vec![
        0x60, len, 0x80, 0x60, 0x0b, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3,
    ];
    code.extend_from_slice(runtime);
    code.into()
}

/// Init code that deploys [`STORE_AND_LOG`].
pub fn store_and_log_init() -> Bytes {
    init_code(&STORE_AND_LOG)
}

/// A user transaction for `eth_sendTransaction` (signed by anvil for its dev accounts).
fn user_tx(
    from: Address,
    to: Option<Address>,
    input: Bytes,
    value: u64,
    gas: u64,
    priority_fee: u64,
) -> Value {
    let mut tx = json!({
        "from": from, "input": input, "value": format!("{value:#x}"), "gas": format!("{gas:#x}"),
        "maxFeePerGas": MAX_FEE, "maxPriorityFeePerGas": format!("{priority_fee:#x}"),
    });
    if let Some(to) = to {
        tx["to"] = json!(to);
    }
    tx
}

/// The addresses a transaction names (`from`, `to`).
fn named(tx: &Value) -> impl Iterator<Item = Address> + '_ {
    ["from", "to"]
        .into_iter()
        .filter_map(|field| serde_json::from_value::<Address>(tx.get(field)?.clone()).ok())
}

/// The sender of a transaction request.
fn sender(tx: &Value) -> Option<Address> {
    serde_json::from_value(tx.get("from")?.clone()).ok()
}

/// A transaction the sequencer sent: the request, and the hash anvil answered.
#[derive(Clone, Debug)]
struct Sent {
    tx: Value,
    hash: B256,
}

/// A transaction in anvil's pool, as `txpool_content` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pooled {
    hash: B256,
    from: Address,
    nonce: u64,
    /// Its gas limit.
    gas: u64,
    /// Whether it is a deposit (type 0x7e).
    deposit: bool,
}

/// An outside transaction taken out of anvil's pool while a block is mined, with its signed
/// encoding, to be sent again after that block.
#[derive(Debug)]
struct Held {
    hash: B256,
    from: Address,
    nonce: u64,
    raw: Bytes,
}

/// The transactions of a `txpool_content` answer, pending and queued; `None` when it is not
/// shaped like one.
fn pool_transactions(content: &Value) -> Option<Vec<Pooled>> {
    let mut pooled = Vec::new();
    for section in ["pending", "queued"] {
        for by_nonce in content.get(section)?.as_object()?.values() {
            for tx in by_nonce.as_object()?.values() {
                pooled.push(Pooled {
                    hash: serde_json::from_value(tx.get("hash")?.clone()).ok()?,
                    from: serde_json::from_value(tx.get("from")?.clone()).ok()?,
                    nonce: hex_u64(tx.get("nonce")?)?,
                    gas: hex_u64(tx.get("gas")?)?,
                    deposit: tx.get("type").and_then(Value::as_str) == Some("0x7e"),
                });
            }
        }
    }
    Some(pooled)
}

/// How many transactions of a block, `(hash, is a deposit)` in order, the sequencer did not
/// send, when the block holds `deposits` first and in order, then `load` in the order sent
/// with transactions it did not send (none of them a deposit) among and after them. `None`
/// when it does not.
fn outside_count(block: &[(B256, bool)], deposits: &[B256], load: &[B256]) -> Option<usize> {
    let (head, rest) = block.split_at_checked(deposits.len())?;
    if !head.iter().map(|(hash, _)| hash).eq(deposits) {
        return None;
    }
    let mut load = load.iter().peekable();
    let mut outside = 0;
    for (hash, deposit) in rest {
        if load.peek() == Some(&hash) {
            load.next();
        } else if *deposit {
            return None;
        } else {
            outside += 1;
        }
    }
    load.next().is_none().then_some(outside)
}

/// One block mined by [`Rollup::mine`].
struct Mined {
    number: u64,
    hash: B256,
    produced_at: SystemTime,
    transactions: usize,
    external: usize,
    gas_used: u64,
}

/// A running rollup: anvil (killed on drop) and the sequencer that builds its blocks.
#[derive(Debug)]
pub struct Rollup {
    anvil: Anvil,
    provider: RootProvider,
    network: Network,
    dev: Vec<Address>,
    /// Unlocked dev accounts the load never uses.
    outside: Vec<Address>,
    rng: Rng,
    /// Deposits made so far: each deposit's source hash is the hash of its count.
    deposits: u64,
    store_and_log: Address,
    self_destructor: Address,
    setup_block: u64,
    /// Most load transactions a produced block holds, for the gas target.
    max_load: usize,
    /// The addresses the last block's transactions named.
    touched: BTreeSet<Address>,
    /// The next block's L1 attributes deposit (OP Stack), in anvil's pool since the last block.
    next_attributes: Option<Sent>,
    /// The next block's user deposits (OP Stack), in anvil's pool since the last block.
    next_deposits: Vec<Sent>,
    /// Faults injected since the last block.
    faults: Vec<FaultKind>,
    /// Why no fault may be injected before the next block (the last block is the setup block,
    /// or carries faults), if so.
    last_unfit: Option<&'static str>,
}

impl Rollup {
    /// Starts anvil for `config.network` (manual mining, arrival order, base fee zero), spaces
    /// block timestamps, prepares the chain (OP Stack: predeploy stand-ins, fee parameters, fee
    /// vault balances) and mines the setup block, which deploys the store-and-log and
    /// self-destructing contracts, then queues the next block's deposits (OP Stack). Every
    /// block after [`setup_block`](Self::setup_block) validates strictly, so long as the
    /// outside transactions in it keep to the rules in the module docs.
    pub async fn start(config: &RollupConfig) -> Result<Self, RollupError> {
        let mut anvil_config = AnvilConfig::validatable(config.chain_id);
        if config.network == Network::Optimism {
            anvil_config.args = [
                "--network",
                "optimism",
                "--hardfork",
                "granite",
                "--block-base-fee-per-gas",
                "0",
            ]
            .map(String::from)
            .to_vec();
        }
        anvil_config
            .args
            .extend(["--no-mining", "--order", "fifo"].map(String::from));
        anvil_config.port = config.port;
        anvil_config.log_path = config.log_path.clone();
        anvil_config.accounts = DEV_ACCOUNTS + OUTSIDE_ACCOUNTS;
        let anvil = Anvil::spawn(&anvil_config)?;
        let url = anvil.url().parse().map_err(|e| RollupError::Rpc {
            method: "connect".into(),
            url: anvil.url().to_string(),
            message: format!("{e}"),
            log: anvil.log_path().to_path_buf(),
        })?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(url);
        let mut dev = (0..DEV_ACCOUNTS + OUTSIDE_ACCOUNTS)
            .map(|index| {
                anvil
                    .dev_signer(index)
                    .map(|signer| signer.address())
                    .map_err(|source| RollupError::DevAccount { index, source })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let outside = dev.split_off(DEV_ACCOUNTS as usize);
        let deployer = dev.first().copied().unwrap_or_default();
        let mut rollup = Self {
            anvil,
            provider,
            network: config.network,
            dev,
            outside,
            rng: Rng::new(config.seed),
            deposits: 0,
            store_and_log: deployer.create(0),
            self_destructor: deployer.create(1),
            setup_block: 0,
            max_load: 0,
            touched: BTreeSet::new(),
            next_attributes: None,
            next_deposits: Vec::new(),
            faults: Vec::new(),
            last_unfit: Some("the last block is the setup block, which verifiers do not validate"),
        };
        rollup
            .anvil
            .space_timestamps()
            .await
            .map_err(|message| rollup.rpc_error("anvil_setBlockTimestampInterval", message))?;
        if rollup.network == Network::Optimism {
            rollup.prepare_op_stack().await?;
        }
        rollup.max_load = rollup.load_cap().await?;

        let setup = vec![
            rollup.create(deployer, store_and_log_init()),
            rollup.create(deployer, init_code(&SELF_DESTRUCT)),
        ];
        // The setup block's L1 attributes deposit (OP Stack); user deposits come after it.
        rollup.queue(Vec::new()).await?;
        let mined = rollup.mine(setup, Vec::new(), false).await?;
        rollup.setup_block = mined.number;
        for (what, address, runtime) in [
            ("store-and-log", rollup.store_and_log, &STORE_AND_LOG[..]),
            (
                "self-destructing",
                rollup.self_destructor,
                &SELF_DESTRUCT[..],
            ),
        ] {
            let code = rollup
                .rpc("eth_getCode", json!([address, "latest"]))
                .await?;
            if code != json!(Bytes::copy_from_slice(runtime)) {
                return Err(RollupError::Setup {
                    number: mined.number,
                    what,
                    address,
                    log: rollup.log_path().to_path_buf(),
                });
            }
        }
        tracing::info!(
            network = %rollup.network,
            chain_id = rollup.chain_id(),
            url = rollup.url(),
            setup_block = rollup.setup_block,
            max_load = rollup.max_load,
            "rollup started"
        );
        Ok(rollup)
    }

    /// The predeploy stand-ins, L1Block's fee parameters, and 1 wei for every account op-revm
    /// touches with nothing (see the module docs).
    async fn prepare_op_stack(&self) -> Result<(), RollupError> {
        for (predeploy, code) in [
            (L2_TO_L1_MESSAGE_PASSER, &MESSAGE_PASSER_CODE[..]),
            (L1_BLOCK, &L1_BLOCK_CODE[..]),
        ] {
            self.rpc(
                "anvil_setCode",
                json!([predeploy, Bytes::copy_from_slice(code)]),
            )
            .await?;
        }
        for (slot, value) in L1_FEE_SLOTS {
            self.rpc(
                "anvil_setStorageAt",
                json!([L1_BLOCK, format!("{slot:#x}"), value]),
            )
            .await?;
        }
        for touched in [
            BASE_FEE_VAULT,
            L1_FEE_VAULT,
            OPERATOR_FEE_VAULT,
            Address::ZERO,
        ] {
            self.rpc("anvil_setBalance", json!([touched, "0x1"]))
                .await?;
        }
        Ok(())
    }

    /// Most load transactions that keep a block at or under the gas target, with every
    /// deposit's gas limit reserved.
    async fn load_cap(&self) -> Result<usize, RollupError> {
        let method = "eth_getBlockByNumber";
        let latest = self.rpc(method, json!(["latest", false])).await?;
        let gas_limit = hex_u64(&latest["gasLimit"])
            .ok_or_else(|| self.answer_error(method, &latest, "a block with a gas limit"))?;
        let (elasticity, reserved) = match self.network {
            Network::Ethereum => (2, 0),
            Network::Optimism => (6, (1 + MAX_DEPOSITS) * DEPOSIT_GAS),
        };
        let budget = (gas_limit / elasticity).saturating_sub(reserved);
        Ok(usize::try_from(budget / MAX_LOAD_GAS).unwrap_or(usize::MAX))
    }

    /// The HTTP JSON-RPC endpoint, e.g. `http://127.0.0.1:38211`.
    pub fn url(&self) -> &str {
        self.anvil.url()
    }

    /// anvil's process ID.
    pub fn pid(&self) -> u32 {
        self.anvil.pid()
    }

    /// The chain ID.
    pub fn chain_id(&self) -> u64 {
        self.anvil.chain_id()
    }

    /// The rules its blocks follow.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The file anvil's output goes to.
    pub fn log_path(&self) -> &Path {
        self.anvil.log_path()
    }

    /// A geth-style `genesis.json` of the rules this chain really keeps, for a verifier's
    /// `--genesis-config`. Ethereum: every fork through Prague from genesis. OP Stack: Ethereum
    /// through Cancun and the OP Stack through Granite from genesis, OP mainnet's EIP-1559
    /// parameters, and anvil's deposit-receipt quirk (see the module docs).
    pub fn genesis_json(&self) -> String {
        match self.network {
            Network::Ethereum => self.anvil.genesis_json(),
            Network::Optimism => json!({"config": {
                "chainId": self.chain_id(), "homesteadBlock": 0, "eip150Block": 0,
                "eip155Block": 0, "eip158Block": 0, "byzantiumBlock": 0,
                "constantinopleBlock": 0, "petersburgBlock": 0, "istanbulBlock": 0,
                "berlinBlock": 0, "londonBlock": 0, "mergeNetsplitBlock": 0,
                "terminalTotalDifficulty": 0, "shanghaiTime": 0, "cancunTime": 0,
                "bedrockBlock": 0, "regolithTime": 0, "canyonTime": 0, "ecotoneTime": 0,
                "fjordTime": 0, "graniteTime": 0,
                "optimism": {"eip1559Elasticity": 6, "eip1559Denominator": 50,
                             "eip1559DenominatorCanyon": 250,
                             "quirkDepositReceiptNonceAfter": true}
            }})
            .to_string(),
        }
    }

    /// The last setup block: verifiers start validating after it (their `--start-block`).
    pub fn setup_block(&self) -> u64 {
        self.setup_block
    }

    /// Most load transactions one [`produce`](Self::produce) sends (the gas target's cap).
    pub fn max_load(&self) -> usize {
        self.max_load
    }

    /// The store-and-log contract ([`STORE_AND_LOG`]), deployed in the setup block.
    pub fn store_and_log(&self) -> Address {
        self.store_and_log
    }

    /// The contract that self-destructs to its caller ([`SELF_DESTRUCT`]), deployed in the
    /// setup block.
    pub fn self_destructor(&self) -> Address {
        self.self_destructor
    }

    /// The dev accounts the load sends from; anvil signs for them.
    pub fn dev_accounts(&self) -> &[Address] {
        &self.dev
    }

    /// Dev accounts the load never sends from nor to (anvil's 11th to 20th, 10000 ETH each at
    /// genesis; anvil signs for them): for outside transactions (`eth_sendTransaction`), which
    /// then never race the load for a nonce.
    pub fn outside_accounts(&self) -> &[Address] {
        &self.outside
    }

    /// A JSON-RPC call to anvil.
    pub async fn rpc(&self, method: &str, params: Value) -> Result<Value, RollupError> {
        self.provider
            .raw_request::<_, Value>(method.to_string().into(), params)
            .await
            .map_err(|e| self.rpc_error(method, e))
    }

    fn rpc_error(&self, method: &str, message: impl fmt::Display) -> RollupError {
        RollupError::Rpc {
            method: method.to_string(),
            url: self.url().to_string(),
            message: message.to_string(),
            log: self.log_path().to_path_buf(),
        }
    }

    fn answer_error(&self, method: &str, answer: &Value, expected: &'static str) -> RollupError {
        RollupError::Answer {
            method: method.to_string(),
            url: self.url().to_string(),
            answer: answer.to_string(),
            expected,
        }
    }

    /// A deposit from `from` (no signature: the sequencer vouches for L1) of `value` wei to
    /// `to` (a creation when `None`) with `input`, minting `mint` wei to `from` first; for
    /// [`block`](Self::block). Each has its own source hash.
    pub fn deposit(
        &mut self,
        from: Address,
        to: Option<Address>,
        mint: u64,
        value: u64,
        input: Bytes,
    ) -> Value {
        self.deposits += 1;
        let mut tx = json!({
            "from": from, "gas": format!("{DEPOSIT_GAS:#x}"), "value": format!("{value:#x}"),
            "input": input, "sourceHash": keccak256(self.deposits.to_be_bytes()),
            "mint": format!("{mint:#x}"), "isSystemTx": false,
        });
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        tx
    }

    /// A call from dev account `from` to `to` with `input` and `value` wei (gas limit 200 000,
    /// priority fee 1 wei); for [`block`](Self::block).
    pub fn call(&self, from: Address, to: Address, input: Bytes, value: u64) -> Value {
        user_tx(from, Some(to), input, value, DEPOSIT_GAS, 1)
    }

    /// A contract creation from dev account `from` with init code `code` (gas limit 500 000,
    /// priority fee 1 wei); for [`block`](Self::block).
    pub fn create(&self, from: Address, code: Bytes) -> Value {
        user_tx(from, None, code, 0, CREATE_GAS, 1)
    }

    /// Mines one block of: the L1 attributes deposit (OP Stack), `deposits`, then `txs`, in that
    /// order (the queued user deposits are dropped), and checks it; returns its number. With
    /// `deposits`, the outside transactions pending are held out of the block, so that the
    /// deposits come first, and sent again after it (module docs). The caller keeps the load
    /// clear of anvil's deviations (module docs), or gets a block verifiers find invalid.
    pub async fn block(
        &mut self,
        deposits: Vec<Value>,
        txs: Vec<Value>,
    ) -> Result<u64, RollupError> {
        if self.network == Network::Ethereum && !deposits.is_empty() {
            return Err(RollupError::DepositsNeedOptimism(self.network));
        }
        let faults = std::mem::take(&mut self.faults);
        self.drop_next_deposits().await?;
        let held = if deposits.is_empty() {
            Vec::new()
        } else {
            let pool = self.outside_pool(&[]).await?;
            let pool = self.refuse_deposits(pool).await?;
            self.hold(pool).await?
        };
        if let Err(e) = self.queue(deposits).await {
            self.release(held).await;
            return Err(e);
        }
        let mined = self.mine(txs, held, !faults.is_empty()).await?;
        self.after(&faults);
        Ok(mined.number)
    }

    /// Mines exactly one block with `txs` random load transactions (at most
    /// [`max_load`](Self::max_load), for the gas target, less the gas limits of the outside
    /// transactions pending; OP Stack: after the deposits queued since the last block, the L1
    /// attributes deposit and up to two random user deposits) and whatever outside
    /// transactions reach anvil before it (module docs). The load mixes value transfers to
    /// fresh and known accounts, storage writes with logs, reverts, contract creations, calls
    /// to the self-destructing contract and (OP Stack) to the L2ToL1MessagePasser. Then queues
    /// the next block's deposits.
    ///
    /// After [`inject`](Self::inject) the block is the invalid one: it holds no outside
    /// transaction (they are held for the next block; module docs), and its load only touches
    /// what the block before it touched: it may hold fewer transactions, none when the block
    /// before held no user transaction.
    pub async fn produce(&mut self, txs: usize) -> Result<Produced, RollupError> {
        let faults = std::mem::take(&mut self.faults);
        let pool = self.outside_pool(&[]).await?;
        let pool = self.refuse_deposits(pool).await?;
        let (load, hold) = if faults.is_empty() {
            // Outside transactions' gas comes on top of the load's, under the same target.
            let outside_gas: u64 = pool.iter().map(|tx| tx.gas).sum();
            let taken = usize::try_from(outside_gas.div_ceil(MAX_LOAD_GAS)).unwrap_or(usize::MAX);
            let count = txs.min(self.max_load.saturating_sub(taken));
            (self.random_load(count), false)
        } else {
            // Senders with outside transactions pending: held out of the block with them.
            let busy: BTreeSet<Address> = pool.iter().map(|tx| tx.from).collect();
            let count = txs.min(self.max_load);
            (self.quiet_load(count, &faults, &busy), true)
        };
        let mined = self.mine(load, Vec::new(), hold).await?;
        self.after(&faults);
        tracing::debug!(
            block = %block_ref(mined.number, mined.hash),
            transactions = mined.transactions,
            external = mined.external,
            gas_used = mined.gas_used,
            faults = ?faults,
            "produced"
        );
        Ok(Produced {
            number: mined.number,
            hash: mined.hash,
            produced_at: mined.produced_at,
            transactions: mined.transactions,
            external: mined.external,
            gas_used: mined.gas_used,
        })
    }

    /// Acts as a malicious sequencer: changes state as no transaction did (see [`FaultKind`]),
    /// so the next block ([`produce`](Self::produce)) commits to a state root verifiers find
    /// invalid. Returns what was changed, in one line. The block before must be one verifiers
    /// validated: neither the setup block nor one carrying a fault. Drops the next block's
    /// queued user deposits (module docs).
    pub async fn inject(&mut self, kind: FaultKind) -> Result<String, RollupError> {
        if let Some(reason) = self.last_unfit {
            return Err(RollupError::InjectNotReady(reason));
        }
        self.drop_next_deposits().await?;
        let description = match kind {
            FaultKind::Balance => {
                let victim = self.rng.address();
                let ether = 1 + self.rng.below(100);
                let wei = U256::from(ether) * U256::from(10u64.pow(18));
                self.rpc("anvil_setBalance", json!([victim, wei])).await?;
                format!("balance of {victim} set to {ether} ETH")
            }
            FaultKind::Storage => {
                let slot =
                    (U256::from(1 + self.rng.below(u64::MAX)) << 128) | U256::from(self.rng.next());
                let value = self.rng.word();
                let contract = self.store_and_log;
                self.rpc(
                    "anvil_setStorageAt",
                    json!([contract, B256::from(slot), value]),
                )
                .await?;
                format!("storage slot {slot:#x} of the store-and-log contract {contract} set to {value}")
            }
            FaultKind::Code => {
                let victim = self.rng.address();
                let code = Bytes::copy_from_slice(&self.rng.word()[..8]);
                self.rpc("anvil_setCode", json!([victim, code])).await?;
                format!("code of {victim} set to {code}")
            }
            FaultKind::Nonce => {
                let victim = self.rng.address();
                let nonce = 1 + self.rng.below(1000);
                self.rpc("anvil_setNonce", json!([victim, format!("{nonce:#x}")]))
                    .await?;
                format!("nonce of {victim} set to {nonce}")
            }
        };
        self.faults.push(kind);
        tracing::info!(fault = %kind, change = %description, "fault injected; the next block is invalid");
        Ok(description)
    }

    /// Records that a block carrying `faults` was mined: no fault may follow it at once.
    fn after(&mut self, faults: &[FaultKind]) {
        self.last_unfit = (!faults.is_empty()).then_some("the last block carries injected faults");
    }

    /// Up to [`MAX_DEPOSITS`] user deposits, from distinct senders (anvil's pool takes a second
    /// deposit from one sender as a replacement), each minting more than it sends.
    fn random_deposits(&mut self) -> Vec<Value> {
        let mut deposits = Vec::new();
        for i in 0..self.rng.below(MAX_DEPOSITS + 1) {
            let from = Address::repeat_byte(0x10 + 4 * i as u8 + self.rng.below(4) as u8);
            let mint = 2 + self.rng.below(1_000_000);
            let (to, input) = match self.rng.below(3) {
                0 => (
                    Address::repeat_byte(0x20 + self.rng.below(4) as u8),
                    Bytes::new(),
                ),
                1 => (self.store_and_log, self.rng.word().into()),
                _ => (L2_TO_L1_MESSAGE_PASSER, Bytes::new()),
            };
            deposits.push(self.deposit(from, Some(to), mint, mint / 2, input));
        }
        deposits
    }

    /// `count` random load transactions from the dev accounts.
    fn random_load(&mut self, count: usize) -> Vec<Value> {
        let kinds = match self.network {
            Network::Ethereum => 7,
            Network::Optimism => 8,
        };
        let mut txs = Vec::with_capacity(count);
        for _ in 0..count {
            let from = self.rng.pick(&self.dev).unwrap_or_default();
            let priority = 1 + self.rng.below(100);
            let value = 1 + self.rng.below(1000);
            let tx = match self.rng.below(kinds) {
                0 => {
                    let fresh = self.rng.address();
                    user_tx(
                        from,
                        Some(fresh),
                        Bytes::new(),
                        value,
                        TRANSFER_GAS,
                        priority,
                    )
                }
                1 => {
                    let known = match self.rng.below(2) {
                        0 => self.rng.pick(&self.dev).unwrap_or_default(),
                        _ => Address::repeat_byte(0x30 + self.rng.below(4) as u8),
                    };
                    user_tx(
                        from,
                        Some(known),
                        Bytes::new(),
                        value,
                        TRANSFER_GAS,
                        priority,
                    )
                }
                2 | 3 => {
                    let word = self.rng.word();
                    let to = Some(self.store_and_log);
                    user_tx(from, to, word.into(), 0, STORE_GAS, priority)
                }
                // No calldata: the store-and-log contract reverts.
                4 => {
                    let to = Some(self.store_and_log);
                    user_tx(from, to, Bytes::new(), 0, REVERT_GAS, priority)
                }
                5 => {
                    let to = Some(self.self_destructor);
                    user_tx(from, to, Bytes::new(), value, SELF_DESTRUCT_GAS, priority)
                }
                6 => {
                    let code = store_and_log_init();
                    user_tx(from, None, code, 0, LOAD_CREATE_GAS, priority)
                }
                _ => {
                    let to = Some(L2_TO_L1_MESSAGE_PASSER);
                    let value = 1 + self.rng.below(100);
                    user_tx(from, to, Bytes::new(), value, PASSER_GAS, priority)
                }
            };
            txs.push(tx);
        }
        txs
    }

    /// Up to `count` load transactions that touch only accounts the last block's transactions
    /// named, and no storage of the contract a [`FaultKind::Storage`] fault changed: what a
    /// verifier carries from the last block answers all this block's reads, so it never asks
    /// anvil's rewritten state (module docs). None is sent from `busy`, the accounts with
    /// outside transactions pending, which are held out of the block with their nonces.
    fn quiet_load(
        &mut self,
        count: usize,
        faults: &[FaultKind],
        busy: &BTreeSet<Address>,
    ) -> Vec<Value> {
        let senders: Vec<Address> = self
            .dev
            .iter()
            .filter(|a| self.touched.contains(*a) && !busy.contains(*a))
            .copied()
            .collect();
        let contracts = [
            self.store_and_log,
            self.self_destructor,
            L2_TO_L1_MESSAGE_PASSER,
            L1_BLOCK,
            L1_ATTRIBUTES_DEPOSITOR,
        ];
        let accounts: Vec<Address> = self
            .touched
            .iter()
            .filter(|a| !contracts.contains(*a))
            .copied()
            .collect();
        let mut calls = Vec::new();
        if self.touched.contains(&self.self_destructor) {
            calls.push((self.self_destructor, false, SELF_DESTRUCT_GAS));
        }
        if !faults.contains(&FaultKind::Storage) && self.touched.contains(&self.store_and_log) {
            calls.push((self.store_and_log, true, STORE_GAS));
        }
        if self.network == Network::Optimism && self.touched.contains(&L2_TO_L1_MESSAGE_PASSER) {
            calls.push((L2_TO_L1_MESSAGE_PASSER, false, PASSER_GAS));
        }
        let mut txs = Vec::new();
        if senders.is_empty() {
            return txs;
        }
        for _ in 0..count {
            let from = self.rng.pick(&senders).unwrap_or_default();
            let priority = 1 + self.rng.below(100);
            let value = 1 + self.rng.below(1000);
            let call = match self.rng.below(2) {
                0 => self.rng.pick(&calls),
                _ => None,
            };
            let tx = match (call, self.rng.pick(&accounts)) {
                (Some((to, true, gas)), _) => {
                    let word = self.rng.word();
                    user_tx(from, Some(to), word.into(), 0, gas, priority)
                }
                (Some((to, false, gas)), _) => {
                    user_tx(from, Some(to), Bytes::new(), value, gas, priority)
                }
                (None, Some(to)) => {
                    user_tx(from, Some(to), Bytes::new(), value, TRANSFER_GAS, priority)
                }
                (None, None) => continue,
            };
            txs.push(tx);
        }
        txs
    }

    /// Sends `txs` after the queued deposits and mines one block; then queues the next block's
    /// deposits, sends `held` again, and checks the block (module docs). With `sweep` (a
    /// faulty block), the outside transactions in anvil's pool are held out of the block too,
    /// but for those from `txs`' senders (holding them would leave `txs` waiting on their
    /// nonces).
    async fn mine(
        &mut self,
        txs: Vec<Value>,
        mut held: Vec<Held>,
        sweep: bool,
    ) -> Result<Mined, RollupError> {
        if self.network == Network::Optimism && self.next_attributes.is_none() {
            // Queueing failed after the last block: late now, after any outside transaction
            // that came since, which the check then refuses.
            if let Err(e) = self.queue(Vec::new()).await {
                self.release(held).await;
                return Err(e);
            }
        }
        let mut load = Vec::with_capacity(txs.len());
        let mut sent = Ok(());
        for tx in txs {
            match self.send(tx).await {
                Ok(tx) => load.push(tx),
                Err(e) => {
                    sent = Err(e);
                    break;
                }
            }
        }
        if sent.is_ok() && sweep {
            sent = self.sweep(&load).await.map(|more| held.extend(more));
        }
        if let Err(e) = sent {
            self.release(held).await;
            return Err(e);
        }
        if let Err(e) = self.rpc("evm_mine", json!([])).await {
            self.release(held).await;
            return Err(e);
        }
        let produced_at = SystemTime::now();
        let deposits: Vec<Sent> = self
            .next_attributes
            .take()
            .into_iter()
            .chain(std::mem::take(&mut self.next_deposits))
            .collect();
        let next = match self.network {
            Network::Optimism => self.random_deposits(),
            Network::Ethereum => Vec::new(),
        };
        if let Err(e) = self.queue(next).await {
            tracing::warn!(error = %e, "cannot queue the next block's deposits; they go in when it is mined, after any outside transaction that came first");
        }
        self.release(held).await;

        let method = "eth_getBlockByNumber";
        let block = self.rpc(method, json!(["latest", true])).await?;
        let in_block: Option<Vec<(B256, bool)>> = block["transactions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|tx| {
                let hash = serde_json::from_value(tx.get("hash")?.clone()).ok()?;
                Some((hash, tx.get("type").and_then(Value::as_str) == Some("0x7e")))
            })
            .collect();
        let (Some(number), Some(gas_used), Ok(hash), Some(in_block)) = (
            hex_u64(&block["number"]),
            hex_u64(&block["gasUsed"]),
            serde_json::from_value::<B256>(block["hash"].clone()),
            in_block,
        ) else {
            return Err(self.answer_error(
                method,
                &block,
                "a block with number, hash, gas used and transactions",
            ));
        };
        let deposit_hashes: Vec<B256> = deposits.iter().map(|tx| tx.hash).collect();
        let load_hashes: Vec<B256> = load.iter().map(|tx| tx.hash).collect();
        let Some(external) = outside_count(&in_block, &deposit_hashes, &load_hashes) else {
            self.last_unfit =
                Some("the last block did not hold the sequencer's transactions as sent");
            return Err(RollupError::Order {
                number,
                sent: json!([deposit_hashes, load_hashes].concat()).to_string(),
                got: json!(in_block.iter().map(|(hash, _)| hash).collect::<Vec<_>>()).to_string(),
            });
        };
        if sweep && external > 0 {
            tracing::warn!(
                block = %block_ref(number, hash),
                outside = external,
                "outside transactions reached the faulty block as it was mined; verifiers stop at it, undecided, if one touches an account the block before did not"
            );
        }
        self.touched = deposits
            .iter()
            .chain(&load)
            .flat_map(|tx| named(&tx.tx))
            .collect();
        Ok(Mined {
            number,
            hash,
            produced_at,
            transactions: in_block.len(),
            external,
            gas_used,
        })
    }

    /// Holds out of the next block the outside transactions in anvil's pool (refusing
    /// deposits), but for those from `load`'s senders, which `load` may wait on.
    async fn sweep(&self, load: &[Sent]) -> Result<Vec<Held>, RollupError> {
        let senders: BTreeSet<Address> = load.iter().filter_map(|tx| sender(&tx.tx)).collect();
        let pool = self.outside_pool(load).await?;
        let pool = self.refuse_deposits(pool).await?;
        let others = pool.into_iter().filter(|tx| !senders.contains(&tx.from));
        self.hold(others.collect()).await
    }

    /// Sends one transaction with `eth_sendTransaction`.
    async fn send(&self, tx: Value) -> Result<Sent, RollupError> {
        let method = "eth_sendTransaction";
        let answer = self.rpc(method, json!([tx])).await?;
        let hash = serde_json::from_value(answer.clone())
            .map_err(|_| self.answer_error(method, &answer, "a transaction hash"))?;
        Ok(Sent { tx, hash })
    }

    /// Queues deposits for the next block (OP Stack): sends its L1 attributes deposit, unless
    /// already queued, then `deposits`, so that they come before whatever arrives later
    /// (`--order fifo`).
    async fn queue(&mut self, deposits: Vec<Value>) -> Result<(), RollupError> {
        match self.network {
            Network::Ethereum if deposits.is_empty() => return Ok(()),
            Network::Ethereum => return Err(RollupError::DepositsNeedOptimism(self.network)),
            Network::Optimism => {}
        }
        if self.next_attributes.is_none() {
            let attributes =
                self.deposit(L1_ATTRIBUTES_DEPOSITOR, Some(L1_BLOCK), 0, 0, Bytes::new());
            self.next_attributes = Some(self.send(attributes).await?);
        }
        for deposit in deposits {
            let sent = self.send(deposit).await?;
            self.next_deposits.push(sent);
        }
        Ok(())
    }

    /// Drops the next block's queued user deposits from anvil's pool; its L1 attributes
    /// deposit stays.
    async fn drop_next_deposits(&mut self) -> Result<(), RollupError> {
        for deposit in std::mem::take(&mut self.next_deposits) {
            self.rpc("anvil_dropTransaction", json!([deposit.hash]))
                .await?;
        }
        Ok(())
    }

    /// The transactions in anvil's pool that the sequencer did not send: neither the queued
    /// deposits nor `ours`.
    async fn outside_pool(&self, ours: &[Sent]) -> Result<Vec<Pooled>, RollupError> {
        let method = "txpool_content";
        let content = self.rpc(method, json!([])).await?;
        let pooled = pool_transactions(&content).ok_or_else(|| {
            self.answer_error(
                method,
                &content,
                "pending and queued transactions by sender and nonce",
            )
        })?;
        let known: BTreeSet<B256> = self
            .next_attributes
            .iter()
            .chain(&self.next_deposits)
            .chain(ours)
            .map(|tx| tx.hash)
            .collect();
        Ok(pooled
            .into_iter()
            .filter(|tx| !known.contains(&tx.hash))
            .collect())
    }

    /// Drops the deposits among the outside transactions `pool` from anvil's pool (deposits
    /// come from L1, through the sequencer only); returns the others.
    async fn refuse_deposits(&self, pool: Vec<Pooled>) -> Result<Vec<Pooled>, RollupError> {
        let (deposits, others): (Vec<Pooled>, Vec<Pooled>) =
            pool.into_iter().partition(|tx| tx.deposit);
        for deposit in deposits {
            self.rpc("anvil_dropTransaction", json!([deposit.hash]))
                .await?;
            tracing::warn!(tx = %deposit.hash, from = %deposit.from, "outside deposit dropped: deposits come from L1, through the sequencer only");
        }
        Ok(others)
    }

    /// Takes the outside transactions `txs` (no deposits: anvil crashes when asked to encode a
    /// pending one) out of anvil's pool, with their signed encodings. All are read before any
    /// is dropped: anvil drops a transaction's successors by nonce with it.
    async fn hold(&self, txs: Vec<Pooled>) -> Result<Vec<Held>, RollupError> {
        let method = "eth_getRawTransactionByHash";
        let mut held = Vec::with_capacity(txs.len());
        for tx in txs {
            let answer = self.rpc(method, json!([tx.hash])).await?;
            if answer.is_null() {
                continue; // gone from the pool meanwhile
            }
            let raw = serde_json::from_value(answer.clone())
                .map_err(|_| self.answer_error(method, &answer, "a signed transaction"))?;
            held.push(Held {
                hash: tx.hash,
                from: tx.from,
                nonce: tx.nonce,
                raw,
            });
        }
        for index in 0..held.len() {
            if let Err(e) = self
                .rpc("anvil_dropTransaction", json!([held[index].hash]))
                .await
            {
                self.release(held).await;
                return Err(e);
            }
        }
        if !held.is_empty() {
            tracing::info!(
                held = held.len(),
                "outside transactions held out of the block being built, for the next one"
            );
        }
        Ok(held)
    }

    /// Sends `held` again, each sender's in nonce order. One anvil refuses now is lost to its
    /// sender: logged, as no error of the sequencer's.
    async fn release(&self, mut held: Vec<Held>) {
        held.sort_by_key(|tx| (tx.from, tx.nonce));
        for tx in held {
            if let Err(e) = self.rpc("eth_sendRawTransaction", json!([tx.raw])).await {
                tracing::warn!(tx = %tx.hash, from = %tx.from, error = %e, "an outside transaction held out of a block could not be sent again; it is lost");
            }
        }
    }
}

/// A block as logs show it: `#166853(0x7ddde84c…)`.
fn block_ref(number: u64, hash: B256) -> String {
    let hash = hash.to_string();
    format!("#{number}({}…)", hash.get(..10).unwrap_or(&hash))
}

/// A JSON-RPC quantity (`"0x…"`), as anvil answers `eth_blockNumber` or `txpool_status`.
pub fn hex_u64(value: &Value) -> Option<u64> {
    u64::from_str_radix(value.as_str()?.strip_prefix("0x")?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for network in [Network::Ethereum, Network::Optimism] {
            assert_eq!(network.to_string().parse::<Network>().ok(), Some(network));
        }
        for kind in FaultKind::ALL {
            assert_eq!(kind.to_string().parse::<FaultKind>().ok(), Some(kind));
        }
        assert!("arbitrum".parse::<Network>().is_err());
        assert!("gas".parse::<FaultKind>().is_err());
    }

    #[test]
    fn store_and_log_init_returns_the_runtime() {
        let init = store_and_log_init();
        assert_eq!(&init[11..], &STORE_AND_LOG[..]);
        assert_eq!(init[1] as usize, STORE_AND_LOG.len());
    }

    #[test]
    fn outside_transactions_may_follow_the_deposits_and_mingle_with_the_load() {
        let [d1, d2, l1, l2, o1, o2] = [1u8, 2, 3, 4, 5, 6].map(B256::repeat_byte);
        let (deposits, load) = ([d1, d2], [l1, l2]);
        let block = |txs: &[(B256, bool)]| outside_count(txs, &deposits, &load);
        let (d1, d2) = ((d1, true), (d2, true));
        let (l1, l2, o1, o2) = ((l1, false), (l2, false), (o1, false), (o2, false));
        assert_eq!(block(&[d1, d2, l1, l2]), Some(0));
        assert_eq!(block(&[d1, d2, o1, l1, o2, l2]), Some(2));
        assert_eq!(block(&[d1, d2, l1, l2, o1, o2]), Some(2));
        // Before or among the deposits, the deposits out of order, the load out of order or
        // missing, an outside deposit: refused.
        assert_eq!(block(&[o1, d1, d2, l1, l2]), None);
        assert_eq!(block(&[d1, o1, d2, l1, l2]), None);
        assert_eq!(block(&[d2, d1, l1, l2]), None);
        assert_eq!(block(&[d1, d2, l2, l1]), None);
        assert_eq!(block(&[d1, d2, l1]), None);
        assert_eq!(block(&[d1, d2, l1, l2, (o1.0, true)]), None);
        assert_eq!(block(&[d1]), None);
        // Ethereum: no deposits.
        assert_eq!(outside_count(&[o1, l1], &[], &[l1.0]), Some(1));
        assert_eq!(outside_count(&[], &[], &[]), Some(0));
    }

    #[test]
    fn pool_content_lists_pending_and_queued_transactions() {
        let content = json!({
            "pending": {"0x70997970c51812dc3a010c7d01b50e0d17dc79c8": {"0": {
                "type": "0x2", "nonce": "0x0", "gas": "0x5208",
                "hash": B256::repeat_byte(1), "from": Address::repeat_byte(0x70)}}},
            "queued": {"0x0000000000000000000000000000000000000011": {"3": {
                "type": "0x7e", "nonce": "0x3", "gas": "0x30d40",
                "hash": B256::repeat_byte(2), "from": Address::repeat_byte(0x11)}}}
        });
        assert_eq!(
            pool_transactions(&content),
            Some(vec![
                Pooled {
                    hash: B256::repeat_byte(1),
                    from: Address::repeat_byte(0x70),
                    nonce: 0,
                    gas: 21_000,
                    deposit: false
                },
                Pooled {
                    hash: B256::repeat_byte(2),
                    from: Address::repeat_byte(0x11),
                    nonce: 3,
                    gas: 200_000,
                    deposit: true
                },
            ])
        );
        assert_eq!(pool_transactions(&json!({"pending": {}})), None);
        assert_eq!(
            pool_transactions(&json!({"pending": {}, "queued": {}})),
            Some(vec![])
        );
    }

    #[test]
    fn random_words_are_never_zero_and_seeds_differ() {
        let mut rng = Rng::new(0);
        assert!((0..1000).all(|_| !rng.word().is_zero()));
        assert_ne!(Rng::new(1).next(), Rng::new(2).next());
    }
}
