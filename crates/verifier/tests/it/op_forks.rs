//! The OP Stack as live chains run it: real blocks of OP Mainnet, OP Sepolia and Unichain
//! (rebuilt from their payload attributes on their execution witnesses), and Isthmus, Jovian and
//! Karst blocks built here for the purpose, accepted whole and rejected by name when one rule
//! is broken.
//!
//! Expected values are derived here from the OP Stack specifications and checked against
//! published crates where one computes them (op-alloy's extra data encoder for building, the
//! EIP-7685 empty requests hash from alloy-eips, op-revm's compressed-size estimate for the DA
//! footprint); no real Isthmus, Jovian or Karst block with its witness is available offline.

use std::{collections::BTreeMap, path::PathBuf};

use alloy_consensus::{
    transaction::SignerRecoverable, Block, Header, Sealed, SignableTransaction, TxEip1559,
    TxEip7702,
};
use alloy_eips::{
    eip1559::calc_next_block_base_fee,
    eip2930::AccessList,
    eip2935::{HISTORY_SERVE_WINDOW, HISTORY_STORAGE_ADDRESS, HISTORY_STORAGE_CODE},
    eip4895::Withdrawal,
    eip7685::EMPTY_REQUESTS_HASH,
    eip7702::Authorization,
    Encodable2718,
};
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U256};
use alloy_trie::{HashBuilder, Nibbles, EMPTY_ROOT_HASH};
use mach_verifier::{
    fixture::{
        op_stack::{OpBlockFixture, Outcome},
        run_paths,
    },
    header::JOVIAN_EXTRA_DATA_VERSION,
    op::{L1_ATTRIBUTES_DEPOSITOR, L1_BLOCK, L2_TO_L1_MESSAGE_PASSER, SEQUENCER_FEE_VAULT},
    payload::build_op_block,
    validate_block, BlockError, ChainBlock, ChainRules, InMemoryState, PreState,
};
use op_alloy_consensus::{OpTxEnvelope, TxDeposit};
use op_alloy_rpc_types_engine::OpPayloadAttributes;
use serde_json::json;

// ----- real blocks ------------------------------------------------------------------------------

fn real_blocks_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/op-stack")
}

fn real_blocks() -> Vec<OpBlockFixture> {
    let files = mach_verifier::fixture::collect_files(&real_blocks_dir()).unwrap();
    assert_eq!(files.len(), 9, "the nine vendored real blocks: {files:?}");
    files
        .iter()
        .map(|path| {
            let content = mach_verifier::fixture::read_json(path).unwrap();
            OpBlockFixture::from_json(content, path).unwrap()
        })
        .collect()
}

#[test]
fn real_blocks_rebuild_to_their_hashes_and_validate() {
    let mut lines = Vec::new();
    let summary = run_paths(&[real_blocks_dir()], |result| {
        lines.push(result.to_string())
    })
    .unwrap();
    assert_eq!(summary.to_string(), "9 passed, 0 failed", "{lines:#?}");
}

#[test]
fn a_real_block_with_a_transaction_dropped_is_rejected() {
    for mut fixture in real_blocks() {
        let transactions = fixture.attributes.transactions.as_mut().unwrap();
        assert!(transactions.len() >= 2, "{}", fixture.name);
        transactions.pop();
        match fixture.check() {
            Outcome::Invalid(reason) => assert!(
                reason.contains("hashes to") || reason.starts_with("transaction"),
                "{}: {reason}",
                fixture.name
            ),
            other => panic!("{}: {other:?}", fixture.name),
        }
    }
}

#[test]
fn a_real_block_with_other_eip1559_parameters_is_rejected() {
    for mut fixture in real_blocks() {
        // The real blocks carry (250, 6); the sequencer's block had these parameters.
        fixture.attributes.eip_1559_params = Some(alloy_primitives::B64::from_slice(&[
            0, 0, 0, 251, 0, 0, 0, 6,
        ]));
        assert!(
            matches!(fixture.check(), Outcome::Invalid(_)),
            "{}",
            fixture.name
        );
    }
}

#[test]
fn a_real_block_whose_witness_lacks_the_state_root_node_is_undecided() {
    for mut fixture in real_blocks() {
        let root = fixture.parent.state_root;
        let before = fixture.witness.len();
        fixture
            .witness
            .retain(|preimage| keccak256(preimage) != root);
        assert_eq!(fixture.witness.len(), before - 1, "{}", fixture.name);
        match fixture.check() {
            Outcome::Undecided(_) => {}
            other => panic!("{}: {other:?}", fixture.name),
        }
        // The file's expectation decides the pass.
        fixture.expect = mach_verifier::fixture::op_stack::Expect::Undecided;
        assert_eq!(fixture.run().failure, None);
    }
}

