//! What a running devnet writes under its directory for the other `mach devnet` commands and for
//! people: `devnet.json` (endpoints, files, processes; present only while the devnet is up) and
//! `faults.json` (each injected fault, the alert it should raise, and its confirmation on L1).

use alloy::primitives::{Address, B256};
use anyhow::{bail, Context, Result};
use mach_chain::Deployment;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `DIR/devnet.json`.
pub const RECORD: &str = "devnet.json";
/// `DIR/faults.json`.
pub const FAULTS: &str = "faults.json";
/// `DIR/processes.json`: every process the devnet started, written as each starts.
pub const PROCESSES: &str = "processes.json";
/// `DIR/devnet.pid`: the supervisor's process ID while it runs.
pub const PID: &str = "devnet.pid";
/// Marks a directory `mach devnet up` made, so that it may wipe it for the next run.
pub const MARKER: &str = ".mach-devnet";

/// `devnet.json`: how to reach every part of the running devnet.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DevnetRecord {
    /// The devnet directory.
    pub dir: PathBuf,
    /// The supervising `mach devnet up` process.
    pub pid: u32,
    /// L1 (anvil) JSON-RPC.
    pub l1_rpc: String,
    /// L1 chain ID.
    pub l1_chain_id: u64,
    /// Rollup (anvil) JSON-RPC.
    pub l2_rpc: String,
    /// Rollup chain ID.
    pub l2_chain_id: u64,
    /// `ethereum` or `optimism`.
    pub l2_network: String,
    /// Seconds between rollup blocks.
    pub block_time_s: f64,
    /// Load transactions per second.
    pub load_tps: u32,
    /// The aggregator's JSON-RPC.
    pub aggregator_url: String,
    /// The aggregator's Prometheus metrics (absent in records of older devnets).
    #[serde(default)]
    pub aggregator_metrics_url: Option<String>,
    /// The supervisor's control JSON-RPC (`devnet_fault`), bound to localhost.
    pub control_url: String,
    /// The AVS name in every operator's `avs_configs.json`.
    pub avs_name: String,
    /// The deployment record (also in `deployment_file`).
    pub deployment: Deployment,
    /// `DIR/deployment.json`.
    pub deployment_file: PathBuf,
    /// One entry per operator.
    pub operators: Vec<OperatorRecord>,
    /// Log files of the chains, the aggregator and the supervisor.
    pub logs: Logs,
    /// Every process the devnet started.
    pub processes: Vec<ProcessRecord>,
    /// Seconds from start to ready.
    pub startup_s: f64,
}

impl DevnetRecord {
    /// `devnet ready` and the endpoints, as `mach devnet up` prints them.
    pub fn ready_text(&self) -> String {
        let dir = self.dir.display();
        let mut text = format!("devnet ready in {:.1} s ({dir})\n", self.startup_s);
        text += &format!(
            "  L1           {}  chain {}\n",
            self.l1_rpc, self.l1_chain_id
        );
        text += &format!(
            "  rollup       {}  chain {}, {}, a block every {} s, {} tx/s\n",
            self.l2_rpc, self.l2_chain_id, self.l2_network, self.block_time_s, self.load_tps
        );
        text += &format!("  aggregator   {}", self.aggregator_url);
        if let Some(metrics) = &self.aggregator_metrics_url {
            text += &format!("  metrics {metrics}");
        }
        text += "\n";
        text += &format!(
            "  MachServiceManager {}\n",
            self.deployment.mach_service_manager
        );
        for op in &self.operators {
            text += &format!(
                "  {}    {}  node {}  verifier metrics {}\n",
                op.name, op.address, op.node_alert_url, op.verifier_metrics_url
            );
            text += &format!("               BLS key: {}\n", op.bls_key_held());
        }
        text += &format!("  record {dir}/devnet.json, logs {dir}/logs/\n");
        text += &format!("  try: mach devnet fault --kind balance --dir {dir}\n");
        text += &format!("       mach devnet status --dir {dir}\n");
        text += &format!("       mach devnet down --dir {dir}\n");
        text
    }
}

/// Log files not owned by one operator.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Logs {
    /// L1 anvil.
    pub l1: PathBuf,
    /// Rollup anvil.
    pub l2: PathBuf,
    /// `mach aggregator`.
    pub aggregator: PathBuf,
    /// The supervisor (sequencer, fault and alert watcher).
    pub devnet: PathBuf,
}

/// One operator's endpoints and files, as the operator would have them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OperatorRecord {
    /// `operator0`, `operator1`, …
    pub name: String,
    /// ECDSA address (EigenLayer operator).
    pub address: Address,
    /// BLS operator ID.
    pub operator_id: B256,
    /// The node's alert JSON-RPC, with the AVS path the verifier posts to.
    pub node_alert_url: String,
    /// The node's EigenLayer node API (health).
    pub node_api_url: String,
    /// The node's Prometheus metrics.
    pub node_metrics_url: String,
    /// The verifier's Prometheus metrics.
    pub verifier_metrics_url: String,
    /// `mach-config.toml` of the verifier.
    pub verifier_config: PathBuf,
    /// `genesis.json` of the verifier.
    pub genesis_config: PathBuf,
    /// `.env` of the node.
    pub env_file: PathBuf,
    /// `avs_configs.json` of the node.
    pub avs_config: PathBuf,
    /// The operator's ECDSA key file.
    pub ecdsa_key_file: PathBuf,
    /// How the node holds the operator's BLS key: `keystore` (the key file below) or
    /// `cerberus` (the devnet's Cerberus stand-in at `bls_cerberus_url`; no key file). Records
    /// written before remote signers existed have no such field: `keystore`.
    #[serde(default = "keystore")]
    pub bls_signer: String,
    /// The operator's BLS key file, when the node holds the key in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bls_key_file: Option<PathBuf>,
    /// The gRPC URL of the Cerberus signer holding the operator's BLS key, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bls_cerberus_url: Option<String>,
    /// `mach node` log.
    pub node_log: PathBuf,
    /// `mach verifier` log.
    pub verifier_log: PathBuf,
}

