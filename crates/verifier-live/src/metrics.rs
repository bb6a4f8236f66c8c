//! The live verifier's Prometheus metrics (`mach_verifier_*`, the names docs/production.md fixes)
//! and the HTTP server that exposes them at `[prometheus].metrics_path` on
//! [`VerifierConfig::metrics_addr`]. The rollup is named by the scrape target's label, so the
//! metrics carry none.

use crate::config::VerifierConfig;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, IntCounter, IntGauge, Registry, TextEncoder,
};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Validated blocks the gas-per-second gauge averages over.
const GAS_WINDOW: usize = 32;

/// Why metrics could not be set up or served.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The metric families could not be registered.
    #[error("metrics: {0}")]
    Registry(#[from] prometheus::Error),
    /// The `[prometheus]` address could not be listened on.
    #[error("cannot listen on {addr} for metrics: {source}; stop what uses port {port} or change [prometheus].port", port = addr.port())]
    Bind {
        /// The address from `[prometheus]`.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A `MACH_HTTP_*` limit is not a positive integer.
    #[error("metrics server limits: {0}")]
    Limits(String),
}

/// The verifier's metric families, in their own registry. Cheap to share behind an `Arc`; every
/// method takes `&self`.
#[derive(Debug)]
pub struct VerifierMetrics {
    registry: Registry,
    latest_block: IntGauge,
    finalized_block: IntGauge,
    validated_block: IntGauge,
    validation_seconds: Histogram,
    gas_per_second: Gauge,
    invalid_blocks: IntCounter,
    alerts_sent: IntCounter,
    alerts_pending: IntGauge,
    alert_delivery_failures: IntCounter,
    alerts_dropped: IntCounter,
    rpc_errors: IntCounter,
    config_out_of_date: IntCounter,
    /// The highest total reported to `rpc_errors` (its counter's value).
    rpc_errors_seen: AtomicU64,
    /// (gas used, validation seconds) of the newest validated blocks, oldest first.
    recent: Mutex<VecDeque<(u64, f64)>>,
}

impl VerifierMetrics {
    /// Registers every family in a fresh registry, all at zero.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let latest_block = gauge(
            "mach_verifier_latest_block",
            "Latest rollup block number the verifier has seen",
        )?;
        let finalized_block = gauge(
            "mach_verifier_finalized_block",
            "Finalized rollup block number",
        )?;
        let validated_block = gauge(
            "mach_verifier_validated_block",
            "Newest rollup block validated (all earlier ones validated too)",
        )?;
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let invalid_blocks = counter("mach_verifier_invalid_blocks_total", "Blocks found invalid")?;
        let alerts_sent = counter(
            "mach_verifier_alerts_sent_total",
            "Alerts the operator node accepted",
        )?;
        let alerts_pending = gauge(
            "mach_verifier_alerts_pending",
            "Alerts queued that the operator node has not accepted yet",
        )?;
        let alert_delivery_failures = counter(
            "mach_verifier_alert_delivery_failures_total",
            "Attempts to hand an alert to the operator node that failed (each is retried with backoff)",
        )?;
        let alerts_dropped = counter(
            "mach_verifier_alerts_dropped_total",
            "Undelivered alerts dropped because the queue was full",
        )?;
        let rpc_errors = counter(
            "mach_verifier_rpc_errors_total",
            "Failed calls to the rollup RPC",
        )?;
        let config_out_of_date = counter(
            "mach_verifier_config_out_of_date_total",
            "Validation attempts that stopped on a block carrying a later fork's fields than the chain config has active (stale genesis); never alerted",
        )?;
        let validation_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "mach_verifier_validation_seconds",
                "Time to validate one block, fetch excluded",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ]),
        )?;
        registry.register(Box::new(validation_seconds.clone()))?;
        let gas_per_second = Gauge::new(
            "mach_verifier_gas_per_second",
            "Gas re-executed per second over the last validated blocks",
        )?;
        registry.register(Box::new(gas_per_second.clone()))?;
        Ok(Self {
            registry,
            latest_block,
            finalized_block,
            validated_block,
            validation_seconds,
            gas_per_second,
            invalid_blocks,
            alerts_sent,
            alerts_pending,
            alert_delivery_failures,
            alerts_dropped,
            rpc_errors,
            config_out_of_date,
            rpc_errors_seen: AtomicU64::new(0),
            recent: Mutex::new(VecDeque::with_capacity(GAS_WINDOW)),
        })
    }

    /// A validation attempt found the chain config out of date (see
    /// [`BlockError::ConfigOutOfDate`](mach_verifier::BlockError::ConfigOutOfDate)).
    pub fn config_out_of_date(&self) {
        self.config_out_of_date.inc();
    }

    /// The rollup's latest block number.
    pub fn latest(&self, number: u64) {
        self.latest_block.set(as_gauge(number));
    }

    /// The rollup's finalized block number.
    pub fn finalized(&self, number: u64) {
        self.finalized_block.set(as_gauge(number));
    }

    /// Block `number` was validated (valid or invalid) in `took`, re-executing `gas` (0 when
    /// nothing was executed, as in unsafe mode).
    pub fn validated(&self, number: u64, took: Duration, gas: u64) {
        self.validated_block.set(as_gauge(number));
        let seconds = took.as_secs_f64();
        self.validation_seconds.observe(seconds);
        let Ok(mut recent) = self.recent.lock() else {
            return;
        };
        if recent.len() == GAS_WINDOW {
            recent.pop_front();
        }
        recent.push_back((gas, seconds));
        let (gas, seconds) = recent.iter().fold((0u64, 0f64), |(g, s), (bg, bs)| {
            (g.saturating_add(*bg), s + bs)
        });
        self.gas_per_second.set(if seconds > 0.0 {
            gas as f64 / seconds
        } else {
            0.0
        });
    }

    /// The newest validated block when progress moves without a validation (resumed from the
    /// store, or back to the common ancestor after a reorg).
    pub fn set_validated(&self, number: u64) {
        self.validated_block.set(as_gauge(number));
    }

    /// One block found invalid.
    pub fn invalid(&self) {
        self.invalid_blocks.inc();
    }

    /// The node accepted an alert.
    pub fn alert_delivered(&self) {
        self.alerts_sent.inc();
    }

    /// An attempt to hand an alert to the node failed.
    pub fn alert_delivery_failed(&self) {
        self.alert_delivery_failures.inc();
    }

    /// `count` undelivered alerts were dropped from a full queue.
    pub fn alerts_dropped(&self, count: usize) {
        self.alerts_dropped.inc_by(count as u64);
    }

    /// Alerts queued and not yet accepted by the node.
    pub fn alerts_pending(&self, count: usize) {
        self.alerts_pending.set(as_gauge(count as u64));
    }

    /// Brings the RPC-error counter up to `total`, the failed rollup calls since start (as
    /// [`mach_jsonrpc::Client::failures`] counts them).
    pub fn rpc_errors(&self, total: u64) {
        raise(&self.rpc_errors, &self.rpc_errors_seen, total);
    }

    /// Every family in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

