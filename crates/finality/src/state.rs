//! What the finality RPC knows about the rollup's blocks, and its circuit breaker.
//!
//! - A block is `validated` once the local verifier found it valid, `invalid` once it found it
//!   invalid, `alerted` once an alert about it is confirmed on L1, and `pending` before that.
//! - The finalized head is the newest validated block below every invalid or alerted block not
//!   yet acknowledged by a reset: a block on top of an invalid one is not final.
//! - The circuit breaker opens on the first invalid block or confirmed alert not yet
//!   acknowledged, and stays open until `reset`, which acknowledges everything seen so far.
//!
//! Invalid blocks, L1 alerts, acknowledgements and the breaker are saved to a JSON file after
//! each change, so a restart loses none of them; validated blocks are kept in memory (the
//! verifier's own store resumes validation, and the newest validated block is reloaded from it).

use alloy::primitives::B256;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Validated blocks kept in memory for `mach_blockStatus` (older ones answer `validated`
/// without a time).
const KEEP_VALIDATED: usize = 100_000;

/// A block by number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
}

/// A block the local verifier found invalid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidBlock {
    /// Its hash.
    pub hash: B256,
    /// Why.
    pub reason: String,
    /// The message hash of the alert operators raise for it, when known.
    pub message_hash: Option<B256>,
    /// When it was found, Unix milliseconds.
    pub found_at: u64,
}

/// An alert confirmed on L1 (`AlertConfirmed`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Alert {
    /// The alert's message hash.
    pub message_hash: B256,
    /// The `confirmAlert` transaction.
    pub l1_tx: B256,
    /// Its L1 block.
    pub l1_block: u64,
    /// The rollup block it is about, when known here.
    pub block: Option<u64>,
    /// Removed from the service manager since (`removeAlert`): it no longer counts.
    #[serde(default)]
    pub removed: bool,
}

/// Why the circuit breaker is open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trip {
    /// One line for people.
    pub reason: String,
    /// The rollup block concerned, when known.
    pub block: Option<u64>,
    /// The alert's message hash, when an alert tripped it.
    pub message_hash: Option<B256>,
    /// When it opened, Unix milliseconds.
    pub since: u64,
}

/// The status `mach_blockStatus` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockStatus {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// `pending`, `validated`, `invalid` or `alerted`.
    pub status: &'static str,
    /// When the local verifier validated it, Unix milliseconds (`null` if not, or not known
    /// since a restart).
    pub validated_at: Option<u64>,
    /// The alert confirmed on L1 about it.
    pub alert: Option<AlertRef>,
}

/// An alert as `mach_blockStatus` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlertRef {
    /// The alert's message hash.
    pub message_hash: B256,
    /// The `confirmAlert` transaction.
    pub l1_tx: B256,
    /// Its L1 block.
    pub l1_block: u64,
}

/// The saved part.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Saved {
    invalid: BTreeMap<u64, InvalidBlock>,
    alerts: Vec<L1Alert>,
    acknowledged_alerts: BTreeSet<B256>,
    acknowledged_blocks: BTreeSet<u64>,
    breaker: Option<Trip>,
    /// The next L1 block to read `AlertConfirmed` events from.
    l1_next_block: u64,
}

/// A failure to read or write the state file.
#[derive(Debug, thiserror::Error)]
#[error("finality state {}: {reason}", path.display())]
pub struct StateError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// Everything the finality RPC knows.
#[derive(Debug)]
pub struct FinalityState {
    path: PathBuf,
    saved: Saved,
    validated: BTreeMap<u64, (B256, Option<u64>)>,
}

impl FinalityState {
    /// The state saved in `path` (a fresh one if the file does not exist).
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let fail = |reason: String| StateError {
            path: path.to_path_buf(),
            reason,
        };
        let saved = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                fail(format!(
                    "not a finality state file ({e}); move it away to start afresh"
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
            Err(e) => return Err(fail(e.to_string())),
        };
        Ok(Self {
            path: path.to_path_buf(),
            saved,
            validated: BTreeMap::new(),
        })
    }

