//! Property tests for the JSON-RPC body parsing every MACH server shares: `parse_body` on
//! arbitrary bytes and on arbitrary JSON (single requests and batches), `answer_body` with a
//! trivial handler, and `object_param`. Nothing may panic, every malformed call becomes an error
//! object with a standard code and a message, and well-formed calls come out as they went in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mach_jsonrpc::{answer_body, codes, object_param, parse_body, Body, Call, RpcError};
use mach_test_support::fuzz::config;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Any JSON value, at most four levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        Just(json!("2.0")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,8}|jsonrpc|id|method|params", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects close to a request: each member present or not, right or wrong.
fn request_like() -> impl Strategy<Value = Value> {
    let version = prop_oneof![
        Just(json!("2.0")),
        Just(json!("1.0")),
        Just(json!(2.0)),
        json_value()
    ];
    let id = prop_oneof![
        Just(json!(1)),
        Just(json!("a")),
        Just(Value::Null),
        json_value()
    ];
    let method = prop_oneof!["[a-z_]{1,12}".prop_map(Value::String), json_value()];
    (
        prop::option::of(version),
        prop::option::of(id),
        prop::option::of(method),
        prop::option::of(json_value()),
    )
        .prop_map(|(version, id, method, params)| {
            let mut object = serde_json::Map::new();
            for (key, value) in [
                ("jsonrpc", version),
                ("id", id),
                ("method", method),
                ("params", params),
            ] {
                if let Some(value) = value {
                    object.insert(key.into(), value);
                }
            }
            Value::Object(object)
        })
}

/// What JSON-RPC 2.0 says of one element: `None` if it is not a valid request, else whether it
/// is a notification.
fn expected(item: &Value) -> Option<bool> {
    let id = item.get("id");
    let id_ok = matches!(
        id,
        None | Some(Value::Null | Value::String(_) | Value::Number(_))
    );
    let method_ok = item.get("method").is_some_and(Value::is_string);
    let version_ok = item.get("jsonrpc") == Some(&json!("2.0"));
    (item.is_object() && id_ok && method_ok && version_ok).then_some(id.is_none())
}

fn check_call(item: &Value, parsed: &Result<Call, (Value, RpcError)>) {
    match (expected(item), parsed) {
        (Some(notification), Ok(call)) => {
            assert_eq!(call.notification, notification);
            assert_eq!(Some(call.method.as_str()), item["method"].as_str());
            assert_eq!(
                call.params,
                item.get("params").cloned().unwrap_or(Value::Null)
            );
            assert_eq!(call.id, item.get("id").cloned().unwrap_or(Value::Null));
        }
        (None, Err((id, error))) => {
            assert_eq!(error.code, codes::INVALID_REQUEST, "{item}");
            assert!(!error.message.is_empty() && !error.to_string().is_empty());
            assert!(
                id.is_null() || Some(id) == item.get("id"),
                "{item} answered as {id}"
            );
        }
        (want, got) => panic!("{item}: expected {want:?}, parsed {got:?}"),
    }
}

fn check_body(written: &Value) {
    let bytes = serde_json::to_vec(written).unwrap();
    // Floats need not survive a round trip through text exactly: judge what the text says.
    let value: &Value = &serde_json::from_slice(&bytes).unwrap();
    match (value, parse_body(&bytes)) {
        (Value::Array(items), Body::Batch(calls)) if !items.is_empty() => {
            assert_eq!(items.len(), calls.len());
            items
                .iter()
                .zip(&calls)
                .for_each(|(item, call)| check_call(item, call));
        }
        (Value::Array(_), Body::Single(Err((_, e)))) => assert_eq!(e.code, codes::INVALID_REQUEST),
        (Value::Array(_), _) => panic!("{value}: not answered as a batch"),
        (_, Body::Single(call)) => check_call(value, &call),
        (_, Body::Batch(_)) => panic!("{value}: a single value parsed as a batch"),
    }
}

/// Echoes params back, or fails for the method `fail`.
async fn echo(call: Call) -> Result<Value, RpcError> {
    match call.method.as_str() {
        "fail" => Err(RpcError::new(codes::INTERNAL_ERROR, "failed on purpose")),
        _ => Ok(call.params),
    }
}

