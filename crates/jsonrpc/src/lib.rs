//! Just enough JSON-RPC 2.0 over HTTP for MACH's servers (node, proxy, aggregator) and their
//! clients: parsing a request body (single or batch) into calls with proper error objects,
//! answering a whole body through one dispatch function, and the workspace's one outgoing
//! client ([`client`], on alloy's transport).

pub mod client;
pub mod http;

pub use client::{CallError, Client, Retry};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::future::Future;

/// Standard and MACH error codes.
pub mod codes {
    /// The body is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a JSON-RPC 2.0 request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Params missing or of the wrong shape.
    pub const INVALID_PARAMS: i64 = -32602;
    /// The node failed internally.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// The `avs_name` is not one this node serves.
    pub const UNKNOWN_AVS: i64 = -32001;
    /// The aggregator refused or could not be reached.
    pub const AGGREGATOR: i64 = -32002;
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("JSON-RPC error {code}: {message}")]
pub struct RpcError {
    /// Numeric code (see [`codes`]).
    pub code: i64,
    /// What went wrong, for a person.
    pub message: String,
    /// Details for programs, when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with `code` and `message`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }
}

/// One parsed call: its id, method and params.
#[derive(Clone, Debug)]
pub struct Call {
    /// The request id, echoed in the response (`null` for a notification).
    pub id: Value,
    /// A request without an `id` member: it is carried out but never answered (JSON-RPC 2.0,
    /// section 4.1).
    pub notification: bool,
    /// The method name.
    pub method: String,
    /// The params (`null` when absent).
    pub params: Value,
}

/// A parsed HTTP body: one call, a batch, or an error to answer at once.
pub enum Body {
    /// A single request object.
    Single(Result<Call, (Value, RpcError)>),
    /// A batch of request objects.
    Batch(Vec<Result<Call, (Value, RpcError)>>),
}

/// Parses an HTTP body into calls; malformed input becomes error responses, never a failure.
pub fn parse_body(body: &[u8]) -> Body {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Body::Single(Err((
                Value::Null,
                RpcError::new(codes::PARSE_ERROR, format!("invalid JSON: {e}")),
            )));
        }
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            Body::Batch(items.into_iter().map(parse_call).collect())
        }
        Value::Array(_) => Body::Single(Err((
            Value::Null,
            RpcError::new(codes::INVALID_REQUEST, "empty batch"),
        ))),
        other => Body::Single(parse_call(other)),
    }
}

fn parse_call(value: Value) -> Result<Call, (Value, RpcError)> {
    let notification = value.is_object() && value.get("id").is_none();
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    if !matches!(id, Value::Null | Value::String(_) | Value::Number(_)) {
        return Err((
            Value::Null,
            RpcError::new(
                codes::INVALID_REQUEST,
                "id must be a string, a number or null",
            ),
        ));
    }
    let Some(method) = value.get("method").and_then(Value::as_str) else {
        return Err((
            id,
            RpcError::new(codes::INVALID_REQUEST, "request has no method"),
        ));
    };
    if value.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err((
            id,
            RpcError::new(codes::INVALID_REQUEST, "jsonrpc must be \"2.0\""),
        ));
    }
    Ok(Call {
        id,
        notification,
        method: method.to_string(),
        params: value.get("params").cloned().unwrap_or(Value::Null),
    })
}

/// The response object for `id`.
pub fn response(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(error) => json!({ "jsonrpc": "2.0", "id": id, "error": error }),
    }
}

/// Answers an HTTP body: every well-formed call goes through `handle`, malformed ones get error
/// objects without reaching it. The calls of a batch run concurrently and are answered in order
/// as an array. Notifications are carried out but not answered, so the result is `None` when
/// nothing is to be sent back (HTTP 204).
pub async fn answer_body<F, Fut>(body: &[u8], handle: F) -> Option<Value>
where
    F: Fn(Call) -> Fut,
    Fut: Future<Output = Result<Value, RpcError>>,
{
    let answer_one = async |call: Result<Call, (Value, RpcError)>| match call {
        Err((id, error)) => Some(response(id, Err(error))),
        Ok(call) => {
            let (id, silent) = (call.id.clone(), call.notification);
            let result = handle(call).await;
            (!silent).then(|| response(id, result))
        }
    };
    match parse_body(body) {
        Body::Single(call) => answer_one(call).await,
        Body::Batch(calls) => {
            let answers = futures::future::join_all(calls.into_iter().map(answer_one)).await;
            let answers: Vec<Value> = answers.into_iter().flatten().collect();
            (!answers.is_empty()).then_some(Value::Array(answers))
        }
    }
}

