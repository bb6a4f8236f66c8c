//! `mach-config.toml`, read exactly as the reference verifier (`op-mach`) reads it: sections
//! `[operator]`, `[validator]`, `[collector]`, `[scheduler]`, `[prometheus]`, every field optional
//! with the reference defaults, and the older section names `[alerter]` (for `[operator]`) and
//! `[fetcher]` (for `[collector]`) accepted.
//!
//! One deliberate difference: a file that sets no `[validator].mode` validates in `strict` mode
//! (the reference defaults to `unsafe`, which executes nothing). A file that says
//! `mode = "unsafe"` gets unsafe mode, as written.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// A configuration problem, naming the file, the field and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// How far the verifier goes with each block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Header and linkage checks only; nothing is executed; no alerts.
    Unsafe,
    /// Full validation, results logged and counted, never an alert.
    Safe,
    /// Full validation; a provably invalid block raises an alert.
    #[default]
    Strict,
}

/// `[operator]` (alias `[alerter]`): where alerts and work proofs go.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct OperatorSection {
    /// Send work proofs (and, with `alert`, alerts) to the node; else only log.
    pub enable: bool,
    /// The node's (or proxy's) alert JSON-RPC endpoint, usually ending in `/<avs_name>`.
    pub url: String,
    /// Send alerts (needs `enable`).
    pub alert: bool,
}

impl Default for OperatorSection {
    fn default() -> Self {
        Self {
            enable: false,
            url: "http://127.0.0.1:8901".into(),
            alert: false,
        }
    }
}

/// `[validator]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct ValidatorSection {
    /// Validation mode; absent means strict (see the module docs).
    pub mode: Mode,
    /// Least time between two requests to the rollup RPC, in milliseconds (0: no limit).
    pub rpc_rate_ms: Option<u64>,
}

/// `[collector]` (alias `[fetcher]`): the rollup RPC and how it is polled.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct CollectorSection {
    /// The rollup node's JSON-RPC endpoint; its chain ID must be the genesis chain ID.
    pub url: String,
    /// Milliseconds between polls of the latest and finalized heads.
    pub interval_ms: u64,
    /// Blocks fetched at one time: the one being validated and up to `max_fetcher - 1` after
    /// it, read ahead while it is validated (1: one block at a time).
    pub max_fetcher: usize,
}

impl Default for CollectorSection {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8094".into(),
            interval_ms: 4000,
            max_fetcher: 1,
        }
    }
}

/// `[scheduler]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct SchedulerSection {
    /// Validate every n-th block's work proof (1: every block).
    pub verify_block_interval: u64,
    /// Milliseconds to wait for one validation result before checking again.
    pub verify_timeout_ms: u64,
    /// Milliseconds before a failed (not invalid: failed to fetch or run) validation is retried.
    /// The reference spells it `retry_wait_timout_ms`; both spellings are read.
    #[serde(alias = "retry_wait_timeout_ms")]
    pub retry_wait_timout_ms: u64,
}

impl Default for SchedulerSection {
    fn default() -> Self {
        Self {
            verify_block_interval: 1,
            verify_timeout_ms: 10,
            retry_wait_timout_ms: 10_000,
        }
    }
}

/// `[prometheus]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct PrometheusSection {
    /// TCP port of the metrics endpoint.
    pub port: u16,
    /// HTTP path of the metrics.
    pub metrics_path: String,
    /// Listen on all interfaces (else 127.0.0.1 only).
    pub external: bool,
}

impl Default for PrometheusSection {
    fn default() -> Self {
        Self {
            port: 9094,
            metrics_path: "/metrics".into(),
            external: false,
        }
    }
}

/// The whole file. Written back with [`VerifierConfig::to_toml`] (the current section names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerifierConfig {
    /// `[operator]`.
    pub operator: OperatorSection,
    /// `[validator]`.
    pub validator: ValidatorSection,
    /// `[collector]`.
    pub collector: CollectorSection,
    /// `[scheduler]`.
    pub scheduler: SchedulerSection,
    /// `[prometheus]`.
    pub prometheus: PrometheusSection,
}

/// The file as written, with both spellings of the renamed sections.
#[derive(Deserialize)]
struct Raw {
    operator: Option<OperatorSection>,
    alerter: Option<OperatorSection>,
    #[serde(default)]
    validator: ValidatorSection,
    collector: Option<CollectorSection>,
    fetcher: Option<CollectorSection>,
    #[serde(default)]
    scheduler: SchedulerSection,
    #[serde(default)]
    prometheus: PrometheusSection,
}

