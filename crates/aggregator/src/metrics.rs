//! The aggregator's Prometheus metrics, served at `/metrics` on `metrics_ip_port_address` when
//! that is set: the confirmer's ECDSA signer (errors and latency of each transaction signature,
//! told by [`mach_chain::signer::observe_signatures`]) and the outcome of `confirmAlert`.

use mach_chain::signer::{SignatureEvent, SignatureObserver};
use mach_jsonrpc::http::{Access, Limits};
use mach_runtime::Supervisor;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// The name of the metrics server's critical task.
pub const METRICS_SERVER: &str = "aggregator metrics server";

/// The aggregator's metric families.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    /// Transaction signatures the confirmer's signer failed to make (unreachable, timed out,
    /// refused, wrong key), by signer kind (`local`, `aws-kms`, `web3signer`).
    pub signer_errors: IntCounterVec,
    /// Time of each signature attempt, failed ones included, by signer kind.
    pub sign_duration: HistogramVec,
    /// Alerts whose task reached `confirmed`: this aggregator's `confirmAlert` was mined, or the
    /// alert was found on L1 already.
    pub alerts_confirmed: IntCounter,
    /// `confirmAlert` attempts that failed (each is retried after 5 s).
    pub confirm_failures: IntCounter,
}

impl Metrics {
    /// Registers every family in a fresh registry.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let signer_errors = IntCounterVec::new(
            Opts::new(
                "mach_ecdsa_signer_errors_total",
                "Transaction signatures the confirmer's ECDSA signer failed to make",
            ),
            &["signer"],
        )?;
        let sign_duration = HistogramVec::new(
            HistogramOpts::new(
                "mach_ecdsa_sign_duration_seconds",
                "Time of one transaction signature by the confirmer's ECDSA signer, failures included",
            ),
            &["signer"],
        )?;
        let alerts_confirmed = IntCounter::with_opts(Opts::new(
            "mach_alerts_confirmed_total",
            "Alerts confirmed on L1 (by this aggregator's confirmAlert, or found there already)",
        ))?;
        let confirm_failures = IntCounter::with_opts(Opts::new(
            "mach_confirm_alert_failures_total",
            "confirmAlert attempts that failed and are retried",
        ))?;
        registry.register(Box::new(signer_errors.clone()))?;
        registry.register(Box::new(sign_duration.clone()))?;
        registry.register(Box::new(alerts_confirmed.clone()))?;
        registry.register(Box::new(confirm_failures.clone()))?;
        Ok(Self {
            registry,
            signer_errors,
            sign_duration,
            alerts_confirmed,
            confirm_failures,
        })
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

impl SignatureObserver for Metrics {
    fn signed(&self, event: SignatureEvent) {
        // The error series exists (at 0) from the first signature on, so a rate over it works
        // before the first failure.
        let errors = self.signer_errors.with_label_values(&[event.signer]);
        if !event.ok {
            errors.inc();
        }
        self.sign_duration
            .with_label_values(&[event.signer])
            .observe(event.took.as_secs_f64());
    }
}

/// Binds `listen` (`metrics_ip_port_address`), naming the field when it cannot.
pub async fn bind(listen: &str) -> Result<TcpListener, std::io::Error> {
    TcpListener::bind(listen).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {listen} (metrics_ip_port_address): {e}"),
        )
    })
}

/// Serves `metrics` at `/metrics` on `listener` under `supervisor`, as the critical task
/// [`METRICS_SERVER`], until the supervisor's shutdown token is cancelled.
pub fn serve(
    listener: TcpListener,
    metrics: std::sync::Arc<Metrics>,
    supervisor: &mut Supervisor,
) -> Result<SocketAddr, std::io::Error> {
    let address = listener.local_addr()?;
    let limits =
        Limits::from_env().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    let shutdown = supervisor.shutdown();
    supervisor.spawn(
        METRICS_SERVER,
        mach_jsonrpc::http::serve(
            listener,
            app,
            Access::any(),
            limits,
            shutdown.cancelled_owned(),
        ),
    );
    tracing::info!(%address, "serving Prometheus metrics at /metrics");
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn signatures_are_counted_by_signer_kind() {
        let metrics = Metrics::new().unwrap();
        let event = |ok| SignatureEvent {
            signer: "web3signer",
            took: Duration::from_millis(20),
            ok,
        };
        metrics.signed(event(true));
        let text = metrics.render();
        assert!(
            text.contains("mach_ecdsa_signer_errors_total{signer=\"web3signer\"} 0"),
            "{text}"
        );
        metrics.signed(event(false));
        metrics.confirm_failures.inc();
        let text = metrics.render();
        assert!(
            text.contains("mach_ecdsa_signer_errors_total{signer=\"web3signer\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("mach_ecdsa_sign_duration_seconds_count{signer=\"web3signer\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("mach_confirm_alert_failures_total 1"),
            "{text}"
        );
        assert!(text.contains("mach_alerts_confirmed_total 0"), "{text}");
    }
}
