//! The follow loop on an OP Stack rollup: `anvil --network optimism`, its real rules described
//! in the genesis below, under a random load of transfers, deposits (with mint), contract
//! deployment, storage writes, logs, reverts and L2ToL1MessagePasser writes. Every block
//! validates in strict mode; a block with a wrong state root is alerted with
//! `alert_blockMismatch`, the sequencer's output root against ours.
//!
//! What anvil does as an OP Stack sequencer, and what it leaves out (docs/decisions.md):
//! - It executes with op-revm at the OP hardfork given by `--hardfork` (Jovian by default).
//!   Granite is used here: it is the newest fork whose header rules anvil's blocks meet (from
//!   Holocene on, extra data must carry the EIP-1559 parameters; anvil's is empty).
//! - Base fees go to the BaseFeeVault (0x4200…0019), priority fees to the coinbase (zero
//!   address), the L1 data fee to the L1FeeVault; the L1 fee comes from the L1Block
//!   predeploy's storage, which anvil leaves empty (fee zero) unless told otherwise. Its
//!   EIP-1559 parameters are OP mainnet's (denominator 250 after Canyon, elasticity 6); a zero
//!   base fee keeps the base fee at the rule's fixed point.
//! - Deposit receipts carry the sender's nonce after the deposit, not before it as the OP Stack
//!   has it, and its receipts root commits to that: the genesis says so with the test-chain
//!   quirk `quirkDepositReceiptNonceAfter` (pinned by a test below).
//! - It does not insert the L1 attributes deposit, nor order deposits first. This test is the
//!   sequencer that does: each block is mined on demand (`--no-mining`, `evm_mine`) after the
//!   L1 attributes deposit, then the user deposits, then the user transactions, in arrival order
//!   (`--order fifo`). Deposits go in with `eth_sendTransaction` and the deposit fields.
//! - The predeploys have no code. Stand-ins go in before block 1 (`anvil_setCode`,
//!   `anvil_setStorageAt`): L1Block stops, with the L1 fee parameters an L1 attributes deposit
//!   would have written (so users pay a real L1 data fee); the L2ToL1MessagePasser records each
//!   caller by block number, so output roots commit to a non-empty storage root.
//! - Like plain anvil, a storage slot read or written as zero becomes a zero-valued leaf of its
//!   storage trie (Ethereum's tries hold no zeros). Every L1Block slot op-revm reads at Granite
//!   (1, 3, 7) is therefore non-zero, and the load reads no unset slot.
//! - Like plain anvil, it keeps accounts that a transaction touches but leaves empty in its
//!   state trie (EIP-161 removes them). The load never leaves a touched account empty: the L1
//!   attributes deposit calls L1Block's stand-in, every value sent is non-zero, and the fee
//!   vaults and the coinbase, which a zero base fee and a zero L1 fee touch with nothing, hold
//!   1 wei from before block 1 (`anvil_setBalance`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use alloy::providers::{Provider, ProviderBuilder, RootProvider};
use mach_devnet::{Anvil, AnvilConfig};
use mach_verifier::live::follow::Outcome;
use mach_verifier::op::{
    BASE_FEE_VAULT, L1_ATTRIBUTES_DEPOSITOR, L1_BLOCK, L1_FEE_VAULT, L2_TO_L1_MESSAGE_PASSER,
};
use mach_verifier::{output_root, BlockError};
use serde_json::{json, Value};

mod support;

const CHAIN_ID: u64 = 901;

/// The rules anvil's `--network optimism --hardfork granite` chain keeps: Ethereum through
/// Cancun and the OP Stack through Granite from genesis, OP mainnet's EIP-1559 parameters.
fn genesis() -> String {
    json!({"config": {
        "chainId": CHAIN_ID, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
        "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0, "petersburgBlock": 0,
        "istanbulBlock": 0, "berlinBlock": 0, "londonBlock": 0, "mergeNetsplitBlock": 0,
        "terminalTotalDifficulty": 0, "shanghaiTime": 0, "cancunTime": 0,
        "bedrockBlock": 0, "regolithTime": 0, "canyonTime": 0, "ecotoneTime": 0,
        "fjordTime": 0, "graniteTime": 0,
        "optimism": {"eip1559Elasticity": 6, "eip1559Denominator": 50,
                     "eip1559DenominatorCanyon": 250, "quirkDepositReceiptNonceAfter": true}
    }})
    .to_string()
}

