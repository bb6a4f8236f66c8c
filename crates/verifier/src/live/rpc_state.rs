//! The pre-state of a block read over standard JSON-RPC: every account and slot comes from
//! `eth_getProof` at the parent block and is checked against the parent's state root (or the
//! account's storage root) before execution sees it; code comes from `eth_getCode` and is checked
//! against its hash. The post-state root is computed on a [`SparseTrie`] over the same proofs.
//! An RPC that lies about state is caught here, before it can make a valid block look invalid:
//! a proof that does not verify is a backend error, never a verdict.
//!
//! When a deletion collapses a branch beside a node no proof revealed, a key whose hashed path
//! runs through that node is found by search and its proof fetched (tries of up to
//! [`MAX_SEARCH_NIBBLES`] nibbles at that depth; deeper ones need `debug_executionWitness`).
//!
//! The [`PreState`] methods block on RPC calls: call them from a blocking thread
//! (`tokio::task::spawn_blocking`), never from an async task.

use super::rpc::{Retry, RollupRpc, RpcFailure};
use crate::sparse_trie::{path_of, ApplyError, SparseTrie};
use crate::state::{Account, PreState, PreStateError, StateChanges};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::proof::verify_proof;
use alloy_trie::{Nibbles, TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Deepest hidden node (in nibbles of path) a key is searched for.
pub const MAX_SEARCH_NIBBLES: usize = 6;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProofAnswer {
    balance: U256,
    code_hash: B256,
    nonce: alloy_primitives::U64,
    storage_hash: B256,
    account_proof: Vec<Bytes>,
    #[serde(default)]
    storage_proof: Vec<StorageProofAnswer>,
}

#[derive(Deserialize)]
struct StorageProofAnswer {
    key: U256,
    value: U256,
    proof: Vec<Bytes>,
}

#[derive(Clone, Copy, Debug)]
struct Proven {
    account: Account,
    storage_root: B256,
}

#[derive(Default)]
struct Cache {
    accounts: HashMap<Address, Option<Proven>>,
    storage: HashMap<(Address, U256), U256>,
    codes: HashMap<B256, Bytes>,
    code_owner: HashMap<B256, Address>,
    block_hashes: HashMap<u64, B256>,
    account_nodes: Vec<Bytes>,
    storage_nodes: HashMap<Address, Vec<Bytes>>,
}

/// The state after block `number` (root `state_root`), read over RPC; see the module docs.
pub struct RpcState {
    rpc: Arc<RollupRpc>,
    runtime: tokio::runtime::Handle,
    number: u64,
    state_root: B256,
    retry: Retry,
    cache: Mutex<Cache>,
}

fn backend(what: &str, e: impl std::fmt::Display) -> PreStateError {
    PreStateError::Backend(format!("{what}: {e}"))
}

impl RpcState {
    /// The post-state of block `number`, whose header claims `state_root`.
    pub fn new(
        rpc: Arc<RollupRpc>,
        runtime: tokio::runtime::Handle,
        number: u64,
        state_root: B256,
    ) -> Self {
        Self {
            rpc,
            runtime,
            number,
            state_root,
            retry: Retry::default(),
            cache: Mutex::default(),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn block_tag(&self) -> String {
        format!("{:#x}", self.number)
    }

    fn get_proof(&self, address: Address, slots: &[U256]) -> Result<ProofAnswer, PreStateError> {
        let keys: Vec<B256> = slots.iter().map(|s| B256::from(*s)).collect();
        let params = json!([address, keys, self.block_tag()]);
        self.runtime
            .block_on(self.rpc.call_retrying("eth_getProof", params, self.retry))
            .map_err(|e: RpcFailure| {
                backend(
                    &format!("eth_getProof({address}) at block {}", self.number),
                    e,
                )
            })
    }

    /// Fetches and verifies the account (and `slots` of it), caching both.
    fn prove(&self, address: Address, slots: &[U256]) -> Result<Option<Proven>, PreStateError> {
        let answer = self.get_proof(address, slots)?;
        let account = Account {
            nonce: answer.nonce.to::<u64>(),
            balance: answer.balance,
            code_hash: answer.code_hash,
        };
        let key = Nibbles::unpack(keccak256(address));
        let leaf = TrieAccount {
            nonce: account.nonce,
            balance: account.balance,
            storage_root: answer.storage_hash,
            code_hash: account.code_hash,
        };
        let exists = verify_proof(
            self.state_root,
            key,
            Some(alloy_rlp::encode(leaf)),
            &answer.account_proof,
        )
        .is_ok();
        if !exists {
            let absent = account.is_empty()
                && verify_proof(self.state_root, key, None, &answer.account_proof).is_ok();
            if !absent {
                return Err(PreStateError::Backend(format!(
                    "the RPC's proof of account {address} does not match the state root {} of block {}: the RPC is lying or inconsistent",
                    self.state_root, self.number
                )));
            }
        }
        let proven = exists.then_some(Proven {
            account,
            storage_root: answer.storage_hash,
        });
        let storage_root = proven.map_or(EMPTY_ROOT_HASH, |p| p.storage_root);
        let mut verified = Vec::new();
        for slot in &answer.storage_proof {
            let key = Nibbles::unpack(keccak256(B256::from(slot.key)));
            let expected = (!slot.value.is_zero()).then(|| alloy_rlp::encode(slot.value));
            verify_proof(storage_root, key, expected, &slot.proof).map_err(|e| {
                PreStateError::Backend(format!(
                    "the RPC's proof of slot {} of {address} does not match its storage root {storage_root}: {e}",
                    slot.key
                ))
            })?;
            verified.push((slot.key, slot.value));
        }
        let mut cache = self.cache();
        cache.account_nodes.extend(answer.account_proof);
        cache.accounts.insert(address, proven);
        if let Some(p) = proven {
            cache
                .code_owner
                .entry(p.account.code_hash)
                .or_insert(address);
        }
        for (slot, value) in verified {
            cache.storage.insert((address, slot), value);
        }
        let nodes = cache.storage_nodes.entry(address).or_default();
        for slot in answer.storage_proof {
            nodes.extend(slot.proof);
        }
        Ok(proven)
    }

    fn proven(&self, address: Address) -> Result<Option<Proven>, PreStateError> {
        if let Some(cached) = self.cache().accounts.get(&address) {
            return Ok(*cached);
        }
        self.prove(address, &[])
    }

    /// The storage root of `address` after `changes`.
    fn storage_root_with(
        &self,
        address: Address,
        changes: &StateChanges,
    ) -> Result<B256, PreStateError> {
        let before = self
            .proven(address)?
            .map_or(EMPTY_ROOT_HASH, |p| p.storage_root);
        let Some(change) = changes.storage.get(&address) else {
            return Ok(before);
        };
        let mut trie = SparseTrie::new(if change.wiped {
            EMPTY_ROOT_HASH
        } else {
            before
        });
        if !change.wiped {
            if let Some(nodes) = self.cache().storage_nodes.get(&address) {
                trie.reveal(nodes);
            }
        }
        let updates: Vec<(Vec<u8>, Option<Vec<u8>>)> = change
            .slots
            .iter()
            .map(|(slot, value)| {
                (
                    path_of(&keccak256(B256::from(*slot))),
                    (!value.is_zero()).then(|| alloy_rlp::encode(value)),
                )
            })
            .collect();
        let updated = trie
            .apply(&updates, |path| {
                let slot = search(path, 32).ok_or_else(|| too_deep(address, path))?;
                let answer = self.get_proof(address, &[U256::from_be_slice(&slot)])?;
                Ok(answer
                    .storage_proof
                    .into_iter()
                    .flat_map(|p| p.proof)
                    .collect())
            })
            .map_err(|e| apply_error(&format!("storage of {address}"), e))?;
        Ok(updated.root())
    }
}

fn too_deep(address: Address, path: &[u8]) -> PreStateError {
    PreStateError::Backend(format!(
        "a deletion in the trie of {address} needs a node {} nibbles deep that eth_getProof did not reveal; validating this block needs an RPC with debug_executionWitness",
        path.len()
    ))
}

fn apply_error(what: &str, e: ApplyError<PreStateError>) -> PreStateError {
    match e {
        ApplyError::Reveal(e) => e,
        ApplyError::Trie(e) => backend(what, e),
    }
}

/// A preimage of `len` bytes whose keccak256 path starts with `prefix`, if one is found within
/// the search bound.
fn search(prefix: &[u8], len: usize) -> Option<Vec<u8>> {
    if prefix.len() > MAX_SEARCH_NIBBLES {
        return None;
    }
    let tries = 16u64.pow(prefix.len() as u32 + 2);
    (0..tries).find_map(|i| {
        let mut candidate = vec![0u8; len];
        candidate[len - 8..].copy_from_slice(&i.to_be_bytes());
        candidate[0] = 0x5a; // stay clear of precompiles and low slots
        path_of(&keccak256(&candidate))
            .starts_with(prefix)
            .then_some(candidate)
    })
}

impl PreState for RpcState {
    fn account(&self, address: Address) -> Result<Option<Account>, PreStateError> {
        Ok(self.proven(address)?.map(|p| p.account))
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, PreStateError> {
        if let Some(value) = self.cache().storage.get(&(address, slot)) {
            return Ok(*value);
        }
        self.prove(address, &[slot])?;
        Ok(self
            .cache()
            .storage
            .get(&(address, slot))
            .copied()
            .unwrap_or_default())
    }

    fn code(&self, code_hash: B256) -> Result<Bytes, PreStateError> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytes::new());
        }
        if let Some(code) = self.cache().codes.get(&code_hash) {
            return Ok(code.clone());
        }
        let owner = self
            .cache()
            .code_owner
            .get(&code_hash)
            .copied()
            .ok_or(PreStateError::MissingCode(code_hash))?;
        let code: Bytes = self
            .runtime
            .block_on(self.rpc.call_retrying(
                "eth_getCode",
                json!([owner, self.block_tag()]),
                self.retry,
            ))
            .map_err(|e| backend(&format!("eth_getCode({owner})"), e))?;
        if keccak256(&code) != code_hash {
            return Err(PreStateError::Backend(format!(
                "the RPC's code of {owner} does not hash to {code_hash}: the RPC is lying or inconsistent"
            )));
        }
        self.cache().codes.insert(code_hash, code.clone());
        Ok(code)
    }

    fn block_hash(&self, number: u64) -> Result<B256, PreStateError> {
        if let Some(hash) = self.cache().block_hashes.get(&number) {
            return Ok(*hash);
        }
        #[derive(Deserialize)]
        struct HashOnly {
            hash: B256,
        }
        let block: HashOnly = self
            .runtime
            .block_on(self.rpc.call_retrying(
                "eth_getBlockByNumber",
                json!([format!("{number:#x}"), false]),
                self.retry,
            ))
            .map_err(|e| match e {
                RpcFailure::Missing => PreStateError::MissingBlockHash(number),
                other => backend(&format!("eth_getBlockByNumber({number})"), other),
            })?;
        self.cache().block_hashes.insert(number, block.hash);
        Ok(block.hash)
    }

    fn state_root_after(&self, changes: &StateChanges) -> Result<B256, PreStateError> {
        let mut addresses: Vec<Address> = changes.accounts.keys().copied().collect();
        addresses.extend(
            changes
                .storage
                .keys()
                .filter(|a| !changes.accounts.contains_key(*a)),
        );
        let mut updates = Vec::with_capacity(addresses.len());
        for address in addresses {
            let before = self.proven(address)?;
            let after = match changes.accounts.get(&address) {
                Some(after) => *after,
                None => before.map(|p| p.account),
            };
            let value = match after {
                None => None,
                Some(account) => {
                    let storage_root = self.storage_root_with(address, changes)?;
                    Some(alloy_rlp::encode(TrieAccount {
                        nonce: account.nonce,
                        balance: account.balance,
                        storage_root,
                        code_hash: account.code_hash,
                    }))
                }
            };
            updates.push((path_of(&keccak256(address)), value));
        }
        let mut trie = SparseTrie::new(self.state_root);
        trie.reveal(&self.cache().account_nodes);
        let updated = trie
            .apply(&updates, |path| {
                let address = search(path, 20).ok_or_else(|| too_deep(Address::ZERO, path))?;
                Ok(self
                    .get_proof(Address::from_slice(&address), &[])?
                    .account_proof)
            })
            .map_err(|e| apply_error("the account trie", e))?;
        Ok(updated.root())
    }

    fn storage_root_after(
        &self,
        address: Address,
        changes: &StateChanges,
    ) -> Result<B256, PreStateError> {
        self.storage_root_with(address, changes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn search_finds_keys_under_a_prefix() {
        for prefix in [vec![], vec![0xa], vec![3, 0xf, 1]] {
            let found = search(&prefix, 32).unwrap();
            assert!(path_of(&keccak256(&found)).starts_with(&prefix));
            let address = search(&prefix, 20).unwrap();
            assert_eq!(address.len(), 20);
        }
        assert_eq!(search(&[0; MAX_SEARCH_NIBBLES + 1], 32), None);
    }
}