/// The single object param of an alert method (`params: [ {…} ]` or `params: {…}`).
pub fn object_param<T: serde::de::DeserializeOwned>(params: &Value) -> Result<T, RpcError> {
    let object = match params {
        Value::Array(items) if items.len() == 1 => &items[0],
        Value::Object(_) => params,
        _ => {
            return Err(RpcError::new(
                codes::INVALID_PARAMS,
                "expected one object as the only param",
            ))
        }
    };
    serde_json::from_value(object.clone())
        .map_err(|e| RpcError::new(codes::INVALID_PARAMS, format!("invalid params: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn malformed_bodies_become_errors() {
        let Body::Single(Err((_, e))) = parse_body(b"{not json") else {
            panic!()
        };
        assert_eq!(e.code, codes::PARSE_ERROR);
        let Body::Single(Err((id, e))) = parse_body(br#"{"jsonrpc":"2.0","id":7}"#) else {
            panic!()
        };
        assert_eq!((id, e.code), (json!(7), codes::INVALID_REQUEST));
        let Body::Single(Err((_, e))) = parse_body(br#"{"id":1,"method":"x"}"#) else {
            panic!()
        };
        assert_eq!(e.code, codes::INVALID_REQUEST);
        let Body::Batch(calls) = parse_body(br#"[{"jsonrpc":"2.0","id":1,"method":"a"},5]"#) else {
            panic!()
        };
        assert!(calls[0].is_ok() && calls[1].is_err());
        let Body::Single(Err((id, e))) = parse_body(br#"{"jsonrpc":"2.0","id":[1],"method":"a"}"#)
        else {
            panic!()
        };
        assert_eq!((id, e.code), (Value::Null, codes::INVALID_REQUEST));
    }

    #[tokio::test]
    async fn notifications_are_carried_out_but_not_answered() {
        let seen = std::sync::Mutex::new(Vec::new());
        let handle = |call: Call| {
            seen.lock().unwrap().push(call.method.clone());
            async { Ok(json!(1)) }
        };
        let none = answer_body(br#"{"jsonrpc":"2.0","method":"a"}"#, handle).await;
        assert_eq!(none, None);
        let null_id = answer_body(br#"{"jsonrpc":"2.0","id":null,"method":"b"}"#, handle).await;
        assert_eq!(null_id.unwrap()["result"], 1);
        let batch = answer_body(
            br#"[{"jsonrpc":"2.0","method":"c"},{"jsonrpc":"2.0","id":7,"method":"d"}]"#,
            handle,
        )
        .await
        .unwrap();
        assert_eq!(batch.as_array().unwrap().len(), 1);
        assert_eq!(batch[0]["id"], 7);
        let only = answer_body(br#"[{"jsonrpc":"2.0","method":"e"}]"#, handle).await;
        assert_eq!(only, None);
        // An invalid request is answered even without an id.
        let invalid = answer_body(br#"{"jsonrpc":"2.0"}"#, handle).await.unwrap();
        assert_eq!(invalid["error"]["code"], codes::INVALID_REQUEST);
        assert_eq!(*seen.lock().unwrap(), ["a", "b", "c", "d", "e"]);
    }

    #[tokio::test]
    async fn batch_calls_run_concurrently() {
        // Two calls that each wait for the other: done only if both run at once.
        let barrier = tokio::sync::Barrier::new(2);
        let handle = |_call: Call| async {
            barrier.wait().await;
            Ok(json!(true))
        };
        let body =
            br#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"a"}]"#;
        let answer = tokio::time::timeout(Duration::from_secs(10), answer_body(body, handle))
            .await
            .expect("the calls of a batch ran one after another")
            .unwrap();
        assert_eq!(answer[1]["id"], 2);
    }

    #[test]
    fn object_param_forms() {
        #[derive(Deserialize)]
        struct P {
            a: u32,
        }
        assert_eq!(object_param::<P>(&json!([{"a": 1}])).unwrap().a, 1);
        assert_eq!(object_param::<P>(&json!({"a": 2})).unwrap().a, 2);
        assert_eq!(
            object_param::<P>(&json!([])).err().unwrap().code,
            codes::INVALID_PARAMS
        );
        assert_eq!(
            object_param::<P>(&json!([{"b": 1}])).err().unwrap().code,
            codes::INVALID_PARAMS
        );
    }
}
