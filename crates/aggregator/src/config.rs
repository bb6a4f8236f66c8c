//! `aggregator.yaml`: the reference aggregator's fields plus the thresholds, the store and the
//! task timing.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A configuration problem, naming the field and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Everything `mach aggregator` runs with. Field names are those of the reference
/// `aggregator.yaml`; the ones after `quorum_nums` are ours.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AggregatorConfig {
    /// L1 JSON-RPC endpoint.
    pub eth_rpc_url: String,
    /// Where the aggregator JSON-RPC server listens, `host:port`.
    #[serde(default = "default_listen")]
    pub aggregator_jsonrpc_server_ip_port_address: String,
    /// Host names the server answers (`*` for any); others get HTTP 403.
    #[serde(default = "default_vhosts")]
    pub rpc_vhosts: Vec<String>,
    /// Browser origins allowed by CORS (`*` for any); empty allows none.
    #[serde(default)]
    pub rpc_cors: Vec<String>,
    /// L1 chain ID; the RPC endpoint must report it.
    pub layer1_chain_id: u64,
    /// The rollup's chain ID; the service manager's `rollupChainId` must equal it.
    pub layer2_chain_id: u64,
    /// Quorums every task asks to sign.
    #[serde(default = "default_quorums")]
    pub quorum_nums: Vec<u8>,
    /// Percentage of each quorum's stake that must sign, one per quorum; defaults to the
    /// service manager's `quorumThresholdPercentage` for every quorum.
    #[serde(default)]
    pub quorum_threshold_percentages: Vec<u8>,
    /// Directory of the task store (created 0700 if absent).
    #[serde(default = "default_db_path")]
    pub db_path: PathBuf,
    /// Seconds after its creation that a task accepts signatures; an alert seen again after
    /// that gets a new task with a fresh reference block.
    #[serde(default = "default_task_expiry")]
    pub task_expiry_seconds: u64,
    /// Seconds a signer's `aggregator_processSignedTaskResponse` waits for the confirmation
    /// before answering with a zero transaction hash.
    #[serde(default = "default_response_wait")]
    pub response_wait_seconds: u64,
    /// Seconds a task made by `aggregator_createTask` waits in memory for its first valid
    /// signature before it is forgotten (it never reaches the store unsigned).
    #[serde(default = "default_pending_task")]
    pub pending_task_seconds: u64,
    /// At most this many unsigned tasks are held; beyond it the oldest is forgotten first.
    #[serde(default = "default_max_pending_tasks")]
    pub max_pending_tasks: usize,
    /// Where Prometheus metrics are served at `/metrics`, `host:port` (e.g. `127.0.0.1:9095`);
    /// absent (the default): no metrics server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_ip_port_address: Option<String>,
}

fn default_listen() -> String {
    "127.0.0.1:8090".into()
}

fn default_vhosts() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]
}

fn default_quorums() -> Vec<u8> {
    vec![0]
}

fn default_db_path() -> PathBuf {
    PathBuf::from("aggregator-db")
}

fn default_task_expiry() -> u64 {
    3600
}

fn default_response_wait() -> u64 {
    60
}

fn default_pending_task() -> u64 {
    120
}

fn default_max_pending_tasks() -> usize {
    1024
}