    fn save(&self) -> Result<(), StateError> {
        let fail = |reason: String| StateError {
            path: self.path.clone(),
            reason,
        };
        let text = serde_json::to_string_pretty(&self.saved).map_err(|e| fail(e.to_string()))?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n").map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| fail(e.to_string()))
    }

    /// Records a block the verifier found valid, at `at` (Unix ms; `None` when not known).
    pub fn record_valid(&mut self, block: Head, at: Option<u64>) {
        self.validated.insert(block.number, (block.hash, at));
        while self.validated.len() > KEEP_VALIDATED {
            self.validated.pop_first();
        }
    }

    /// Records a block the verifier found invalid; opens the breaker unless acknowledged.
    pub fn record_invalid(
        &mut self,
        block: Head,
        reason: &str,
        message_hash: Option<B256>,
        at: u64,
    ) -> Result<(), StateError> {
        self.saved.invalid.insert(
            block.number,
            InvalidBlock {
                hash: block.hash,
                reason: reason.to_string(),
                message_hash,
                found_at: at,
            },
        );
        // An alert confirmed before we judged the block now finds its block.
        for alert in &mut self.saved.alerts {
            if alert.block.is_none()
                && (Some(alert.message_hash) == message_hash || alert.message_hash == block.hash)
            {
                alert.block = Some(block.number);
            }
        }
        if !self.saved.acknowledged_blocks.contains(&block.number) {
            self.trip(Trip {
                reason: format!(
                    "the local verifier found block #{} ({}) invalid: {reason}",
                    block.number, block.hash
                ),
                block: Some(block.number),
                message_hash,
                since: at,
            });
        }
        self.save()
    }

    /// Forgets what was recorded above `number` (the chain reorganized to it).
    pub fn rewind(&mut self, number: u64) -> Result<(), StateError> {
        self.validated.retain(|n, _| *n <= number);
        let before = self.saved.invalid.len();
        self.saved.invalid.retain(|n, _| *n <= number);
        if before != self.saved.invalid.len() {
            self.save()?;
        }
        Ok(())
    }

    /// The L1 block to read alerts from next.
    pub fn l1_next_block(&self) -> u64 {
        self.saved.l1_next_block
    }

    /// Records the alerts confirmed on L1 up to L1 block `through`; opens the breaker for any
    /// not acknowledged. Returns the alerts that were new.
    pub fn record_l1_alerts(
        &mut self,
        alerts: Vec<L1Alert>,
        through: u64,
        at: u64,
    ) -> Result<Vec<L1Alert>, StateError> {
        let mut new = Vec::new();
        for mut alert in alerts {
            if self
                .saved
                .alerts
                .iter()
                .any(|a| a.message_hash == alert.message_hash)
            {
                continue;
            }
            alert.block = alert.block.or_else(|| self.block_of(alert.message_hash));
            if !self.saved.acknowledged_alerts.contains(&alert.message_hash) {
                self.trip(Trip {
                    reason: format!(
                        "alert {} confirmed on L1 (tx {}, L1 block {}){}",
                        alert.message_hash,
                        alert.l1_tx,
                        alert.l1_block,
                        alert
                            .block
                            .map(|n| format!(" for rollup block #{n}"))
                            .unwrap_or_default()
                    ),
                    block: alert.block,
                    message_hash: Some(alert.message_hash),
                    since: at,
                });
            }
            self.saved.alerts.push(alert.clone());
            new.push(alert);
        }
        self.saved.l1_next_block = self.saved.l1_next_block.max(through + 1);
        self.save()?;
        Ok(new)
    }

    /// Marks the alerts the service manager no longer holds (`current` is what it holds) as
    /// removed, and those it holds again as not.
    pub fn record_current(&mut self, current: &[B256]) -> Result<(), StateError> {
        let mut changed = false;
        for alert in &mut self.saved.alerts {
            let removed = !current.contains(&alert.message_hash);
            if alert.removed != removed {
                tracing::warn!(message_hash = %alert.message_hash, removed, "alert {} on L1", if removed { "removed" } else { "restored" });
                alert.removed = removed;
                changed = true;
            }
        }
        if changed {
            self.save()?;
        }
        Ok(())
    }