#[test]
fn a_real_block_checked_against_a_wrong_hash_fails_as_valid_expected() {
    let mut fixture = real_blocks().remove(0);
    fixture.expected_block_hash = B256::repeat_byte(0x11);
    let result = fixture.run();
    assert!(
        result.failure.as_deref().unwrap().contains("hashes to"),
        "{result:?}"
    );
    fixture.expect = mach_verifier::fixture::op_stack::Expect::Invalid;
    assert_eq!(fixture.run().failure, None);
}

// ----- a chain built for the purpose ------------------------------------------------------------

const CHAIN_ID: u64 = 901;
const GENESIS_TIME: u64 = 1_000;
const GAS_LIMIT: u64 = 30_000_000;
const GENESIS_BASE_FEE: u64 = 1_000_000_000;
const DENOMINATOR: u32 = 250;
const ELASTICITY: u32 = 6;
const L1_BASE_FEE: u64 = 30_000_000_000;
const L1_BLOB_BASE_FEE: u64 = 2_000_000;
const BASE_FEE_SCALAR: u32 = 1_368;
const BLOB_BASE_FEE_SCALAR: u32 = 810_949;
const OPERATOR_FEE_SCALAR: u32 = 7_000;
const OPERATOR_FEE_CONSTANT: u64 = 500_000_000;
/// Operator fee vault predeploy (Isthmus).
const OPERATOR_FEE_VAULT: Address = Address::new([
    0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1b,
]);
/// Contract: `CLZ(1)` stored in slot 0 (`60 01 1e 60 00 55 00`).
const CLZ: Address = Address::repeat_byte(0xc1);
/// Contracts calling the bn256 pairing precompile (0x08) with 300 and 301 pairs of points at
/// infinity (zero memory), storing the call's success in slot 0.
const PAIRING_300: Address = Address::repeat_byte(0xa3);
const PAIRING_301: Address = Address::repeat_byte(0xa4);
const RECIPIENT: Address = Address::repeat_byte(0x77);
/// EIP-7825's per-transaction gas cap (Osaka, so Karst).
const TX_GAS_LIMIT_CAP: u64 = 1 << 24;

fn signing_key() -> k256::ecdsa::SigningKey {
    k256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap()
}

fn sender() -> Address {
    Address::from_private_key(&signing_key())
}

/// Rules of the test chain: Regolith through Holocene from genesis, `later` forks (rollup-config
/// keys such as `isthmus_time`) at their times.
fn rules(later: &[(&str, u64)]) -> ChainRules {
    let mut config = json!({
        "l2_chain_id": CHAIN_ID,
        "regolith_time": 0, "canyon_time": 0, "delta_time": 0, "ecotone_time": 0,
        "fjord_time": 0, "granite_time": 0, "holocene_time": 0,
        "chain_op_config": {"eip1559Elasticity": ELASTICITY, "eip1559Denominator": 50,
                            "eip1559DenominatorCanyon": DENOMINATOR},
    });
    for (key, time) in later {
        config[*key] = json!(time);
    }
    ChainRules::from_rollup_config(&config).unwrap()
}

fn holocene() -> ChainRules {
    rules(&[])
}
fn isthmus() -> ChainRules {
    rules(&[("isthmus_time", 0)])
}
fn jovian() -> ChainRules {
    rules(&[("isthmus_time", 0), ("jovian_time", 0)])
}
fn karst() -> ChainRules {
    rules(&[("isthmus_time", 0), ("jovian_time", 0), ("karst_time", 0)])
}

