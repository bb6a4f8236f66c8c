//! Property tests for the verifier's decoders and configuration readers: block RLP
//! (`ChainBlock::decode`), trie nodes (`sparse_trie::SparseTrie`), execution witnesses
//! (`witness::WitnessState`), the OP Stack block fixture reader, genesis and rollup configs,
//! registry files and the Holocene / Jovian extra data. Inputs are arbitrary or mutations of real
//! data from `tests/data`; every call must return a value or an error with a message, never
//! panic. The live verifier's readers (RPC block JSON, `mach-config.toml`) are fuzzed in
//! `mach-verifier-live`'s `tests/it/fuzz.rs`.

use alloy_consensus::{Header, Sealed};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::nodes::{BranchNodeRef, ExtensionNodeRef, LeafNodeRef, RlpNode};
use alloy_trie::{HashBuilder, Nibbles, TrieMask, EMPTY_ROOT_HASH};
use mach_test_support::fuzz::{config, json_value, mutate_lines, scalar_text, set};
use mach_verifier::fixture::{
    blockchain_tests::run_cases, op_stack::OpBlockFixture, read_json, run_file,
};
use mach_verifier::header::{holocene_params, jovian_params};
use mach_verifier::witness::{ExecutionWitness, WitnessState};
use mach_verifier::{registry::Registry, schedule, sparse_trie::path_of, sparse_trie::SparseTrie};
use mach_verifier::{ChainBlock, ChainRules, PreState, StateChanges};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

const GENESIS: &str = include_str!("../data/soneium-genesis.json");
const SUPERCHAIN: &str = include_str!("../../registry/mainnet/superchain.toml");
const OP_MAINNET: &str = include_str!("../../registry/mainnet/op.toml");

/// A real OP Sepolia block fixture (witness cut to four preimages) and its chain's rules, and a
/// real Cancun BlockchainTests case and its block's RLP.
struct Data {
    fixture: Value,
    rules: ChainRules,
    cancun: ChainRules,
    cancun_rlp: Vec<u8>,
    cancun_case: Value,
}

static DATA: LazyLock<Data> = LazyLock::new(|| {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut fixture = read_json(&dir.join("op-stack/op-sepolia-26207960.json.gz")).unwrap();
    let witness = fixture["witness"].as_array().unwrap()[..4].to_vec();
    fixture["witness"] = Value::Array(witness);
    let tests =
        dir.join("ethereum-tests/ValidBlocks/bcBlockGasLimitTest/BlockGasLimit2p63m1.json.gz");
    let tests = read_json(&tests).unwrap();
    let rlp = tests.as_object().unwrap().values().next().unwrap()["blocks"][0]["rlp"].clone();
    Data {
        rules: ChainRules::from_rollup_config(&fixture["rollup_config"]).unwrap(),
        fixture,
        cancun: ChainRules::ethereum_network("Cancun").unwrap(),
        cancun_rlp: alloy_primitives::hex::decode(rlp.as_str().unwrap()).unwrap(),
        cancun_case: tests,
    }
});

/// Byte edits: replace, remove, insert, or cut at a position.
fn edit(mut bytes: Vec<u8>, edits: &[(Index, u8, u8)]) -> Vec<u8> {
    for (at, op, byte) in edits {
        let i = at.index(bytes.len().max(1)).min(bytes.len());
        match op % 4 {
            0 if i < bytes.len() => bytes[i] = *byte,
            1 if i < bytes.len() => drop(bytes.remove(i)),
            2 => bytes.insert(i, *byte),
            _ => bytes.truncate(i),
        }
    }
    bytes
}

/// A trie node and every node under it (children of 32 bytes or more by hash, shorter ones
/// embedded), with short and full-length leaf keys over a small or the full nibble alphabet.
fn trie_node() -> impl Strategy<Value = (Vec<u8>, Vec<Vec<u8>>)> {
    let nibbles = prop_oneof![
        prop::collection::vec(0u8..2, 0..6),
        prop::collection::vec(0u8..16, 0..6),
        prop::collection::vec(0u8..2, 58..=64),
    ];
    let leaf =
        (nibbles.clone(), prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(key, value)| {
            let rlp = alloy_rlp::encode(LeafNodeRef::new(&Nibbles::from_nibbles(&key), &value));
            (rlp.clone(), vec![rlp])
        });
    let raw = prop::collection::vec(any::<u8>(), 0..48).prop_map(|b| (b.clone(), vec![b]));
    prop_oneof![4 => leaf, 1 => raw].prop_recursive(3, 32, 4, move |inner| {
        let extension = (nibbles.clone(), inner.clone()).prop_map(|(key, (child, mut nodes))| {
            let child = RlpNode::from_rlp(&child);
            let rlp =
                alloy_rlp::encode(ExtensionNodeRef::new(&Nibbles::from_nibbles(&key), &child));
            nodes.push(rlp.clone());
            (rlp, nodes)
        });
        let branch =
            prop::collection::vec(prop::option::weighted(0.2, inner), 16).prop_map(|children| {
                let (mut mask, mut stack, mut nodes) =
                    (TrieMask::default(), Vec::new(), Vec::new());
                for (index, (child, below)) in children
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, c)| Some((i, c?)))
                {
                    mask.set_bit(index as u8);
                    stack.push(RlpNode::from_rlp(&child));
                    nodes.extend(below);
                }
                let rlp = alloy_rlp::encode(BranchNodeRef::new(&stack, mask));
                nodes.push(rlp.clone());
                (rlp, nodes)
            });
        prop_oneof![extension, branch]
    })
}