    /// The rollup block an alert's message hash is about: an invalid block whose alert has it,
    /// or (for `alert_blockHash`) the block with that hash.
    fn block_of(&self, message_hash: B256) -> Option<u64> {
        self.saved
            .invalid
            .iter()
            .find(|(_, b)| b.message_hash == Some(message_hash) || b.hash == message_hash)
            .map(|(n, _)| *n)
            .or_else(|| {
                self.validated
                    .iter()
                    .find(|(_, (hash, _))| *hash == message_hash)
                    .map(|(n, _)| *n)
            })
    }

    fn trip(&mut self, trip: Trip) {
        if self.saved.breaker.is_none() {
            tracing::error!(reason = %trip.reason, "circuit breaker open: state reads are refused until `mach rpc reset`");
            self.saved.breaker = Some(trip);
        }
    }

    /// Why the breaker is open, if it is.
    pub fn breaker(&self) -> Option<&Trip> {
        self.saved.breaker.as_ref()
    }

    /// Closes the breaker, acknowledging every invalid block and alert seen so far (they no
    /// longer hold the finalized head back). Returns what it acknowledged.
    pub fn reset(&mut self) -> Result<Option<Trip>, StateError> {
        let was = self.saved.breaker.take();
        let blocks: Vec<u64> = self.saved.invalid.keys().copied().collect();
        self.saved.acknowledged_blocks.extend(blocks);
        let alerts: Vec<B256> = self.saved.alerts.iter().map(|a| a.message_hash).collect();
        self.saved.acknowledged_alerts.extend(alerts);
        self.save()?;
        Ok(was)
    }

    /// How many blocks the local verifier found invalid.
    pub fn invalid_blocks(&self) -> usize {
        self.saved.invalid.len()
    }

    /// Every alert confirmed on L1, oldest first.
    pub fn alerts(&self) -> &[L1Alert] {
        &self.saved.alerts
    }

    /// The newest validated block.
    pub fn validated_head(&self) -> Option<Head> {
        self.validated
            .last_key_value()
            .map(|(number, (hash, _))| Head {
                number: *number,
                hash: *hash,
            })
    }

    /// The newest validated block below every unacknowledged invalid or alerted block.
    pub fn finalized(&self) -> Option<Head> {
        let limit = self
            .saved
            .invalid
            .keys()
            .copied()
            .filter(|n| !self.saved.acknowledged_blocks.contains(n))
            .chain(self.saved.alerts.iter().filter_map(|a| {
                a.block.filter(|_| {
                    !a.removed && !self.saved.acknowledged_alerts.contains(&a.message_hash)
                })
            }))
            .min();
        let mut range = match limit {
            Some(limit) => self.validated.range(..limit),
            None => self.validated.range(..),
        };
        range
            .rfind(|(n, _)| !self.saved.invalid.contains_key(n))
            .map(|(number, (hash, _))| Head {
                number: *number,
                hash: *hash,
            })
    }

