//! Property tests for the param parsers the operator node and the aggregator share
//! (`mach_primitives::rpc`): byte strings in `0x` hex, base64 and number-array form, hashes,
//! quantities, the alert param objects, `AlertTaskInfo` and `ProcessSignedParams`; and for the
//! `.env` parser (`mach_primitives::env`). Arbitrary input must give a value or an error with a
//! message, never a panic; well-formed input must read back what was written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::{B256, U256};
use base64::Engine;
use mach_primitives::env::parse_env;
use mach_primitives::rpc::{
    bytes_value, hash_value, AlertTaskInfo, BlockHashParams, BlockMismatchParams,
    HealthCheckParams, OutputOracleMismatchParams, ProcessSignedParams,
};
use mach_test_support::fuzz::config;
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// Values a byte string, hash or quantity field may be sent as, right and wrong.
fn field_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,24}".prop_map(Value::String),
        "(0x|0X)?[0-9a-fA-F]{0,80}".prop_map(Value::String),
        "[A-Za-z0-9+/]{0,48}={0,3}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 40, 34, |inner| {
        prop::collection::vec(inner, 0..34).prop_map(Value::Array)
    })
}

/// The three wire forms of `bytes`.
fn byte_forms(bytes: &[u8]) -> [Value; 3] {
    [
        json!(format!("0x{}", alloy_primitives::hex::encode(bytes))),
        json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
        json!(bytes),
    ]
}

/// Form `form` of `bytes`, except base64 that starts with "0x" (see
/// `base64_that_looks_like_hex`), which is replaced by the hex form.
fn wire(bytes: &[u8], form: usize) -> Value {
    let forms = byte_forms(bytes);
    match forms[form].as_str() {
        Some(s) if form == 1 && s.starts_with("0x") => forms[0].clone(),
        _ => forms[form].clone(),
    }
}

