//! The finality RPC's Prometheus metrics, served at `GET /metrics` on its own port: requests by
//! outcome, and gauges read from the state at each scrape.

use crate::state::FinalityState;
use prometheus::{Encoder, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// What a request came to.
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    /// Passed on to the rollup.
    Proxied,
    /// Answered here (`mach_*`).
    Local,
    /// Refused by the open circuit breaker.
    Refused,
    /// Failed (bad request, rollup unreachable, nothing validated yet).
    Failed,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Self::Proxied => "proxied",
            Self::Local => "local",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// The families, registered once.
#[derive(Debug)]
pub struct RpcMetrics {
    registry: Registry,
    requests: IntCounterVec,
    validated: IntGauge,
    finalized: IntGauge,
    breaker: IntGauge,
    alerts: IntGauge,
    invalid: IntGauge,
}

impl RpcMetrics {
    /// Every family at zero.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "mach_rpc_requests_total",
                "JSON-RPC calls by outcome (proxied, local, refused, failed)",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        Ok(Self {
            validated: gauge(
                "mach_rpc_validated_block",
                "Newest rollup block the local verifier validated",
            )?,
            finalized: gauge(
                "mach_rpc_finalized_block",
                "MACH's finalized head (mach_finalizedBlock)",
            )?,
            breaker: gauge(
                "mach_rpc_circuit_breaker_open",
                "1 while the circuit breaker refuses state reads",
            )?,
            alerts: gauge(
                "mach_rpc_alerts_confirmed",
                "Alerts confirmed on L1 for this rollup and not removed",
            )?,
            invalid: gauge(
                "mach_rpc_invalid_blocks",
                "Blocks the local verifier found invalid",
            )?,
            registry,
            requests,
        })
    }

    /// Counts one call.
    pub fn request(&self, outcome: Outcome) {
        self.requests.with_label_values(&[outcome.label()]).inc();
    }

    /// The text exposition, with the gauges read from `state` now.
    pub fn render(&self, state: &FinalityState) -> String {
        let number = |n: Option<u64>| n.map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX));
        self.validated
            .set(number(state.validated_head().map(|h| h.number)));
        self.finalized
            .set(number(state.finalized().map(|h| h.number)));
        self.breaker.set(i64::from(state.breaker().is_some()));
        self.alerts
            .set(state.alerts().iter().filter(|a| !a.removed).count() as i64);
        self.invalid.set(state.invalid_blocks() as i64);
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
