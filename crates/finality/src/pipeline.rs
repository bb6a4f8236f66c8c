//! The two loops that feed the finality state: the local verifier (strict, never alerting) and
//! the L1 watcher of `AlertConfirmed` events.

use crate::state::{FinalityState, Head, L1Alert};
use alloy::primitives::Address;
use mach_chain::quorum::{AlertSink, ConfirmedAlert};
use mach_chain::Connection;
use mach_verifier_live::follow::{follow, Follower, OnError, Outcome, OutcomeSink, Pace};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The state, shared by the loops and the server.
pub type Shared = Arc<Mutex<FinalityState>>;

/// Locks the state (a panicked holder leaves it usable).
pub fn lock(state: &Shared) -> std::sync::MutexGuard<'_, FinalityState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Validates the rollup block by block from after `start` (or where the verifier's store
/// resumes), recording every verdict; publishes each new finalized head on `heads`. A failed
/// step is retried after a second; runs until dropped.
pub async fn validate(
    follower: Follower,
    state: Shared,
    start: u64,
    interval: Duration,
    heads: watch::Sender<Option<Head>>,
) {
    if let Ok(Some(last)) = follower.store().last_validated() {
        lock(&state).record_valid(
            Head {
                number: last.number,
                hash: last.hash,
            },
            None,
        );
    }
    let pace = Pace {
        up_to_date: interval,
        undecided: interval,
        on_error: OnError::RetryAfter(Duration::from_secs(1)),
    };
    let mut sink = Verdicts { state, heads };
    let _ = follow(&follower, start, pace, &mut sink).await;
}

/// The finality state as the follow loop's sink.
struct Verdicts {
    state: Shared,
    heads: watch::Sender<Option<Head>>,
}

impl OutcomeSink for Verdicts {
    async fn decided(&mut self, follower: &Follower, outcome: &Outcome) {
        let saved = match outcome {
            Outcome::Valid(block) => {
                lock(&self.state).record_valid(
                    Head {
                        number: block.number,
                        hash: block.hash,
                    },
                    Some(mach_runtime::now_ms()),
                );
                Ok(())
            }
            Outcome::Invalid(block, error) => {
                let message_hash = match follower.evidence(*block, error).await {
                    Ok(evidence) => Some(evidence.alert(*block).message_hash().0),
                    Err(e) => {
                        tracing::warn!(block = block.number, error = %e, "no alert evidence for the invalid block");
                        None
                    }
                };
                let head = Head {
                    number: block.number,
                    hash: block.hash,
                };
                lock(&self.state)
                    .record_invalid(
                        head,
                        &error.to_string(),
                        message_hash,
                        mach_runtime::now_ms(),
                    )
                    .map(|_| ())
            }
            Outcome::Reorg(ancestor) => lock(&self.state).rewind(ancestor.number),
            Outcome::UpToDate | Outcome::Undecided(..) => Ok(()),
        };
        if let Err(e) = saved {
            tracing::error!(error = %e, "cannot save the finality state");
        }
        let finalized = lock(&self.state).finalized();
        self.heads.send_if_modified(|current| {
            let changed = *current != finalized;
            *current = finalized;
            changed
        });
    }
}

/// Reads `AlertConfirmed` events of `service_manager` every `poll` and records them (the shared
/// L1 watcher of `mach_chain`, feeding the finality state).
pub async fn watch_alerts(
    l1: Connection,
    service_manager: Address,
    state: Shared,
    poll: Duration,
    heads: watch::Sender<Option<Head>>,
) {
    let sink = FinalitySink {
        state,
        heads,
        service_manager,
    };
    mach_chain::quorum::watch_confirmed_alerts(l1, service_manager, poll, sink).await
}

/// The finality state as the L1 watcher's sink: alerts, the alerts the contract holds now, and
/// the finalized head published after each read.
struct FinalitySink {
    state: Shared,
    heads: watch::Sender<Option<Head>>,
    service_manager: Address,
}

impl AlertSink for FinalitySink {
    fn next_block(&mut self) -> u64 {
        lock(&self.state).l1_next_block()
    }

    async fn record(&mut self, l1: &Connection, alerts: Vec<ConfirmedAlert>, head: u64) {
        let alerts = alerts
            .into_iter()
            .map(|a| L1Alert {
                message_hash: a.message_hash,
                l1_tx: a.l1_tx,
                l1_block: a.l1_block,
                block: None,
                removed: false,
            })
            .collect();
        let current = mach_chain::quorum::current_alerts(l1, self.service_manager).await;
        let mut recorded = lock(&self.state).record_l1_alerts(alerts, head, mach_runtime::now_ms());
        match current {
            Ok(current) => {
                if let Err(e) = lock(&self.state).record_current(&current) {
                    recorded = Err(e);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the alerts the service manager holds; trying again")
            }
        }
        match recorded {
            Ok(new) => {
                for alert in new {
                    tracing::warn!(message_hash = %alert.message_hash, l1_tx = %alert.l1_tx, block = ?alert.block, "alert confirmed on L1");
                }
                let finalized = lock(&self.state).finalized();
                self.heads.send_if_modified(|current| {
                    let changed = *current != finalized;
                    *current = finalized;
                    changed
                });
            }
            Err(e) => tracing::error!(error = %e, "cannot save the finality state"),
        }
    }
}
