//! The verifier's durable state in one redb file under `--db`: the last validated block, the
//! hashes of recent validated blocks (to find the common ancestor after a reorg), and alerts
//! until the node acknowledges them. Every change is one committed transaction, so a restart
//! resumes exactly after the last validated block and resends what was not acknowledged, and an
//! invalid block is never alerted twice.

use alloy_primitives::B256;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `last` → JSON [`BlockRef`] of the newest validated block.
const PROGRESS: TableDefinition<&str, &[u8]> = TableDefinition::new("progress");
/// Block number → hash of validated blocks not yet pruned.
const RECENT: TableDefinition<u64, &[u8]> = TableDefinition::new("recent");
/// Alert ID → JSON [`PendingAlert`] not yet acknowledged.
const ALERTS: TableDefinition<u64, &[u8]> = TableDefinition::new("alerts");
/// Invalid block hash → alert ID: each invalid block is alerted once.
const ALERTED: TableDefinition<&[u8], u64> = TableDefinition::new("alerted");
const LAST: &str = "last";
const NEXT_ALERT: &str = "next_alert";

/// The file inside the `--db` directory.
pub const STORE_FILE: &str = "verifier.redb";

/// A block by number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
}

/// An alert waiting for the node's acknowledgement: the JSON-RPC method and its one param.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAlert {
    /// The invalid block.
    pub block: BlockRef,
    /// `alert_blockHash` or `alert_blockMismatch`.
    pub method: String,
    /// The param object.
    pub params: serde_json::Value,
    /// Why the block is invalid, for the logs.
    pub reason: String,
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
#[error("verifier store {}: {reason}", path.display())]
pub struct StoreError {
    /// The store file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// The open store.
#[derive(Debug)]
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens (creating, directory 0700) the store in `dir`; refuses while another verifier holds it.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(STORE_FILE);
        let fail = |reason: String| StoreError {
            path: path.clone(),
            reason,
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create the directory: {e}")))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| fail(format!("cannot restrict the directory to its owner: {e}")))?;
        }
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => fail(
                "already open: another verifier uses this --db directory; stop it or pass another --db"
                    .into(),
            ),
            other => fail(other.to_string()),
        })?;
        let store = Self { db, path };
        store.write(|tx| {
            tx.open_table(PROGRESS)?;
            tx.open_table(RECENT)?;
            tx.open_table(ALERTS)?;
            tx.open_table(ALERTED)?;
            Ok(())
        })?;
        Ok(store)
    }

    fn fail(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        let out = f(&tx).map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(out)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.fail(e))?;
        f(&tx).map_err(|e| self.fail(e))
    }

    /// The newest validated block, if any.
    pub fn last_validated(&self) -> Result<Option<BlockRef>, StoreError> {
        let bytes = self.read(|tx| {
            Ok(tx
                .open_table(PROGRESS)?
                .get(LAST)?
                .map(|v| v.value().to_vec()))
        })?;
        bytes
            .map(|b| {
                serde_json::from_slice(&b).map_err(|e| self.fail(format!("corrupt progress: {e}")))
            })
            .transpose()
    }

    /// Records `block` as validated (and the newest).
    pub fn record_validated(&self, block: BlockRef) -> Result<(), StoreError> {
        let json = serde_json::to_vec(&block).map_err(|e| self.fail(e))?;
        self.write(|tx| {
            tx.open_table(PROGRESS)?.insert(LAST, json.as_slice())?;
            tx.open_table(RECENT)?
                .insert(block.number, block.hash.as_slice())?;
            Ok(())
        })
    }

    /// The hash of validated block `number`, if it is still kept.
    pub fn validated_hash(&self, number: u64) -> Result<Option<B256>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .open_table(RECENT)?
                .get(number)?
                .map(|v| B256::from_slice(v.value())))
        })
    }

    /// Forgets validated blocks above `ancestor` after a reorg and makes it the newest.
    pub fn rewind_to(&self, ancestor: BlockRef) -> Result<(), StoreError> {
        let json = serde_json::to_vec(&ancestor).map_err(|e| self.fail(e))?;
        self.write(|tx| {
            let mut recent = tx.open_table(RECENT)?;
            let above: Vec<u64> = recent
                .range(ancestor.number + 1..)?
                .map(|item| item.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?;
            for number in above {
                recent.remove(number)?;
            }
            recent.insert(ancestor.number, ancestor.hash.as_slice())?;
            tx.open_table(PROGRESS)?.insert(LAST, json.as_slice())?;
            Ok(())
        })
    }

    /// Drops the hashes of blocks below `number` (finalized: they cannot reorg).
    pub fn prune_below(&self, number: u64) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut recent = tx.open_table(RECENT)?;
            let below: Vec<u64> = recent
                .range(..number)?
                .map(|item| item.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?;
            for n in below {
                recent.remove(n)?;
            }
            Ok(())
        })
    }

    /// Queues `alert` unless its block was alerted before; returns its ID when queued.
    pub fn queue_alert(&self, alert: &PendingAlert) -> Result<Option<u64>, StoreError> {
        let json = serde_json::to_vec(alert).map_err(|e| self.fail(e))?;
        self.write(|tx| {
            let mut alerted = tx.open_table(ALERTED)?;
            if alerted.get(alert.block.hash.as_slice())?.is_some() {
                return Ok(None);
            }
            let mut progress = tx.open_table(PROGRESS)?;
            let id = match progress.get(NEXT_ALERT)? {
                Some(v) => {
                    let mut bytes = [0u8; 8];
                    let value = v.value();
                    if value.len() == 8 {
                        bytes.copy_from_slice(value);
                    }
                    u64::from_be_bytes(bytes)
                }
                None => 0,
            };
            progress.insert(NEXT_ALERT, (id + 1).to_be_bytes().as_slice())?;
            alerted.insert(alert.block.hash.as_slice(), id)?;
            tx.open_table(ALERTS)?.insert(id, json.as_slice())?;
            Ok(Some(id))
        })
    }

    /// Alerts not yet acknowledged, oldest first.
    pub fn pending_alerts(&self) -> Result<Vec<(u64, PendingAlert)>, StoreError> {
        let raw: Vec<(u64, Vec<u8>)> = self.read(|tx| {
            tx.open_table(ALERTS)?
                .iter()?
                .map(|item| item.map(|(k, v)| (k.value(), v.value().to_vec())))
                .collect::<Result<_, _>>()
                .map_err(Into::into)
        })?;
        raw.into_iter()
            .map(|(id, bytes)| {
                serde_json::from_slice(&bytes)
                    .map(|alert| (id, alert))
                    .map_err(|e| self.fail(format!("corrupt alert {id}: {e}")))
            })
            .collect()
    }

    /// Removes an acknowledged alert (its block stays marked as alerted).
    pub fn ack_alert(&self, id: u64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.open_table(ALERTS)?.remove(id)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn block(number: u64) -> BlockRef {
        BlockRef {
            number,
            hash: B256::with_last_byte(number as u8),
        }
    }

    fn alert(number: u64) -> PendingAlert {
        PendingAlert {
            block: block(number),
            method: "alert_blockHash".into(),
            params: serde_json::json!({"hash": block(number).hash}),
            reason: "state root".into(),
        }
    }

    #[test]
    fn progress_reorgs_and_alerts_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.last_validated().unwrap(), None);
            for n in 1..=5 {
                store.record_validated(block(n)).unwrap();
            }
            assert_eq!(store.queue_alert(&alert(6)).unwrap(), Some(0));
            assert_eq!(store.queue_alert(&alert(6)).unwrap(), None, "alerted once");
            assert_eq!(store.queue_alert(&alert(7)).unwrap(), Some(1));
            store.ack_alert(0).unwrap();
            assert!(Store::open(dir.path())
                .unwrap_err()
                .reason
                .contains("another verifier"));
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.last_validated().unwrap(), Some(block(5)));
        assert_eq!(store.validated_hash(3).unwrap(), Some(block(3).hash));
        let pending = store.pending_alerts().unwrap();
        assert_eq!(pending, vec![(1, alert(7))]);
        assert_eq!(
            store.queue_alert(&alert(6)).unwrap(),
            None,
            "still alerted after restart"
        );

        store.rewind_to(block(3)).unwrap();
        assert_eq!(store.last_validated().unwrap(), Some(block(3)));
        assert_eq!(store.validated_hash(4).unwrap(), None);
        store.prune_below(3).unwrap();
        assert_eq!(store.validated_hash(2).unwrap(), None);
        assert_eq!(store.validated_hash(3).unwrap(), Some(block(3).hash));
    }
}
