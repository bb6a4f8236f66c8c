//! OP Stack rules on hand-built blocks. Every expected value (gas, fees, balances, roots, base
//! fees) is derived here from the OP Stack and EIP specifications, not taken from the validator.

use std::collections::BTreeMap;

use alloy_consensus::{
    proofs::calculate_transaction_root, Block, BlockBody, Header, Receipt, ReceiptWithBloom,
    Sealed, SignableTransaction, TxEip1559, EMPTY_OMMER_ROOT_HASH,
};
use alloy_eips::{eip2930::AccessList, eip4895::Withdrawals, Encodable2718};
use alloy_primitives::{keccak256, Address, Bloom, Bytes, TxKind, B256, U256};
use alloy_trie::{HashBuilder, Nibbles, TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY};
use mach_verifier::{
    header::validate_header,
    op::{BASE_FEE_VAULT, L1_ATTRIBUTES_DEPOSITOR, L1_BLOCK, L1_FEE_VAULT, SEQUENCER_FEE_VAULT},
    validate_block, BlockError, ChainBlock, ChainRules, InMemoryState,
};
use op_alloy_consensus::{OpDepositReceipt, OpReceiptEnvelope, OpTxEnvelope, TxDeposit};

const HOLOCENE_TIME: u64 = 1_000_000;
const CHAIN_ID: u64 = 1868;
/// Pre-Canyon EIP-1559 denominator, Canyon denominator and elasticity of the test chain.
const DENOMINATOR: u64 = 50;
const DENOMINATOR_CANYON: u64 = 250;
const ELASTICITY: u64 = 6;

/// An OP Stack chain at Ecotone from genesis (Fjord left out so the L1 fee is the Ecotone
/// formula), Holocene at `HOLOCENE_TIME`.
fn rules(canyon: bool) -> ChainRules {
    let canyon_fields = if canyon {
        r#""shanghaiTime": 0, "canyonTime": 0, "cancunTime": 0, "ecotoneTime": 0,"#
    } else {
        ""
    };
    let json = format!(
        r#"{{"config": {{
            "chainId": {CHAIN_ID}, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
            "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0, "petersburgBlock": 0,
            "istanbulBlock": 0, "muirGlacierBlock": 0, "berlinBlock": 0, "londonBlock": 0,
            "arrowGlacierBlock": 0, "grayGlacierBlock": 0, "mergeNetsplitBlock": 0,
            "bedrockBlock": 0, "regolithTime": 0, {canyon_fields}
            "holoceneTime": {HOLOCENE_TIME}, "terminalTotalDifficulty": 0,
            "optimism": {{"eip1559Elasticity": {ELASTICITY}, "eip1559Denominator": {DENOMINATOR},
                          "eip1559DenominatorCanyon": {DENOMINATOR_CANYON}}}
        }}}}"#
    );
    ChainRules::from_genesis_json(&json).unwrap()
}

// ----- values from the specifications -------------------------------------------------------

/// EIP-1559 next base fee, written out from the EIP.
fn eip1559_next(
    parent_base_fee: u64,
    parent_gas_used: u64,
    parent_gas_limit: u64,
    denominator: u64,
    elasticity: u64,
) -> u64 {
    let target = parent_gas_limit / elasticity;
    let (base, used, target, denominator) = (
        u128::from(parent_base_fee),
        u128::from(parent_gas_used),
        u128::from(target),
        u128::from(denominator),
    );
    if used == target {
        parent_base_fee
    } else if used > target {
        let delta = (base * (used - target) / target / denominator).max(1);
        (base + delta) as u64
    } else {
        let delta = base * (target - used) / target / denominator;
        (base - delta) as u64
    }
}

/// Intrinsic gas of a call without access list: 21000 + 4 per zero byte + 16 per other byte.
fn intrinsic_gas(data: &[u8]) -> u64 {
    21_000
        + data
            .iter()
            .map(|b| if *b == 0 { 4 } else { 16 })
            .sum::<u64>()
}

