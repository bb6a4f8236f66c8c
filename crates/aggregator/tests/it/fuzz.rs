//! Property tests for the aggregator's configuration parser, `AggregatorConfig::from_yaml`:
//! arbitrary text, mutations of a valid `aggregator.yaml`, and generated field values checked
//! against the documented rules. Nothing may panic; every refusal says why; every accepted
//! configuration satisfies the rules. (The JSON-RPC params the aggregator reads are fuzzed in
//! mach-primitives and mach-jsonrpc; `server::dispatch` needs a running chain.)

use mach_aggregator::AggregatorConfig;
use mach_test_support::fuzz::config;
use proptest::prelude::*;

const VALID: &str = "\
eth_rpc_url: http://localhost:8545
aggregator_jsonrpc_server_ip_port_address: 0.0.0.0:8090
rpc_vhosts: [\"*\"]
rpc_cors: [\"*\"]
layer1_chain_id: 1
layer2_chain_id: 1868
quorum_nums: [0, 1]
quorum_threshold_percentages: [66, 70]
db_path: /var/lib/mach/aggregator
task_expiry_seconds: 3600
response_wait_seconds: 60
pending_task_seconds: 120
max_pending_tasks: 1024
metrics_ip_port_address: 127.0.0.1:9095
";

/// What `from_yaml` promises about a configuration it accepts.
fn assert_checked(config: &AggregatorConfig) {
    let quorums = &config.quorum_nums;
    assert!(!quorums.is_empty());
    assert!(quorums.windows(2).all(|w| w[0] < w[1]), "{quorums:?}");
    let thresholds = &config.quorum_threshold_percentages;
    assert!(thresholds.is_empty() || thresholds.len() == quorums.len());
    assert!(thresholds.iter().all(|p| *p <= 100));
    assert!(config.task_expiry_seconds > 0 && config.pending_task_seconds > 0);
    assert!(config.max_pending_tasks > 0);
    assert!(config.pending_task() <= config.task_expiry());
    if let Some(listen) = &config.metrics_ip_port_address {
        let (host, port) = listen.rsplit_once(':').unwrap();
        assert!(
            !host.is_empty() && port.parse::<u16>().is_ok(),
            "{listen:?}"
        );
    }
}

fn parse(text: &str) -> Option<AggregatorConfig> {
    match AggregatorConfig::from_yaml(text) {
        Ok(config) => {
            assert_checked(&config);
            // The same text always reads the same.
            assert_eq!(AggregatorConfig::from_yaml(text).unwrap(), config);
            Some(config)
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            None
        }
    }
}

/// YAML scalars and flow collections, right and wrong for any field.
fn yaml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        prop::collection::vec(any::<u8>(), 0..5).prop_map(|v| format!("{v:?}")),
        prop::collection::vec(any::<i16>(), 0..5).prop_map(|v| format!("{v:?}")),
        Just("~".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("*anchor".to_string()),
        "[ -~]{0,16}",
        "\"[^\"\\\\]{0,12}\"",
    ]
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
    fn arbitrary_text_is_refused_or_checked(text in "(?s).{0,200}") {
        parse(&text);
    }

    #[test]
    fn a_mutated_valid_file_is_refused_or_checked(
        line in 0usize..13,
        value in yaml_value(),
        cut in any::<prop::sample::Index>(),
        duplicate in any::<bool>(),
    ) {
        prop_assert!(parse(VALID).is_some());
        let mut lines: Vec<String> = VALID.lines().map(String::from).collect();
        let key = lines[line].split(':').next().unwrap_or_default().to_string();
        lines[line] = format!("{key}: {value}");
        if duplicate {
            lines.push(lines[line].clone());
        }
        let text = lines.join("\n");
        parse(&text);
        parse(cut_at(&text, cut));
    }

    #[test]
    fn generated_fields_follow_the_rules(
        quorums in prop::collection::vec(0u8..8, 0..4),
        thresholds in prop::collection::vec(0u8..130, 0..4),
        expiry in 0u64..3,
        pending in 0u64..3,
        max_pending in 0usize..3,
    ) {
        let text = format!(
            "eth_rpc_url: http://x\nlayer1_chain_id: 1\nlayer2_chain_id: 2\nquorum_nums: {quorums:?}\n\
             quorum_threshold_percentages: {thresholds:?}\ntask_expiry_seconds: {expiry}\n\
             pending_task_seconds: {pending}\nmax_pending_tasks: {max_pending}\n"
        );
        let valid = !quorums.is_empty()
            && quorums.windows(2).all(|w| w[0] < w[1])
            && (thresholds.is_empty() || thresholds.len() == quorums.len())
            && thresholds.iter().all(|p| *p <= 100)
            && expiry > 0 && pending > 0 && max_pending > 0;
        let config = parse(&text);
        prop_assert_eq!(config.is_some(), valid, "{}", text);
        if let Some(config) = config {
            prop_assert_eq!(config.quorum_nums, quorums);
            prop_assert_eq!(config.quorum_threshold_percentages, thresholds);
        }
    }
}

/// `rpc_cors` nested `depth` flow sequences deep.
fn nested(depth: usize) -> String {
    let deep = format!("rpc_cors: {}{}", "[".repeat(depth), "]".repeat(depth));
    VALID.replace("rpc_cors: [\"*\"]", &deep)
}

#[test]
fn hostile_yaml_is_refused() {
    // An alias bomb: each level refers to the one before nine times.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let cases = [
        format!("{bomb}{VALID}"),
        nested(1000),
        VALID.replace(
            "layer1_chain_id: 1",
            "layer1_chain_id: 1000000000000000000000000",
        ),
        VALID.replace("[0, 1]", "[0, 256]"),
        VALID.replace("1024", "-1"),
        format!("{VALID}eth_rpc_url: http://twice\n"),
        "\u{feff}\0\u{1b}".to_string(),
    ];
    for text in cases {
        let e = AggregatorConfig::from_yaml(&text).unwrap_err();
        assert!(!e.to_string().is_empty());
    }
}

/// Parsing time grows with the square of the nesting depth (about 4x per doubling: 16k levels
/// take 0.17 s, 100k levels, a 200 KB file, about 50 s). The refusal comes from serde_yaml's
/// event loader (libyaml), before `from_yaml` sees a value.
#[test]
fn deep_yaml_is_refused_before_parsing() {
    // serde_yaml takes time quadratic in flow nesting (100,000 levels: about 50 s); the
    // nesting guard refuses such a file before the parser sees it.
    let e = AggregatorConfig::from_yaml(&nested(100_000)).unwrap_err();
    assert!(e.0.contains("nest deeper than"), "{e}");
}