fn keystore() -> String {
    "keystore".into()
}

impl OperatorRecord {
    /// How the operator's BLS key is held, for people: `keystore FILE` or `cerberus URL`.
    pub fn bls_key_held(&self) -> String {
        match (&self.bls_cerberus_url, &self.bls_key_file) {
            (Some(url), _) => format!("cerberus {url} (the key is in the devnet's signer only)"),
            (None, Some(file)) => format!("keystore {}", file.display()),
            (None, None) => self.bls_signer.clone(),
        }
    }
}

/// A process the devnet started.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// What it is (`l1-anvil`, `operator0-node`, …).
    pub name: String,
    /// Its process ID.
    pub pid: u32,
}

/// One injected fault and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// `balance`, `storage`, `code` or `nonce`.
    pub kind: String,
    /// What the malicious sequencer changed.
    pub description: String,
    /// The block that commits to the change (the invalid block).
    pub invalid_block: u64,
    /// Its hash.
    pub invalid_block_hash: B256,
    /// When it was mined, Unix milliseconds.
    pub produced_at_ms: u64,
    /// The message hash of the alert verifiers raise for it, once the devnet's own watcher has
    /// judged the block.
    pub message_hash: Option<B256>,
    /// Its confirmation on L1, once seen.
    pub confirmed: Option<Confirmation>,
}

/// An `AlertConfirmed` event as the devnet saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The `confirmAlert` transaction.
    pub l1_tx: B256,
    /// Its L1 block.
    pub l1_block: u64,
    /// When the supervisor saw the receipt, Unix milliseconds.
    pub seen_at_ms: u64,
    /// From the invalid block's production to the confirmation receipt.
    pub latency_ms: u64,
}

/// Writes `value` as pretty JSON through a temporary file, so readers never see half a file.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text + "\n").with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Reads the running devnet's record from `dir`.
pub fn load(dir: &Path) -> Result<DevnetRecord> {
    let path = dir.join(RECORD);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "no devnet is running in {} (no {RECORD}); start one with `mach devnet up --dir {}`",
            dir.display(),
            dir.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a devnet record", path.display()))
}

/// The faults recorded in `dir` (none if the file is missing).
pub fn load_faults(dir: &Path) -> Result<Vec<FaultRecord>> {
    let path = dir.join(FAULTS);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{} is not a fault list", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The processes the devnet in `dir` started, as far as it recorded them.
pub fn load_processes(dir: &Path) -> Vec<ProcessRecord> {
    std::fs::read_to_string(dir.join(PROCESSES))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Whether process `pid` exists.
pub fn alive(pid: u32) -> bool {
    rustix::process::Pid::from_raw(pid as i32)
        .is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok())
        && !zombie(pid)
}

/// Whether `pid` has exited but not been reaped (it still answers signals).
fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Sends SIGTERM (or SIGKILL when `kill`) to `pid`; a process already gone is fine.
pub fn signal(pid: u32, kill: bool) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let sig = if kill {
            rustix::process::Signal::KILL
        } else {
            rustix::process::Signal::TERM
        };
        let _ = rustix::process::kill_process(pid, sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operator(extra: serde_json::Value) -> serde_json::Value {
        let mut op = serde_json::json!({
            "name": "operator0",
            "address": Address::ZERO,
            "operator_id": B256::ZERO,
            "node_alert_url": "http://127.0.0.1:1/devnet",
            "node_api_url": "http://127.0.0.1:2/eigen/node/health",
            "node_metrics_url": "http://127.0.0.1:3/metrics",
            "verifier_metrics_url": "http://127.0.0.1:4/metrics",
            "verifier_config": "/d/operator0/mach-config.toml",
            "genesis_config": "/d/operator0/genesis.json",
            "env_file": "/d/operator0/.env",
            "avs_config": "/d/operator0/avs_configs.json",
            "ecdsa_key_file": "/d/operator0/keys/opr.ecdsa.key.json",
            "node_log": "/d/logs/operator0-node.log",
            "verifier_log": "/d/logs/operator0-verifier.log",
        });
        for (key, value) in extra.as_object().unwrap() {
            op[key] = value.clone();
        }
        op
    }

    #[test]
    fn operator_records_say_how_the_bls_key_is_held_and_old_ones_still_read() {
        // A record written before remote signers: a key file, no `bls_signer`.
        let old: OperatorRecord = serde_json::from_value(operator(
            serde_json::json!({"bls_key_file": "/d/operator0/keys/opr.bls.key.json"}),
        ))
        .unwrap();
        assert_eq!(old.bls_signer, "keystore");
        assert_eq!(
            old.bls_key_held(),
            "keystore /d/operator0/keys/opr.bls.key.json"
        );

        let remote: OperatorRecord = serde_json::from_value(operator(serde_json::json!({
            "bls_signer": "cerberus",
            "bls_cerberus_url": "http://127.0.0.1:5",
        })))
        .unwrap();
        assert!(remote.bls_key_file.is_none());
        assert!(remote
            .bls_key_held()
            .starts_with("cerberus http://127.0.0.1:5"));
        let written = serde_json::to_value(&remote).unwrap();
        assert!(written.get("bls_key_file").is_none(), "{written}");
        assert_eq!(written["bls_signer"], "cerberus");
    }
}
