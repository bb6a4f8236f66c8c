//! `mach devnet down | fault | status`: commands for a devnet started by `mach devnet up`,
//! found through the files it keeps in its directory.

use super::record::{self, DevnetRecord, FaultRecord};
use super::up::validated;
use crate::operator::block_on;
use alloy::primitives::B256;
use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct DirArgs {
    /// The devnet directory given to `mach devnet up`.
    #[arg(long, default_value = ".devnet", value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct FaultArgs {
    /// Which state the malicious sequencer changes between two blocks: balance, storage, code
    /// or nonce.
    #[arg(long, value_name = "KIND")]
    kind: mach_devnet::rollup::FaultKind,
    #[command(flatten)]
    dir: DirArgs,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// `mach devnet down`: stops the supervisor (which stops everything it started) and makes sure
/// no process of the devnet is left.
pub fn down(args: DirArgs) -> Result<()> {
    let dir = &args.dir;
    let record = record::load(dir).ok();
    let pid = match std::fs::read_to_string(dir.join(record::PID)) {
        Ok(text) => text.trim().parse::<u32>().ok(),
        Err(_) => record.as_ref().map(|r| r.pid),
    };
    let Some(pid) = pid.filter(|pid| record::alive(*pid)) else {
        let leftovers = kill_leftovers(dir, record.as_ref());
        println!(
            "no devnet is running in {}{}",
            dir.display(),
            if leftovers > 0 {
                format!(" (stopped {leftovers} leftover processes)")
            } else {
                String::new()
            }
        );
        return Ok(());
    };
    record::signal(pid, false);
    let started = Instant::now();
    while record::alive(pid) && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    if record::alive(pid) {
        eprintln!("the devnet supervisor (process {pid}) did not stop within 30 s; killing it");
        record::signal(pid, true);
    }
    let leftovers = kill_leftovers(dir, record.as_ref());
    if leftovers > 0 {
        eprintln!("killed {leftovers} processes the supervisor left behind");
    }
    println!("devnet in {} stopped", dir.display());
    Ok(())
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

/// `mach devnet fault`: asks the devnet's sequencer to change the rollup's state between two
/// blocks and prints the block that became invalid.
pub fn fault(args: FaultArgs) -> Result<()> {
    let record = record::load(&args.dir.dir)?;
    block_on(async move {
        let client = mach_jsonrpc::Client::new(&record.control_url, Duration::from_secs(120));
        let fault: FaultRecord = client
            .call("devnet_fault", json!([args.kind.to_string()]))
            .await
            .with_context(|| {
                format!(
                    "the devnet's control endpoint {} did not inject the fault",
                    record.control_url
                )
            })?;
        println!("{}", fault.description);
        println!(
            "invalid block: #{} ({})",
            fault.invalid_block, fault.invalid_block_hash
        );
        println!(
            "watch its alert with `mach devnet status --dir {}`",
            args.dir.dir.display()
        );
        Ok(())
    })
}

/// `mach devnet status --json`.
#[derive(Debug, Serialize)]
struct Status {
    l1_head: u64,
    l2_head: u64,
    l2_finalized: Option<u64>,
    operators: Vec<OperatorStatus>,
    total_alerts: u64,
    alerts: Vec<AlertStatus>,
    faults: Vec<FaultRecord>,
}

#[derive(Debug, Serialize)]
struct OperatorStatus {
    name: String,
    address: alloy::primitives::Address,
    validated: Option<u64>,
    node_health: String,
}

#[derive(Debug, Serialize)]
struct AlertStatus {
    message_hash: B256,
    invalid_block: Option<u64>,
    l1_tx: B256,
    l1_block: u64,
    latency_ms: Option<u64>,
}

/// `mach devnet status`.
pub fn status(args: StatusArgs) -> Result<()> {
    let record = record::load(&args.dir.dir)?;
    let faults = record::load_faults(&args.dir.dir)?;
    let status = block_on(gather(&record, faults))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    println!(
        "L1 #{}  rollup #{} (finalized {})",
        status.l1_head,
        status.l2_head,
        status
            .l2_finalized
            .map_or("-".to_string(), |n| format!("#{n}"))
    );
    for op in &status.operators {
        println!(
            "{}  {}  validated {}  node {}",
            op.name,
            op.address,
            op.validated.map_or("-".to_string(), |n| format!("#{n}")),
            op.node_health
        );
    }
    println!(
        "alerts confirmed on L1: {} (totalAlerts {})",
        status.alerts.len(),
        status.total_alerts
    );
    for alert in &status.alerts {
        println!(
            "  {}  invalid block {}  L1 tx {} (block {})  {}",
            alert.message_hash,
            alert
                .invalid_block
                .map_or("unknown".to_string(), |n| format!("#{n}")),
            alert.l1_tx,
            alert.l1_block,
            alert
                .latency_ms
                .map_or(String::new(), |ms| format!("{ms} ms after the block"))
        );
    }
    let waiting: Vec<_> = status
        .faults
        .iter()
        .filter(|f| f.confirmed.is_none())
        .collect();
    for fault in waiting {
        println!(
            "  fault {} at block #{}: alert not confirmed yet",
            fault.kind, fault.invalid_block
        );
    }
    Ok(())
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
async fn node_health(url: &str) -> String {
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
