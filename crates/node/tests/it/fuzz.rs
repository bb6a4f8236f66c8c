//! Property tests for the operator node's configuration parsers: the proxy's
//! `operator_proxy.yaml` (`ProxyConfig::from_yaml`, `listen_addr`), `avs_configs.json`
//! (`load_avs_configs`) and the `.env` variables (`parse_env` then `NodeConfig::from_vars`).
//! Arbitrary and mutated input gives a configuration or an error naming what is wrong, never a
//! panic. (The alert methods' params are fuzzed in mach-primitives and mach-jsonrpc; the node's
//! dispatch itself is private.)

use mach_node::config::{load_avs_configs, AvsConfig, NodeConfig};
use mach_node::proxy::ProxyConfig;
use mach_primitives::env::parse_env;
use mach_test_support::fuzz::config;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const PROXY_YAML: &str = include_str!("../data/operator_proxy.yaml");
const AVS_CONFIGS: &str = include_str!("../data/avs_configs.json");
const ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

const VARS: [&str; 19] = [
    "OPERATOR_SERVER_URL",
    "BLS_PRIVATE_KEY_PATH",
    "NODE_BLS_KEY_FILE_HOST",
    "OPERATOR_BLS_KEY_PASSWORD",
    "OPERATOR_ECDSA_ADDRESS",
    "ETH_RPC_URL",
    "LAYER1_CHAIN_ID",
    "AGGREGATOR_JSONRPC_SERVER_URL",
    "ENABLE_METRICS",
    "EIGEN_METRICS_URL",
    "ENABLE_NODE_API",
    "NODE_API_URL",
    "MACH_VERIFIER_LIVENESS_SECS",
    "OPERATOR_SERVER_VHOSTS",
    "OPERATOR_SERVER_CORS",
    "MACH_HTTP_MAX_BODY_BYTES",
    "MACH_HTTP_HEADER_TIMEOUT_SECS",
    "MACH_HTTP_BODY_TIMEOUT_SECS",
    "MACH_HTTP_MAX_CONNECTIONS",
];

/// Values a variable or a YAML field may hold, right and wrong.
fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            ADDRESS,
            "true",
            "FALSE",
            "1",
            "0",
            "maybe",
            "",
            "   ",
            "~",
            "[]",
            "{}",
            "*x",
            "127.0.0.1:8901",
            "http://0.0.0.0:9092",
            "[::1]:80",
            "localhost:80",
            "-1",
            "99999999999999999999999",
            "0x10",
            "soneium: 1868",
            "a,b,,*",
        ])
        .prop_map(String::from),
        any::<u64>().prop_map(|n| n.to_string()),
        "[ -~]{0,20}",
        ".{0,12}",
    ]
}

fn one_avs() -> Vec<AvsConfig> {
    let entry = json!({"avs_name": "soneium", "avs_registry_coordinator_address": ADDRESS,
        "operator_state_retriever_address": ADDRESS});
    vec![serde_json::from_value(entry).unwrap()]
}