/// Ecotone L1 data fee: (zeros*4 + ones*16) * (16*l1BaseFee*baseFeeScalar +
/// l1BlobBaseFee*blobBaseFeeScalar) / 16e6, over the EIP-2718 encoded transaction.
fn ecotone_l1_fee(
    tx: &[u8],
    l1_base_fee: u64,
    base_fee_scalar: u32,
    blob_base_fee: u64,
    blob_base_fee_scalar: u32,
) -> U256 {
    let data_gas: u64 = tx.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum();
    let scaled = U256::from(16u64) * U256::from(l1_base_fee) * U256::from(base_fee_scalar)
        + U256::from(blob_base_fee) * U256::from(blob_base_fee_scalar);
    U256::from(data_gas) * scaled / U256::from(16_000_000u64)
}

/// Holocene extra data: version 0, denominator and elasticity as big-endian u32.
fn holocene_extra(denominator: u32, elasticity: u32) -> Bytes {
    let mut v = vec![0u8];
    v.extend_from_slice(&denominator.to_be_bytes());
    v.extend_from_slice(&elasticity.to_be_bytes());
    v.into()
}

// ----- an independent Merkle-Patricia state root --------------------------------------------

struct Acc {
    nonce: u64,
    balance: U256,
    code: Bytes,
    storage: BTreeMap<U256, U256>,
}

fn acc(nonce: u64, balance: U256) -> Acc {
    Acc {
        nonce,
        balance,
        code: Bytes::new(),
        storage: BTreeMap::new(),
    }
}

fn root_of(mut leaves: Vec<(B256, Vec<u8>)>) -> B256 {
    if leaves.is_empty() {
        return EMPTY_ROOT_HASH;
    }
    leaves.sort();
    let mut hb = HashBuilder::default();
    for (k, v) in &leaves {
        hb.add_leaf(Nibbles::unpack(k), v);
    }
    hb.root()
}

fn expected_state_root(accounts: &BTreeMap<Address, Acc>) -> B256 {
    root_of(
        accounts
            .iter()
            .map(|(address, a)| {
                let storage_root = root_of(
                    a.storage
                        .iter()
                        .filter(|(_, v)| !v.is_zero())
                        .map(|(k, v)| (keccak256(B256::from(*k)), alloy_rlp::encode(v)))
                        .collect(),
                );
                let code_hash = if a.code.is_empty() {
                    KECCAK_EMPTY
                } else {
                    keccak256(&a.code)
                };
                (
                    keccak256(address),
                    alloy_rlp::encode(TrieAccount::new(
                        a.nonce,
                        a.balance,
                        storage_root,
                        code_hash,
                    )),
                )
            })
            .collect(),
    )
}

fn to_state(accounts: &BTreeMap<Address, Acc>) -> InMemoryState {
    let mut state = InMemoryState::new();
    for (address, a) in accounts {
        state.insert_account(
            *address,
            a.nonce,
            a.balance,
            a.code.clone(),
            a.storage.clone(),
        );
    }
    state
}

// ----- the test chain -----------------------------------------------------------------------

const L1_BASE_FEE: u64 = 30_000_000_000;
const L1_BLOB_BASE_FEE: u64 = 2_000_000;
const BASE_FEE_SCALAR: u32 = 1_368;
const BLOB_BASE_FEE_SCALAR: u32 = 810_949;
const GAS_LIMIT: u64 = 30_000_000;
const GENESIS_BASE_FEE: u64 = 1_000_000_000;

fn signing_key() -> k256::ecdsa::SigningKey {
    k256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap()
}

fn sender() -> Address {
    Address::from_private_key(&signing_key())
}