fn builder_root(leaves: &BTreeMap<B256, Vec<u8>>) -> B256 {
    let mut builder = HashBuilder::default();
    for (key, value) in leaves {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root()
}

fn encode(block: &ChainBlock) -> Vec<u8> {
    match block {
        ChainBlock::Ethereum(block) => alloy_rlp::encode(block),
        ChainBlock::Optimism(block) => alloy_rlp::encode(block),
    }
}

const FIXTURE_FIELDS: [&str; 12] = [
    "/chain_id",
    "/block_number",
    "/rollup_config/l2_chain_id",
    "/rollup_config/chain_op_config",
    "/rollup_config/holocene_time",
    "/parent_header/number",
    "/parent_header/extraData",
    "/payload_attributes/transactions",
    "/payload_attributes/gasLimit",
    "/expected_block_hash",
    "/witness",
    "/expect",
];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn block_rlp_decodes_or_fails_cleanly(edits in prop::collection::vec((any::<Index>(), any::<u8>(), any::<u8>()), 1..4)) {
        let original = ChainBlock::decode(&DATA.cancun, &DATA.cancun_rlp).unwrap();
        prop_assert_eq!(&encode(&original), &DATA.cancun_rlp);
        let mutated = edit(DATA.cancun_rlp.clone(), &edits);
        for rules in [&DATA.cancun, &DATA.rules] {
            match ChainBlock::decode(rules, &mutated) {
                Ok(block) => {
                    let again = ChainBlock::decode(rules, &encode(&block)).unwrap();
                    prop_assert_eq!(again.hash(), block.hash());
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    #[test]
    fn crafted_tries_read_or_fail_cleanly(
        (root, nodes) in trie_node(),
        keys in prop::collection::vec(prop_oneof![prop::collection::vec(0u8..2, 64), prop::collection::vec(0u8..16, 0..70)], 1..6),
        raw in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..48), 0..3),
    ) {
        let nodes: Vec<Bytes> = nodes.into_iter().chain(raw).map(Bytes::from).collect();
        let root = keccak256(&root);
        let mut trie = SparseTrie::new(root);
        trie.reveal(&nodes);
        for key in &keys {
            if let Err(e) = trie.get_under(root, key) { prop_assert!(!e.to_string().is_empty()) }
            let hashed = keccak256(key);
            if let Err(e) = trie.account_under(root, Address::from_word(hashed)) { prop_assert!(!e.to_string().is_empty()) }
            if let Err(e) = trie.slot_under(root, U256::from_be_bytes(hashed.0)) { prop_assert!(!e.to_string().is_empty()) }
        }
        trie.prune();
        prop_assert!(trie.revealed() <= nodes.len());
        trie.commit();
        prop_assert_eq!(trie.root(), root);
    }

    #[test]
    fn sparse_trie_agrees_with_hash_builder(
        leaves in prop::collection::btree_map(any::<[u8; 32]>().prop_map(B256::from), prop::collection::vec(any::<u8>(), 1..40), 0..24),
        removed in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let mut trie = SparseTrie::new(EMPTY_ROOT_HASH);
        for (key, value) in &leaves {
            trie.insert(&path_of(key), value.clone()).unwrap();
        }
        prop_assert_eq!(trie.root(), builder_root(&leaves));
        trie.commit();
        let root = trie.root();
        for (key, value) in &leaves {
            prop_assert_eq!(trie.get_under(root, &path_of(key)).unwrap(), Some(value.clone()));
        }
        let keys: Vec<B256> = leaves.keys().copied().collect();
        let gone: BTreeSet<B256> = removed.iter().filter(|_| !keys.is_empty()).map(|i| keys[i.index(keys.len())]).collect();
        let changes: Vec<(Vec<u8>, Option<Vec<u8>>)> = gone.iter().map(|key| (path_of(key), None)).collect();
        trie.apply(&changes, |_| Err::<Vec<Bytes>, ()>(())).unwrap();
        let rest: BTreeMap<B256, Vec<u8>> = leaves.into_iter().filter(|(key, _)| !gone.contains(key)).collect();
        prop_assert_eq!(trie.root(), builder_root(&rest));
    }

    #[test]
    fn witness_state_reads_or_fails_cleanly(
        (root, nodes) in trie_node(),
        codes in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..3),
        number in 5u64..1000,
        cut in prop::option::of((0usize..3, any::<Index>())),
        address in any::<[u8; 20]>(),
        slot in any::<[u8; 32]>(),
    ) {
        let mut ancestors = Vec::new();
        let mut parent_hash = B256::repeat_byte(0xaa);
        for n in number - 3..number {
            let header = Header { number: n, parent_hash, ..Header::default() };
            parent_hash = header.hash_slow();
            ancestors.push(header);
        }
        let state_root = keccak256(&root);
        let parent = Sealed::new(Header { number, parent_hash, state_root, ..Header::default() });
        let mut headers: Vec<Bytes> = ancestors.iter().map(|h| alloy_rlp::encode(h).into()).collect();
        if let Some((which, at)) = cut {
            headers[which] = Bytes::copy_from_slice(&headers[which][..at.index(headers[which].len())]);
        }
        let witness = ExecutionWitness {
            state: nodes.into_iter().map(Bytes::from).collect(),
            codes: codes.iter().cloned().map(Bytes::from).collect(),
            headers,
        };
        let state = WitnessState::new(&parent, witness);
        let truth = |k: u64| match number - k {
            0 => Some(parent.hash()),
            d @ 1..=3 => Some(ancestors[(3 - d) as usize].hash_slow()),
            4 => Some(B256::repeat_byte(0xaa)),
            _ => None,
        };
        for k in number - 5..=number {
            match state.block_hash(k) {
                Ok(hash) => prop_assert_eq!(Some(hash), truth(k)),
                Err(e) => prop_assert!((cut.is_some() || truth(k).is_none()) && !e.to_string().is_empty()),
            }
        }
        for code in &codes {
            prop_assert_eq!(state.code(keccak256(code)).unwrap().to_vec(), code.clone());
        }
        if let Err(e) = state.account(Address::from(address)) { prop_assert!(!e.to_string().is_empty()) }
        if let Err(e) = state.storage(Address::from(address), U256::from_be_bytes(slot)) { prop_assert!(!e.to_string().is_empty()) }
        prop_assert_eq!(state.state_root_after(&StateChanges::default()).unwrap(), state_root);
    }

    #[test]
    fn fixture_fields_mutated(field in prop::sample::select(FIXTURE_FIELDS.to_vec()), value in prop::option::of(json_value())) {
        let mut content = DATA.fixture.clone();
        set(&mut content, field, value);
        match OpBlockFixture::from_json(content.clone(), Path::new("fuzz.json")) {
            Ok(fixture) => {
                if let Some(n) = content.get("block_number").and_then(Value::as_u64) {
                    prop_assert_eq!(fixture.parent.number + 1, n);
                }
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn genesis_and_rollup_configs(key in "[a-zA-Z0-9]{1,24}|chainId|optimism|holoceneTime|canyonTime|londonBlock|eip1559Denominator|l2_chain_id|chain_op_config|base_fee_params|genesis|karst_time", value in prop::option::of(json_value()), text in "(?s).{0,80}") {
        let mut genesis: Value = serde_json::from_str(GENESIS).unwrap();
        set(&mut genesis, &format!("/config/{key}"), value.clone());
        let mut rollup = DATA.fixture["rollup_config"].clone();
        set(&mut rollup, &format!("/{key}"), value.clone());
        set(&mut rollup, &format!("/chain_op_config/{key}"), value);
        let results = [
            ChainRules::from_genesis_json(&genesis.to_string()),
            ChainRules::from_genesis_json(&text),
            ChainRules::from_rollup_config(&rollup),
        ];
        for result in results {
            match result {
                Ok(rules) => {
                    prop_assert!(!schedule::schedule_summary(&rules).is_empty());
                    let _ = schedule::check(&rules, Registry::bundled().unwrap());
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    #[test]
    fn registry_files(line in any::<Index>(), value in scalar_text(), cut in any::<Index>(), path in "mainnet/op.toml|mainnet/x|op.toml|/op.toml") {
        let text = mutate_lines(OP_MAINNET, line, &value, cut, " = ");
        match Registry::parse([("mainnet/superchain.toml", SUPERCHAIN), (&path[..], &text[..])]) {
            Ok(registry) => prop_assert_eq!(registry.chains().len(), 1),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn extra_data(bytes in prop::collection::vec(any::<u8>(), 0..20)) {
        prop_assert_eq!(holocene_params(&bytes).is_ok(), bytes.len() == 9 && bytes[0] == 0);
        prop_assert_eq!(jovian_params(&bytes).is_ok(), bytes.len() == 17 && bytes[0] == 1);
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn blockchain_tests_mutated(
        field in prop::sample::select(vec!["genesisRLP", "blocks/0/rlp", "network", "pre", "lastblockhash", "blocks"]),
        edits in prop::collection::vec((any::<Index>(), any::<u8>(), any::<u8>()), 1..3),
        value in prop::option::of(json_value()),
    ) {
        let mut content = DATA.cancun_case.clone();
        let name = content.as_object().unwrap().keys().next().unwrap().clone();
        let pointer = format!("/{name}/{field}");
        // A hex field gets byte edits, unless the field is replaced (or removed) instead.
        let hex = content.pointer(&pointer).and_then(Value::as_str);
        let edited = hex.and_then(|s| alloy_primitives::hex::decode(s).ok())
            .map(|bytes| json!(format!("0x{}", alloy_primitives::hex::encode(edit(bytes, &edits)))));
        set(&mut content, &pointer, value.or(edited));
        match run_cases(content) {
            Ok(results) => {
                for failure in results.into_iter().filter_map(|r| r.failure) {
                    prop_assert!(!failure.is_empty());
                }
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn fixture_files_of_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200), gz_name in any::<bool>(), compress in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(if gz_name { "f.json.gz" } else { "f.json" });
        let bytes = if compress {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut encoder, &bytes).unwrap();
            encoder.finish().unwrap()
        } else {
            bytes
        };
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = read_json(&path) { prop_assert!(!e.to_string().is_empty()) }
        if let Err(e) = run_file(&path) { prop_assert!(!e.to_string().is_empty()) }
    }
}

#[test]
fn length_prefixes_claiming_2_pow_60_bytes_are_errors() {
    let claims: [&[u8]; 4] = [
        &[0xbf, 0x10, 0, 0, 0, 0, 0, 0, 0],
        &[0xff, 0x10, 0, 0, 0, 0, 0, 0, 0],
        &[0xf9, 0xff, 0xff],
        &[0xff; 9],
    ];
    for claim in claims {
        for rules in [&DATA.cancun, &DATA.rules] {
            assert!(ChainBlock::decode(rules, claim).is_err());
            let prefixed = [claim, &DATA.cancun_rlp[..]].concat();
            assert!(ChainBlock::decode(rules, &prefixed).is_err());
        }
        // The same claims as a witness's root node and ancestor header.
        let node = Bytes::copy_from_slice(claim);
        let parent = Header {
            number: 1,
            state_root: keccak256(&node),
            parent_hash: keccak256(&node),
            ..Header::default()
        };
        let witness = ExecutionWitness {
            state: vec![node.clone()],
            codes: vec![],
            headers: vec![node],
        };
        let state = WitnessState::new(&Sealed::new(parent), witness);
        assert!(state
            .account(Address::ZERO)
            .unwrap_err()
            .to_string()
            .contains("undecodable"));
        assert!(state.block_hash(0).is_ok() && state.block_hash(1).is_ok());
    }
}

/// A revealed leaf whose key is shorter than the path being inserted: `insert` indexes
/// `leaf_key[p]` with `p == leaf_key.len()` (sparse_trie.rs, `Node::Leaf` arm of `insert`).
#[test]
fn insert_under_a_short_leaf_is_an_error() {
    let leaf = alloy_rlp::encode(LeafNodeRef::new(&Nibbles::from_nibbles([1u8, 2]), &[7u8]));
    let mut trie = SparseTrie::new(keccak256(&leaf));
    trie.reveal(&[Bytes::from(leaf)]);
    let key = path_of(&B256::repeat_byte(0x12));
    assert!(trie.insert(&key, vec![1]).is_err());
}

/// An extension whose key is the whole 64-nibble path, over a branch: `insert` and `remove` reach
/// the branch with no nibble left and index `key[0]` (sparse_trie.rs, `Node::Branch` arms).
#[test]
fn a_path_that_ends_at_a_branch_is_an_error() {
    let child = RlpNode::from_rlp(&alloy_rlp::encode(LeafNodeRef::new(
        &Nibbles::default(),
        &[1u8],
    )));
    let mut mask = TrieMask::default();
    mask.set_bit(0);
    mask.set_bit(1);
    let branch = alloy_rlp::encode(BranchNodeRef::new(&[child.clone(), child], mask));
    let key = path_of(&B256::repeat_byte(0x34));
    let branch_ref = RlpNode::from_rlp(&branch);
    let extension = alloy_rlp::encode(ExtensionNodeRef::new(
        &Nibbles::from_nibbles(&key),
        &branch_ref,
    ));
    let nodes = [Bytes::from(extension.clone()), Bytes::from(branch)];
    let mut trie = SparseTrie::new(keccak256(&extension));
    trie.reveal(&nodes);
    assert!(trie.remove(&key).is_err());
    assert!(trie.insert(&key, vec![1]).is_err());
}
