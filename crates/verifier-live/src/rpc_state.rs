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
//! What one block proved carries to the next ([`StateCache`]): the accounts, slots, code and
//! trie nodes of block N's post-state, computed here from proven values and the execution's
//! changes, answer block N+1's reads without asking the RPC again. A key never read before is
//! also answered without the RPC when its path runs through carried nodes only (to its leaf, or
//! to where it would be): the nodes hash up to the state root, so the walk is a proof. Accounts
//! and slots created while following the chain are such keys, and so are absent keys in tries
//! that are mostly known. Besides the speed, this keeps the verifier's view independent of a
//! node that rewrites recent history: a sequencer that injects a state change between blocks
//! cannot make the verifier read the injected values for accounts it already knows.
//!
//! The [`PreState`] methods block on RPC calls: call them from a blocking thread
//! (`tokio::task::spawn_blocking`), never from an async task.

use alloy_consensus::{Header, Sealed};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::proof::verify_proof;
use alloy_trie::{Nibbles, TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY};
use mach_jsonrpc::{CallError, Client, Retry};
use mach_verifier::sparse_trie::{path_of, ApplyError, SparseTrie};
use mach_verifier::state::{account_update, Account, PreState, PreStateError, StateChanges};
use mach_verifier::{validate_block, BlockError, ChainBlock, ChainRules, ValidBlock};
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Deepest hidden node (in nibbles of path) a key is searched for.
pub const MAX_SEARCH_NIBBLES: usize = 6;

#[derive(Debug, Deserialize)]
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

#[derive(Debug, Deserialize)]
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

/// Time spent in each phase of validation, summed over blocks: what `mach bench verifier`
/// reports. `fetch` is waiting for the RPC (blocks, proofs, code), `root` computing post-state
/// roots, and the rest of a validation is execution.
#[derive(Debug, Default)]
pub struct PhaseClock {
    blocks: AtomicU64,
    fetch: AtomicU64,
    root: AtomicU64,
    total: AtomicU64,
    proofs: AtomicU64,
}

