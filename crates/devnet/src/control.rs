//! Commands for a devnet started by [`crate::up`] (`mach devnet down | fault | status`),
//! found through the files it keeps in its directory ([`crate::record`]).

use crate::record::{self, DevnetRecord, FaultRecord};
use crate::rollup::FaultKind;
use crate::up::validated;
use alloy::primitives::B256;
use anyhow::{Context, Result};
use mach_primitives::rpc::{Method, Params};
use serde::Serialize;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// What [`down`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Down {
    /// The supervisor's process ID, if one was running.
    pub supervisor: Option<u32>,
    /// Whether the supervisor had to be killed (it did not stop within 30 s of SIGTERM).
    pub killed: bool,
    /// Processes of the devnet still running after the supervisor (killed).
    pub leftovers: usize,
}

/// `mach devnet down`: stops the supervisor of the devnet in `dir` (which stops everything it
/// started) and makes sure no process of the devnet is left.
pub fn down(dir: &Path) -> Down {
    let record = record::load(dir).ok();
    let pid = match std::fs::read_to_string(dir.join(record::PID)) {
        Ok(text) => text.trim().parse::<u32>().ok(),
        Err(_) => record.as_ref().map(|r| r.pid),
    };
    let Some(pid) = pid.filter(|pid| record::alive(*pid)) else {
        return Down {
            leftovers: kill_leftovers(dir, record.as_ref()),
            ..Down::default()
        };
    };
    record::signal(pid, false);
    let started = Instant::now();
    while record::alive(pid) && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = record::alive(pid);
    if killed {
        record::signal(pid, true);
    }
    Down {
        supervisor: Some(pid),
        killed,
        leftovers: kill_leftovers(dir, record.as_ref()),
    }
}

/// Kills the processes the devnet recorded that are still alive; returns how many there were.
fn kill_leftovers(dir: &Path, record: Option<&DevnetRecord>) -> usize {
    let processes = match record {
        Some(record) => record.processes.clone(),
        None => record::load_processes(dir),
    };
    let alive: Vec<u32> = processes
        .iter()
        .map(|p| p.pid)
        .filter(|pid| record::alive(*pid))
        .collect();
    for pid in &alive {
        record::signal(*pid, true);
    }
    alive.len()
}

/// The devnet control endpoint's one method: inject a fault of a kind, answered with the fault's
/// record once the invalid block is mined.
pub const FAULT: Method<FaultKind, FaultRecord> = Method::new("devnet_fault");

impl Params for FaultKind {
    fn to_params(&self) -> serde_json::Value {
        json!([self.to_string()])
    }
}

/// `mach devnet fault`: asks the sequencer of the devnet in `dir` to change the rollup's state
/// between two blocks; returns the fault with the block that became invalid.
pub async fn fault(dir: &Path, kind: FaultKind) -> Result<FaultRecord> {
    let record = record::load(dir)?;
    let client = mach_jsonrpc::Client::new(&record.control_url, Duration::from_secs(120));
    client.request(FAULT, &kind).await.with_context(|| {
        format!(
            "the devnet's control endpoint {} did not inject the fault",
            record.control_url
        )
    })
}

/// `mach devnet status` (its `--json` form is this, serialized).
#[derive(Debug, Serialize)]
pub struct Status {
    /// L1 head.
    pub l1_head: u64,
    /// Rollup head.
    pub l2_head: u64,
    /// The rollup's finalized block, if it names one.
    pub l2_finalized: Option<u64>,
    /// Each operator's progress and health.
    pub operators: Vec<OperatorStatus>,
    /// The service manager's `totalAlerts`.
    pub total_alerts: u64,
    /// Alerts confirmed on L1.
    pub alerts: Vec<AlertStatus>,
    /// The faults the devnet injected.
    pub faults: Vec<FaultRecord>,
}

/// The text form of `mach devnet status`: heads, one line per operator, the alerts confirmed
/// on L1, and the faults still waiting for theirs.
impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let block = |n: Option<u64>, none: &str| n.map_or(none.to_string(), |n| format!("#{n}"));
        writeln!(
            f,
            "L1 #{}  rollup #{} (finalized {})",
            self.l1_head,
            self.l2_head,
            block(self.l2_finalized, "-")
        )?;
        for op in &self.operators {
            writeln!(
                f,
                "{}  {}  validated {}  node {}",
                op.name,
                op.address,
                block(op.validated, "-"),
                op.node_health
            )?;
        }
        writeln!(
            f,
            "alerts confirmed on L1: {} (totalAlerts {})",
            self.alerts.len(),
            self.total_alerts
        )?;
        for alert in &self.alerts {
            writeln!(
                f,
                "  {}  invalid block {}  L1 tx {} (block {})  {}",
                alert.message_hash,
                block(alert.invalid_block, "unknown"),
                alert.l1_tx,
                alert.l1_block,
                alert
                    .latency_ms
                    .map_or(String::new(), |ms| format!("{ms} ms after the block"))
            )?;
        }
        for fault in self.faults.iter().filter(|f| f.confirmed.is_none()) {
            writeln!(
                f,
                "  fault {} at block #{}: alert not confirmed yet",
                fault.kind, fault.invalid_block
            )?;
        }
        Ok(())
    }
}