impl AggregatorConfig {
    /// Parses and checks `aggregator.yaml`; a relative `db_path` is taken relative to the file's
    /// directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        let mut config = Self::from_yaml(&text)
            .map_err(|ConfigError(e)| ConfigError(format!("{}: {e}", path.display())))?;
        if config.db_path.is_relative() {
            if let Some(dir) = path.parent() {
                config.db_path = dir.join(&config.db_path);
            }
        }
        Ok(config)
    }

    /// Parses and checks the YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        use mach_primitives::nesting::{check_nesting, MAX_NESTING};
        check_nesting(text, MAX_NESTING)
            .map_err(|e| ConfigError(format!("not a valid aggregator configuration: {e}")))?;
        let config: Self = serde_yaml::from_str(text).map_err(|e| {
            ConfigError(format!(
                "not a valid aggregator configuration: {e} (see docs/aggregator.md for the fields)"
            ))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The required fields and every other field at its default.
    pub fn new(eth_rpc_url: &str, layer1_chain_id: u64, layer2_chain_id: u64) -> Self {
        Self {
            eth_rpc_url: eth_rpc_url.into(),
            aggregator_jsonrpc_server_ip_port_address: default_listen(),
            rpc_vhosts: default_vhosts(),
            rpc_cors: Vec::new(),
            layer1_chain_id,
            layer2_chain_id,
            quorum_nums: default_quorums(),
            quorum_threshold_percentages: Vec::new(),
            db_path: default_db_path(),
            task_expiry_seconds: default_task_expiry(),
            response_wait_seconds: default_response_wait(),
            pending_task_seconds: default_pending_task(),
            max_pending_tasks: default_max_pending_tasks(),
            metrics_ip_port_address: None,
        }
    }

    /// The file as YAML, every field written (`metrics_ip_port_address` only when set): what [`AggregatorConfig::from_yaml`] reads back
    /// as `self`. Checked first, so a written file always loads.
    pub fn to_yaml(&self) -> Result<String, ConfigError> {
        self.validate()?;
        serde_yaml::to_string(self)
            .map_err(|e| ConfigError(format!("cannot write aggregator.yaml: {e}")))
    }

    /// Writes the file (see [`AggregatorConfig::to_yaml`]).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        std::fs::write(path, self.to_yaml()?)
            .map_err(|e| ConfigError(format!("cannot write {}: {e}", path.display())))
    }

    /// Checks the values that parsing alone cannot: quorums, percentages, positive timings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.quorum_nums.is_empty() {
            return Err(ConfigError(
                "quorum_nums is empty: list at least one quorum, e.g. [0]".into(),
            ));
        }
        if self.quorum_nums.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ConfigError(format!(
                "quorum_nums {:?} must be strictly increasing (the contract requires sorted quorums)",
                self.quorum_nums
            )));
        }
        if !self.quorum_threshold_percentages.is_empty()
            && self.quorum_threshold_percentages.len() != self.quorum_nums.len()
        {
            return Err(ConfigError(format!(
                "quorum_threshold_percentages has {} entries but quorum_nums has {}: give one per quorum or none",
                self.quorum_threshold_percentages.len(),
                self.quorum_nums.len()
            )));
        }
        if let Some(p) = self.quorum_threshold_percentages.iter().find(|p| **p > 100) {
            return Err(ConfigError(format!(
                "quorum threshold percentage {p} is above 100"
            )));
        }
        if self.task_expiry_seconds == 0 {
            return Err(ConfigError("task_expiry_seconds must be positive".into()));
        }
        if self.pending_task_seconds == 0 {
            return Err(ConfigError("pending_task_seconds must be positive".into()));
        }
        if self.max_pending_tasks == 0 {
            return Err(ConfigError(
                "max_pending_tasks must be positive (it bounds unsigned tasks, e.g. 1024)".into(),
            ));
        }
        if let Some(listen) = &self.metrics_ip_port_address {
            if listen
                .rsplit_once(':')
                .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
            {
                return Err(ConfigError(format!(
                    "metrics_ip_port_address {listen:?} is not host:port; write e.g. \
                     127.0.0.1:9095, or remove the field to serve no metrics"
                )));
            }
        }
        Ok(())
    }

    /// How long a task accepts signatures.
    pub fn task_expiry(&self) -> Duration {
        Duration::from_secs(self.task_expiry_seconds)
    }

    /// How long an unsigned task is kept: `pending_task_seconds`, and never past the task's
    /// expiry.
    pub fn pending_task(&self) -> Duration {
        Duration::from_secs(self.pending_task_seconds.min(self.task_expiry_seconds))
    }

    /// How long a signer waits for the confirmation.
    pub fn response_wait(&self) -> Duration {
        Duration::from_secs(self.response_wait_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        "eth_rpc_url: http://localhost:8545\nlayer1_chain_id: 1\nlayer2_chain_id: 1868\n";

    #[test]
    fn defaults_and_reference_fields() {
        let c = AggregatorConfig::from_yaml(MINIMAL).unwrap();
        assert_eq!(
            c.aggregator_jsonrpc_server_ip_port_address,
            "127.0.0.1:8090"
        );
        assert_eq!(c.quorum_nums, vec![0]);
        assert!(c.quorum_threshold_percentages.is_empty());
        let full = format!(
            "{MINIMAL}aggregator_jsonrpc_server_ip_port_address: 0.0.0.0:8090\nrpc_vhosts: [\"*\"]\nrpc_cors: [\"*\"]\nquorum_nums: [0, 1]\nquorum_threshold_percentages: [66, 70]\n"
        );
        let c = AggregatorConfig::from_yaml(&full).unwrap();
        assert_eq!(c.quorum_threshold_percentages, vec![66, 70]);
    }

    #[test]
    fn written_files_read_back_the_same() {
        let mut c = AggregatorConfig::new("http://localhost:8545", 1, 1868);
        c.quorum_nums = vec![0, 1];
        c.quorum_threshold_percentages = vec![66, 70];
        c.rpc_cors = vec!["https://app.example".into()];
        assert_eq!(
            AggregatorConfig::from_yaml(&c.to_yaml().unwrap()).unwrap(),
            c
        );
        assert_eq!(
            AggregatorConfig::from_yaml(MINIMAL).unwrap(),
            AggregatorConfig::new("http://localhost:8545", 1, 1868)
        );
        c.metrics_ip_port_address = Some("127.0.0.1:9095".into());
        let yaml = c.to_yaml().unwrap();
        assert!(
            yaml.contains("metrics_ip_port_address: 127.0.0.1:9095"),
            "{yaml}"
        );
        assert_eq!(AggregatorConfig::from_yaml(&yaml).unwrap(), c);
        // Absent, it is not written: the file stays what older versions read.
        c.metrics_ip_port_address = None;
        assert!(!c.to_yaml().unwrap().contains("metrics"));
        c.max_pending_tasks = 0;
        assert!(c.to_yaml().unwrap_err().0.contains("max_pending_tasks"));
    }

    #[test]
    fn bad_configs_name_the_field() {
        let cases = [
            ("layer1_chain_id: 1\nlayer2_chain_id: 2\n", "eth_rpc_url"),
            (
                &format!("{MINIMAL}quorum_nums: [1, 0]\n"),
                "strictly increasing",
            ),
            (
                &format!("{MINIMAL}quorum_threshold_percentages: [66, 66]\n"),
                "one per quorum",
            ),
            (
                &format!("{MINIMAL}quorum_threshold_percentages: [120]\n"),
                "above 100",
            ),
            (
                &format!("{MINIMAL}max_pending_tasks: 0\n"),
                "max_pending_tasks",
            ),
            (&format!("{MINIMAL}quorum_numbers: [0]\n"), "quorum_numbers"),
            (
                &format!("{MINIMAL}metrics_ip_port_address: \"9095\"\n"),
                "metrics_ip_port_address",
            ),
            (
                &format!("{MINIMAL}metrics_ip_port_address: \":9095\"\n"),
                "metrics_ip_port_address",
            ),
        ];
        for (yaml, expected) in cases {
            let e = AggregatorConfig::from_yaml(yaml).unwrap_err().0;
            assert!(e.contains(expected), "{e:?} should mention {expected:?}");
        }
    }
}
