//! Pre-state access: what re-execution reads (accounts, storage, code, recent block hashes) and
//! what the post-state root needs, behind one trait; an in-memory implementation for fixtures and
//! benchmarks; and the changes an execution makes, as plain data.

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::{HashBuilder, Nibbles, TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY};

/// The pre-state could not answer a question. Not a verdict on the block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreStateError {
    /// Code for a hash that some account has is not available.
    #[error("code {0} is not available")]
    MissingCode(B256),
    /// The hash of an ancestor block (BLOCKHASH, EIP-2935) is not available.
    #[error("hash of block {0} is not available")]
    MissingBlockHash(u64),
    /// The backend (RPC, database) failed.
    #[error("{0}")]
    Backend(String),
}

/// An account as the state trie stores it, without its storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// Transactions sent (EOA) or contracts created (contract).
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// keccak256 of the code; [`KECCAK_EMPTY`] for none.
    pub code_hash: B256,
}

impl From<alloy_trie::TrieAccount> for Account {
    fn from(leaf: alloy_trie::TrieAccount) -> Self {
        Self {
            nonce: leaf.nonce,
            balance: leaf.balance,
            code_hash: leaf.code_hash,
        }
    }
}

impl Account {
    /// True for an account with no nonce, no balance and no code (EIP-161 "empty").
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code_hash == KECCAK_EMPTY
    }
}

/// Storage writes of one account in one block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageChange {
    /// The account's storage was cleared before `slots` were written (self-destruct, or
    /// re-creation at the same address).
    pub wiped: bool,
    /// New slot values; zero means the slot is deleted.
    pub slots: BTreeMap<U256, U256>,
}

/// Everything an execution changed, in plain form: apply it to the pre-state to get the
/// post-state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateChanges {
    /// New account headers; `None` means the account no longer exists.
    pub accounts: BTreeMap<Address, Option<Account>>,
    /// Storage writes by account.
    pub storage: BTreeMap<Address, StorageChange>,
    /// Code deployed in the block, by hash.
    pub codes: BTreeMap<B256, Bytes>,
}

/// The code with hash `code_hash` among `codes` (empty code needs no entry).
pub fn code_by_hash(codes: &HashMap<B256, Bytes>, code_hash: B256) -> Result<Bytes, PreStateError> {
    if code_hash == KECCAK_EMPTY {
        return Ok(Bytes::new());
    }
    codes
        .get(&code_hash)
        .cloned()
        .ok_or(PreStateError::MissingCode(code_hash))
}

/// A key path and its new RLP value (`None` removes it): one update of a sparse trie.
pub type TrieUpdate = (Vec<u8>, Option<Vec<u8>>);

impl StorageChange {
    /// The slot writes as storage-trie updates (a zero value removes the slot).
    pub fn trie_updates(&self) -> Vec<TrieUpdate> {
        self.slots
            .iter()
            .map(|(slot, value)| {
                (
                    crate::sparse_trie::path_of(&keccak256(B256::from(*slot))),
                    (!value.is_zero()).then(|| alloy_rlp::encode(value)),
                )
            })
            .collect()
    }
}

impl StateChanges {
    /// Every account the changes touch: new headers first, then accounts with storage writes
    /// only.
    pub fn touched(&self) -> Vec<Address> {
        let mut addresses: Vec<Address> = self.accounts.keys().copied().collect();
        addresses.extend(
            self.storage
                .keys()
                .filter(|a| !self.accounts.contains_key(*a)),
        );
        addresses
    }
}

/// The account-trie update for `address`, now `after` (`None`: deleted) with `storage_root`.
pub fn account_update(address: Address, after: Option<Account>, storage_root: B256) -> TrieUpdate {
    let value = after.map(|account| {
        alloy_rlp::encode(TrieAccount {
            nonce: account.nonce,
            balance: account.balance,
            storage_root,
            code_hash: account.code_hash,
        })
    });
    (crate::sparse_trie::path_of(&keccak256(address)), value)
}

/// Read access to the state a block starts from (the parent's post-state), plus the root
/// computation over that state and a set of changes.
///
/// The in-memory [`InMemoryState`] holds everything; the live verifier implements it over
/// `eth_getProof` and answers the root from the proofs of the touched accounts and slots.
pub trait PreState {
    /// The account at `address`, `None` if it does not exist.
    fn account(&self, address: Address) -> Result<Option<Account>, PreStateError>;
    /// The value of storage slot `slot` of `address` (zero when unset).
    fn storage(&self, address: Address, slot: U256) -> Result<U256, PreStateError>;
    /// The code whose keccak256 is `code_hash`.
    fn code(&self, code_hash: B256) -> Result<Bytes, PreStateError>;
    /// The hash of block `number`, one of the 256 before the block being validated.
    fn block_hash(&self, number: u64) -> Result<B256, PreStateError>;
    /// The state root of this state with `changes` applied.
    fn state_root_after(&self, changes: &StateChanges) -> Result<B256, PreStateError>;
    /// The storage root of `address` with `changes` applied (OP Stack: the L2ToL1MessagePasser
    /// root that Isthmus puts in `withdrawals_root` and output roots commit to).
    fn storage_root_after(
        &self,
        address: Address,
        changes: &StateChanges,
    ) -> Result<B256, PreStateError>;
}

