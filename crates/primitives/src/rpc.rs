//! JSON shapes of the two MACH JSON-RPC interfaces (ARCHITECTURE section 4), shared by their
//! servers and clients so both sides agree by construction.
//!
//! - verifier → operator node: `alert_blockMismatch`, `alert_blockHash`,
//!   `alert_blockOutputOracleMismatch`, `health_check`, each with one object as the only param,
//!   answered with [`AlertResponse`].
//! - operator node → aggregator: `aggregator_initOperator`, `aggregator_createTask`,
//!   `aggregator_processSignedTaskResponse`, positional params.
//!
//! Byte lists (`quorum_numbers`, `quorum_threshold_percentages`) are written the way the Go
//! reference writes `[]byte` (base64) and read from base64, `0x` hex or an array of numbers, so
//! either implementation can talk to the other.

use crate::alert::{Alert, MessageHash};
use alloy_primitives::{Address, Bytes, B256, U256};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::marker::PhantomData;

/// JSON-RPC method names.
pub mod methods {
    /// Verifier → node: a sequencer output root differs from the computed one.
    pub const ALERT_BLOCK_MISMATCH: &str = "alert_blockMismatch";
    /// Verifier → node: a block is invalid.
    pub const ALERT_BLOCK_HASH: &str = "alert_blockHash";
    /// Verifier → node: the L2 output oracle holds a wrong root.
    pub const ALERT_BLOCK_OUTPUT_ORACLE_MISMATCH: &str = "alert_blockOutputOracleMismatch";
    /// Verifier → node: proof of work done up to a block.
    pub const HEALTH_CHECK: &str = "health_check";
    /// Node → aggregator: announce the operator.
    pub const INIT_OPERATOR: &str = "aggregator_initOperator";
    /// Node → aggregator: get (or create) the task for an alert hash.
    pub const CREATE_TASK: &str = "aggregator_createTask";
    /// Node → aggregator: submit the operator's signature for a task.
    pub const PROCESS_SIGNED_TASK_RESPONSE: &str = "aggregator_processSignedTaskResponse";
}

/// A method of one of the two APIs, declared once for its server and its clients: its name,
/// what it is sent (`P`, written as the wire format's positional params by [`Params`]) and what
/// it answers (`R`). The constants are in [`api`].
pub struct Method<P, R> {
    name: &'static str,
    types: PhantomData<fn(&P) -> R>,
}

impl<P, R> Method<P, R> {
    /// Declares a method (other crates declare their own APIs this way, e.g. the devnet's
    /// control endpoint).
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            types: PhantomData,
        }
    }

    /// The method's name on the wire.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<P, R> Clone for Method<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P, R> Copy for Method<P, R> {}

impl<P, R> std::fmt::Debug for Method<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Params as a client sends them: the positional JSON array of the wire format.
pub trait Params {
    /// The `params` member of the request.
    fn to_params(&self) -> serde_json::Value;
}

/// The methods of both APIs with their types: what typed clients call and servers dispatch on.
pub mod api {
    use super::*;

    /// Verifier → node, see [`methods::ALERT_BLOCK_MISMATCH`].
    pub const ALERT_BLOCK_MISMATCH: Method<BlockMismatchParams, AlertResponse> =
        Method::new(methods::ALERT_BLOCK_MISMATCH);
    /// Verifier → node, see [`methods::ALERT_BLOCK_HASH`].
    pub const ALERT_BLOCK_HASH: Method<BlockHashParams, AlertResponse> =
        Method::new(methods::ALERT_BLOCK_HASH);
    /// Verifier → node, see [`methods::ALERT_BLOCK_OUTPUT_ORACLE_MISMATCH`].
    pub const ALERT_BLOCK_OUTPUT_ORACLE_MISMATCH: Method<
        OutputOracleMismatchParams,
        AlertResponse,
    > = Method::new(methods::ALERT_BLOCK_OUTPUT_ORACLE_MISMATCH);
    /// Verifier → node, see [`methods::HEALTH_CHECK`]; the node answers `null`.
    pub const HEALTH_CHECK: Method<HealthCheckParams, serde_json::Value> =
        Method::new(methods::HEALTH_CHECK);
    /// Node → aggregator, see [`methods::INIT_OPERATOR`].
    pub const INIT_OPERATOR: Method<InitOperatorParams, InitOperatorResponse> =
        Method::new(methods::INIT_OPERATOR);
    /// Node → aggregator, see [`methods::CREATE_TASK`]: the alert's message hash.
    pub const CREATE_TASK: Method<MessageHash, AlertTaskInfo> = Method::new(methods::CREATE_TASK);
    /// Node → aggregator, see [`methods::PROCESS_SIGNED_TASK_RESPONSE`].
    pub const PROCESS_SIGNED_TASK_RESPONSE: Method<ProcessSignedParams, SignedTaskResponseReply> =
        Method::new(methods::PROCESS_SIGNED_TASK_RESPONSE);
}

