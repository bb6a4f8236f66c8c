//! The MACH aggregator (`mach aggregator`): collects operators' BLS signatures on alert tasks and,
//! once signers hold the threshold of stake in every quorum, confirms the alert on L1 with
//! `MachServiceManager.confirmAlert`.
//!
//! - [`config`]: the `aggregator.yaml` fields.
//! - [`service`]: tasks, the per-alert actor, submission.
//! - [`quorum`]: stake arithmetic, batch verification, the `confirmAlert` signature data (pure).
//! - [`store`]: the redb task store that makes restarts safe.
//! - [`server`]: the JSON-RPC server.

pub mod config;
pub mod quorum;
pub mod server;
pub mod service;
pub mod store;

pub use config::AggregatorConfig;
pub use service::{Aggregator, AggregatorError};

use mach_chain::{AvsAddresses, Connection};
use std::net::SocketAddr;

/// A running aggregator: its service and server. Dropping it (or [`AggregatorHandle::shutdown`])
/// stops both.
pub struct AggregatorHandle {
    /// Where the JSON-RPC server listens.
    pub address: SocketAddr,
    /// The service, for in-process callers.
    pub service: Aggregator,
    stop: tokio::sync::watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl AggregatorHandle {
    /// Stops the server and the task actors and waits for both to finish. An actor stops at
    /// whatever it awaits (a `confirmAlert` receipt included), as in a crash: a restart resumes
    /// from the store.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.service.stopped().await;
    }

    /// Waits until the server stops.
    pub async fn wait(mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for AggregatorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Starts the aggregator for the AVS at `avs`, confirming with `conn`'s key.
pub async fn start(
    config: AggregatorConfig,
    conn: Connection,
    avs: &AvsAddresses,
) -> Result<AggregatorHandle, AggregatorError> {
    let contracts = mach_chain::quorum::avs_contracts(&conn, avs).await?;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let service = Aggregator::start(config, conn, contracts, stop_rx.clone()).await?;
    let (address, server) = server::serve(service.clone(), stop_rx)
        .await
        .map_err(|e| mach_chain::ChainError::Refused(e.to_string()))?;
    let resolved = service.resolved();
    tracing::info!(
        %address,
        service_manager = %resolved.avs.service_manager,
        registry_coordinator = %resolved.avs.registry_coordinator,
        quorums = ?service.config().quorum_nums,
        thresholds = ?resolved.thresholds,
        confirmer = %service.connection().sender,
        "aggregator started"
    );
    Ok(AggregatorHandle {
        address,
        service,
        stop,
        server: Some(server),
    })
}