fn storage_root(storage: &BTreeMap<U256, U256>) -> B256 {
    let mut leaves: Vec<(B256, Vec<u8>)> = storage
        .iter()
        .filter(|(_, v)| !v.is_zero())
        .map(|(k, v)| (keccak256(B256::from(*k)), alloy_rlp::encode(v)))
        .collect();
    if leaves.is_empty() {
        return EMPTY_ROOT_HASH;
    }
    leaves.sort();
    let mut builder = HashBuilder::default();
    for (key, value) in &leaves {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root()
}

/// Storage of the L2ToL1MessagePasser at genesis: a few sent messages, so its root is not
/// the empty root.
fn message_passer_storage() -> BTreeMap<U256, U256> {
    BTreeMap::from([
        (U256::from(0xaa), U256::from(1)),
        (U256::from(0xbb), U256::from(1)),
    ])
}

fn pairing_contract(pairs: u16) -> Bytes {
    let size = (pairs * 192).to_be_bytes();
    Bytes::from(vec![
        0x60, 0x20, // retSize 32
        0x60, 0x00, // retOffset 0
        0x61, size[0], size[1], // argsSize
        0x60, 0x00, // argsOffset 0
        0x60, 0x00, // value 0
        0x60, 0x08, // the bn256 pairing precompile
        0x5a, // GAS
        0xf1, // CALL
        0x60, 0x00, 0x55, // SSTORE(0, success)
        0x00,
    ])
}

/// Genesis state: L1Block with the Ecotone and Isthmus fee parameters and the Jovian DA
/// footprint gas scalar `da_scalar` in its storage (slot 1 L1 base fee; slot 3 the scalars;
/// slot 7 the L1 blob base fee; slot 8 the DA scalar at bytes 18..20, the operator fee scalar
/// at 20..24 and its constant at 24..32, big-endian), a funded user, the message passer with
/// storage, and the fork-probing contracts.
fn genesis_state(da_scalar: u16) -> InMemoryState {
    let scalars = (U256::from(BASE_FEE_SCALAR) << 96) | (U256::from(BLOB_BASE_FEE_SCALAR) << 64);
    let slot8 = (U256::from(da_scalar) << 96)
        | (U256::from(OPERATOR_FEE_SCALAR) << 64)
        | U256::from(OPERATOR_FEE_CONSTANT);
    let mut state = InMemoryState::new();
    state.insert_account(
        L1_BLOCK,
        0,
        U256::ZERO,
        Bytes::from_static(&[0x00]),
        BTreeMap::from([
            (U256::from(1), U256::from(L1_BASE_FEE)),
            (U256::from(3), scalars),
            (U256::from(7), U256::from(L1_BLOB_BASE_FEE)),
            (U256::from(8), slot8),
        ]),
    );
    state.insert_account(
        sender(),
        0,
        U256::from(10u128.pow(18)),
        Bytes::new(),
        BTreeMap::new(),
    );
    state.insert_account(
        L2_TO_L1_MESSAGE_PASSER,
        0,
        U256::ZERO,
        Bytes::from_static(&[0x00]),
        message_passer_storage(),
    );
    state.insert_account(
        CLZ,
        0,
        U256::ZERO,
        Bytes::from_static(&[0x60, 0x01, 0x1e, 0x60, 0x00, 0x55, 0x00]),
        BTreeMap::new(),
    );
    state.insert_account(
        HISTORY_STORAGE_ADDRESS,
        0,
        U256::ZERO,
        HISTORY_STORAGE_CODE.clone(),
        BTreeMap::new(),
    );
    state.insert_account(
        PAIRING_300,
        0,
        U256::ZERO,
        pairing_contract(300),
        BTreeMap::new(),
    );
    state.insert_account(
        PAIRING_301,
        0,
        U256::ZERO,
        pairing_contract(301),
        BTreeMap::new(),
    );
    state
}

fn op_extra_data(rules: &ChainRules, timestamp: u64, min_base_fee: u64) -> Bytes {
    use alloy_op_hardforks::OpHardforks;
    let mut extra = Vec::new();
    if rules.is_jovian_active_at_timestamp(timestamp) {
        extra.push(JOVIAN_EXTRA_DATA_VERSION);
    } else {
        extra.push(0);
    }
    extra.extend_from_slice(&DENOMINATOR.to_be_bytes());
    extra.extend_from_slice(&ELASTICITY.to_be_bytes());
    if rules.is_jovian_active_at_timestamp(timestamp) {
        extra.extend_from_slice(&min_base_fee.to_be_bytes());
    }
    extra.into()
}

/// The genesis header of the test chain under `rules`, with `min_base_fee` in its extra data
/// when Jovian is active at genesis; it used no gas.
fn genesis_header(rules: &ChainRules, state: &InMemoryState, min_base_fee: u64) -> Sealed<Header> {
    use alloy_op_hardforks::OpHardforks;
    let isthmus = rules.is_isthmus_active_at_timestamp(GENESIS_TIME);
    Sealed::new(Header {
        number: 0,
        timestamp: GENESIS_TIME,
        gas_limit: GAS_LIMIT,
        base_fee_per_gas: Some(GENESIS_BASE_FEE),
        state_root: state.state_root(),
        withdrawals_root: Some(if isthmus {
            storage_root(&message_passer_storage())
        } else {
            EMPTY_ROOT_HASH
        }),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        requests_hash: isthmus.then_some(EMPTY_REQUESTS_HASH),
        beneficiary: SEQUENCER_FEE_VAULT,
        extra_data: op_extra_data(rules, GENESIS_TIME, min_base_fee),
        ..Default::default()
    })
}

fn l1_info_deposit() -> OpTxEnvelope {
    deposit(L1_ATTRIBUTES_DEPOSITOR, L1_BLOCK, 1_000_000, 0, 0x01)
}

fn deposit(from: Address, to: Address, gas_limit: u64, mint: u128, source: u8) -> OpTxEnvelope {
    OpTxEnvelope::Deposit(Sealed::new(TxDeposit {
        source_hash: B256::repeat_byte(source),
        from,
        to: TxKind::Call(to),
        mint,
        value: U256::ZERO,
        gas_limit,
        is_system_transaction: false,
        input: Bytes::new(),
    }))
}

fn transfer(nonce: u64, gas_limit: u64) -> OpTxEnvelope {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit,
        max_fee_per_gas: 20_000_000_000,
        max_priority_fee_per_gas: 1_000_000,
        to: TxKind::Call(RECIPIENT),
        value: U256::from(1_000u64),
        access_list: AccessList::default(),
        input: Bytes::new(),
    };
    let (sig, recid) = signing_key()
        .sign_prehash_recoverable(tx.signature_hash().as_slice())
        .unwrap();
    OpTxEnvelope::Eip1559(tx.into_signed((sig, recid).into()))
}