/// The alert and work-proof params: one object, the only param.
macro_rules! object_params {
    ($($name:ty),*) => {$(
        impl Params for $name {
            fn to_params(&self) -> serde_json::Value {
                serde_json::json!([self])
            }
        }
    )*};
}

object_params!(
    BlockMismatchParams,
    BlockHashParams,
    OutputOracleMismatchParams,
    HealthCheckParams
);

impl Params for MessageHash {
    fn to_params(&self) -> serde_json::Value {
        serde_json::json!([self.0])
    }
}

impl Params for ProcessSignedParams {
    fn to_params(&self) -> serde_json::Value {
        serde_json::json!([
            self.alert_info,
            Bytes::from(self.signature.clone()),
            Bytes::from(self.operator_id.to_vec()),
        ])
    }
}

/// Params of `alert_blockMismatch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMismatchParams {
    /// Which AVS (rollup) the alert is for; may also come from the URL path.
    #[serde(default)]
    pub avs_name: String,
    /// Output root the sequencer committed to.
    pub invalid_output_root: B256,
    /// Output root the verifier computed.
    pub expect_output_root: B256,
    /// The L2 block (hex quantity, or a number).
    #[serde(deserialize_with = "quantity")]
    pub l2_block_number: U256,
}

/// Params of `alert_blockHash`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHashParams {
    /// Which AVS the alert is for; may also come from the URL path.
    #[serde(default)]
    pub avs_name: String,
    /// Hash of the invalid block.
    pub hash: B256,
}

/// Params of `alert_blockOutputOracleMismatch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputOracleMismatchParams {
    /// Which AVS the alert is for; may also come from the URL path.
    #[serde(default)]
    pub avs_name: String,
    /// Output root the verifier computed.
    pub expect_output_root: B256,
    /// Index of the wrong entry in the output oracle.
    #[serde(deserialize_with = "quantity")]
    pub invalid_output_index: U256,
}

impl BlockMismatchParams {
    /// The alert these params describe.
    pub fn alert(&self) -> Alert {
        Alert::BlockMismatch {
            invalid_output_root: self.invalid_output_root,
            expect_output_root: self.expect_output_root,
            l2_block_number: self.l2_block_number,
        }
    }
}

impl BlockHashParams {
    /// The alert these params describe.
    pub fn alert(&self) -> Alert {
        Alert::BlockHash { hash: self.hash }
    }
}

impl OutputOracleMismatchParams {
    /// The alert these params describe.
    pub fn alert(&self) -> Alert {
        Alert::BlockOutputOracleMismatch {
            expect_output_root: self.expect_output_root,
            invalid_output_index: self.invalid_output_index,
        }
    }
}

/// Params of `health_check`: the verifier has validated up to this block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckParams {
    /// Which AVS; may also come from the URL path (then left out of the request).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub avs_name: String,
    /// Hash of the newest validated block.
    pub block_hash: B256,
    /// Its number (hex quantity, or a number).
    #[serde(deserialize_with = "quantity")]
    pub block_number: U256,
}

/// The node's answer to an alert: the task it joined and the L1 transaction that confirmed it
/// (zero while the quorum is not reached).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertResponse {
    /// The aggregator's task index.
    pub task_index: u32,
    /// The `confirmAlert` transaction, zero if not confirmed yet.
    pub tx_hash: B256,
    /// The alert's message hash.
    pub alert_hash: B256,
}

/// Result of `aggregator_initOperator`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitOperatorResponse {
    /// Whether the aggregator accepts the operator.
    pub ok: bool,
    /// Why not, when it does not.
    #[serde(default)]
    pub reason: String,
}

/// The params of `aggregator_initOperator`, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitOperatorParams {
    /// L1 chain ID.
    pub layer1_chain_id: u64,
    /// Rollup chain ID.
    pub chain_id: u64,
    /// The operator's ID.
    pub operator_id: B256,
    /// The operator's address.
    pub operator_address: Address,
    /// The OperatorStateRetriever the node uses.
    pub operator_state_retriever: Address,
    /// The RegistryCoordinator the node uses.
    pub registry_coordinator: Address,
}

impl Params for InitOperatorParams {
    fn to_params(&self) -> serde_json::Value {
        serde_json::json!([
            self.layer1_chain_id,
            self.chain_id,
            Bytes::from(self.operator_id.to_vec()),
            self.operator_address,
            self.operator_state_retriever,
            self.registry_coordinator,
        ])
    }
}