fn as_gauge(number: u64) -> i64 {
    i64::try_from(number).unwrap_or(i64::MAX)
}

/// Counters only go up: adds what `total` has over the highest total seen before, once even
/// when callers on several threads report at the same time.
fn raise(counter: &IntCounter, seen: &AtomicU64, total: u64) {
    let before = seen.fetch_max(total, Ordering::Relaxed);
    if total > before {
        counter.inc_by(total - before);
    }
}

/// Listens on `config.metrics_addr()` and serves `metrics` at `[prometheus].metrics_path` in a
/// background task (which ends with the runtime). Returns the address actually bound (port 0
/// picks a free one). A taken port is an error naming `[prometheus].port`.
pub async fn serve(
    config: &VerifierConfig,
    metrics: Arc<VerifierMetrics>,
) -> Result<SocketAddr, MetricsError> {
    let addr = config.metrics_addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| MetricsError::Bind { addr, source })?;
    tracing::info!(address = %local, path = %config.prometheus.metrics_path, "Starting metrics server at port {}", local.port());
    let router = Router::new().route(
        &config.prometheus.metrics_path,
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(CONTENT_TYPE, "text/plain; version=0.0.4")],
                    metrics.render(),
                )
                    .into_response()
            }
        }),
    );
    let limits = mach_jsonrpc::http::Limits::from_env().map_err(MetricsError::Limits)?;
    tokio::spawn(async move {
        let access = mach_jsonrpc::http::Access::any();
        let forever = std::future::pending();
        if let Err(e) = mach_jsonrpc::http::serve(listener, router, access, limits, forever).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    Ok(local)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The value of the unlabelled sample `name` in `text`.
    fn sample(text: &str, name: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
            .parse()
            .unwrap()
    }

    #[test]
    fn the_text_output_has_every_documented_metric() {
        let m = VerifierMetrics::new().unwrap();
        m.latest(120);
        m.finalized(100);
        m.validated(110, Duration::from_millis(500), 1_000_000);
        m.validated(111, Duration::from_millis(1500), 3_000_000);
        m.invalid();
        m.alert_delivered();
        m.alert_delivered();
        m.alert_delivery_failed();
        m.alerts_pending(3);
        m.alerts_dropped(4);
        m.rpc_errors(7);
        let text = m.render();
        assert_eq!(sample(&text, "mach_verifier_latest_block"), 120.0);
        assert_eq!(sample(&text, "mach_verifier_finalized_block"), 100.0);
        assert_eq!(sample(&text, "mach_verifier_validated_block"), 111.0);
        assert_eq!(sample(&text, "mach_verifier_gas_per_second"), 2_000_000.0);
        assert_eq!(sample(&text, "mach_verifier_invalid_blocks_total"), 1.0);
        assert_eq!(sample(&text, "mach_verifier_alerts_sent_total"), 2.0);
        assert_eq!(
            sample(&text, "mach_verifier_alert_delivery_failures_total"),
            1.0
        );
        assert_eq!(sample(&text, "mach_verifier_alerts_pending"), 3.0);
        assert_eq!(sample(&text, "mach_verifier_alerts_dropped_total"), 4.0);
        assert_eq!(sample(&text, "mach_verifier_rpc_errors_total"), 7.0);
        assert_eq!(sample(&text, "mach_verifier_validation_seconds_count"), 2.0);
        assert_eq!(sample(&text, "mach_verifier_validation_seconds_sum"), 2.0);
        assert!(text.contains("mach_verifier_validation_seconds_bucket{le=\"1\"} 1"));
        assert!(text.contains("# TYPE mach_verifier_validation_seconds histogram"));
        assert!(text.contains("# TYPE mach_verifier_latest_block gauge"));
        assert!(text.contains("# TYPE mach_verifier_rpc_errors_total counter"));
    }

    #[test]
    fn gas_per_second_averages_over_the_last_blocks_only() {
        let m = VerifierMetrics::new().unwrap();
        m.validated(1, Duration::from_secs(1), 1_000_000_000);
        for n in 2..2 + GAS_WINDOW as u64 {
            m.validated(n, Duration::from_secs(1), 10);
        }
        assert_eq!(sample(&m.render(), "mach_verifier_gas_per_second"), 10.0);
    }

    #[tokio::test]
    async fn served_at_the_configured_path_and_a_taken_port_is_named() {
        let config = VerifierConfig::from_toml(
            "[prometheus]\nport = 0\nmetrics_path = \"/custom/metrics\"\n",
        )
        .unwrap();
        let metrics = Arc::new(VerifierMetrics::new().unwrap());
        metrics.validated(42, Duration::from_millis(3), 21_000);
        let addr = serve(&config, metrics.clone()).await.unwrap();
        assert!(addr.ip().is_loopback());
        let url = format!("http://{addr}/custom/metrics");
        let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
        assert_eq!(sample(&text, "mach_verifier_validated_block"), 42.0);
        let other = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap();
        assert_eq!(other.status(), 404);

        let mut taken = VerifierConfig::default();
        taken.prometheus.port = addr.port();
        let e = serve(&taken, metrics).await.unwrap_err().to_string();
        assert!(
            e.contains(&format!("port {}", addr.port())) && e.contains("[prometheus].port"),
            "{e}"
        );
    }
}