/// An EIP-7702 transaction that delegates the sender's code to [`CLZ`].
fn set_code(nonce: u64) -> OpTxEnvelope {
    let authorization = Authorization {
        chain_id: U256::from(CHAIN_ID),
        address: CLZ,
        nonce: nonce + 1,
    };
    let (sig, recid) = signing_key()
        .sign_prehash_recoverable(authorization.signature_hash().as_slice())
        .unwrap();
    let signature: alloy_primitives::Signature = (sig, recid).into();
    let tx = TxEip7702 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 100_000,
        max_fee_per_gas: 20_000_000_000,
        max_priority_fee_per_gas: 1_000_000,
        to: RECIPIENT,
        value: U256::ZERO,
        access_list: AccessList::default(),
        authorization_list: vec![authorization.into_signed(signature)],
        input: Bytes::new(),
    };
    let (sig, recid) = signing_key()
        .sign_prehash_recoverable(tx.signature_hash().as_slice())
        .unwrap();
    OpTxEnvelope::Eip7702(tx.into_signed((sig, recid).into()))
}

/// Payload attributes for the child of `parent` with `transactions` (the L1 attributes deposit
/// is put first), as the fixtures and the Engine API write them.
fn attributes(
    rules: &ChainRules,
    parent: &Header,
    transactions: Vec<OpTxEnvelope>,
    gas_limit: u64,
    min_base_fee: u64,
) -> OpPayloadAttributes {
    use alloy_op_hardforks::OpHardforks;
    let timestamp = parent.timestamp + 2;
    let raw: Vec<Bytes> = std::iter::once(l1_info_deposit())
        .chain(transactions)
        .map(|tx| tx.encoded_2718().into())
        .collect();
    let mut attributes = json!({
        "timestamp": format!("{timestamp:#x}"),
        "prevRandao": B256::repeat_byte(0x42),
        "suggestedFeeRecipient": SEQUENCER_FEE_VAULT,
        "withdrawals": [],
        "parentBeaconBlockRoot": B256::repeat_byte(0x43),
        "transactions": raw,
        "noTxPool": true,
        "gasLimit": format!("{gas_limit:#x}"),
        "eip1559Params": "0x000000fa00000006",
    });
    if rules.is_jovian_active_at_timestamp(timestamp) {
        attributes["minBaseFee"] = json!(min_base_fee);
    }
    serde_json::from_value(attributes).unwrap()
}

struct Built {
    block: Block<OpTxEnvelope>,
    changes: mach_verifier::StateChanges,
}

/// Builds the child of `parent` and checks the validator accepts it whole.
fn build_valid(
    rules: &ChainRules,
    parent: &Sealed<Header>,
    state: &InMemoryState,
    attributes: &OpPayloadAttributes,
) -> Built {
    let block = build_op_block(rules, parent, attributes, state).unwrap();
    let valid = validate_block(
        rules,
        parent,
        state,
        &ChainBlock::Optimism(block.clone()),
        None,
    )
    .unwrap_or_else(|e| panic!("the built block must validate: {e}"));
    assert_eq!(valid.hash, block.header.hash_slow());
    Built {
        block,
        changes: valid.changes,
    }
}

/// Validates `block` with its header changed by `edit`; returns the rule it breaks.
fn broken(
    rules: &ChainRules,
    parent: &Sealed<Header>,
    state: &InMemoryState,
    block: &Block<OpTxEnvelope>,
    edit: impl FnOnce(&mut Block<OpTxEnvelope>),
) -> BlockError {
    let mut block = block.clone();
    edit(&mut block);
    validate_block(rules, parent, state, &ChainBlock::Optimism(block), None)
        .expect_err("the broken block must be rejected")
}