/// An alert task: what every operator signs (`aggregator_createTask` result and the first param
/// of `aggregator_processSignedTaskResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertTaskInfo {
    /// The alert's message hash.
    pub alert_hash: B256,
    /// Quorums whose stake must sign.
    #[serde(serialize_with = "byte_list_out", deserialize_with = "byte_list_in")]
    pub quorum_numbers: Vec<u8>,
    /// Percentage of each quorum's stake that must sign.
    #[serde(serialize_with = "byte_list_out", deserialize_with = "byte_list_in")]
    pub quorum_threshold_percentages: Vec<u8>,
    /// Monotonic index the aggregator gives the task.
    pub task_index: u32,
    /// L1 block whose registry state (keys, stakes) the signatures are checked against.
    pub reference_block_number: u32,
}

impl AlertTaskInfo {
    /// The hash operators sign for this task.
    pub fn sign_hash(&self) -> B256 {
        crate::alert::sign_hash(MessageHash(self.alert_hash), self.reference_block_number)
    }
}

/// Result of `aggregator_processSignedTaskResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTaskResponseReply {
    /// Whether the signature was accepted.
    pub reply: bool,
    /// The `confirmAlert` transaction once the quorum is reached, else zero.
    #[serde(deserialize_with = "hash_any")]
    pub tx_hash: B256,
}

/// The positional params of `aggregator_processSignedTaskResponse`, as the aggregator reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessSignedParams {
    /// The task the operator signed.
    pub alert_info: AlertTaskInfo,
    /// The 64-byte G1 signature, X ++ Y.
    pub signature: Vec<u8>,
    /// The signer's operator ID.
    pub operator_id: B256,
}

impl ProcessSignedParams {
    /// Reads `[alertInfo, signature, operatorId]`; byte strings may be `0x` hex, base64 (Go's
    /// `[]byte`) or arrays of numbers (Go's `[N]byte`).
    pub fn from_params(params: &serde_json::Value) -> Result<Self, String> {
        let items = params
            .as_array()
            .filter(|items| items.len() == 3)
            .ok_or("expected three params: [alertInfo, signature, operatorId]")?;
        let alert_info =
            serde_json::from_value(items[0].clone()).map_err(|e| format!("alertInfo: {e}"))?;
        let signature = bytes_value(&items[1]).map_err(|e| format!("signature: {e}"))?;
        let operator_id = bytes_value(&items[2]).map_err(|e| format!("operatorId: {e}"))?;
        if operator_id.len() != 32 {
            return Err(format!(
                "operatorId: expected 32 bytes, got {}",
                operator_id.len()
            ));
        }
        Ok(Self {
            alert_info,
            signature,
            operator_id: B256::from_slice(&operator_id),
        })
    }
}

/// A 32-byte hash param in any byte form [`bytes_value`] accepts.
pub fn hash_value(value: &serde_json::Value) -> Result<B256, String> {
    let bytes = bytes_value(value)?;
    if bytes.len() != 32 {
        return Err(format!("expected 32 bytes, got {}", bytes.len()));
    }
    Ok(B256::from_slice(&bytes))
}

/// Bytes from `0x` hex, base64 or an array of numbers.
pub fn bytes_value(value: &serde_json::Value) -> Result<Vec<u8>, String> {
    byte_list_in(value.clone()).map_err(|e| e.to_string())
}

/// A U256 from a hex quantity string, a decimal string or a JSON number.
fn quantity<'de, D: Deserializer<'de>>(deserializer: D) -> Result<U256, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Number(n) => n
            .as_u64()
            .map(U256::from)
            .ok_or_else(|| D::Error::custom(format!("{n} is not a non-negative integer"))),
        serde_json::Value::String(s) => {
            let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => U256::from_str_radix(hex, 16),
                None => U256::from_str_radix(&s, 10),
            };
            parsed.map_err(|e| D::Error::custom(format!("{s:?} is not a quantity: {e}")))
        }
        other => Err(D::Error::custom(format!(
            "expected a quantity, got {other}"
        ))),
    }
}

fn byte_list_out<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    use base64::Engine;
    serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn byte_list_in<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    use base64::Engine;
    use serde::de::Error;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| D::Error::custom(format!("{v} is not a byte")))
            })
            .collect(),
        serde_json::Value::String(s) => match s.strip_prefix("0x") {
            // Base64 can start with "0x" too (bytes D3 1x…): what is not hex is tried as base64.
            Some(hex) => alloy_primitives::hex::decode(hex).or_else(|e| {
                base64::engine::general_purpose::STANDARD
                    .decode(&s)
                    .map_err(|_| D::Error::custom(format!("{s:?}: {e}")))
            }),
            None => base64::engine::general_purpose::STANDARD
                .decode(&s)
                .map_err(|e| D::Error::custom(format!("{s:?} is neither base64 nor 0x hex: {e}"))),
        },
        other => Err(D::Error::custom(format!(
            "expected a byte list, got {other}"
        ))),
    }
}

