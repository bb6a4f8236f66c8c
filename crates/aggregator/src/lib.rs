//! The MACH aggregator (`mach aggregator`): collects operators' BLS signatures on alert tasks and,
//! once signers hold the threshold of stake in every quorum, confirms the alert on L1 with
//! `MachServiceManager.confirmAlert`.
//!
//! - [`config`]: the `aggregator.yaml` fields.
//! - [`service`]: tasks, the per-alert actor, submission.
//! - [`quorum`]: stake arithmetic, batch verification, the `confirmAlert` signature data (pure).
//! - [`store`]: the redb task store that makes restarts safe.
//! - [`server`]: the JSON-RPC server.
//! - [`metrics`]: the Prometheus metrics (the confirmer's signer, `confirmAlert`) and their
//!   server.

pub mod config;
pub mod metrics;
pub mod quorum;
pub mod server;
pub mod service;
pub mod store;

pub use config::AggregatorConfig;
pub use service::{Aggregator, AggregatorError};

use mach_chain::{AvsAddresses, Connection};
use mach_runtime::{Running, Stopped, Supervisor};
use std::net::SocketAddr;

/// An aggregator started by [`start_supervised`].
#[derive(Clone)]
pub struct Started {
    /// Where the JSON-RPC server listens.
    pub address: SocketAddr,
    /// Where the metrics server listens, when `metrics_ip_port_address` is set.
    pub metrics_address: Option<SocketAddr>,
    /// The service, for in-process callers.
    pub service: Aggregator,
}

/// An aggregator running in-process under a supervisor of its own ([`start`]): its service and
/// server. Dropping it (or [`AggregatorHandle::shutdown`]) stops both.
pub struct AggregatorHandle {
    /// Where the JSON-RPC server listens.
    pub address: SocketAddr,
    /// Where the metrics server listens, when `metrics_ip_port_address` is set.
    pub metrics_address: Option<SocketAddr>,
    /// The service, for in-process callers.
    pub service: Aggregator,
    running: Running,
}

impl AggregatorHandle {
    /// Stops the server and the task actors and waits for both to finish. An actor stops at
    /// whatever it awaits (a `confirmAlert` receipt included), as in a crash: a restart resumes
    /// from the store.
    pub async fn shutdown(self) {
        let Self {
            service, running, ..
        } = self;
        if let Err(e) = running.stop().await {
            tracing::warn!(error = %e, "the aggregator had stopped before");
        }
        service.stopped().await;
    }

    /// Waits until the aggregator stops, which it does only when one of its critical tasks ends
    /// on its own (the error naming it) or another holder of its token stops it.
    pub async fn wait(self) -> Result<(), Stopped> {
        self.running.wait().await
    }
}

/// [`start_supervised`] under a supervisor of the aggregator's own, running in the background:
/// for in-process callers (tests, benchmarks). `mach aggregator` uses [`start_supervised`].
pub async fn start(
    config: AggregatorConfig,
    conn: Connection,
    avs: &AvsAddresses,
) -> Result<AggregatorHandle, AggregatorError> {
    let mut supervisor = Supervisor::new();
    let Started {
        address,
        metrics_address,
        service,
    } = start_supervised(config, conn, avs, &mut supervisor).await?;
    Ok(AggregatorHandle {
        address,
        metrics_address,
        service,
        running: supervisor.run_in_background(),
    })
}

/// Starts the aggregator for the AVS at `avs`, confirming with `conn`'s key, under
/// `supervisor`: its critical tasks are the JSON-RPC server ([`server::AGGREGATOR_SERVER`]),
/// the pruner ([`service::TASK_PRUNER`]) and, when `metrics_ip_port_address` is set, the
/// metrics server ([`metrics::METRICS_SERVER`]); the per-alert actors are not critical and stop
/// on the same shutdown token. The caller runs the supervisor.
pub async fn start_supervised(
    config: AggregatorConfig,
    conn: Connection,
    avs: &AvsAddresses,
    supervisor: &mut Supervisor,
) -> Result<Started, AggregatorError> {
    let refused = |e: std::io::Error| mach_chain::ChainError::Refused(e.to_string());
    // Bound before anything starts: a port in use leaves nothing running.
    let metrics_listener = match &config.metrics_ip_port_address {
        Some(listen) => Some(metrics::bind(listen).await.map_err(refused)?),
        None => None,
    };
    let contracts = mach_chain::quorum::avs_contracts(&conn, avs).await?;
    let service = Aggregator::start(config, conn, contracts, supervisor).await?;
    let address = server::serve(service.clone(), supervisor)
        .await
        .map_err(refused)?;
    let metrics_address = match metrics_listener {
        Some(listener) => {
            Some(metrics::serve(listener, service.metrics(), supervisor).map_err(refused)?)
        }
        None => None,
    };
    let resolved = service.resolved();
    tracing::info!(
        %address,
        service_manager = %resolved.avs.service_manager,
        registry_coordinator = %resolved.avs.registry_coordinator,
        quorums = ?service.config().quorum_nums,
        thresholds = ?resolved.thresholds,
        confirmer = %service.connection().sender,
        metrics = ?metrics_address,
        "aggregator started"
    );
    Ok(Started {
        address,
        metrics_address,
        service,
    })
}