/// Runtime of the storage-and-log contract: with calldata `x`, stores `x` at slot
/// `block.number` and logs topic `x`; without calldata, reverts.
const STORE_AND_LOG: [u8; 21] = [
    0x36, 0x15, 0x60, 0x10, 0x57, // if calldatasize == 0 goto revert
    0x60, 0x00, 0x35, 0x80, 0x43, 0x55, // sstore(number, x)
    0x60, 0x00, 0x80, 0xa1, 0x00, // log1(0, 0, x); stop
    0x5b, 0x60, 0x00, 0x80, 0xfd, // revert(0, 0)
];

/// Stand-in L2ToL1MessagePasser: `sstore(block.number, caller)`.
const MESSAGE_PASSER: [u8; 4] = [0x33, 0x43, 0x55, 0x00];

/// The OperatorFeeVault predeploy (Isthmus): op-revm credits it, with zero before Isthmus.
const OPERATOR_FEE_VAULT: Address =
    alloy::primitives::address!("0x420000000000000000000000000000000000001B");

/// Stand-in L1Block: stops.
const L1_BLOCK_CODE: [u8; 1] = [0x00];

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

/// Init code that returns [`STORE_AND_LOG`].
fn store_and_log_init() -> Bytes {
    let mut code = vec![
        0x60,
        STORE_AND_LOG.len() as u8,
        0x80,
        0x60,
        0x0b,
        0x60,
        0x00,
        0x39,
        0x60,
        0x00,
        0xf3,
    ];
    code.extend_from_slice(&STORE_AND_LOG);
    code.into()
}

/// xorshift64*: a seeded, reproducible load.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The test's sequencer: builds each block in the order an OP Stack sequencer must.
struct Sequencer {
    _anvil: Anvil,
    provider: RootProvider,
    dev: Vec<Address>,
    deposits: u64,
}

impl Sequencer {
    async fn start() -> Self {
        let mut config = AnvilConfig::new(CHAIN_ID);
        config.args = [
            "--network",
            "optimism",
            "--hardfork",
            "granite",
            "--block-base-fee-per-gas",
            "0",
            "--no-mining",
            "--order",
            "fifo",
        ]
        .map(String::from)
        .to_vec();
        let anvil = Anvil::spawn(&config).unwrap();
        anvil.space_timestamps().await.unwrap();
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(anvil.url().parse().unwrap());
        let dev = (0..5)
            .map(|i| anvil.dev_signer(i).unwrap().address())
            .collect();
        Self {
            _anvil: anvil,
            provider,
            dev,
            deposits: 0,
        }
    }

    fn url(&self) -> String {
        self._anvil.url().to_string()
    }