fn balance_after(changes: &mach_verifier::StateChanges, address: Address) -> U256 {
    changes.accounts[&address].unwrap().balance
}

fn slot_after(changes: &mach_verifier::StateChanges, address: Address) -> Option<U256> {
    changes
        .storage
        .get(&address)
        .and_then(|s| s.slots.get(&U256::ZERO))
        .copied()
}

/// Gas used by the user transactions of a block: its gas used less the L1 attributes deposit's,
/// which calls a one-byte contract with no calldata and so uses the intrinsic 21000.
fn user_gas(block: &Block<OpTxEnvelope>) -> u64 {
    block.header.gas_used - 21_000
}

/// A change to a built block, for [`broken`].
type Edit = Box<dyn FnOnce(&mut Block<OpTxEnvelope>)>;

// ----- Isthmus --------------------------------------------------------------------------------

#[test]
fn isthmus_block_is_accepted_and_each_broken_rule_is_named() {
    let rules = isthmus();
    let state = genesis_state(0);
    let parent = genesis_header(&rules, &state, 0);
    let attrs = attributes(&rules, &parent, vec![transfer(0, 21_000)], GAS_LIMIT, 0);
    let built = build_valid(&rules, &parent, &state, &attrs);
    let header = &built.block.header;

    // The requests hash of an empty request list, and the message passer's storage root.
    assert_eq!(header.requests_hash, Some(EMPTY_REQUESTS_HASH));
    assert_eq!(
        header.withdrawals_root,
        Some(storage_root(&message_passer_storage()))
    );
    assert_ne!(header.withdrawals_root, Some(EMPTY_ROOT_HASH));

    // EIP-2935 (Prague, so Isthmus): the parent's hash in the history contract's ring buffer.
    let slot = U256::from(parent.number as usize % HISTORY_SERVE_WINDOW);
    assert_eq!(
        built.changes.storage[&HISTORY_STORAGE_ADDRESS]
            .slots
            .get(&slot),
        Some(&U256::from_be_bytes(parent.hash().0))
    );
    // Before Isthmus the contract is not called.
    let holocene_parent = genesis_header(&holocene(), &state, 0);
    let pre_isthmus = build_valid(
        &holocene(),
        &holocene_parent,
        &state,
        &attributes(
            &holocene(),
            &holocene_parent,
            vec![transfer(0, 21_000)],
            GAS_LIMIT,
            0,
        ),
    );
    assert!(!pre_isthmus
        .changes
        .storage
        .contains_key(&HISTORY_STORAGE_ADDRESS));

    // Isthmus operator fee: gas used * scalar / 1e6 + constant, to the operator fee vault.
    let gas = user_gas(&built.block);
    assert_eq!(gas, 21_000);
    let fee = U256::from(gas) * U256::from(OPERATOR_FEE_SCALAR) / U256::from(1_000_000u64)
        + U256::from(OPERATOR_FEE_CONSTANT);
    assert_eq!(balance_after(&built.changes, OPERATOR_FEE_VAULT), fee);

    let rule = |edit: fn(&mut Block<OpTxEnvelope>)| {
        broken(&rules, &parent, &state, &built.block, edit).rule()
    };
    assert_eq!(rule(|b| b.header.requests_hash = None), "header_field");
    assert_eq!(
        rule(|b| b.header.requests_hash = Some(B256::repeat_byte(1))),
        "requests_hash"
    );
    assert_eq!(
        rule(|b| b.header.withdrawals_root = Some(EMPTY_ROOT_HASH)),
        "withdrawals_root"
    );
    assert_eq!(
        rule(|b| b.body.withdrawals = Some(vec![Withdrawal::default()].into())),
        "withdrawals"
    );
}

#[test]
fn set_code_transactions_are_valid_from_isthmus_on() {
    let state = genesis_state(0);
    let rules = isthmus();
    let parent = genesis_header(&rules, &state, 0);
    let attrs = attributes(&rules, &parent, vec![set_code(0)], GAS_LIMIT, 0);
    let built = build_valid(&rules, &parent, &state, &attrs);
    // The sender's code is now the EIP-7702 delegation designator to CLZ.
    let account = built.changes.accounts[&sender()].unwrap();
    let mut designator = vec![0xef, 0x01, 0x00];
    designator.extend_from_slice(CLZ.as_slice());
    assert_eq!(account.code_hash, keccak256(&designator));

    // Before Isthmus the same transaction type does not exist.
    let rules = holocene();
    let parent = genesis_header(&rules, &state, 0);
    let attrs = attributes(&rules, &parent, vec![set_code(0)], GAS_LIMIT, 0);
    let error = build_op_block(&rules, &parent, &attrs, &state).unwrap_err();
    assert_eq!(error.rule(), "transaction", "{error}");
    assert!(error.is_verdict());
}