/// Genesis accounts: L1Block (one STOP byte of code, so that calling it does nothing and it is
/// not an EIP-161 empty account) with the Ecotone fee parameters in its storage (slot 1 L1 base
/// fee, slot 3 the scalars packed as baseFeeScalar << 96 | blobBaseFeeScalar << 64 |
/// sequenceNumber, slot 7 L1 blob base fee), and a funded user.
fn genesis_accounts() -> BTreeMap<Address, Acc> {
    let scalars = (U256::from(BASE_FEE_SCALAR) << 96) | (U256::from(BLOB_BASE_FEE_SCALAR) << 64);
    let mut accounts = BTreeMap::new();
    accounts.insert(
        L1_BLOCK,
        Acc {
            nonce: 0,
            balance: U256::ZERO,
            code: Bytes::from_static(&[0x00]),
            storage: BTreeMap::from([
                (U256::from(1), U256::from(L1_BASE_FEE)),
                (U256::from(3), scalars),
                (U256::from(7), U256::from(L1_BLOB_BASE_FEE)),
            ]),
        },
    );
    accounts.insert(sender(), acc(0, U256::from(10u128.pow(18))));
    accounts
}

fn genesis_header(state_root: B256) -> Header {
    Header {
        number: 0,
        timestamp: 1_000,
        gas_limit: GAS_LIMIT,
        gas_used: 0,
        base_fee_per_gas: Some(GENESIS_BASE_FEE),
        state_root,
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        beneficiary: SEQUENCER_FEE_VAULT,
        ..Default::default()
    }
}

/// The Ecotone L1 attributes calldata: selector setL1BlockValuesEcotone() then the packed
/// fields (164 bytes in all).
fn l1_info_calldata() -> Bytes {
    let mut data = vec![0x44, 0x0a, 0x5e, 0x20];
    data.extend_from_slice(&BASE_FEE_SCALAR.to_be_bytes());
    data.extend_from_slice(&BLOB_BASE_FEE_SCALAR.to_be_bytes());
    data.extend_from_slice(&0u64.to_be_bytes()); // sequence number
    data.extend_from_slice(&1_700_000_000u64.to_be_bytes()); // L1 timestamp
    data.extend_from_slice(&19_000_000u64.to_be_bytes()); // L1 number
    data.extend_from_slice(&B256::from(U256::from(L1_BASE_FEE)).0);
    data.extend_from_slice(&B256::from(U256::from(L1_BLOB_BASE_FEE)).0);
    data.extend_from_slice(&[0xab; 32]); // L1 block hash
    data.extend_from_slice(&[0xcd; 32]); // batcher hash
    assert_eq!(data.len(), 164);
    data.into()
}

fn l1_info_deposit() -> OpTxEnvelope {
    OpTxEnvelope::Deposit(Sealed::new(TxDeposit {
        source_hash: B256::repeat_byte(0x01),
        from: L1_ATTRIBUTES_DEPOSITOR,
        to: TxKind::Call(L1_BLOCK),
        mint: 0,
        value: U256::ZERO,
        gas_limit: 1_000_000,
        is_system_transaction: false,
        input: l1_info_calldata(),
    }))
}

const TRANSFER_VALUE: u64 = 1_000;
const MAX_FEE: u128 = 2_000_000_000;
const PRIORITY_FEE: u128 = 1_000_000_000;
const RECIPIENT: Address = Address::repeat_byte(0x77);

fn user_transfer() -> OpTxEnvelope {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: MAX_FEE,
        max_priority_fee_per_gas: PRIORITY_FEE,
        to: TxKind::Call(RECIPIENT),
        value: U256::from(TRANSFER_VALUE),
        access_list: AccessList::default(),
        input: Bytes::new(),
    };
    let (sig, recid) = signing_key()
        .sign_prehash_recoverable(tx.signature_hash().as_slice())
        .unwrap();
    OpTxEnvelope::Eip1559(tx.into_signed((sig, recid).into()))
}

fn deposit_receipt(cumulative: u64, deposit_nonce: u64) -> OpReceiptEnvelope {
    OpReceiptEnvelope::Deposit(ReceiptWithBloom::new(
        OpDepositReceipt {
            inner: Receipt {
                status: true.into(),
                cumulative_gas_used: cumulative,
                logs: vec![],
            },
            deposit_nonce: Some(deposit_nonce),
            // Canyon: deposit receipts carry version 1.
            deposit_receipt_version: Some(1),
        },
        Bloom::ZERO,
    ))
}