/// Variables of a working node with `overrides` applied.
fn with_overrides(overrides: BTreeMap<&'static str, String>) -> BTreeMap<&'static str, String> {
    let mut vars: BTreeMap<&str, String> = [
        ("NODE_BLS_KEY_FILE_HOST", "/keys/opr.bls.key.json"),
        ("OPERATOR_ECDSA_ADDRESS", ADDRESS),
        ("ETH_RPC_URL", "http://localhost:8545"),
        ("AGGREGATOR_JSONRPC_SERVER_URL", "http://localhost:8090"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect();
    vars.extend(overrides);
    vars
}

fn check_node_config(vars: &BTreeMap<&'static str, String>) {
    let lookup = |name: &str| vars.get(name).cloned();
    match NodeConfig::from_vars(&lookup, one_avs()) {
        Ok(config) => {
            let flag = |name: &str| {
                vars.get(name).is_some_and(|v| {
                    ["true", "1"].contains(&v.trim().to_ascii_lowercase().as_str())
                })
            };
            assert_eq!(config.metrics_addr.is_some(), flag("ENABLE_METRICS"));
            assert_eq!(config.node_api_addr.is_some(), flag("ENABLE_NODE_API"));
            assert_eq!(
                config.bls_key_password,
                vars.get("OPERATOR_BLS_KEY_PASSWORD").cloned()
            );
            let chain = vars
                .get("LAYER1_CHAIN_ID")
                .map(|v| v.trim())
                .filter(|v| !v.is_empty());
            assert_eq!(config.layer1_chain_id, chain.map(|v| v.parse().unwrap()));
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                VARS.iter().any(|v| message.contains(v)),
                "names no variable: {message}"
            );
        }
    }
}

/// `text` cut at `at` (moved back to a character boundary).
fn cut_at(text: &str, at: prop::sample::Index) -> &str {
    let mut end = at.index(text.len() + 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn proxy_yaml_from_arbitrary_text(text in "(?s).{0,160}") {
        if let Err(e) = ProxyConfig::from_yaml(&text) { prop_assert!(!e.is_empty()) }
    }

    #[test]
    fn mutated_proxy_yaml(line in any::<prop::sample::Index>(), value in text_value(), cut in any::<prop::sample::Index>()) {
        prop_assert!(ProxyConfig::from_yaml(PROXY_YAML).is_ok());
        let mut lines: Vec<String> = PROXY_YAML.lines().map(String::from).collect();
        let i = line.index(lines.len());
        let key = lines[i].split(':').next().unwrap_or_default().to_string();
        lines[i] = format!("{key}: {value}");
        let text = lines.join("\n");
        for text in [&text[..], cut_at(&text, cut)] {
            match ProxyConfig::from_yaml(text) {
                Ok(config) => if let Err(e) = config.listen_addr() { prop_assert!(e.contains("rpc_addr")) },
                Err(e) => prop_assert!(!e.is_empty()),
            }
        }
    }

    #[test]
    fn avs_configs_from_arbitrary_json(
        entries in prop::collection::vec(prop::collection::btree_map(
            prop::sample::select(vec!["avs_name", "methods", "avs_registry_coordinator_address",
                "operator_state_retriever_address", "avs_contract_address", "aggregator_url"]),
            text_value().prop_map(Value::String), 0..7), 0..3),
        mutate_reference in any::<bool>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("avs_configs.json");
        let text = if mutate_reference {
            cut_at(AVS_CONFIGS, cut).to_string()
        } else {
            serde_json::to_string(&entries).unwrap()
        };
        std::fs::write(&path, &text).unwrap();
        match load_avs_configs(&path) {
            Ok(list) => {
                prop_assert!(!list.is_empty());
                for (i, avs) in list.iter().enumerate() {
                    prop_assert!(!avs.avs_name.is_empty() && !avs.avs_name.contains('/'));
                    prop_assert!(list[..i].iter().all(|other| other.avs_name != avs.avs_name));
                }
            }
            Err(e) => prop_assert!(e.to_string().contains("avs_configs.json")),
        }
    }

    #[test]
    fn node_variables(overrides in prop::collection::btree_map(prop::sample::select(VARS.to_vec()), text_value(), 0..5)) {
        check_node_config(&with_overrides(overrides.clone()));
        check_node_config(&overrides);
    }

    #[test]
    fn env_file_to_node_config(lines in prop::collection::vec((prop::sample::select(VARS.to_vec()), text_value(), any::<bool>()), 0..8)) {
        let text: String = lines.iter().map(|(name, value, quoted)| {
            if *quoted { format!("{name}='{}'\n", value.replace('\'', "")) } else { format!("{name}={value}\n") }
        }).collect();
        match parse_env(&text, &|_| None) {
            Ok(parsed) => {
                let vars = VARS.iter().filter_map(|v| parsed.get(*v).map(|x| (*v, x.clone()))).collect();
                check_node_config(&with_overrides(vars));
            }
            Err(e) => prop_assert!(e.line >= 1 && !e.reason.is_empty()),
        }
    }
}
