//! The pre-state of a block from `debug_executionWitness` (served by reth and op-reth): every
//! trie node, contract code and ancestor header the block's execution touches, in one answer.
//! Nothing in it is taken on trust: nodes are found by hash from the parent's state root down,
//! code by its hash, and ancestor hashes along checked parent links from the parent, so a node
//! that serves a wrong witness makes the block undecidable, never invalid.

use crate::sparse_trie::SparseTrie;
use crate::state::{account_update, code_by_hash, Account, PreState, PreStateError, StateChanges};
use alloy_consensus::{Header, Sealed};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_rlp::Decodable;
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH};
use serde::Deserialize;
use std::collections::HashMap;

/// A `debug_executionWitness` answer.
#[derive(Debug, Default, Deserialize)]
pub struct ExecutionWitness {
    /// RLP trie nodes of the state and storage tries.
    #[serde(default)]
    pub state: Vec<Bytes>,
    /// Contract code.
    #[serde(default)]
    pub codes: Vec<Bytes>,
    /// RLP headers of ancestors (for BLOCKHASH).
    #[serde(default)]
    pub headers: Vec<Bytes>,
}

impl ExecutionWitness {
    /// A witness given as one list of preimages, each found by its keccak256 (as kona's
    /// witnesses and the real-block fixtures hold them): every entry may be a trie node, code
    /// or an ancestor header, and is offered as each; an entry of another kind is never reached.
    pub fn from_preimages(preimages: Vec<Bytes>) -> Self {
        Self {
            state: preimages.clone(),
            codes: preimages.clone(),
            headers: preimages,
        }
    }
}

/// The parent's post-state as a witness describes it; see the module docs.
pub struct WitnessState {
    state_root: B256,
    nodes: SparseTrie,
    codes: HashMap<B256, Bytes>,
    block_hashes: HashMap<u64, B256>,
}

fn incomplete(what: impl std::fmt::Display) -> PreStateError {
    PreStateError::Backend(format!("execution witness: {what}"))
}

impl WitnessState {
    /// The state after `parent`, from `witness`.
    pub fn new(parent: &Sealed<Header>, witness: ExecutionWitness) -> Self {
        let mut nodes = SparseTrie::new(parent.state_root);
        nodes.reveal(&witness.state);
        let codes = witness
            .codes
            .into_iter()
            .map(|code| (keccak256(&code), code))
            .collect();
        let mut headers: HashMap<B256, Header> = HashMap::new();
        for rlp in &witness.headers {
            if let Ok(header) = Header::decode(&mut rlp.as_ref()) {
                headers.insert(header.hash_slow(), header);
            }
        }
        let mut block_hashes = HashMap::from([(parent.number, parent.hash())]);
        let mut next = parent.parent_hash;
        let mut number = parent.number;
        while number > 0 {
            number -= 1;
            block_hashes.insert(number, next);
            match headers.get(&next) {
                Some(header) if header.number == number => next = header.parent_hash,
                _ => break,
            }
        }
        Self {
            state_root: parent.state_root,
            nodes,
            codes,
            block_hashes,
        }
    }

    fn trie_account(&self, address: Address) -> Result<Option<TrieAccount>, PreStateError> {
        self.nodes
            .account_under(self.state_root, address)
            .map_err(|e| incomplete(format!("account {address}: {e}")))
    }

    fn storage_root_with(
        &self,
        address: Address,
        changes: &StateChanges,
    ) -> Result<B256, PreStateError> {
        let before = self
            .trie_account(address)?
            .map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
        let Some(change) = changes.storage.get(&address) else {
            return Ok(before);
        };
        let mut trie = self.nodes.rerooted(if change.wiped {
            EMPTY_ROOT_HASH
        } else {
            before
        });
        let updates = change.trie_updates();
        trie.apply(&updates, |path| {
            Err::<Vec<Bytes>, _>(incomplete(format!(
                "storage trie of {address} lacks the node at {path:?}"
            )))
        })
        .map_err(|e| incomplete(format!("storage of {address}: {e}")))?;
        Ok(trie.root())
    }
}

impl PreState for WitnessState {
    fn account(&self, address: Address) -> Result<Option<Account>, PreStateError> {
        Ok(self.trie_account(address)?.map(Account::from))
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, PreStateError> {
        let Some(account) = self.trie_account(address)? else {
            return Ok(U256::ZERO);
        };
        self.nodes
            .slot_under(account.storage_root, slot)
            .map_err(|e| incomplete(format!("slot {slot} of {address}: {e}")))
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
        let mut updates = Vec::new();
        for address in changes.touched() {
            let after = match changes.accounts.get(&address) {
                Some(after) => *after,
                None => self.account(address)?,
            };
            let storage_root = match after {
                Some(_) => self.storage_root_with(address, changes)?,
                None => EMPTY_ROOT_HASH,
            };
            updates.push(account_update(address, after, storage_root));
        }
        let mut trie = self.nodes.rerooted(self.state_root);
        trie.apply(&updates, |path| {
            Err::<Vec<Bytes>, _>(incomplete(format!(
                "account trie lacks the node at {path:?}"
            )))
        })
        .map_err(|e| incomplete(format!("account trie: {e}")))?;
        Ok(trie.root())
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
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::bench::{generate, RangeSpec};
    use crate::validate_block;

    /// Every block of a generated range validates on a witness holding all trie nodes of its
    /// pre-state (as a node's witness holds those the block touches), and one without the nodes
    /// cannot be decided, never judged invalid.
    #[test]
    fn blocks_validate_on_a_witness_of_their_pre_state() {
        let range = generate(RangeSpec {
            blocks: 3,
            txs_per_block: 20,
            senders: 5,
        })
        .unwrap();
        let mut state = range.state.clone();
        let mut parent = range.genesis.clone();
        for block in &range.blocks {
            let (nodes, codes) = state.witness();
            let witness = ExecutionWitness {
                state: nodes,
                codes,
                headers: Vec::new(),
            };
            let pre = WitnessState::new(&parent, witness);
            let valid = validate_block(&range.rules, &parent, &pre, block, None).unwrap();
            assert_eq!(valid.state_root, block.header().state_root);

            let empty = WitnessState::new(&parent, ExecutionWitness::default());
            let undecided = validate_block(&range.rules, &parent, &empty, block, None)
                .expect_err("no nodes, no answer");
            assert!(!undecided.is_verdict(), "{undecided}");

            state.apply(&valid.changes);
            parent = Sealed::new(block.header().clone());
        }
    }
}
