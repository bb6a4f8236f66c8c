//! The task store: every task, its accepted signatures and its submission state, in one redb
//! file, so a restart loses nothing and never submits an alert twice.
//!
//! Only tasks with at least one accepted signature are stored (unsigned ones live in memory,
//! see `service`); each change is one durable write transaction, committed before the signer
//! is answered.

use alloy::primitives::{Bytes, B256};
use mach_primitives::rpc::AlertTaskInfo;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Tasks by alert hash (32 bytes) → JSON [`TaskRecord`].
const TASKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tasks");
/// Counters: `next_task_index` → u32 big-endian.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const NEXT_TASK_INDEX: &str = "next_task_index";

/// The file inside the store directory.
pub const STORE_FILE: &str = "aggregator.redb";

/// Where a task is on its way to L1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TaskStatus {
    /// Collecting signatures.
    Open,
    /// The quorum was reached and `confirmAlert` is being sent; after a restart the aggregator
    /// first checks whether it landed.
    Submitting,
    /// On L1 in this transaction.
    Confirmed {
        /// The `confirmAlert` transaction (zero if another confirmer's transaction landed it
        /// and its hash could not be found).
        tx_hash: B256,
    },
    /// The contract refused it for good (`ResolvedAlert`: the owner removed this alert).
    Rejected {
        /// The contract's reason.
        reason: String,
    },
}

impl TaskStatus {
    /// Whether nothing more will happen to the task.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Confirmed { .. } | Self::Rejected { .. })
    }
}

/// A signature the aggregator accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureRecord {
    /// The signer.
    pub operator_id: B256,
    /// The 64-byte G1 signature, X ++ Y.
    pub signature: Bytes,
}

/// A task as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// What operators sign.
    pub info: AlertTaskInfo,
    /// Creation time, Unix seconds.
    pub created_at: u64,
    /// Accepted signatures, in arrival order.
    pub signatures: Vec<SignatureRecord>,
    /// Submission state.
    pub status: TaskStatus,
}

/// A store failure: the file, and what went wrong.
#[derive(Debug, thiserror::Error)]
#[error("task store {}: {reason}", path.display())]
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
    /// Opens (creating if needed, directory 0700) the store in `dir`. Fails with a clear message
    /// if another aggregator holds it.
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
                "already open: another aggregator uses this db_path; stop it or choose another db_path"
                    .into(),
            ),
            other => fail(other.to_string()),
        })?;
        let store = Self { db, path };
        // Create the tables so readers never meet a missing one.
        store.write(|tx| {
            tx.open_table(TASKS)?;
            tx.open_table(META)?;
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

    /// The task for `alert_hash`, if any.
    pub fn get(&self, alert_hash: &B256) -> Result<Option<TaskRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.fail(e))?;
        let table = tx.open_table(TASKS).map_err(|e| self.fail(e))?;
        let Some(value) = table.get(alert_hash.as_slice()).map_err(|e| self.fail(e))? else {
            return Ok(None);
        };
        serde_json::from_slice(value.value())
            .map(Some)
            .map_err(|e| self.fail(format!("corrupt task {alert_hash}: {e}")))
    }

    /// The next unused task index (0 on a new store).
    pub fn next_task_index(&self) -> Result<u32, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.fail(e))?;
        let meta = tx.open_table(META).map_err(|e| self.fail(e))?;
        let value = meta.get(NEXT_TASK_INDEX).map_err(|e| self.fail(e))?;
        match value {
            Some(v) => counter(v.value()).ok_or_else(|| self.fail("corrupt task counter")),
            None => Ok(0),
        }
    }

    /// Writes `record` (replacing the task of the same alert hash) and raises the task counter
    /// past its index, in one transaction: a task handed out from memory is stored only once
    /// signed, and indices must stay unique across restarts.
    pub fn put(&self, record: &TaskRecord) -> Result<(), StoreError> {
        let value = serde_json::to_vec(record).map_err(|e| self.fail(e))?;
        let next = record
            .info
            .task_index
            .checked_add(1)
            .ok_or_else(|| self.fail("task index space exhausted"))?;
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut meta = tx.open_table(META).map_err(|e| self.fail(e))?;
            let stored = match meta.get(NEXT_TASK_INDEX).map_err(|e| self.fail(e))? {
                Some(v) => counter(v.value()).ok_or_else(|| self.fail("corrupt task counter"))?,
                None => 0,
            };
            if next > stored {
                meta.insert(NEXT_TASK_INDEX, next.to_be_bytes().as_slice())
                    .map_err(|e| self.fail(e))?;
            }
            tx.open_table(TASKS)
                .map_err(|e| self.fail(e))?
                .insert(record.info.alert_hash.as_slice(), value.as_slice())
                .map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    /// Deletes every task `keep` refuses; returns how many were deleted.
    pub fn prune(&self, keep: impl Fn(&TaskRecord) -> bool) -> Result<usize, StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        let deleted = {
            let mut table = tx.open_table(TASKS).map_err(|e| self.fail(e))?;
            let mut doomed = Vec::new();
            for item in table.iter().map_err(|e| self.fail(e))? {
                let (key, value) = item.map_err(|e| self.fail(e))?;
                // A record that no longer parses is kept: deleting it would hide the problem.
                if let Ok(record) = serde_json::from_slice::<TaskRecord>(value.value()) {
                    if !keep(&record) {
                        doomed.push(key.value().to_vec());
                    }
                }
            }
            for key in &doomed {
                table.remove(key.as_slice()).map_err(|e| self.fail(e))?;
            }
            doomed.len()
        };
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(deleted)
    }

    /// Every task that is not final (open or being submitted).
    pub fn unfinished(&self) -> Result<Vec<TaskRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.fail(e))?;
        let table = tx.open_table(TASKS).map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for item in table.iter().map_err(|e| self.fail(e))? {
            let (_, value) = item.map_err(|e| self.fail(e))?;
            let record: TaskRecord =
                serde_json::from_slice(value.value()).map_err(|e| self.fail(e))?;
            if !record.status.is_final() {
                out.push(record);
            }
        }
        Ok(out)
    }
}