fn block(
    parent: &Header,
    transactions: Vec<OpTxEnvelope>,
    fill: impl FnOnce(&mut Header),
) -> ChainBlock {
    let mut header = Header {
        parent_hash: parent.hash_slow(),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: SEQUENCER_FEE_VAULT,
        transactions_root: calculate_transaction_root(&transactions),
        number: parent.number + 1,
        gas_limit: GAS_LIMIT,
        timestamp: parent.timestamp + 2,
        mix_hash: B256::repeat_byte(0x42),
        base_fee_per_gas: Some(eip1559_next(
            parent.base_fee_per_gas.unwrap(),
            parent.gas_used,
            parent.gas_limit,
            DENOMINATOR_CANYON,
            ELASTICITY,
        )),
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::repeat_byte(0x99)),
        ..Default::default()
    };
    fill(&mut header);
    let block = Block {
        header,
        body: BlockBody {
            transactions,
            ommers: vec![],
            withdrawals: Some(Withdrawals::default()),
        },
    };
    // Round-trip through RLP so decoding is part of what is tested.
    let rlp = alloy_rlp::encode(&block);
    ChainBlock::decode(&rules(true), &rlp).unwrap()
}

// ----- tests --------------------------------------------------------------------------------

#[test]
fn deposit_only_block_is_accepted_with_spec_derived_gas_receipts_and_state() {
    let rules = rules(true);
    let accounts = genesis_accounts();
    let genesis = genesis_header(expected_state_root(&accounts));
    let pre = to_state(&accounts);
    assert_eq!(pre.state_root(), genesis.state_root);

    // Regolith: a non-system deposit uses (and reports) its actual gas; calling code that
    // stops at once costs the intrinsic gas. The depositor's nonce goes 0 -> 1; no fees move.
    let deposit_gas = intrinsic_gas(&l1_info_calldata());
    let mut post = genesis_accounts();
    post.insert(L1_ATTRIBUTES_DEPOSITOR, acc(1, U256::ZERO));
    let receipts = vec![deposit_receipt(deposit_gas, 0)];

    let good = block(&genesis, vec![l1_info_deposit()], |h| {
        h.gas_used = deposit_gas;
        h.receipts_root = alloy_consensus::proofs::calculate_receipt_root(&receipts);
        h.state_root = expected_state_root(&post);
    });
    let parent = Sealed::new(genesis.clone());
    let valid = validate_block(&rules, &parent, &pre, &good, None).unwrap();
    assert_eq!(valid.state_root, expected_state_root(&post));
    assert_eq!(valid.gas_used, deposit_gas);
    // Nothing in the L2ToL1MessagePasser: its storage root is the empty root.
    assert_eq!(valid.message_passer_storage_root, Some(EMPTY_ROOT_HASH));

    // The same block claiming the deposit cost nothing to the depositor nonce: state root.
    let wrong_root = block(&genesis, vec![l1_info_deposit()], |h| {
        h.gas_used = deposit_gas;
        h.receipts_root = alloy_consensus::proofs::calculate_receipt_root(&receipts);
        h.state_root = genesis.state_root;
    });
    match validate_block(&rules, &parent, &pre, &wrong_root, None) {
        Err(BlockError::StateRoot { expected, got, .. }) => {
            assert_eq!(expected, expected_state_root(&post));
            assert_eq!(got, genesis.state_root);
        }
        other => panic!("expected a state root rejection, got {other:?}"),
    }

    // Claiming the deposit's gas limit as gas used (pre-Regolith accounting) is rejected.
    let wrong_gas = block(&genesis, vec![l1_info_deposit()], |h| {
        h.gas_used = 1_000_000;
        h.receipts_root = alloy_consensus::proofs::calculate_receipt_root(&receipts);
        h.state_root = expected_state_root(&post);
    });
    match validate_block(&rules, &parent, &pre, &wrong_gas, None) {
        Err(BlockError::GasUsed { expected, got }) => {
            assert_eq!((expected, got), (deposit_gas, 1_000_000))
        }
        other => panic!("expected a gas used rejection, got {other:?}"),
    }
}