    async fn rpc(&self, method: &str, params: Value) -> Value {
        self.provider
            .raw_request::<_, Value>(method.to_string().into(), params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// A deposit from `from` (no signature: the sequencer vouches for L1), minting `mint`.
    fn deposit(
        &mut self,
        from: Address,
        to: Option<Address>,
        mint: u64,
        value: u64,
        input: Bytes,
    ) -> Value {
        self.deposits += 1;
        let mut tx = json!({
            "from": from, "gas": "0x30d40", "value": format!("{value:#x}"), "input": input,
            "sourceHash": keccak256(self.deposits.to_be_bytes()),
            "mint": format!("{mint:#x}"), "isSystemTx": false,
        });
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        tx
    }

    /// Mines a block of: the L1 attributes deposit, `deposits`, then `txs` (signed by anvil for
    /// its dev accounts). Returns the block number; every transaction is in it, in that order.
    async fn block(&mut self, deposits: Vec<Value>, txs: Vec<Value>) -> u64 {
        let l1_attributes =
            self.deposit(L1_ATTRIBUTES_DEPOSITOR, Some(L1_BLOCK), 0, 0, Bytes::new());
        let mut sent = Vec::new();
        for tx in std::iter::once(l1_attributes).chain(deposits).chain(txs) {
            let hash = self.rpc("eth_sendTransaction", json!([tx])).await;
            sent.push(hash);
        }
        self.rpc("evm_mine", json!([])).await;
        let number = self.provider.get_block_number().await.unwrap();
        let block = self
            .rpc(
                "eth_getBlockByNumber",
                json!([format!("{number:#x}"), false]),
            )
            .await;
        assert_eq!(block["transactions"], Value::Array(sent), "block {number}");
        number
    }

    fn call(&self, from: usize, to: Address, input: Bytes, value: u64) -> Value {
        json!({"from": self.dev[from], "to": to, "input": input, "value": format!("{value:#x}"),
               "gas": "0x30d40", "maxFeePerGas": "0x3b9aca00", "maxPriorityFeePerGas": format!("{:#x}", 1 + from)})
    }

    fn create(&self, from: usize, code: Bytes) -> Value {
        json!({"from": self.dev[from], "input": code, "gas": "0x7a120",
               "maxFeePerGas": "0x3b9aca00", "maxPriorityFeePerGas": "0x1"})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn op_stack_blocks_validate_and_a_wrong_state_root_is_an_output_root_mismatch() {
    let mut seq = Sequencer::start().await;
    for (predeploy, code) in [
        (L2_TO_L1_MESSAGE_PASSER, &MESSAGE_PASSER[..]),
        (L1_BLOCK, &L1_BLOCK_CODE[..]),
    ] {
        seq.rpc(
            "anvil_setCode",
            json!([predeploy, Bytes::copy_from_slice(code)]),
        )
        .await;
    }
    for (slot, value) in L1_FEE_SLOTS {
        seq.rpc(
            "anvil_setStorageAt",
            json!([L1_BLOCK, format!("{slot:#x}"), value]),
        )
        .await;
    }
    for touched in [
        BASE_FEE_VAULT,
        L1_FEE_VAULT,
        OPERATOR_FEE_VAULT,
        Address::ZERO,
    ] {
        seq.rpc("anvil_setBalance", json!([touched, "0x1"])).await;
    }
    // Block 1 sets up: the message passer stand-in enters its state, and the contract.
    let deploy = seq.create(0, store_and_log_init());
    let first = seq.block(Vec::new(), vec![deploy]).await;
    assert_eq!(first, 1);
    let contract = alloy::primitives::Address::create(&seq.dev[0], 0);
    assert_eq!(
        seq.provider.get_code_at(contract).await.unwrap(),
        Bytes::from_static(&STORE_AND_LOG)
    );

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("load seed {seed:#x}");
    let mut rng = Rng(seed);
    let mut created = 1;
    for _ in 0..12 {
        let mut deposits = Vec::new();
        for i in 0..rng.below(3) {
            // anvil's pool takes a second deposit from the same sender as a replacement.
            let from = Address::repeat_byte(0x10 + 4 * i as u8 + rng.below(4) as u8);
            let mint = 2 + rng.below(1_000_000);
            let input = B256::from(U256::from(rng.next())).into();
            let (to, input) = match rng.below(3) {
                0 => (
                    Some(Address::repeat_byte(0x20 + rng.below(4) as u8)),
                    Bytes::new(),
                ),
                1 => (Some(contract), input),
                _ => (Some(L2_TO_L1_MESSAGE_PASSER), Bytes::new()),
            };
            deposits.push(seq.deposit(from, to, mint, mint / 2, input));
        }
        let mut txs = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let from = rng.below(seq.dev.len() as u64) as usize;
            let tx = match rng.below(6) {
                0 => seq.call(
                    from,
                    Address::repeat_byte(0x30 + rng.below(4) as u8),
                    Bytes::new(),
                    1 + rng.below(1000),
                ),
                1 | 2 => seq.call(from, contract, B256::from(U256::from(rng.next())).into(), 0),
                // No calldata: the contract reverts.
                3 => seq.call(from, contract, Bytes::new(), 0),
                4 => seq.call(
                    from,
                    L2_TO_L1_MESSAGE_PASSER,
                    Bytes::new(),
                    1 + rng.below(100),
                ),
                _ => {
                    created += 1;
                    seq.create(from, store_and_log_init())
                }
            };
            txs.push(tx);
        }
        seq.block(deposits, txs).await;
    }
    assert!(created >= 1);

    let db = tempfile::tempdir().unwrap();
    let (follower, seen) = support::alerting_follower(&seq.url(), &genesis(), db.path()).await;

    // Blocks 2 to 13 are valid (anvil's genesis state root is not real: start after block 1).
    let mut valid = Vec::new();
    loop {
        match follower.step(1).await.unwrap() {
            Outcome::Valid(b) => valid.push(b.number),
            Outcome::UpToDate => break,
            other => panic!("unexpected {other:?} (load seed {seed:#x})"),
        }
    }
    assert_eq!(valid, (2..=13).collect::<Vec<u64>>());

    // anvil's deviation (docs/decisions.md): a slot written and cleared by init code stays in
    // its storage trie, so the block's state root is wrong. A withdrawal in the same block.
    let clears = Bytes::from_static(&[
        0x60, 0x01, 0x60, 0x05, 0x55, 0x60, 0x00, 0x60, 0x05, 0x55, 0x60, 0x0a, 0x60, 0x00, 0xf3,
    ]);
    let withdrawal = seq.call(1, L2_TO_L1_MESSAGE_PASSER, Bytes::new(), 5);
    let create = seq.create(2, clears);
    let bad = seq.block(Vec::new(), vec![withdrawal, create]).await;
    let header = seq
        .provider
        .get_block_by_number(bad.into())
        .await
        .unwrap()
        .unwrap()
        .header;
    let (expected_state, our_passer) = match follower.step(1).await.unwrap() {
        Outcome::Invalid(
            block,
            BlockError::StateRoot {
                expected,
                got,
                message_passer_storage_root,
            },
        ) => {
            assert_eq!(block.number, bad);
            assert_eq!(got, header.state_root);
            (
                expected,
                message_passer_storage_root
                    .expect("an OP Stack state root error carries our message passer root"),
            )
        }
        other => panic!("expected block {bad} invalid by its state root, got {other:?}"),
    };

    // The sequencer's output root, from its header and its message passer root.
    let proof = seq
        .rpc(
            "eth_getProof",
            json!([L2_TO_L1_MESSAGE_PASSER, [], format!("{bad:#x}")]),
        )
        .await;
    let passer: B256 = serde_json::from_value(proof["storageHash"].clone()).unwrap();
    assert_ne!(
        passer,
        alloy_trie::EMPTY_ROOT_HASH,
        "the stand-in wrote its storage"
    );
    assert_eq!(
        our_passer, passer,
        "the block's withdrawal is no part of the deviation"
    );
    let invalid = output_root(header.state_root, passer, header.hash);
    // Ours: our state root and the hash of the header that carries it.
    let mut ours = header.inner.clone();
    ours.state_root = expected_state;
    let expect = output_root(expected_state, our_passer, ours.hash_slow());

    // The next ordinary block is valid again: exactly one block is invalid.
    let transfer = seq.call(3, Address::repeat_byte(0x44), Bytes::new(), 9);
    seq.block(Vec::new(), vec![transfer]).await;
    assert!(matches!(follower.step(1).await.unwrap(), Outcome::Valid(b) if b.number == bad + 1));

    let alerts: Vec<Value> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| {
            r["method"]
                .as_str()
                .is_some_and(|m| m.starts_with("alert_"))
        })
        .cloned()
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["method"], "alert_blockMismatch");
    let params = &alerts[0]["params"][0];
    assert_eq!(params["l2_block_number"], format!("{bad:#x}"));
    assert_eq!(params["invalid_output_root"], json!(invalid));
    assert_eq!(params["expect_output_root"], json!(expect));
    assert_ne!(invalid, expect);
    assert!(follower.store().pending_alerts().unwrap().is_empty());
}

/// The deviation `quirkDepositReceiptNonceAfter` describes: anvil's deposit receipt carries the
/// depositor's nonce after the deposit; the OP Stack's carries the nonce before it. When this
/// fails, anvil has been fixed and the quirk can go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anvil_puts_the_nonce_after_the_deposit_in_deposit_receipts() {
    let mut seq = Sequencer::start().await;
    let number = seq.block(Vec::new(), Vec::new()).await;
    let receipts = seq
        .rpc("eth_getBlockReceipts", json!([format!("{number:#x}")]))
        .await;
    let nonce_after = seq
        .provider
        .get_transaction_count(L1_ATTRIBUTES_DEPOSITOR)
        .await
        .unwrap();
    assert_eq!(nonce_after, 1);
    assert_eq!(receipts[0]["depositNonce"], "0x1", "{receipts}");
}