fn check_response(response: &Value) {
    assert_eq!(response["jsonrpc"], "2.0");
    assert!(response.get("id").is_some(), "{response}");
    let error = response.get("error");
    assert_ne!(
        response.get("result").is_some(),
        error.is_some(),
        "{response}"
    );
    if let Some(error) = error {
        let error: RpcError = serde_json::from_value(error.clone()).unwrap();
        assert!(!error.message.is_empty());
    }
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Probe {
    count: u32,
    #[serde(default)]
    name: String,
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_parse_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        match parse_body(&bytes) {
            Body::Single(Err((_, e))) => {
                prop_assert!([codes::PARSE_ERROR, codes::INVALID_REQUEST].contains(&e.code));
                prop_assert!(!e.message.is_empty());
            }
            Body::Single(Ok(_)) | Body::Batch(_) => {
                prop_assert!(serde_json::from_slice::<Value>(&bytes).is_ok());
            }
        }
    }

    #[test]
    fn arbitrary_json_follows_the_spec(value in json_value()) {
        check_body(&value);
    }

    #[test]
    fn requests_and_batches_follow_the_spec(
        single in request_like(),
        batch in prop::collection::vec(request_like(), 0..8),
    ) {
        check_body(&single);
        check_body(&Value::Array(batch));
    }

    #[test]
    fn every_answer_is_a_response(batch in prop::collection::vec(request_like(), 0..8)) {
        let bytes = serde_json::to_vec(&batch).unwrap();
        let answered = batch.iter().filter(|item| expected(item) != Some(true)).count();
        match futures::executor::block_on(answer_body(&bytes, echo)) {
            None => prop_assert!(!batch.is_empty() && answered == 0),
            Some(Value::Array(responses)) => {
                prop_assert_eq!(responses.len(), answered);
                responses.iter().for_each(check_response);
            }
            Some(single) => {
                prop_assert!(batch.is_empty(), "a batch answered by {}", single);
                check_response(&single);
            }
        }
    }

    #[test]
    fn object_param_never_panics(params in json_value()) {
        match object_param::<Probe>(&params) {
            Ok(_) => prop_assert!(params.is_object() || params.as_array().is_some_and(|a| a.len() == 1)),
            Err(e) => {
                prop_assert_eq!(e.code, codes::INVALID_PARAMS);
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn object_param_reads_both_forms(count in any::<u32>(), name in ".{0,16}") {
        let object = json!({"count": count, "name": name});
        let want = Probe { count, name };
        prop_assert_eq!(&object_param::<Probe>(&object).unwrap(), &want);
        prop_assert_eq!(&object_param::<Probe>(&json!([object])).unwrap(), &want);
    }
}

#[test]
fn deep_nesting_is_a_parse_error_not_a_stack_overflow() {
    for open in [b'[', b'{'] {
        let body = if open == b'[' {
            vec![b'['; 1 << 20]
        } else {
            b"{\"a\":".repeat(1 << 18)
        };
        let Body::Single(Err((id, e))) = parse_body(&body) else {
            panic!("{} levels of nesting were accepted", body.len());
        };
        assert_eq!((id, e.code), (Value::Null, codes::PARSE_ERROR));
        assert!(e.message.contains("recursion limit"), "{}", e.message);
    }
    // Nesting inside an otherwise valid request's params.
    let params = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{params}}}"#);
    let Body::Single(Err((_, e))) = parse_body(body.as_bytes()) else {
        panic!("deep params were accepted");
    };
    assert_eq!(e.code, codes::PARSE_ERROR);
}

#[test]
fn truncated_and_oversized_tokens_are_parse_errors() {
    for body in [
        &br#"{"jsonrpc":"2.0","id":1,"method":"m","params":"unterminated"#[..],
        br#"{"jsonrpc":"2.0","id":1e400,"method":"m"}"#,
        br#"{"jsonrpc":"2.0","id":1,"method":"\ud800"}"#,
        b"\xff\xfe{}",
        b"",
    ] {
        let Body::Single(Err((_, e))) = parse_body(body) else {
            panic!("{} was accepted", String::from_utf8_lossy(body));
        };
        assert_eq!(e.code, codes::PARSE_ERROR);
        assert!(!e.message.is_empty());
    }
}