#[test]
fn l1_info_transaction_sets_the_l1_data_fee_and_fees_go_to_the_vaults() {
    let rules = rules(true);
    let accounts = genesis_accounts();
    let genesis = genesis_header(expected_state_root(&accounts));
    let pre = to_state(&accounts);
    let parent = Sealed::new(genesis.clone());

    let transfer = user_transfer();
    let deposit_gas = intrinsic_gas(&l1_info_calldata());
    let base_fee = u128::from(eip1559_next(
        GENESIS_BASE_FEE,
        0,
        GAS_LIMIT,
        DENOMINATOR_CANYON,
        ELASTICITY,
    ));
    let priority = PRIORITY_FEE.min(MAX_FEE - base_fee);
    let l1_fee = ecotone_l1_fee(
        &transfer.encoded_2718(),
        L1_BASE_FEE,
        BASE_FEE_SCALAR,
        L1_BLOB_BASE_FEE,
        BLOB_BASE_FEE_SCALAR,
    );
    assert!(l1_fee > U256::ZERO);

    let mut post = genesis_accounts();
    post.insert(L1_ATTRIBUTES_DEPOSITOR, acc(1, U256::ZERO));
    let start = U256::from(10u128.pow(18));
    let spent = U256::from(TRANSFER_VALUE) + U256::from(21_000 * (base_fee + priority)) + l1_fee;
    post.insert(sender(), acc(1, start - spent));
    post.insert(RECIPIENT, acc(0, U256::from(TRANSFER_VALUE)));
    // OP Stack: base fee to the BaseFeeVault (not burnt), L1 data fee to the L1FeeVault,
    // priority fee to the block's coinbase.
    post.insert(BASE_FEE_VAULT, acc(0, U256::from(21_000 * base_fee)));
    post.insert(L1_FEE_VAULT, acc(0, l1_fee));
    post.insert(SEQUENCER_FEE_VAULT, acc(0, U256::from(21_000 * priority)));

    let receipts = vec![
        deposit_receipt(deposit_gas, 0),
        OpReceiptEnvelope::Eip1559(ReceiptWithBloom::new(
            Receipt {
                status: true.into(),
                cumulative_gas_used: deposit_gas + 21_000,
                logs: vec![],
            },
            Bloom::ZERO,
        )),
    ];
    let receipts_root = alloy_consensus::proofs::calculate_receipt_root(&receipts);
    let good = block(&genesis, vec![l1_info_deposit(), transfer.clone()], |h| {
        h.gas_used = deposit_gas + 21_000;
        h.receipts_root = receipts_root;
        h.state_root = expected_state_root(&post);
    });
    let valid = validate_block(&rules, &parent, &pre, &good, None).unwrap();
    assert_eq!(valid.state_root, expected_state_root(&post));

    // A block that charges no L1 data fee (the state an execution without L1 info gives).
    let mut no_l1_fee = genesis_accounts();
    no_l1_fee.insert(L1_ATTRIBUTES_DEPOSITOR, acc(1, U256::ZERO));
    no_l1_fee.insert(sender(), acc(1, start - (spent - l1_fee)));
    no_l1_fee.insert(RECIPIENT, acc(0, U256::from(TRANSFER_VALUE)));
    no_l1_fee.insert(BASE_FEE_VAULT, acc(0, U256::from(21_000 * base_fee)));
    no_l1_fee.insert(SEQUENCER_FEE_VAULT, acc(0, U256::from(21_000 * priority)));
    let unpaid = block(&genesis, vec![l1_info_deposit(), transfer.clone()], |h| {
        h.gas_used = deposit_gas + 21_000;
        h.receipts_root = receipts_root;
        h.state_root = expected_state_root(&no_l1_fee);
    });
    assert!(matches!(
        validate_block(&rules, &parent, &pre, &unpaid, None),
        Err(BlockError::StateRoot { .. })
    ));

    // Without the L1 attributes deposit first, the block is invalid whatever it commits to.
    let missing = block(&genesis, vec![transfer.clone()], |h| h.gas_used = 21_000);
    match validate_block(&rules, &parent, &pre, &missing, None) {
        Err(BlockError::OpBody(reason)) => assert!(reason.contains("L1 attributes"), "{reason}"),
        other => panic!("expected an OP body rejection, got {other:?}"),
    }
    // A deposit after a user transaction is invalid.
    let late = block(
        &genesis,
        vec![l1_info_deposit(), transfer, l1_info_deposit()],
        |_| {},
    );
    assert!(matches!(
        validate_block(&rules, &parent, &pre, &late, None),
        Err(BlockError::OpBody(_))
    ));
    // An L1 info deposit from someone else than the depositor account is invalid.
    let OpTxEnvelope::Deposit(d) = l1_info_deposit() else {
        unreachable!()
    };
    let mut forged = d.into_inner();
    forged.from = Address::repeat_byte(0x66);
    let forged = block(
        &genesis,
        vec![OpTxEnvelope::Deposit(Sealed::new(forged))],
        |_| {},
    );
    assert!(matches!(
        validate_block(&rules, &parent, &pre, &forged, None),
        Err(BlockError::OpBody(_))
    ));
}