// ----- Jovian ---------------------------------------------------------------------------------

/// The Jovian DA footprint of one transaction: max(100, (intercept + fastlzCoef * fastlzSize) /
/// 1e6) * scalar, with op-revm's estimate of the first factor.
fn da_footprint(tx: &OpTxEnvelope, scalar: u16) -> u64 {
    let estimate = op_revm::transaction::estimate_tx_compressed_size(&tx.encoded_2718());
    estimate / 1_000_000 * u64::from(scalar)
}

#[test]
fn jovian_block_is_accepted_and_each_broken_rule_is_named() {
    const DA_SCALAR: u16 = 400;
    let rules = jovian();
    let state = genesis_state(DA_SCALAR);
    let parent = genesis_header(&rules, &state, 0);
    let users = vec![transfer(0, 21_000), transfer(1, 21_000)];
    let expected_da: u64 = users.iter().map(|tx| da_footprint(tx, DA_SCALAR)).sum();
    let attrs = attributes(&rules, &parent, users, GAS_LIMIT, 123);
    let built = build_valid(&rules, &parent, &state, &attrs);
    let header = &built.block.header;

    // Blob gas used is the DA footprint of the user transactions (deposits count nothing).
    assert_eq!(header.blob_gas_used, Some(expected_da));
    assert_eq!(expected_da, 2 * 100 * u64::from(DA_SCALAR));
    // Extra data: version 1, the EIP-1559 parameters, the minimum base fee; as op-alloy reads it.
    assert_eq!(
        op_alloy_consensus::decode_jovian_extra_data(&header.extra_data).unwrap(),
        (ELASTICITY, DENOMINATOR, 123)
    );
    // Jovian operator fee: gas used * scalar * 100 + constant, per transaction.
    assert_eq!(user_gas(&built.block), 2 * 21_000);
    let fee = U256::from(2 * 21_000u64) * U256::from(OPERATOR_FEE_SCALAR) * U256::from(100u64)
        + U256::from(2 * OPERATOR_FEE_CONSTANT);
    assert_eq!(balance_after(&built.changes, OPERATOR_FEE_VAULT), fee);

    let rule = |edit: Edit| broken(&rules, &parent, &state, &built.block, edit).rule();
    assert_eq!(
        rule(Box::new(
            move |b| b.header.blob_gas_used = Some(expected_da + 1)
        )),
        "blob_gas_used"
    );
    assert_eq!(
        rule(Box::new(
            |b| b.header.blob_gas_used = Some(b.header.gas_limit + 1)
        )),
        "blob_gas_used"
    );
    assert_eq!(
        rule(Box::new(|b| b.header.blob_gas_used = Some(0))),
        "blob_gas_used"
    );
    assert_eq!(
        rule(Box::new(
            |b| b.header.extra_data = b.header.extra_data[..9].to_vec().into()
        )),
        "extra_data"
    );
    assert_eq!(
        rule(Box::new(|b| {
            let mut extra = b.header.extra_data.to_vec();
            extra[0] = 0;
            b.header.extra_data = extra.into();
        })),
        "extra_data"
    );
    assert_eq!(
        rule(Box::new(|b| {
            let mut extra = b.header.extra_data.to_vec();
            extra.push(0);
            b.header.extra_data = extra.into();
        })),
        "extra_data"
    );
    assert_eq!(
        rule(Box::new(|b| {
            let mut extra = b.header.extra_data.to_vec();
            extra[1..5].copy_from_slice(&0u32.to_be_bytes());
            b.header.extra_data = extra.into();
        })),
        "extra_data"
    );
}

/// EIP-1559 next base fee, written out from the EIP.
fn eip1559_next(parent_base_fee: u64, gas: u64, gas_limit: u64) -> u64 {
    let target = u128::from(gas_limit / u64::from(ELASTICITY));
    let (base, used, denominator) = (
        u128::from(parent_base_fee),
        u128::from(gas),
        u128::from(DENOMINATOR),
    );
    if used == target {
        parent_base_fee
    } else if used > target {
        (base + (base * (used - target) / target / denominator).max(1)) as u64
    } else {
        (base - base * (target - used) / target / denominator) as u64
    }
}