/// Reads `value` as `T`; a success must survive a write and a second read.
fn read_back<T: DeserializeOwned + Serialize + PartialEq + Debug>(value: Value) {
    match serde_json::from_value::<T>(value) {
        Ok(parsed) => {
            let again: T = serde_json::from_value(serde_json::to_value(&parsed).unwrap()).unwrap();
            assert_eq!(again, parsed);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

fn task_info() -> impl Strategy<Value = AlertTaskInfo> {
    let bytes = prop::collection::vec(any::<u8>(), 0..8);
    (
        any::<[u8; 32]>(),
        bytes.clone(),
        bytes,
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(hash, quorum_numbers, quorum_threshold_percentages, task_index, reference)| {
                AlertTaskInfo {
                    alert_hash: B256::from(hash),
                    quorum_numbers,
                    quorum_threshold_percentages,
                    task_index,
                    reference_block_number: reference,
                }
            },
        )
}

/// `.env`-like text: the tokens the parser reacts to, in any order, or anything at all.
fn env_text() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "=", "$", "${", "}", "'", "\"", "\\", "#", " #", "export ", "\n", "\r\n", "HOME", "A",
        "_1", " ", "é", "$HOME", "${HOME}", "\\\"",
    ]);
    prop_oneof![
        prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat()),
        ".{0,64}",
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn byte_values_never_panic(value in field_value()) {
        match bytes_value(&value) {
            Ok(_) => prop_assert!(value.is_array() || value.is_string()),
            Err(e) => prop_assert!(!e.is_empty()),
        }
        match hash_value(&value) {
            Ok(hash) => prop_assert_eq!(bytes_value(&value).unwrap(), hash.to_vec()),
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn every_byte_form_reads_back(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        for form in (0..3).map(|form| wire(&bytes, form)) {
            prop_assert_eq!(&bytes_value(&form).unwrap(), &bytes);
            prop_assert_eq!(hash_value(&form).is_ok(), bytes.len() == 32);
        }
    }

    #[test]
    fn alert_params_from_arbitrary_fields(
        avs in prop::option::of(field_value()),
        a in field_value(),
        b in field_value(),
        n in field_value(),
    ) {
        let mut fields = json!({"invalid_output_root": a, "expect_output_root": b,
            "l2_block_number": n, "hash": a, "invalid_output_index": n,
            "block_hash": b, "block_number": n});
        if let Some(avs) = avs {
            fields["avs_name"] = avs;
        }
        read_back::<BlockMismatchParams>(fields.clone());
        read_back::<BlockHashParams>(fields.clone());
        read_back::<OutputOracleMismatchParams>(fields.clone());
        read_back::<HealthCheckParams>(fields.clone());
        read_back::<AlertTaskInfo>(json!({"alert_hash": a, "quorum_numbers": b,
            "quorum_threshold_percentages": n, "task_index": 1, "reference_block_number": 2}));
    }

    #[test]
    fn quantities_in_every_form(n in any::<[u64; 4]>(), decimal in "[0-9]{1,90}") {
        let value = U256::from_limbs(n);
        let hash = format!("{}", B256::repeat_byte(7));
        let forms = [
            (json!(format!("{value:#x}")), value),
            (json!(value.to_string()), value),
            (json!(n[0]), U256::from(n[0])),
        ];
        for (form, want) in forms {
            let p: HealthCheckParams =
                serde_json::from_value(json!({"block_hash": hash, "block_number": form})).unwrap();
            prop_assert_eq!(p.block_number, want);
        }
        let parsed = serde_json::from_value::<HealthCheckParams>(
            json!({"block_hash": hash, "block_number": decimal}),
        );
        prop_assert_eq!(parsed.is_ok(), U256::from_str_radix(&decimal, 10).is_ok());
    }

    #[test]
    fn signed_task_params(
        info in task_info(),
        signature in prop::collection::vec(any::<u8>(), 0..70),
        operator in any::<[u8; 32]>(),
        form in 0usize..3,
        junk in field_value(),
        slot in 0usize..4,
    ) {
        let well_formed = json!([info, wire(&signature, form), wire(&operator, form)]);
        let parsed = ProcessSignedParams::from_params(&well_formed).unwrap();
        prop_assert_eq!(&parsed.alert_info, &info);
        prop_assert_eq!(&parsed.signature, &signature);
        prop_assert_eq!(parsed.operator_id, B256::from(operator));
        // One param replaced by junk (or a fourth param added): an error, or the same meaning.
        let mut mutated = well_formed.clone();
        match slot {
            3 => mutated.as_array_mut().unwrap().push(junk),
            i => mutated[i] = junk,
        }
        match ProcessSignedParams::from_params(&mutated) {
            Ok(p) => {
                prop_assert!(slot == 1 || slot == 2, "param {} accepted {}", slot, mutated);
                prop_assert_eq!(&p.alert_info, &info);
                if slot == 1 {
                    prop_assert_eq!(p.signature, bytes_value(&mutated[1]).unwrap());
                } else {
                    prop_assert_eq!(p.operator_id, hash_value(&mutated[2]).unwrap());
                }
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn env_text_never_panics(text in env_text()) {
        match parse_env(&text, &|name| (name == "HOME").then(|| "/home".to_string())) {
            Ok(vars) => prop_assert!(vars.keys().all(|k| !k.is_empty())),
            Err(e) => prop_assert!(e.line >= 1 && !e.reason.is_empty() && !e.to_string().is_empty()),
        }
    }

    #[test]
    fn env_quoted_values_read_back(
        vars in prop::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{0,10}", "[^\n\r'$]{0,20}", 0..8),
        double in any::<bool>(),
    ) {
        let text: String = vars.iter().map(|(key, value)| {
            if double {
                let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
                format!("export {key}=\"{escaped}\" # comment\n")
            } else {
                format!("{key}='{value}'\n# comment\n")
            }
        }).collect();
        prop_assert_eq!(parse_env(&text, &|_| None).unwrap(), vars);
    }
}

#[test]
fn oversized_byte_strings_are_errors_or_exact() {
    let long = "ab".repeat(1 << 20);
    assert_eq!(
        bytes_value(&json!(format!("0x{long}"))).unwrap().len(),
        1 << 20
    );
    assert!(hash_value(&json!(format!("0x{long}"))).is_err());
    assert!(bytes_value(&json!(format!("0x{long}f"))).is_err());
    assert!(bytes_value(&json!([256])).is_err());
    assert!(bytes_value(&json!([-1])).is_err());
    assert!(bytes_value(&json!([1.5])).is_err());
}

/// Go writes `[]byte` as base64, and base64 may start with "0x": a 64-byte signature or a
/// 32-byte ID whose bytes start D3 1x encodes to "0x1…", which is not hex (base64 of 32 or 64
/// bytes ends in "="), and is read as the base64 it is.
#[test]
fn base64_that_looks_like_hex() {
    use base64::Engine;
    for len in [32, 64] {
        let mut bytes = vec![0u8; len];
        bytes[..3].copy_from_slice(&[0xd3, 0x1d, 0x76]);
        let base64 = json!(base64::engine::general_purpose::STANDARD.encode(&bytes));
        assert!(base64.as_str().unwrap().starts_with("0x12"), "{base64}");
        assert_eq!(bytes_value(&base64), Ok(bytes));
    }
}

/// Each line doubling the one before: 2^k bytes of value from a file of a few hundred bytes.
#[test]
fn env_expansion_is_bounded() {
    let lines = 18;
    let mut text = String::from("V0=xxxxxxxx\n");
    for i in 1..lines {
        text.push_str(&format!("V{i}=${{V{p}}}${{V{p}}}\n", p = i - 1));
    }
    let vars: BTreeMap<String, String> = parse_env(&text, &|_| None).unwrap_or_default();
    let largest = vars.values().map(String::len).max().unwrap_or(0);
    assert!(
        largest <= 64 * text.len(),
        "{} bytes of .env expanded to a {largest}-byte value",
        text.len()
    );
}