impl VerifierConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text)
            .map_err(|ConfigError(e)| ConfigError(format!("{}: {e}", path.display())))
    }

    /// Parses and checks the TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: Raw = toml::from_str(text)
            .map_err(|e| ConfigError(format!("not a valid mach-config.toml: {e}")))?;
        let operator = match (raw.operator, raw.alerter) {
            (Some(_), Some(_)) => {
                return Err(ConfigError(
                    "both [operator] and its old name [alerter] are present: keep [operator]"
                        .into(),
                ))
            }
            (a, b) => a.or(b).unwrap_or_default(),
        };
        let collector = match (raw.collector, raw.fetcher) {
            (Some(_), Some(_)) => {
                return Err(ConfigError(
                    "both [collector] and its old name [fetcher] are present: keep [collector]"
                        .into(),
                ))
            }
            (a, b) => a.or(b).unwrap_or_default(),
        };
        let config = Self {
            operator,
            validator: raw.validator,
            collector,
            scheduler: raw.scheduler,
            prometheus: raw.prometheus,
        };
        config.validate()?;
        Ok(config)
    }

    /// The file as TOML, every field written: what [`VerifierConfig::from_toml`] reads back as
    /// `self`. Checked first, so a written file always loads.
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        self.validate()?;
        toml::to_string(self)
            .map_err(|e| ConfigError(format!("cannot write mach-config.toml: {e}")))
    }

    /// Writes the file (see [`VerifierConfig::to_toml`]).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        std::fs::write(path, self.to_toml()?)
            .map_err(|e| ConfigError(format!("cannot write {}: {e}", path.display())))
    }

    /// Checks the values that parsing alone cannot: URLs, positive intervals, the metrics path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, url) in [
            ("[collector].url", &self.collector.url),
            ("[operator].url", &self.operator.url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError(format!(
                    "{field} {url:?} is not an http(s) URL"
                )));
            }
        }
        if self.collector.max_fetcher == 0 {
            return Err(ConfigError(
                "[collector].max_fetcher must be at least 1".into(),
            ));
        }
        if self.collector.interval_ms == 0 {
            return Err(ConfigError(
                "[collector].interval_ms must be positive".into(),
            ));
        }
        if self.scheduler.verify_block_interval == 0 {
            return Err(ConfigError(
                "[scheduler].verify_block_interval must be at least 1".into(),
            ));
        }
        if !self.prometheus.metrics_path.starts_with('/') {
            return Err(ConfigError(format!(
                "[prometheus].metrics_path {:?} must start with /",
                self.prometheus.metrics_path
            )));
        }
        Ok(())
    }

    /// Least time between two rollup RPC requests, if limited.
    pub fn rpc_rate(&self) -> Option<Duration> {
        self.validator
            .rpc_rate_ms
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
    }

    /// Where the metrics server listens.
    pub fn metrics_addr(&self) -> std::net::SocketAddr {
        let ip = if self.prometheus.external {
            std::net::Ipv4Addr::UNSPECIFIED
        } else {
            std::net::Ipv4Addr::LOCALHOST
        };
        std::net::SocketAddr::from((ip, self.prometheus.port))
    }

    /// Whether alerts go to the node (both `enable` and `alert`, in strict mode).
    pub fn sends_alerts(&self) -> bool {
        self.operator.enable && self.operator.alert && self.validator.mode == Mode::Strict
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_reference_file_reads_unchanged() {
        // The reference operators have, kept unchanged in the repository.
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../verifier/tests/data/mach-config.toml");
        let c = VerifierConfig::load(&path).unwrap();
        assert!(c.operator.enable && c.operator.alert);
        assert_eq!(
            c.operator.url,
            "http://mach-avs-ethereum-soneium-operator-proxy:8902/soneium"
        );
        assert_eq!(c.validator.mode, Mode::Unsafe);
        assert_eq!(c.rpc_rate(), Some(Duration::from_millis(100)));
        assert_eq!(c.collector.url, "https://rpc.soneium.org/");
        assert_eq!(
            (c.collector.interval_ms, c.collector.max_fetcher),
            (4000, 1)
        );
        assert_eq!(c.scheduler.retry_wait_timout_ms, 10_000);
        assert_eq!(c.prometheus.port, 9094);
        assert_eq!(c.metrics_addr().to_string(), "127.0.0.1:9094");
        assert!(!c.sends_alerts(), "unsafe mode never alerts");
    }

    #[test]
    fn written_files_read_back_the_same() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../verifier/tests/data/mach-config.toml");
        let reference = VerifierConfig::load(&path).unwrap();
        let mut ours = VerifierConfig::default();
        ours.collector.url = "http://127.0.0.1:9545".into();
        ours.validator.rpc_rate_ms = Some(50);
        for c in [reference, ours.clone(), VerifierConfig::default()] {
            assert_eq!(VerifierConfig::from_toml(&c.to_toml().unwrap()).unwrap(), c);
        }
        ours.collector.max_fetcher = 0;
        assert!(ours.to_toml().unwrap_err().0.contains("max_fetcher"));
    }

    #[test]
    fn defaults_strict_mode_and_old_section_names() {
        let c = VerifierConfig::from_toml("").unwrap();
        assert_eq!(c, VerifierConfig::default());
        assert_eq!(c.validator.mode, Mode::Strict);
        assert_eq!(c.collector.url, "http://127.0.0.1:8094");
        assert_eq!(c.operator.url, "http://127.0.0.1:8901");
        assert_eq!(c.rpc_rate(), None);
        let old = VerifierConfig::from_toml(
            "[alerter]\nenable = true\nalert = true\nurl = \"http://node:8901\"\n[fetcher]\nurl = \"http://l2:8545\"\nmax_fetcher = 4\n",
        )
        .unwrap();
        assert_eq!(old.operator.url, "http://node:8901");
        assert_eq!(old.collector.max_fetcher, 4);
        assert!(old.sends_alerts());
        let modes = VerifierConfig::from_toml("[validator]\nmode = \"safe\"\n").unwrap();
        assert_eq!(modes.validator.mode, Mode::Safe);
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("[validator]\nmode = \"paranoid\"\n", "mode"),
            ("[collector]\nurl = \"localhost:8545\"\n", "[collector].url"),
            ("[collector]\nmax_fetcher = 0\n", "max_fetcher"),
            ("[operator]\n[alerter]\n", "[alerter]"),
            ("[collector]\n[fetcher]\n", "[fetcher]"),
            ("[prometheus]\nmetrics_path = \"metrics\"\n", "metrics_path"),
            ("[collector\n", "not a valid"),
        ];
        for (text, expected) in cases {
            let e = VerifierConfig::from_toml(text).unwrap_err().0;
            assert!(e.contains(expected), "{e:?} should mention {expected:?}");
        }
    }
}