#[test]
fn jovian_base_fee_counts_the_da_footprint_and_keeps_the_minimum() {
    // A DA scalar so large that one transfer's footprint (100 * 60000 = 6M) passes the gas
    // target (30M / 6 = 5M) while its gas (21000) is far below.
    const DA_SCALAR: u16 = 60_000;
    let rules = jovian();
    let state = genesis_state(DA_SCALAR);
    let genesis = genesis_header(&rules, &state, 0);
    let attrs = attributes(&rules, &genesis, vec![transfer(0, 21_000)], GAS_LIMIT, 0);
    let first = build_valid(&rules, &genesis, &state, &attrs);
    let da = first.block.header.blob_gas_used.unwrap();
    assert_eq!(da, 6_000_000);
    assert!(first.block.header.gas_used < da);

    let mut next_state = state.clone();
    next_state.apply(&first.changes);
    let parent = Sealed::new(first.block.header.clone());
    let attrs = attributes(&rules, &parent, vec![transfer(1, 21_000)], GAS_LIMIT, 0);
    let second = build_valid(&rules, &parent, &next_state, &attrs);
    let base_fee = parent.base_fee_per_gas.unwrap();
    let by_da = eip1559_next(base_fee, da, GAS_LIMIT);
    assert!(
        by_da > base_fee,
        "the DA footprint over the target raises the base fee"
    );
    assert_eq!(second.block.header.base_fee_per_gas, Some(by_da));
    assert_eq!(
        by_da,
        calc_next_block_base_fee(
            da,
            GAS_LIMIT,
            base_fee,
            alloy_eips::eip1559::BaseFeeParams::new(250, 6)
        )
    );
    // Gas used alone (the pre-Jovian rule) would have lowered it: rejected.
    let by_gas = eip1559_next(base_fee, parent.gas_used, GAS_LIMIT);
    assert!(by_gas < base_fee);
    let error = broken(&rules, &parent, &next_state, &second.block, |b| {
        b.header.base_fee_per_gas = Some(by_gas)
    });
    assert_eq!(error.rule(), "base_fee", "{error}");

    // A parent whose extra data sets a minimum base fee above the computed one.
    const MIN_BASE_FEE: u64 = 7_000_000_000;
    let genesis = genesis_header(&rules, &state, MIN_BASE_FEE);
    let computed = eip1559_next(GENESIS_BASE_FEE, 0, GAS_LIMIT);
    assert!(computed < MIN_BASE_FEE);
    let attrs = attributes(&rules, &genesis, vec![transfer(0, 21_000)], GAS_LIMIT, 0);
    let clamped = build_valid(&rules, &genesis, &state, &attrs);
    assert_eq!(clamped.block.header.base_fee_per_gas, Some(MIN_BASE_FEE));
    let error = broken(&rules, &genesis, &state, &clamped.block, |b| {
        b.header.base_fee_per_gas = Some(computed)
    });
    assert_eq!(error.rule(), "base_fee", "{error}");
}

#[test]
fn jovian_da_footprint_over_the_gas_limit_is_rejected() {
    const DA_SCALAR: u16 = 60_000;
    let rules = jovian();
    let state = genesis_state(DA_SCALAR);
    let parent = genesis_header(&rules, &state, 0);
    // Two transfers of 6M DA footprint each do not fit a 10M gas limit.
    let attrs = attributes(
        &rules,
        &parent,
        vec![transfer(0, 21_000), transfer(1, 21_000)],
        10_000_000,
        0,
    );
    let error = build_op_block(&rules, &parent, &attrs, &state).unwrap_err();
    assert_eq!(error.rule(), "transaction", "{error}");
    assert!(error.to_string().contains("DA footprint"), "{error}");
    assert!(error.is_verdict());
}

// ----- Karst ----------------------------------------------------------------------------------

/// A block calling the CLZ and pairing contracts with deposits, built under `rules`.
fn probe_block(rules: &ChainRules, state: &InMemoryState) -> (Sealed<Header>, Built) {
    let parent = genesis_header(rules, state, 0);
    let from = Address::repeat_byte(0xde);
    let transactions = vec![
        deposit(from, CLZ, 100_000, 0, 0x02),
        deposit(from, PAIRING_300, 12_000_000, 0, 0x03),
        deposit(from, PAIRING_301, 12_000_000, 0, 0x04),
    ];
    let attrs = attributes(rules, &parent, transactions, GAS_LIMIT, 0);
    let built = build_valid(rules, &parent, state, &attrs);
    (parent, built)
}

