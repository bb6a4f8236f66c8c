//! Prometheus metrics: the EigenLayer AVS node metrics (`eigen_performance_score`,
//! `eigen_rpc_request_total`, `eigen_rpc_request_duration_seconds`) and MACH's own
//! (`mach_alerts_*_total`, `mach_last_work_proof_block`, `mach_aggregator_errors_total`).

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::time::Duration;

/// The node's metric families.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    /// 0-100, the share of the node's services that are up.
    pub performance_score: Gauge,
    /// RPC requests the node made, by method and client type (`aggregator`, `eth`).
    pub rpc_requests: IntCounterVec,
    /// Their durations in seconds.
    pub rpc_duration: HistogramVec,
    /// Alerts received from verifiers, per AVS.
    pub alerts_received: IntCounterVec,
    /// Alerts signed and accepted by the aggregator, per AVS.
    pub alerts_signed: IntCounterVec,
    /// Alerts that failed (bad request, aggregator refusal or outage), per AVS.
    pub alerts_failed: IntCounterVec,
    /// Rollup block of the newest work proof, per AVS.
    pub last_work_proof_block: IntGaugeVec,
    /// Failed calls to the aggregator, per AVS.
    pub aggregator_errors: IntCounterVec,
    /// Alerts whose BLS signature could not be had (signer unreachable, slow or refusing, or a
    /// signature that does not verify), per AVS.
    pub bls_signer_errors: IntCounterVec,
    /// Time to get one BLS signature, retries included, by signer (`keystore`, `cerberus`).
    pub bls_sign_duration: HistogramVec,
}

impl Metrics {
    /// Registers every family in a fresh registry.
    pub fn new(node_version: &str) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let performance_score = Gauge::with_opts(Opts::new(
            "eigen_performance_score",
            "Share (0-100) of the node's services that are up",
        ))?;
        let rpc_requests = IntCounterVec::new(
            Opts::new("eigen_rpc_request_total", "RPC requests made by the node")
                .const_label("version", node_version),
            &["method", "client_type"],
        )?;
        let rpc_duration = HistogramVec::new(
            HistogramOpts::new(
                "eigen_rpc_request_duration_seconds",
                "Duration of RPC requests made by the node",
            )
            .const_label("version", node_version),
            &["method", "client_type"],
        )?;
        let per_avs = |name: &str, help: &str| IntCounterVec::new(Opts::new(name, help), &["avs"]);
        let alerts_received = per_avs(
            "mach_alerts_received_total",
            "Alerts received from verifiers",
        )?;
        let alerts_signed = per_avs(
            "mach_alerts_signed_total",
            "Alerts signed and accepted by the aggregator",
        )?;
        let alerts_failed = per_avs(
            "mach_alerts_failed_total",
            "Alerts that could not be signed or submitted",
        )?;
        let aggregator_errors = per_avs(
            "mach_aggregator_errors_total",
            "Failed calls to the aggregator",
        )?;
        let bls_signer_errors = per_avs(
            "mach_bls_signer_errors_total",
            "Alerts whose BLS signature could not be had from the signer",
        )?;
        let bls_sign_duration = HistogramVec::new(
            HistogramOpts::new(
                "mach_bls_sign_duration_seconds",
                "Time to get one BLS signature, retries included",
            ),
            &["signer"],
        )?;
        let last_work_proof_block = IntGaugeVec::new(
            Opts::new(
                "mach_last_work_proof_block",
                "Rollup block of the newest verifier work proof",
            ),
            &["avs"],
        )?;
        registry.register(Box::new(performance_score.clone()))?;
        registry.register(Box::new(rpc_requests.clone()))?;
        registry.register(Box::new(rpc_duration.clone()))?;
        registry.register(Box::new(alerts_received.clone()))?;
        registry.register(Box::new(alerts_signed.clone()))?;
        registry.register(Box::new(alerts_failed.clone()))?;
        registry.register(Box::new(aggregator_errors.clone()))?;
        registry.register(Box::new(last_work_proof_block.clone()))?;
        registry.register(Box::new(bls_signer_errors.clone()))?;
        registry.register(Box::new(bls_sign_duration.clone()))?;
        Ok(Self {
            registry,
            performance_score,
            rpc_requests,
            rpc_duration,
            alerts_received,
            alerts_signed,
            alerts_failed,
            last_work_proof_block,
            aggregator_errors,
            bls_signer_errors,
            bls_sign_duration,
        })
    }

    /// Counts one RPC request the node made.
    pub fn observe_rpc(&self, method: &str, client_type: &str, took: Duration) {
        self.rpc_requests
            .with_label_values(&[method, client_type])
            .inc();
        self.rpc_duration
            .with_label_values(&[method, client_type])
            .observe(took.as_secs_f64());
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
