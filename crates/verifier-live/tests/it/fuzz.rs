//! Property tests for the live verifier's decoders and configuration readers: RPC block JSON
//! (`blocks::decode_block`) and `mach-config.toml`. Inputs are arbitrary or mutations of real
//! data from `mach-verifier`'s `tests/data`; every call must return a value or an error with a
//! message, never panic. The core's readers (block RLP, tries, witnesses, fixtures, genesis and
//! registry files) are fuzzed in `mach-verifier`'s `tests/it/fuzz.rs`.

use alloy_consensus::Header;
use mach_test_support::fuzz::{config, json_value, mutate_lines, scalar_text, set};
use mach_verifier::fixture::read_json;
use mach_verifier::ChainRules;
use mach_verifier_live::{blocks::decode_block, VerifierConfig};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::LazyLock;

const MACH_CONFIG: &str = include_str!("../../../verifier/tests/data/mach-config.toml");

/// A real OP Sepolia block fixture, its chain's rules and parent header, and the Cancun rules.
struct Data {
    fixture: Value,
    rules: ChainRules,
    parent: Header,
    cancun: ChainRules,
}

static DATA: LazyLock<Data> = LazyLock::new(|| {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../verifier/tests/data");
    let fixture = read_json(&dir.join("op-stack/op-sepolia-26207960.json.gz")).unwrap();
    Data {
        rules: ChainRules::from_rollup_config(&fixture["rollup_config"]).unwrap(),
        parent: serde_json::from_value(fixture["parent_header"].clone()).unwrap(),
        fixture,
        cancun: ChainRules::ethereum_network("Cancun").unwrap(),
    }
});

/// The fixture's parent header as `eth_getBlockByNumber(n, true)` answers for a block without
/// transactions.
fn rpc_block() -> Value {
    let mut block = DATA.fixture["parent_header"].clone();
    block["hash"] = json!(DATA.parent.hash_slow());
    block["transactions"] = json!([]);
    block["uncles"] = json!([]);
    block["withdrawals"] = json!([]);
    block
}

const BLOCK_FIELDS: [&str; 12] = [
    "/hash",
    "/number",
    "/parentHash",
    "/stateRoot",
    "/extraData",
    "/baseFeePerGas",
    "/gasLimit",
    "/logsBloom",
    "/transactions",
    "/withdrawals",
    "/uncles",
    "/parentBeaconBlockRoot",
];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn rpc_blocks_decode_or_fail_cleanly(field in prop::sample::select(BLOCK_FIELDS.to_vec()), value in prop::option::of(json_value()), junk in json_value()) {
        let number = DATA.parent.number;
        let (block, claimed) = decode_block(&DATA.rules, number, rpc_block()).unwrap();
        prop_assert_eq!(block.header(), &DATA.parent);
        prop_assert_eq!(claimed, DATA.parent.hash_slow());
        let mut mutated = rpc_block();
        set(&mut mutated, field, value);
        for (rules, value) in [(&DATA.rules, &mutated), (&DATA.cancun, &mutated), (&DATA.rules, &junk)] {
            match decode_block(rules, number, value.clone()) {
                Ok((block, claimed)) => {
                    prop_assert_eq!(block.header().number, number);
                    prop_assert_eq!(Some(claimed), serde_json::from_value(value["hash"].clone()).ok());
                }
                Err(e) => prop_assert!(!e.is_empty()),
            }
        }
    }

    #[test]
    fn mach_config_text(line in any::<Index>(), value in scalar_text(), cut in any::<Index>(), text in "(?s).{0,120}") {
        prop_assert!(VerifierConfig::from_toml(MACH_CONFIG).is_ok());
        for text in [mutate_lines(MACH_CONFIG, line, &value, cut, " = "), text] {
            match VerifierConfig::from_toml(&text) {
                Ok(c) => prop_assert!(c.collector.max_fetcher > 0 && c.collector.interval_ms > 0
                    && c.scheduler.verify_block_interval > 0 && c.prometheus.metrics_path.starts_with('/')),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