#[test]
fn karst_brings_osaka_opcodes_and_the_smaller_pairing_limit() {
    let state = genesis_state(400);

    let (parent, karst_block) = probe_block(&karst(), &state);
    // CLZ(1) = 255 leading zero bits; 300 pairs pass the pairing precompile's input limit,
    // 301 pairs (57,792 bytes > 57,600) do not.
    assert_eq!(slot_after(&karst_block.changes, CLZ), Some(U256::from(255)));
    assert_eq!(
        slot_after(&karst_block.changes, PAIRING_300),
        Some(U256::from(1))
    );
    assert_eq!(slot_after(&karst_block.changes, PAIRING_301), None);

    let (_, jovian_block) = probe_block(&jovian(), &state);
    // Before Karst CLZ is an invalid opcode (the call fails, nothing is stored) and Jovian's
    // pairing limit (427 pairs) takes 301.
    assert_eq!(slot_after(&jovian_block.changes, CLZ), None);
    assert_eq!(
        slot_after(&jovian_block.changes, PAIRING_300),
        Some(U256::from(1))
    );
    assert_eq!(
        slot_after(&jovian_block.changes, PAIRING_301),
        Some(U256::from(1))
    );

    // The Karst block judged by Jovian rules executes differently: rejected.
    let error = validate_block(
        &jovian(),
        &parent,
        &state,
        &ChainBlock::Optimism(karst_block.block),
        None,
    )
    .unwrap_err();
    assert!(error.is_verdict(), "{error}");
}

#[test]
fn karst_caps_user_transaction_gas_but_not_deposits() {
    let state = genesis_state(400);
    let rules = karst();
    let parent = genesis_header(&rules, &state, 0);

    let over = attributes(
        &rules,
        &parent,
        vec![transfer(0, TX_GAS_LIMIT_CAP + 1)],
        GAS_LIMIT,
        0,
    );
    let error = build_op_block(&rules, &parent, &over, &state).unwrap_err();
    assert_eq!(error.rule(), "transaction", "{error}");
    assert!(error.is_verdict());
    let at_cap = attributes(
        &rules,
        &parent,
        vec![transfer(0, TX_GAS_LIMIT_CAP)],
        GAS_LIMIT,
        0,
    );
    build_valid(&rules, &parent, &state, &at_cap);
    let deposit_over = attributes(
        &rules,
        &parent,
        vec![deposit(sender(), RECIPIENT, TX_GAS_LIMIT_CAP + 1, 0, 0x05)],
        GAS_LIMIT,
        0,
    );
    build_valid(&rules, &parent, &state, &deposit_over);

    // Jovian has no cap.
    let rules = jovian();
    let parent = genesis_header(&rules, &state, 0);
    let over = attributes(
        &rules,
        &parent,
        vec![transfer(0, TX_GAS_LIMIT_CAP + 1)],
        GAS_LIMIT,
        0,
    );
    build_valid(&rules, &parent, &state, &over);
}

// ----- a chain config behind the chain ------------------------------------------------------

#[test]
fn blocks_of_forks_the_config_lacks_are_undecided_never_invalid() {
    let state = genesis_state(400);
    for (built_by, judged_by, fork) in [
        (jovian(), isthmus(), "Jovian"),
        (jovian(), holocene(), "Isthmus"),
        (isthmus(), holocene(), "Isthmus"),
        (karst(), holocene(), "Isthmus"),
    ] {
        let parent = genesis_header(&built_by, &state, 0);
        let attrs = attributes(&built_by, &parent, vec![transfer(0, 21_000)], GAS_LIMIT, 0);
        let built = build_valid(&built_by, &parent, &state, &attrs);
        let judged_parent = genesis_header(&judged_by, &state, 0);
        let mut block = built.block.clone();
        block.header.parent_hash = judged_parent.hash();
        let error = validate_block(
            &judged_by,
            &judged_parent,
            &state,
            &ChainBlock::Optimism(block),
            None,
        )
        .unwrap_err();
        assert_eq!(error.rule(), "config_out_of_date", "{error}");
        assert!(!error.is_verdict());
        assert!(error.to_string().contains(fork), "{error}");
    }

    // A pre-Isthmus block whose withdrawals root is not the empty root.
    let rules = holocene();
    let parent = genesis_header(&rules, &state, 0);
    let attrs = attributes(&rules, &parent, vec![transfer(0, 21_000)], GAS_LIMIT, 0);
    let built = build_valid(&rules, &parent, &state, &attrs);
    let error = broken(&rules, &parent, &state, &built.block, |b| {
        b.header.withdrawals_root = Some(B256::repeat_byte(9))
    });
    assert_eq!(error.rule(), "config_out_of_date", "{error}");
    assert!(!error.is_verdict());
}

#[test]
fn the_builder_and_the_state_agree_on_the_sender() {
    // Sanity of the test chain itself: the transfer recovers to the funded sender.
    assert_eq!(transfer(0, 21_000).recover_signer().unwrap(), sender());
    let state = genesis_state(0);
    assert!(state.account(sender()).unwrap().is_some());
}