/// A 32-byte hash from `0x` hex or an array of 32 numbers (Go's `[32]byte`).
fn hash_any<'de, D: Deserializer<'de>>(deserializer: D) -> Result<B256, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(s) => s
            .parse()
            .map_err(|e| D::Error::custom(format!("{s:?}: {e}"))),
        serde_json::Value::Array(items) => {
            let bytes: Vec<u8> = items
                .iter()
                .filter_map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            if bytes.len() == 32 && items.len() == 32 {
                Ok(B256::from_slice(&bytes))
            } else {
                Err(D::Error::custom("expected 32 bytes"))
            }
        }
        serde_json::Value::Null => Ok(B256::ZERO),
        other => Err(D::Error::custom(format!("expected a hash, got {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn task_info_byte_lists_in_every_form() {
        let task = AlertTaskInfo {
            alert_hash: B256::repeat_byte(1),
            quorum_numbers: vec![0],
            quorum_threshold_percentages: vec![66],
            task_index: 3,
            reference_block_number: 100,
        };
        let written = serde_json::to_value(&task).unwrap();
        assert_eq!(written["quorum_numbers"], "AA==");
        assert_eq!(written["quorum_threshold_percentages"], "Qg==");
        assert_eq!(
            serde_json::from_value::<AlertTaskInfo>(written).unwrap(),
            task
        );
        let as_array = json!({
            "alert_hash": format!("{}", B256::repeat_byte(1)),
            "quorum_numbers": [0], "quorum_threshold_percentages": "0x42",
            "task_index": 3, "reference_block_number": 100
        });
        assert_eq!(
            serde_json::from_value::<AlertTaskInfo>(as_array).unwrap(),
            task
        );
    }

    #[test]
    fn alert_params_accept_numbers_and_quantities() {
        let p: BlockMismatchParams = serde_json::from_value(json!({
            "avs_name": "soneium",
            "invalid_output_root": format!("{}", B256::repeat_byte(2)),
            "expect_output_root": format!("{}", B256::repeat_byte(3)),
            "l2_block_number": "0x10"
        }))
        .unwrap();
        assert_eq!(p.l2_block_number, U256::from(16));
        let h: HealthCheckParams = serde_json::from_value(json!({
            "block_hash": format!("{}", B256::repeat_byte(4)), "block_number": 7
        }))
        .unwrap();
        assert_eq!(h.block_number, U256::from(7));
        assert_eq!(h.avs_name, "");
        assert!(serde_json::from_value::<BlockHashParams>(json!({"hash": "0x12"})).is_err());
    }

    #[test]
    fn reply_tx_hash_forms() {
        let hex: SignedTaskResponseReply = serde_json::from_value(
            json!({"reply": true, "tx_hash": format!("{}", B256::repeat_byte(9))}),
        )
        .unwrap();
        let array: SignedTaskResponseReply =
            serde_json::from_value(json!({"reply": true, "tx_hash": vec![9u8; 32]})).unwrap();
        assert_eq!(hex, array);
    }

    #[test]
    fn typed_params_are_the_positional_wire_params() {
        let hash = B256::repeat_byte(0xab);
        assert_eq!(
            api::CREATE_TASK.name(),
            "aggregator_createTask",
            "names come from `methods`"
        );
        assert_eq!(MessageHash(hash).to_params(), json!([hash]));
        let work = HealthCheckParams {
            avs_name: String::new(),
            block_hash: hash,
            block_number: U256::from(26),
        };
        assert_eq!(
            work.to_params(),
            json!([{"block_hash": hash, "block_number": "0x1a"}])
        );
        let named = HealthCheckParams {
            avs_name: "soneium".into(),
            ..work
        };
        assert_eq!(named.to_params()[0]["avs_name"], "soneium");
        let alert = BlockHashParams {
            avs_name: String::new(),
            hash,
        };
        assert_eq!(alert.to_params(), json!([{"avs_name": "", "hash": hash}]));
        let task = AlertTaskInfo {
            alert_hash: hash,
            quorum_numbers: vec![0],
            quorum_threshold_percentages: vec![67],
            task_index: 3,
            reference_block_number: 9,
        };
        let signed = ProcessSignedParams {
            alert_info: task.clone(),
            signature: vec![1; 64],
            operator_id: B256::repeat_byte(2),
        };
        let params = signed.to_params();
        assert_eq!(params[1], json!(format!("0x{}", "01".repeat(64))));
        assert_eq!(ProcessSignedParams::from_params(&params).unwrap(), signed);
    }
}