/// An account with its storage, as [`InMemoryState`] keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StoredAccount {
    info: Account,
    storage: BTreeMap<U256, U256>,
    /// Root of `storage`, kept current by every write.
    storage_root: B256,
}

/// A whole state held in memory, with the hashes of the recent blocks: the pre-state of fixture
/// tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InMemoryState {
    accounts: BTreeMap<Address, StoredAccount>,
    codes: HashMap<B256, Bytes>,
    block_hashes: BTreeMap<u64, B256>,
}

/// Root of a storage map (zero values are absent from the trie).
pub fn storage_root(storage: &BTreeMap<U256, U256>) -> B256 {
    let mut leaves: Vec<(B256, Vec<u8>)> = storage
        .iter()
        .filter(|(_, v)| !v.is_zero())
        .map(|(k, v)| (keccak256(B256::from(*k)), alloy_rlp::encode(v)))
        .collect();
    trie_root(&mut leaves)
}

/// All nodes of the trie over `leaves`.
fn trie_nodes(mut leaves: Vec<(B256, Vec<u8>)>) -> Vec<Bytes> {
    if leaves.is_empty() {
        return Vec::new();
    }
    leaves.sort_unstable_by_key(|leaf| leaf.0);
    let targets = leaves.iter().map(|(k, _)| Nibbles::unpack(k)).collect();
    let mut builder =
        HashBuilder::default().with_proof_retainer(alloy_trie::proof::ProofRetainer::new(targets));
    for (key, value) in &leaves {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root();
    builder
        .take_proof_nodes()
        .into_inner()
        .into_values()
        .collect()
}

fn trie_root(leaves: &mut [(B256, Vec<u8>)]) -> B256 {
    if leaves.is_empty() {
        return EMPTY_ROOT_HASH;
    }
    leaves.sort_unstable_by_key(|leaf| leaf.0);
    let mut builder = HashBuilder::default();
    for (key, value) in leaves.iter() {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root()
}

impl InMemoryState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts an account with its code and storage (a genesis `alloc` entry).
    pub fn insert_account(
        &mut self,
        address: Address,
        nonce: u64,
        balance: U256,
        code: Bytes,
        storage: BTreeMap<U256, U256>,
    ) {
        let code_hash = if code.is_empty() {
            KECCAK_EMPTY
        } else {
            keccak256(&code)
        };
        if !code.is_empty() {
            self.codes.insert(code_hash, code);
        }
        let storage: BTreeMap<U256, U256> =
            storage.into_iter().filter(|(_, v)| !v.is_zero()).collect();
        let storage_root = storage_root(&storage);
        self.accounts.insert(
            address,
            StoredAccount {
                info: Account {
                    nonce,
                    balance,
                    code_hash,
                },
                storage,
                storage_root,
            },
        );
    }

    /// Records the hash of block `number` for BLOCKHASH; only the newest 256 are kept.
    pub fn set_block_hash(&mut self, number: u64, hash: B256) {
        self.block_hashes.insert(number, hash);
        while self.block_hashes.len() > 256 {
            self.block_hashes.pop_first();
        }
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// True when there are no accounts.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Applies an execution's changes, turning this pre-state into the post-state.
    pub fn apply(&mut self, changes: &StateChanges) {
        for (code_hash, code) in &changes.codes {
            self.codes.insert(*code_hash, code.clone());
        }
        for (address, change) in &changes.accounts {
            match change {
                None => {
                    self.accounts.remove(address);
                }
                Some(info) => {
                    let entry = self
                        .accounts
                        .entry(*address)
                        .or_insert_with(|| StoredAccount {
                            info: *info,
                            storage: BTreeMap::new(),
                            storage_root: EMPTY_ROOT_HASH,
                        });
                    entry.info = *info;
                }
            }
        }
        for (address, change) in &changes.storage {
            let Some(account) = self.accounts.get_mut(address) else {
                continue;
            };
            if change.wiped {
                account.storage.clear();
            }
            for (slot, value) in &change.slots {
                if value.is_zero() {
                    account.storage.remove(slot);
                } else {
                    account.storage.insert(*slot, *value);
                }
            }
            account.storage_root = storage_root(&account.storage);
        }
    }

    /// The state root.
    pub fn state_root(&self) -> B256 {
        trie_root(&mut self.account_leaves())
    }

    /// Every node (RLP) of the account trie and of each storage trie, and every code: what a
    /// complete execution witness of this state holds.
    pub fn witness(&self) -> (Vec<Bytes>, Vec<Bytes>) {
        let mut nodes = trie_nodes(self.account_leaves());
        for account in self.accounts.values() {
            let leaves = account
                .storage
                .iter()
                .map(|(k, v)| (keccak256(B256::from(*k)), alloy_rlp::encode(v)))
                .collect();
            nodes.extend(trie_nodes(leaves));
        }
        (nodes, self.codes.values().cloned().collect())
    }

    fn account_leaves(&self) -> Vec<(B256, Vec<u8>)> {
        self.accounts
            .iter()
            .map(|(address, account)| {
                let trie = TrieAccount::new(
                    account.info.nonce,
                    account.info.balance,
                    account.storage_root,
                    account.info.code_hash,
                );
                (keccak256(address), alloy_rlp::encode(trie))
            })
            .collect()
    }

    /// Storage root of one account (the empty root when it does not exist).
    pub fn storage_root_of(&self, address: Address) -> B256 {
        self.accounts
            .get(&address)
            .map_or(EMPTY_ROOT_HASH, |a| a.storage_root)
    }

    /// Storage slots of one account (empty when it does not exist).
    pub fn storage_of(&self, address: Address) -> BTreeMap<U256, U256> {
        self.accounts
            .get(&address)
            .map(|a| a.storage.clone())
            .unwrap_or_default()
    }
}

impl PreState for InMemoryState {
    fn account(&self, address: Address) -> Result<Option<Account>, PreStateError> {
        Ok(self.accounts.get(&address).map(|a| a.info))
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, PreStateError> {
        Ok(self
            .accounts
            .get(&address)
            .and_then(|a| a.storage.get(&slot).copied())
            .unwrap_or_default())
    }

    fn code(&self, code_hash: B256) -> Result<Bytes, PreStateError> {
        code_by_hash(&self.codes, code_hash)
    }

    fn block_hash(&self, number: u64) -> Result<B256, PreStateError> {
        self.block_hashes
            .get(&number)
            .copied()
            .ok_or(PreStateError::MissingBlockHash(number))
    }

    fn state_root_after(&self, changes: &StateChanges) -> Result<B256, PreStateError> {
        let mut post = self.clone();
        post.apply(changes);
        Ok(post.state_root())
    }

    fn storage_root_after(
        &self,
        address: Address,
        changes: &StateChanges,
    ) -> Result<B256, PreStateError> {
        let mut storage = self.storage_of(address);
        if let Some(Some(_)) | None = changes.accounts.get(&address) {
            if let Some(change) = changes.storage.get(&address) {
                if change.wiped {
                    storage.clear();
                }
                storage.extend(change.slots.iter().map(|(k, v)| (*k, *v)));
            }
            Ok(storage_root(&storage))
        } else {
            Ok(EMPTY_ROOT_HASH)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use alloy_primitives::hex;

    #[test]
    fn empty_state_has_the_empty_root() {
        assert_eq!(InMemoryState::new().state_root(), EMPTY_ROOT_HASH);
    }

    #[test]
    fn single_account_root_matches_the_trie_of_one_leaf() {
        // One leaf: the root is keccak256 of the RLP leaf node [hex-prefix(path), rlp(account)].
        let address = Address::repeat_byte(0xaa);
        let mut state = InMemoryState::new();
        state.insert_account(address, 1, U256::from(10), Bytes::new(), BTreeMap::new());
        let account = alloy_rlp::encode(TrieAccount::new(
            1,
            U256::from(10),
            EMPTY_ROOT_HASH,
            KECCAK_EMPTY,
        ));
        let mut path = vec![0x20u8];
        path.extend_from_slice(keccak256(address).as_slice());
        let mut node = Vec::new();
        let header = alloy_rlp::Header {
            list: true,
            payload_length: alloy_rlp::Encodable::length(&path.as_slice())
                + alloy_rlp::Encodable::length(&account.as_slice()),
        };
        header.encode(&mut node);
        alloy_rlp::Encodable::encode(&path.as_slice(), &mut node);
        alloy_rlp::Encodable::encode(&account.as_slice(), &mut node);
        assert_eq!(state.state_root(), keccak256(&node));
        let _ = hex::encode(node);
    }

    #[test]
    fn zero_writes_delete_slots() {
        let address = Address::repeat_byte(1);
        let mut state = InMemoryState::new();
        state.insert_account(
            address,
            0,
            U256::ZERO,
            Bytes::from_static(&[0x00]),
            BTreeMap::from([(U256::from(1), U256::from(2))]),
        );
        let mut changes = StateChanges::default();
        changes.storage.insert(
            address,
            StorageChange {
                wiped: false,
                slots: BTreeMap::from([(U256::from(1), U256::ZERO)]),
            },
        );
        assert_eq!(
            state.storage_root_after(address, &changes).unwrap(),
            EMPTY_ROOT_HASH
        );
        state.apply(&changes);
        assert_eq!(state.storage_root_of(address), EMPTY_ROOT_HASH);
    }
}