impl PhaseClock {
    /// Adds time spent reading blocks.
    pub fn add_block_fetch(&self, d: Duration) {
        self.blocks
            .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Adds RPC waiting time during a validation (state reads).
    pub fn add_fetch(&self, d: Duration) {
        self.fetch.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Counts `n` `eth_getProof` calls.
    pub fn add_proofs(&self, n: usize) {
        self.proofs.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// `eth_getProof` calls made.
    pub fn proofs(&self) -> u64 {
        self.proofs.load(Ordering::Relaxed)
    }

    /// Adds root computation time.
    pub fn add_root(&self, d: Duration) {
        self.root.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Adds the whole time of a validation (fetches and roots included).
    pub fn add_total(&self, d: Duration) {
        self.total.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Time waiting for the RPC: blocks and state.
    pub fn fetch(&self) -> Duration {
        self.state_fetch() + Duration::from_nanos(self.blocks.load(Ordering::Relaxed))
    }

    fn state_fetch(&self) -> Duration {
        Duration::from_nanos(self.fetch.load(Ordering::Relaxed))
    }

    /// Time computing roots.
    pub fn root(&self) -> Duration {
        Duration::from_nanos(self.root.load(Ordering::Relaxed))
    }

    /// Validation time that was neither fetching nor root computation: execution and checks.
    pub fn execute(&self) -> Duration {
        Duration::from_nanos(self.total.load(Ordering::Relaxed))
            .saturating_sub(self.state_fetch())
            .saturating_sub(self.root())
    }
}

/// `eth_getProof` calls per batched request when reading ahead.
const PREFETCH_BATCH: usize = 64;

/// The first run of [`RpcState::validate`]: known state as is, unknown accounts fetched one by
/// one (senders and recipients are mostly known by then), unknown slots read as zero and noted.
/// With nothing noted, every read was proven and the run is the validation itself, roots
/// included; otherwise roots are refused and the noted slots fetched for a second run.
struct FirstRun<'a> {
    state: &'a RpcState,
    missing: Mutex<BTreeMap<Address, BTreeSet<U256>>>,
}

impl PreState for FirstRun<'_> {
    fn account(&self, address: Address) -> Result<Option<Account>, PreStateError> {
        self.state.account(address)
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, PreStateError> {
        if let Some(value) = self.state.cache().known_slot(address, slot) {
            return Ok(value);
        }
        lock(&self.missing).entry(address).or_default().insert(slot);
        Ok(U256::ZERO)
    }

    fn code(&self, code_hash: B256) -> Result<Bytes, PreStateError> {
        self.state.code(code_hash)
    }

    fn block_hash(&self, number: u64) -> Result<B256, PreStateError> {
        self.state.block_hash(number)
    }

    fn state_root_after(&self, changes: &StateChanges) -> Result<B256, PreStateError> {
        self.complete()?;
        self.state.state_root_after(changes)
    }

    fn storage_root_after(
        &self,
        address: Address,
        changes: &StateChanges,
    ) -> Result<B256, PreStateError> {
        self.complete()?;
        self.state.storage_root_after(address, changes)
    }
}

impl FirstRun<'_> {
    /// Whether every read so far was proven.
    fn complete(&self) -> Result<(), PreStateError> {
        if lock(&self.missing).is_empty() {
            Ok(())
        } else {
            Err(PreStateError::Backend(
                "first run read unknown slots: no roots".into(),
            ))
        }
    }
}

/// Bounds on what a [`StateCache`] carries; past them it is compacted
/// ([`StateCache::compact`]), and if that is not enough the next block starts afresh.
const MAX_CARRIED_ACCOUNTS: usize = 100_000;
const MAX_CARRIED_SLOTS: usize = 400_000;
const MAX_CARRIED_NODES: usize = 400_000;

/// What is known of the state after one block: proven (or computed from proven) accounts,
/// slots, code, block hashes and trie nodes. See the module docs.
pub struct StateCache {
    number: u64,
    state_root: B256,
    accounts: HashMap<Address, Option<Proven>>,
    storage: HashMap<(Address, U256), U256>,
    codes: HashMap<B256, Bytes>,
    code_owner: HashMap<B256, Address>,
    block_hashes: HashMap<u64, B256>,
    account_trie: SparseTrie,
    storage_tries: HashMap<Address, SparseTrie>,
}

impl StateCache {
    /// Nothing known yet of the state after block `number`, whose root is `state_root`.
    fn empty(number: u64, state_root: B256) -> Self {
        Self {
            number,
            state_root,
            accounts: HashMap::new(),
            storage: HashMap::new(),
            codes: HashMap::new(),
            code_owner: HashMap::new(),
            block_hashes: HashMap::new(),
            account_trie: SparseTrie::new(state_root),
            storage_tries: HashMap::new(),
        }
    }

    /// The block whose post-state this describes.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// How many accounts and slots it holds.
    pub fn len(&self) -> (usize, usize) {
        (self.accounts.len(), self.storage.len())
    }

    fn too_big(&self) -> bool {
        let nodes = self.account_trie.revealed()
            + self
                .storage_tries
                .values()
                .map(SparseTrie::revealed)
                .sum::<usize>();
        self.accounts.len() > MAX_CARRIED_ACCOUNTS
            || self.storage.len() > MAX_CARRIED_SLOTS
            || nodes > MAX_CARRIED_NODES
    }

    /// Keeps only what cannot be read again without the RPC: the trie nodes the roots reach (not
    /// the versions blocks replaced) and code. The accounts and slots already read are dropped;
    /// the tries hold them, and the next read walks there again.
    fn compact(&mut self) {
        self.account_trie.prune();
        for trie in self.storage_tries.values_mut() {
            trie.prune();
        }
        self.accounts.clear();
        self.storage.clear();
    }

    /// The account at `address` if this state knows it: already read, or read now through the
    /// revealed nodes of the account trie from the state root. `None` when a node on the way
    /// was never revealed.
    fn known_account(&mut self, address: Address) -> Option<Option<Proven>> {
        if let Some(known) = self.accounts.get(&address) {
            return Some(*known);
        }
        let proven = self
            .account_trie
            .account_under(self.state_root, address)
            .ok()?
            .map(|leaf| Proven {
                account: leaf.into(),
                storage_root: leaf.storage_root,
            });
        self.accounts.insert(address, proven);
        if let Some(p) = proven {
            if p.account.code_hash != KECCAK_EMPTY {
                self.code_owner
                    .entry(p.account.code_hash)
                    .or_insert(address);
            }
        }
        Some(proven)
    }

    /// Slot `slot` of `address` if this state knows it, as [`known_account`](Self::known_account)
    /// does, through the account's storage trie.
    fn known_slot(&mut self, address: Address, slot: U256) -> Option<U256> {
        if let Some(value) = self.storage.get(&(address, slot)) {
            return Some(*value);
        }
        let value = match self.known_account(address)? {
            None => U256::ZERO,
            Some(p) if p.storage_root == EMPTY_ROOT_HASH => U256::ZERO,
            Some(p) => self
                .storage_tries
                .get(&address)?
                .slot_under(p.storage_root, slot)
                .ok()?,
        };
        self.storage.insert((address, slot), value);
        Some(value)
    }

    /// The storage trie of `address`, whose root is `storage_root` (a kept trie with another
    /// root is stale and starts over: a wrong root here would be a false verdict).
    fn storage_trie(&mut self, address: Address, storage_root: B256) -> &mut SparseTrie {
        let trie = self
            .storage_tries
            .entry(address)
            .or_insert_with(|| SparseTrie::new(storage_root));
        if trie.root() != storage_root {
            *trie = SparseTrie::new(storage_root);
        }
        trie
    }
}

/// The state after block `number` (root `state_root`), read over RPC; see the module docs.
pub struct RpcState {
    rpc: Arc<Client>,
    runtime: tokio::runtime::Handle,
    number: u64,
    state_root: B256,
    retry: Retry,
    cache: Mutex<StateCache>,
    /// The state root after the block's changes, once computed (the cache's account trie has
    /// then moved on to that state).
    post_root: Mutex<Option<B256>>,
    /// Storage roots after the block's changes, once computed (the cache's storage tries of
    /// these accounts have then moved on).
    post_storage: Mutex<HashMap<Address, B256>>,
    clock: Arc<PhaseClock>,
}

fn backend(what: &str, e: impl std::fmt::Display) -> PreStateError {
    PreStateError::Backend(format!("{what}: {e}"))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl RpcState {
    /// The post-state of block `number`, whose header claims `state_root`.
    pub fn new(
        rpc: Arc<Client>,
        runtime: tokio::runtime::Handle,
        number: u64,
        state_root: B256,
    ) -> Self {
        Self::resume(rpc, runtime, number, state_root, None)
    }

    /// Like [`new`](Self::new), starting from what `carried` knows when it describes this very
    /// state (same block number and root); otherwise from nothing.
    pub fn resume(
        rpc: Arc<Client>,
        runtime: tokio::runtime::Handle,
        number: u64,
        state_root: B256,
        carried: Option<StateCache>,
    ) -> Self {
        let cache = carried
            .filter(|c| c.number == number && c.state_root == state_root)
            .unwrap_or_else(|| StateCache::empty(number, state_root));
        Self {
            rpc,
            runtime,
            number,
            state_root,
            retry: Retry::default(),
            cache: Mutex::new(cache),
            post_root: Mutex::new(None),
            post_storage: Mutex::new(HashMap::new()),
            clock: Arc::default(),
        }
    }

    /// Records `hash` as the hash of block `number` (the parent's, from the verified chain):
    /// the start of the parent links older block hashes are checked along.
    pub fn with_block_hash(self, number: u64, hash: B256) -> Self {
        self.cache().block_hashes.insert(number, hash);
        self
    }

    /// Records phase times in `clock`.
    pub fn with_clock(mut self, clock: Arc<PhaseClock>) -> Self {
        self.clock = clock;
        self
    }

    /// Runs an RPC call to completion, counting the wait as fetch time.
    fn wait<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        let started = Instant::now();
        let out = self.runtime.block_on(call);
        self.clock.add_fetch(started.elapsed());
        out
    }

    /// What this state knows, to retry the same block later; `None` once roots after the
    /// block were computed (the tries then hold the block's changes).
    pub fn into_cache(self) -> Option<StateCache> {
        let moved = lock(&self.post_root).is_some() || !lock(&self.post_storage).is_empty();
        (!moved).then(|| self.cache.into_inner().unwrap_or_else(|e| e.into_inner()))
    }

    /// What is known of the next state, block `number` with root `state_root`, once `changes`
    /// (the block's, validated) are applied: `None` when the root computed here is not
    /// `state_root` or the cache outgrew its bounds.
    pub fn advance(
        self,
        changes: &StateChanges,
        number: u64,
        state_root: B256,
    ) -> Option<StateCache> {
        let root = self
            .post_root
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())?;
        if root != state_root {
            return None;
        }
        let storage_roots = self
            .post_storage
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let mut cache = self.cache.into_inner().unwrap_or_else(|e| e.into_inner());
        let touched: std::collections::BTreeSet<Address> = changes
            .accounts
            .keys()
            .chain(changes.storage.keys())
            .copied()
            .collect();
        for address in touched {
            let before = cache.accounts.get(&address).copied().flatten();
            let after = match changes.accounts.get(&address) {
                Some(after) => *after,
                None => before.map(|p| p.account),
            };
            let change = changes.storage.get(&address);
            if after.is_none() || change.is_some_and(|c| c.wiped) {
                cache.storage.retain(|(owner, _), _| *owner != address);
            }
            if after.is_none() {
                cache.storage_tries.remove(&address);
            }
            if let Some(change) = change {
                for (slot, value) in &change.slots {
                    cache.storage.insert((address, *slot), *value);
                }
            }
            let proven = match after {
                None => None,
                Some(account) => {
                    let storage_root = match storage_roots.get(&address) {
                        Some(root) => *root,
                        None if change.is_some_and(|c| c.wiped) => EMPTY_ROOT_HASH,
                        None => before.map_or(EMPTY_ROOT_HASH, |p| p.storage_root),
                    };
                    if account.code_hash != KECCAK_EMPTY {
                        cache.code_owner.insert(account.code_hash, address);
                    }
                    Some(Proven {
                        account,
                        storage_root,
                    })
                }
            };
            cache.accounts.insert(address, proven);
        }
        for (hash, code) in &changes.codes {
            cache.codes.insert(*hash, code.clone());
        }
        cache.number = number;
        cache.state_root = state_root;
        cache
            .block_hashes
            .retain(|n, _| n.saturating_add(256) >= number);
        if cache.too_big() {
            cache.compact();
        }
        (!cache.too_big()).then_some(cache)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, StateCache> {
        lock(&self.cache)
    }

    fn block_tag(&self) -> String {
        format!("{:#x}", self.number)
    }

    fn get_proof(&self, address: Address, slots: &[U256]) -> Result<ProofAnswer, PreStateError> {
        let keys: Vec<B256> = slots.iter().map(|s| B256::from(*s)).collect();
        let params = json!([address, keys, self.block_tag()]);
        self.clock.add_proofs(1);
        self.wait(self.rpc.call_retrying("eth_getProof", params, self.retry))
            .map_err(|e: CallError| {
                backend(
                    &format!("eth_getProof({address}) at block {}", self.number),
                    e,
                )
            })
    }

    /// Fetches and verifies the account (and `slots` of it), caching both. An account already
    /// known keeps its known form: only the slots' proofs are checked, against its known
    /// storage root.
    fn prove(&self, address: Address, slots: &[U256]) -> Result<Option<Proven>, PreStateError> {
        let answer = self.get_proof(address, slots)?;
        self.absorb(address, answer)
    }

    /// Verifies an `eth_getProof` answer for `address` and caches what it proves.
    fn absorb(
        &self,
        address: Address,
        answer: ProofAnswer,
    ) -> Result<Option<Proven>, PreStateError> {
        let known = self.cache().accounts.get(&address).copied();
        let proven = match known {
            Some(proven) => proven,
            None => self.verify_account(address, &answer)?,
        };
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
        if known.is_none() {
            cache.account_trie.reveal(&answer.account_proof);
            cache.accounts.insert(address, proven);
            if let Some(p) = proven {
                cache
                    .code_owner
                    .entry(p.account.code_hash)
                    .or_insert(address);
            }
        }
        for (slot, value) in verified {
            cache.storage.insert((address, slot), value);
        }
        let trie = cache.storage_trie(address, storage_root);
        for slot in &answer.storage_proof {
            trie.reveal(&slot.proof);
        }
        Ok(proven)
    }

    /// Validates `block` (the child of this state's block, claimed to hash to `claimed`) in few
    /// round trips. The accounts it names not known yet are fetched in one batch. Then a first
    /// run on what is known: when it read no unknown slot, it is the validation. Otherwise the
    /// slots it noted (read as zero) are fetched in one batch, one `eth_getProof` per account
    /// with all its slots, and the block runs again, fetching whatever else it reads. The
    /// prefetches are best effort: what they miss or cannot verify is fetched, and any failure
    /// reported, when the run asks for it.
    pub fn validate(
        &self,
        rules: &ChainRules,
        parent: &Sealed<Header>,
        block: &ChainBlock,
        claimed: B256,
    ) -> Result<ValidBlock, BlockError> {
        let header = block.header();
        let mut named: BTreeMap<Address, BTreeSet<U256>> = BTreeMap::new();
        named.insert(header.beneficiary, BTreeSet::new());
        for to in block.recipients() {
            named.insert(to, BTreeSet::new());
        }
        self.prefetch(named);
        let first = FirstRun {
            state: self,
            missing: Mutex::default(),
        };
        let verdict = validate_block(rules, parent, &first, block, Some(claimed));
        let missing = first
            .missing
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        if missing.is_empty() {
            return verdict;
        }
        self.prefetch(missing);
        validate_block(rules, parent, self, block, Some(claimed))
    }

    /// Fetches and absorbs, in batches, the proofs of `wanted` accounts and slots not known yet.
    fn prefetch(&self, wanted: BTreeMap<Address, BTreeSet<U256>>) {
        let wanted: Vec<(Address, Vec<U256>)> = {
            let mut cache = self.cache();
            wanted
                .into_iter()
                .filter_map(|(address, slots)| {
                    let slots: Vec<U256> = slots
                        .into_iter()
                        .filter(|slot| cache.known_slot(address, *slot).is_none())
                        .collect();
                    let known = cache.known_account(address).is_some();
                    (!known || !slots.is_empty()).then_some((address, slots))
                })
                .collect()
        };
        for chunk in wanted.chunks(PREFETCH_BATCH) {
            let calls: Vec<(&str, serde_json::Value)> = chunk
                .iter()
                .map(|(address, slots)| {
                    let keys: Vec<B256> = slots.iter().map(|s| B256::from(*s)).collect();
                    ("eth_getProof", json!([address, keys, self.block_tag()]))
                })
                .collect();
            self.clock.add_proofs(calls.len());
            let Ok(answers) = self.wait(self.rpc.batch(&calls)) else {
                return;
            };
            for ((address, _), answer) in chunk.iter().zip(answers) {
                let parsed = answer
                    .ok()
                    .and_then(|value| serde_json::from_value::<ProofAnswer>(value).ok());
                if let Some(parsed) = parsed {
                    let _ = self.absorb(*address, parsed);
                }
            }
        }
    }

    /// Checks the RPC's account proof against this state's root.
    fn verify_account(
        &self,
        address: Address,
        answer: &ProofAnswer,
    ) -> Result<Option<Proven>, PreStateError> {
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
        if exists {
            return Ok(Some(Proven {
                account,
                storage_root: answer.storage_hash,
            }));
        }
        if account.is_empty()
            && verify_proof(self.state_root, key, None, &answer.account_proof).is_ok()
        {
            return Ok(None);
        }
        Err(PreStateError::Backend(format!(
            "the RPC's proof of account {address} does not match the state root {} of block {}: the RPC is lying or inconsistent",
            self.state_root, self.number
        )))
    }

    fn proven(&self, address: Address) -> Result<Option<Proven>, PreStateError> {
        if let Some(known) = self.cache().known_account(address) {
            return Ok(known);
        }
        self.prove(address, &[])
    }

    /// The storage root of `address` after `changes`; the changed trie is kept for the next
    /// block.
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
        if let Some(root) = lock(&self.post_storage).get(&address) {
            return Ok(*root);
        }
        let updates = change.trie_updates();
        let mut cache = self.cache();
        let trie = if change.wiped {
            cache
                .storage_tries
                .insert(address, SparseTrie::new(EMPTY_ROOT_HASH));
            cache.storage_trie(address, EMPTY_ROOT_HASH)
        } else {
            cache.storage_trie(address, before)
        };
        trie.apply(&updates, |path| {
            let slot = search(path, 32).ok_or_else(|| too_deep(address, path))?;
            let answer = self.get_proof(address, &[U256::from_be_slice(&slot)])?;
            Ok(answer
                .storage_proof
                .into_iter()
                .flat_map(|p| p.proof)
                .collect())
        })
        .map_err(|e| apply_error(&format!("storage of {address}"), e))?;
        trie.commit();
        let root = trie.root();
        drop(cache);
        lock(&self.post_storage).insert(address, root);
        Ok(root)
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
        if let Some(value) = self.cache().known_slot(address, slot) {
            return Ok(value);
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
            .wait(self.rpc.call_retrying(
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

    /// The hash of an earlier block, never taken on the RPC's word: from the nearest known
    /// hash above it (the parent's, from the verified chain), down the parent links, each
    /// header checked against the hash its child names.
    fn block_hash(&self, number: u64) -> Result<B256, PreStateError> {
        let (mut at, mut hash) = {
            let cache = self.cache();
            if let Some(hash) = cache.block_hashes.get(&number) {
                return Ok(*hash);
            }
            match cache
                .block_hashes
                .iter()
                .filter(|(n, _)| **n > number)
                .min()
            {
                Some((n, h)) => (*n, *h),
                None => return Err(PreStateError::MissingBlockHash(number)),
            }
        };
        while at > number {
            let block: alloy_rpc_types_eth::Block = self
                .wait(self.rpc.call_retrying(
                    "eth_getBlockByNumber",
                    json!([format!("{at:#x}"), false]),
                    self.retry,
                ))
                .map_err(|e| match e {
                    CallError::Missing { .. } => PreStateError::MissingBlockHash(number),
                    other => backend(&format!("eth_getBlockByNumber({at})"), other),
                })?;
            let header = block.header.inner;
            if header.hash_slow() != hash {
                return Err(PreStateError::Backend(format!(
                    "the RPC's header of block {at} does not hash to {hash}, the hash its child names: the RPC is lying or reorganizing"
                )));
            }
            at -= 1;
            hash = header.parent_hash;
            self.cache().block_hashes.insert(at, hash);
        }
        Ok(hash)
    }

    fn state_root_after(&self, changes: &StateChanges) -> Result<B256, PreStateError> {
        if let Some(root) = *lock(&self.post_root) {
            return Ok(root);
        }
        let started = Instant::now();
        let fetched = self.clock.state_fetch();
        let root = self.compute_state_root(changes);
        let fetching = self.clock.state_fetch().saturating_sub(fetched);
        self.clock
            .add_root(started.elapsed().saturating_sub(fetching));
        root
    }

    fn storage_root_after(
        &self,
        address: Address,
        changes: &StateChanges,
    ) -> Result<B256, PreStateError> {
        self.storage_root_with(address, changes)
    }
}

impl RpcState {
    fn compute_state_root(&self, changes: &StateChanges) -> Result<B256, PreStateError> {
        let mut updates = Vec::new();
        for address in changes.touched() {
            // Proven even when deleted: what carries to the next block starts from it.
            let before = self.proven(address)?;
            let after = match changes.accounts.get(&address) {
                Some(after) => *after,
                None => before.map(|p| p.account),
            };
            let storage_root = match after {
                Some(_) => self.storage_root_with(address, changes)?,
                None => EMPTY_ROOT_HASH,
            };
            updates.push(account_update(address, after, storage_root));
        }
        let mut cache = self.cache();
        let trie = &mut cache.account_trie;
        trie.apply(&updates, |path| {
            let address = search(path, 20).ok_or_else(|| too_deep(Address::ZERO, path))?;
            Ok(self
                .get_proof(Address::from_slice(&address), &[])?
                .account_proof)
        })
        .map_err(|e| apply_error("the account trie", e))?;
        trie.commit();
        let root = trie.root();
        *lock(&self.post_root) = Some(root);
        Ok(root)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Accounts and slots read through the carried tries are the state's, before and after
    /// compaction drops what was read.
    #[test]
    fn compaction_keeps_every_key_readable_through_the_tries() {
        use mach_verifier::InMemoryState;
        let mut state = InMemoryState::new();
        let holders: Vec<Address> = (1..=30u8).map(Address::repeat_byte).collect();
        for (i, address) in holders.iter().enumerate() {
            let storage = (1..=i as u64)
                .map(|slot| (U256::from(slot), U256::from(slot * 1000 + i as u64)))
                .collect();
            state.insert_account(*address, i as u64, U256::from(i), Bytes::new(), storage);
        }
        let (nodes, _) = state.witness();
        let mut cache = StateCache::empty(7, state.state_root());
        cache.account_trie.reveal(&nodes);
        for address in &holders {
            let mut trie = SparseTrie::new(state.storage_root_of(*address));
            trie.reveal(&nodes);
            cache.storage_tries.insert(*address, trie);
        }
        let read = |cache: &mut StateCache| {
            for address in &holders {
                let expected = state.account(*address).unwrap();
                let known = cache.known_account(*address).unwrap();
                assert_eq!(known.map(|p| p.account), expected, "{address}");
                for slot in 0..=31u64 {
                    let slot = U256::from(slot);
                    assert_eq!(
                        cache.known_slot(*address, slot),
                        Some(state.storage(*address, slot).unwrap()),
                        "{address} slot {slot}"
                    );
                }
            }
            let absent = Address::repeat_byte(0xee);
            assert!(matches!(cache.known_account(absent), Some(None)));
        };
        read(&mut cache);
        assert_eq!(cache.len(), (31, 30 * 32));
        cache.compact();
        assert_eq!(cache.len(), (0, 0));
        read(&mut cache);
    }

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