    /// The status of block `number`, whose hash on the rollup is `hash`.
    pub fn status(&self, number: u64, hash: B256) -> BlockStatus {
        let alert = self
            .saved
            .alerts
            .iter()
            .filter(|a| !a.removed)
            .find(|a| {
                a.block == Some(number)
                    && self
                        .saved
                        .invalid
                        .get(&number)
                        .is_none_or(|b| b.hash == hash)
                    || a.message_hash == hash
            })
            .map(|a| AlertRef {
                message_hash: a.message_hash,
                l1_tx: a.l1_tx,
                l1_block: a.l1_block,
            });
        let validated = self.validated.get(&number).filter(|(h, _)| *h == hash);
        let invalid = self
            .saved
            .invalid
            .get(&number)
            .filter(|b| b.hash == hash)
            .is_some();
        let head = self.validated_head();
        let (status, validated_at) = if alert.is_some() {
            ("alerted", None)
        } else if invalid {
            ("invalid", None)
        } else if let Some((_, at)) = validated {
            ("validated", *at)
        } else if head.is_some_and(|h| number < h.number && !self.validated.contains_key(&number)) {
            // Validated before the blocks kept in memory (or before a restart).
            ("validated", None)
        } else {
            ("pending", None)
        };
        BlockStatus {
            number,
            hash,
            status,
            validated_at,
            alert,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn head(n: u64) -> Head {
        Head {
            number: n,
            hash: B256::with_last_byte(n as u8),
        }
    }

    #[test]
    fn an_invalid_block_holds_finality_and_opens_the_breaker_until_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut state = FinalityState::load(&path).unwrap();
        for n in 1..=5 {
            state.record_valid(head(n), Some(n));
        }
        assert_eq!(state.finalized(), Some(head(5)));
        assert_eq!(state.status(3, head(3).hash).status, "validated");
        assert_eq!(state.status(6, head(6).hash).status, "pending");
        // A different hash at a validated height is not the block we validated.
        assert_eq!(state.status(3, B256::repeat_byte(9)).status, "pending");

        let message = B256::repeat_byte(0xaa);
        state
            .record_invalid(head(6), "state root", Some(message), 60)
            .unwrap();
        for n in 7..=8 {
            state.record_valid(head(n), Some(n));
        }
        assert_eq!(state.status(6, head(6).hash).status, "invalid");
        assert_eq!(state.finalized(), Some(head(5)));
        assert!(state.breaker().unwrap().reason.contains("#6"));

        let alert = L1Alert {
            message_hash: message,
            l1_tx: B256::repeat_byte(1),
            l1_block: 40,
            block: None,
            removed: false,
        };
        let new = state.record_l1_alerts(vec![alert.clone()], 41, 70).unwrap();
        assert_eq!(new[0].block, Some(6));
        assert!(state
            .record_l1_alerts(vec![alert], 42, 71)
            .unwrap()
            .is_empty());
        let status = state.status(6, head(6).hash);
        assert_eq!(status.status, "alerted");
        assert_eq!(status.alert.unwrap().l1_block, 40);

        // A restart keeps the invalid block, the alert and the open breaker.
        drop(state);
        let mut state = FinalityState::load(&path).unwrap();
        state.record_valid(head(8), None);
        assert!(state.breaker().is_some());
        assert_eq!(state.status(6, head(6).hash).status, "alerted");
        assert_eq!(state.l1_next_block(), 43);
        assert_eq!(
            state.finalized(),
            None,
            "nothing validated below #6 since the restart"
        );

        assert!(state.reset().unwrap().is_some());
        assert!(state.breaker().is_none());
        assert_eq!(state.finalized(), Some(head(8)));
        assert_eq!(state.status(6, head(6).hash).status, "alerted");
        // Acknowledged alerts do not reopen it after a restart either.
        drop(state);
        let state = FinalityState::load(&path).unwrap();
        assert!(state.breaker().is_none());
    }

    #[test]
    fn a_block_hash_alert_finds_its_block_and_a_reorg_forgets_invalid_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = FinalityState::load(&dir.path().join("s.json")).unwrap();
        state.record_valid(head(1), Some(1));
        let alert = L1Alert {
            message_hash: head(1).hash,
            l1_tx: B256::repeat_byte(2),
            l1_block: 3,
            block: None,
            removed: false,
        };
        state.record_l1_alerts(vec![alert], 3, 5).unwrap();
        assert_eq!(state.status(1, head(1).hash).status, "alerted");
        assert!(state.breaker().is_some());
        assert_eq!(state.finalized(), None);
        // Removed on L1 (a false alert withdrawn): the block is validated and final again.
        state.record_current(&[]).unwrap();
        assert!(state.alerts()[0].removed);
        assert_eq!(state.status(1, head(1).hash).status, "validated");
        assert_eq!(state.finalized(), Some(head(1)));

        state.reset().unwrap();
        state.record_invalid(head(4), "x", None, 9).unwrap();
        assert!(state.breaker().is_some());
        state.rewind(3).unwrap();
        assert_eq!(state.status(4, head(4).hash).status, "pending");
    }
}