/// One operator in [`Status`].
#[derive(Debug, Serialize)]
pub struct OperatorStatus {
    /// `operator0`, …
    pub name: String,
    /// Its ECDSA address.
    pub address: alloy::primitives::Address,
    /// Its verifier's newest validated block, if the verifier answers.
    pub validated: Option<u64>,
    /// What its node API says (see [`node_health`]).
    pub node_health: String,
}

/// One alert confirmed on L1, in [`Status`].
#[derive(Debug, Serialize)]
pub struct AlertStatus {
    /// The alert's message hash.
    pub message_hash: B256,
    /// The invalid block it names, when it matches a recorded fault.
    pub invalid_block: Option<u64>,
    /// The `confirmAlert` transaction.
    pub l1_tx: B256,
    /// Its L1 block.
    pub l1_block: u64,
    /// From the invalid block's production to the confirmation, when known.
    pub latency_ms: Option<u64>,
}

/// `mach devnet status`: heads, validated heads, node health, and the alerts confirmed on L1
/// with their latency, for the devnet in `dir`.
pub async fn status(dir: &Path) -> Result<Status> {
    let record = record::load(dir)?;
    let faults = record::load_faults(dir)?;
    gather(&record, faults).await
}

async fn gather(record: &DevnetRecord, faults: Vec<FaultRecord>) -> Result<Status> {
    use alloy::providers::Provider;
    let l1 =
        mach_chain::connect_read_only(&record.l1_rpc, alloy::primitives::Address::ZERO).await?;
    let l2 = mach_jsonrpc::Client::new(&record.l2_rpc, Duration::from_secs(10));
    let l2_head: alloy::primitives::U64 = l2
        .call("eth_blockNumber", json!([]))
        .await
        .with_context(|| format!("the rollup RPC {} does not answer", record.l2_rpc))?;
    let finalized: Option<serde_json::Value> = l2
        .call("eth_getBlockByNumber", json!(["finalized", false]))
        .await
        .ok();
    let l2_finalized = finalized
        .and_then(|b| b.get("number").cloned())
        .and_then(|n| serde_json::from_value::<alloy::primitives::U64>(n).ok())
        .map(|n| n.to::<u64>());
    let l1_head = l1
        .provider
        .get_block_number()
        .await
        .with_context(|| format!("the L1 RPC {} does not answer", record.l1_rpc))?;
    let mut operators = Vec::new();
    for op in &record.operators {
        operators.push(OperatorStatus {
            name: op.name.clone(),
            address: op.address,
            validated: validated(&op.verifier_metrics_url).await,
            node_health: node_health(&op.node_api_url).await,
        });
    }
    let msm = record.deployment.mach_service_manager;
    let total_alerts = mach_chain::quorum::total_alerts(&l1, msm).await?;
    let alerts = mach_chain::quorum::confirmed_alerts(&l1, msm, 0, None)
        .await?
        .into_iter()
        .map(|alert| {
            let fault = faults
                .iter()
                .find(|f| f.message_hash == Some(alert.message_hash));
            AlertStatus {
                message_hash: alert.message_hash,
                invalid_block: fault.map(|f| f.invalid_block),
                l1_tx: alert.l1_tx,
                l1_block: alert.l1_block,
                latency_ms: fault
                    .and_then(|f| f.confirmed.as_ref())
                    .map(|c| c.latency_ms),
            }
        })
        .collect();
    Ok(Status {
        l1_head,
        l2_head: l2_head.to::<u64>(),
        l2_finalized,
        operators,
        total_alerts,
        alerts,
        faults,
    })
}

/// The node API's verdict: `healthy` (200), `partially healthy` (206), `unhealthy` (503), or
/// `down` when it does not answer.
pub async fn node_health(url: &str) -> String {
    match reqwest::get(url).await {
        Ok(r) => match r.status().as_u16() {
            200 => "healthy".into(),
            206 => "partially healthy".into(),
            503 => "unhealthy".into(),
            code => format!("HTTP {code}"),
        },
        Err(_) => "down".into(),
    }
}