fn parent_at(timestamp: u64, gas_used: u64, base_fee: u64, extra: Bytes) -> Header {
    Header {
        number: 10,
        timestamp,
        gas_limit: GAS_LIMIT,
        gas_used,
        base_fee_per_gas: Some(base_fee),
        extra_data: extra,
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        ..Default::default()
    }
}

fn child_of(parent: &Header, base_fee: u64, extra: Bytes) -> Header {
    Header {
        parent_hash: parent.hash_slow(),
        number: parent.number + 1,
        timestamp: parent.timestamp + 2,
        gas_limit: GAS_LIMIT,
        base_fee_per_gas: Some(base_fee),
        extra_data: extra,
        ..parent_at(0, 0, 0, Bytes::new())
    }
}

#[test]
fn base_fee_follows_canyon_parameters() {
    let rules = rules(true);
    // Parent used 20M of 30M: above the 5M target (elasticity 6), so the fee rises.
    let parent = parent_at(5_000, 20_000_000, 1_000_000_000, Bytes::new());
    let canyon = eip1559_next(
        1_000_000_000,
        20_000_000,
        GAS_LIMIT,
        DENOMINATOR_CANYON,
        ELASTICITY,
    );
    let pre_canyon = eip1559_next(
        1_000_000_000,
        20_000_000,
        GAS_LIMIT,
        DENOMINATOR,
        ELASTICITY,
    );
    assert_eq!(canyon, 1_000_000_000 + 1_000_000_000 * 15 / 5 / 250);
    validate_header(
        &rules,
        &parent,
        parent.hash_slow(),
        &child_of(&parent, canyon, Bytes::new()),
    )
    .unwrap();
    match validate_header(
        &rules,
        &parent,
        parent.hash_slow(),
        &child_of(&parent, pre_canyon, Bytes::new()),
    ) {
        Err(BlockError::BaseFee { expected, got }) => {
            assert_eq!((expected, got), (Some(canyon), Some(pre_canyon)))
        }
        other => panic!("expected a base fee rejection, got {other:?}"),
    }

    // On a chain without Canyon (no Shanghai either) the pre-Canyon denominator applies.
    let bedrock = rules_without_canyon_fields();
    let parent = Header {
        withdrawals_root: None,
        blob_gas_used: None,
        excess_blob_gas: None,
        parent_beacon_block_root: None,
        ..parent
    };
    let child = Header {
        parent_hash: parent.hash_slow(),
        withdrawals_root: None,
        blob_gas_used: None,
        excess_blob_gas: None,
        parent_beacon_block_root: None,
        ..child_of(&parent, pre_canyon, Bytes::new())
    };
    validate_header(&bedrock, &parent, parent.hash_slow(), &child).unwrap();
}