fn counter(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: u32, hash: B256) -> TaskRecord {
        TaskRecord {
            info: AlertTaskInfo {
                alert_hash: hash,
                quorum_numbers: vec![0],
                quorum_threshold_percentages: vec![66],
                task_index: index,
                reference_block_number: 9,
            },
            created_at: 1,
            signatures: Vec::new(),
            status: TaskStatus::Open,
        }
    }

    #[test]
    fn tasks_counter_and_pruning_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (B256::repeat_byte(1), B256::repeat_byte(2));
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.next_task_index().unwrap(), 0);
            store.put(&record(0, a)).unwrap();
            // Indices handed out but never signed leave a gap; the counter passes the highest.
            let mut second = record(5, b);
            store.put(&second).unwrap();
            assert_eq!(store.next_task_index().unwrap(), 6);
            store.put(&record(3, B256::repeat_byte(6))).unwrap();
            assert_eq!(store.next_task_index().unwrap(), 6);
            second.signatures.push(SignatureRecord {
                operator_id: B256::repeat_byte(9),
                signature: Bytes::from(vec![1; 64]),
            });
            second.status = TaskStatus::Confirmed {
                tx_hash: B256::repeat_byte(3),
            };
            store.put(&second).unwrap();
            // A second open of the same store is refused while the first is open.
            let e = Store::open(dir.path()).unwrap_err();
            assert!(e.reason.contains("another aggregator"), "{e}");
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.next_task_index().unwrap(), 6);
        assert_eq!(store.get(&a).unwrap().unwrap(), record(0, a));
        let second = store.get(&b).unwrap().unwrap();
        assert_eq!(second.signatures.len(), 1);
        assert!(second.status.is_final());
        assert_eq!(store.unfinished().unwrap().len(), 2);
        assert_eq!(store.prune(|r| !r.status.is_final()).unwrap(), 1);
        assert_eq!(store.get(&b).unwrap(), None);
        assert_eq!(store.prune(|r| r.info.task_index != 3).unwrap(), 1);
        assert_eq!(store.unfinished().unwrap(), vec![record(0, a)]);
        assert_eq!(store.get(&B256::repeat_byte(5)).unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn directory_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        Store::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
