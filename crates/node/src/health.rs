//! The node's services and their health, as the EigenLayer node API reports them: the alert
//! server, the aggregator connection of each AVS, and each AVS's verifier (alive while its work
//! proofs keep arriving).

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A service's state in the node API's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ServiceStatus {
    /// Working.
    Up,
    /// Not working.
    Down,
    /// Not known to work yet.
    Initializing,
}

/// One service as `/eigen/node/services` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Service {
    /// Stable id used in `/eigen/node/services/{id}/health`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// Its state now.
    pub status: ServiceStatus,
}

/// The newest work proof of an AVS's verifier.
#[derive(Clone, Copy, Debug)]
pub struct WorkProof {
    /// Rollup block the verifier has validated up to.
    pub block_number: u64,
    /// When the proof arrived.
    pub at: Instant,
}

#[derive(Debug, Default)]
struct State {
    alert_server: Option<ServiceStatus>,
    aggregators: BTreeMap<String, ServiceStatus>,
    work_proofs: BTreeMap<String, Option<WorkProof>>,
}

/// Shared health of the node's services.
#[derive(Debug)]
pub struct Health {
    state: Mutex<State>,
    liveness: Duration,
}

impl Health {
    /// Health for `avs_names`, with verifiers counted down after `liveness` without a proof.
    pub fn new(avs_names: &[String], liveness: Duration) -> Self {
        let mut state = State::default();
        for name in avs_names {
            state
                .aggregators
                .insert(name.clone(), ServiceStatus::Initializing);
            state.work_proofs.insert(name.clone(), None);
        }
        Self {
            state: Mutex::new(state),
            liveness,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Records the alert server's state.
    pub fn set_alert_server(&self, status: ServiceStatus) {
        self.with(|s| s.alert_server = Some(status));
    }

    /// Records the state of an AVS's aggregator connection.
    pub fn set_aggregator(&self, avs: &str, status: ServiceStatus) {
        self.with(|s| {
            s.aggregators.insert(avs.to_string(), status);
        });
    }

    /// Records a work proof of an AVS's verifier.
    pub fn work_proof(&self, avs: &str, block_number: u64) {
        self.with(|s| {
            s.work_proofs.insert(
                avs.to_string(),
                Some(WorkProof {
                    block_number,
                    at: Instant::now(),
                }),
            );
        });
    }

    /// Every service with its state now.
    pub fn services(&self) -> Vec<Service> {
        let liveness = self.liveness;
        self.with(|s| {
            let mut out = vec![Service {
                id: "alert-server".into(),
                name: "Alert server".into(),
                description: "JSON-RPC endpoint receiving alerts and work proofs from verifiers"
                    .into(),
                status: s.alert_server.unwrap_or(ServiceStatus::Initializing),
            }];
            for (avs, status) in &s.aggregators {
                out.push(Service {
                    id: format!("aggregator-{avs}"),
                    name: format!("Aggregator connection ({avs})"),
                    description: format!("The aggregator that collects signatures for {avs}"),
                    status: *status,
                });
            }
            for (avs, proof) in &s.work_proofs {
                let status = match proof {
                    None => ServiceStatus::Initializing,
                    Some(p) if p.at.elapsed() <= liveness => ServiceStatus::Up,
                    Some(_) => ServiceStatus::Down,
                };
                out.push(Service {
                    id: format!("verifier-{avs}"),
                    name: format!("Verifier ({avs})"),
                    description: format!("The {avs} verifier, alive while its work proofs arrive"),
                    status,
                });
            }
            out
        })
    }

    /// The node's overall health: 200 when every service is up, 206 when some are, 503 when the
    /// alert server is not up or nothing is.
    pub fn http_status(&self) -> u16 {
        let services = self.services();
        let up = services
            .iter()
            .filter(|s| s.status == ServiceStatus::Up)
            .count();
        if services.first().map(|s| s.status) != Some(ServiceStatus::Up) || up == 0 {
            503
        } else if up == services.len() {
            200
        } else {
            206
        }
    }

    /// 0 to 100: the share of services up (`eigen_performance_score`).
    pub fn performance_score(&self) -> f64 {
        let services = self.services();
        let up = services
            .iter()
            .filter(|s| s.status == ServiceStatus::Up)
            .count();
        100.0 * up as f64 / services.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_status_follows_services() {
        let health = Health::new(&["soneium".to_string()], Duration::from_millis(50));
        assert_eq!(health.http_status(), 503);
        health.set_alert_server(ServiceStatus::Up);
        assert_eq!(health.http_status(), 206);
        health.set_aggregator("soneium", ServiceStatus::Up);
        health.work_proof("soneium", 10);
        assert_eq!(health.http_status(), 200);
        assert_eq!(health.performance_score(), 100.0);
        std::thread::sleep(Duration::from_millis(80));
        let verifier = health
            .services()
            .into_iter()
            .find(|s| s.id == "verifier-soneium")
            .unwrap();
        assert_eq!(verifier.status, ServiceStatus::Down);
        assert_eq!(health.http_status(), 206);
        health.set_alert_server(ServiceStatus::Down);
        assert_eq!(health.http_status(), 503);
    }
}