fn rules_without_canyon_fields() -> ChainRules {
    rules(false)
}

#[test]
fn base_fee_follows_holocene_parameters_from_the_parent_extra_data() {
    let rules = rules(true);
    // A Holocene parent announcing denominator 8 and elasticity 2: target 15M of 30M; the
    // parent used 20M, so the fee rises by base * 5M / 15M / 8.
    let parent = parent_at(
        HOLOCENE_TIME + 10,
        20_000_000,
        1_000_000_000,
        holocene_extra(8, 2),
    );
    let expected = eip1559_next(1_000_000_000, 20_000_000, GAS_LIMIT, 8, 2);
    assert_eq!(expected, 1_000_000_000 + 1_000_000_000 * 5 / 15 / 8);
    let child = child_of(&parent, expected, holocene_extra(8, 2));
    validate_header(&rules, &parent, parent.hash_slow(), &child).unwrap();
    // The chain's Canyon parameters are not what applies any more.
    let canyon = eip1559_next(
        1_000_000_000,
        20_000_000,
        GAS_LIMIT,
        DENOMINATOR_CANYON,
        ELASTICITY,
    );
    match validate_header(
        &rules,
        &parent,
        parent.hash_slow(),
        &child_of(&parent, canyon, holocene_extra(8, 2)),
    ) {
        Err(BlockError::BaseFee { expected: e, got }) => {
            assert_eq!((e, got), (Some(expected), Some(canyon)))
        }
        other => panic!("expected a base fee rejection, got {other:?}"),
    }
    // Zero parameters in the parent mean the chain's Canyon parameters.
    let zero_parent = parent_at(
        HOLOCENE_TIME + 10,
        20_000_000,
        1_000_000_000,
        holocene_extra(0, 0),
    );
    validate_header(
        &rules,
        &zero_parent,
        zero_parent.hash_slow(),
        &child_of(&zero_parent, canyon, holocene_extra(0, 0)),
    )
    .unwrap();

    // A Holocene block must carry the 9-byte encoding, version 0.
    for bad in [
        Bytes::new(),
        Bytes::from(vec![1u8, 0, 0, 0, 8, 0, 0, 0, 2]),
        Bytes::from(vec![0u8; 10]),
    ] {
        match validate_header(
            &rules,
            &parent,
            parent.hash_slow(),
            &child_of(&parent, expected, bad.clone()),
        ) {
            Err(BlockError::ExtraData(_)) => {}
            other => panic!("extra data {bad} should be rejected, got {other:?}"),
        }
    }

    // The activation block: its parent is pre-Holocene, so the Canyon parameters set the fee,
    // and the block itself already carries the Holocene extra data.
    let before = parent_at(HOLOCENE_TIME - 1, 20_000_000, 1_000_000_000, Bytes::new());
    let first = Header {
        timestamp: HOLOCENE_TIME + 1,
        ..child_of(&before, canyon, holocene_extra(8, 2))
    };
    validate_header(&rules, &before, before.hash_slow(), &first).unwrap();
}

#[test]
fn op_stack_forbids_the_ethereum_gas_limit_bound_but_not_the_gas_used_limit() {
    let rules = rules(true);
    let parent = parent_at(5_000, 0, 1_000_000_000, Bytes::new());
    let fee = eip1559_next(1_000_000_000, 0, GAS_LIMIT, DENOMINATOR_CANYON, ELASTICITY);
    // The system config may change the gas limit by any amount between blocks.
    let doubled = Header {
        gas_limit: 2 * GAS_LIMIT,
        ..child_of(&parent, fee, Bytes::new())
    };
    validate_header(&rules, &parent, parent.hash_slow(), &doubled).unwrap();
    let over = Header {
        gas_used: GAS_LIMIT + 1,
        ..child_of(&parent, fee, Bytes::new())
    };
    assert!(matches!(
        validate_header(&rules, &parent, parent.hash_slow(), &over),
        Err(BlockError::GasUsedOverLimit { .. })
    ));
}
