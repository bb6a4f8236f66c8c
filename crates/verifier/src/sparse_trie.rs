//! A sparse Merkle Patricia trie: the parts of a state (or storage) trie revealed by proofs, with
//! every other subtree kept as its hash. Enough to apply a block's changes to the parent's trie
//! and compute the new root without the whole state, which is how the live verifier checks a
//! block's state root over standard RPC (`eth_getProof`).
//!
//! Keys are nibble paths (the 64 nibbles of a hashed address or slot). A change can need a node
//! no proof revealed: removing a key from a branch that keeps one child requires that child's
//! kind to collapse the branch. The change then fails with [`TrieError::Blinded`] naming the path
//! to reveal; the caller reveals a proof through it and applies the changes again to a fresh copy
//! (see [`SparseTrie::apply`]).

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_rlp::{Decodable, EMPTY_STRING_CODE};
use alloy_trie::nodes::{
    BranchNodeRef, ExtensionNodeRef, LeafNodeRef, RlpNode, TrieNode, CHILD_INDEX_RANGE,
};
use alloy_trie::{Nibbles, TrieAccount, TrieMask, EMPTY_ROOT_HASH};
use std::collections::HashMap;

/// Why a change could not be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrieError {
    /// The change needs the node at this nibble path, which no proof revealed.
    #[error("trie node at path {} is not revealed", hex_nibbles(.0))]
    Blinded(Vec<u8>),
    /// A proof node does not decode.
    #[error("undecodable trie node {0}: {1}")]
    Decode(B256, String),
    /// A leaf's value is not what the trie holds (an account, a slot value).
    #[error("undecodable leaf value: {0}")]
    Leaf(String),
    /// The revealed nodes do not form a trie of fixed-length keys: a key ends inside it (at a
    /// branch, or as a prefix of a leaf's or an extension's key).
    #[error("malformed trie at path {}: a key ends inside the trie", hex_nibbles(.0))]
    Malformed(Vec<u8>),
}

fn hex_nibbles(nibbles: &[u8]) -> String {
    nibbles.iter().map(|n| format!("{n:x}")).collect()
}

/// A node of the sparse trie.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Empty,
    /// A subtree known only by its hash.
    Hash(B256),
    Leaf {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Extension {
        key: Vec<u8>,
        child: Box<Node>,
    },
    Branch {
        children: Box<[Node; 16]>,
    },
}

fn empty_children() -> Box<[Node; 16]> {
    Box::new(std::array::from_fn(|_| Node::Empty))
}

/// A trie over revealed proof nodes; see the module docs.
#[derive(Clone, Debug)]
pub struct SparseTrie {
    root: Node,
    /// Proof nodes by hash, resolved into the tree when a change walks through them.
    known: HashMap<B256, Bytes>,
}

impl SparseTrie {
    /// The trie with root hash `root`, nothing revealed.
    pub fn new(root: B256) -> Self {
        Self {
            root: if root == EMPTY_ROOT_HASH {
                Node::Empty
            } else {
                Node::Hash(root)
            },
            known: HashMap::new(),
        }
    }

    /// Adds proof nodes (RLP, as `eth_getProof` returns them); they are used when a change
    /// reaches their hash. Nodes that belong to another trie are harmless.
    pub fn reveal<'a>(&mut self, nodes: impl IntoIterator<Item = &'a Bytes>) {
        for node in nodes {
            self.known.insert(keccak256(node), node.clone());
        }
    }

    /// The root hash.
    pub fn root(&self) -> B256 {
        match &self.root {
            Node::Empty => EMPTY_ROOT_HASH,
            Node::Hash(hash) => *hash,
            node => keccak256(encode(node)),
        }
    }

    /// Applies `changes` (key path → new value, `None` to remove), revealing more through
    /// `reveal_path` whenever a change needs a hidden node. `reveal_path(path)` must return proof
    /// nodes through `path` (for example the proof of any key starting with it), or an error
    /// that is passed on. On failure the trie keeps its old content (plus what was revealed).
    pub fn apply<E>(
        &mut self,
        changes: &[(Vec<u8>, Option<Vec<u8>>)],
        mut reveal_path: impl FnMut(&[u8]) -> Result<Vec<Bytes>, E>,
    ) -> Result<(), ApplyError<E>> {
        // Each round reveals at least one more node; a trie of 64-nibble keys is at most 65
        // levels deep, so this bounds the rounds per change generously. Only the resolved part
        // of the tree is copied per round, never the revealed nodes.
        for _ in 0..=changes.len().saturating_mul(65).max(65) {
            let mut root = self.root.clone();
            match apply_all(&mut root, changes, &self.known) {
                Ok(()) => {
                    self.root = root;
                    return Ok(());
                }
                Err(TrieError::Blinded(path)) => {
                    let nodes = reveal_path(&path).map_err(ApplyError::Reveal)?;
                    let before = self.known.len();
                    self.reveal(&nodes);
                    if self.known.len() == before {
                        return Err(ApplyError::Trie(TrieError::Blinded(path)));
                    }
                }
                Err(e) => return Err(ApplyError::Trie(e)),
            }
        }
        Err(ApplyError::Trie(TrieError::Blinded(Vec::new())))
    }

    /// Folds every node changes resolved back into its hash, keeping its encoding among the
    /// revealed nodes: [`root`](Self::root) is then free, and the trie can be carried to the
    /// next block, whose changes resolve only the paths they walk.
    pub fn commit(&mut self) {
        fold(&mut self.root, &mut self.known);
    }

    /// The value at `key` in the trie whose root hash is `root`, read through the revealed
    /// nodes (this trie's own root is ignored): `None` when the key is absent, an error when the
    /// walk reaches a node that was not revealed.
    pub fn get_under(&self, root: B256, key: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        let mut node = if root == EMPTY_ROOT_HASH {
            Node::Empty
        } else {
            Node::Hash(root)
        };
        let mut rest = key;
        let mut path = Vec::new();
        loop {
            resolve(&mut node, &path, &self.known)?;
            match node {
                Node::Empty => return Ok(None),
                Node::Leaf { key, value } => {
                    return Ok((key.as_slice() == rest).then_some(value));
                }
                Node::Extension { key, child } => {
                    if !rest.starts_with(&key) {
                        return Ok(None);
                    }
                    path.extend_from_slice(&key);
                    rest = &rest[key.len()..];
                    node = *child;
                }
                Node::Branch { mut children } => {
                    let Some((&index, tail)) = rest.split_first() else {
                        return Ok(None);
                    };
                    path.push(index);
                    rest = tail;
                    node = std::mem::replace(&mut children[index as usize], Node::Empty);
                }
                Node::Hash(_) => return Err(TrieError::Blinded(path)),
            }
        }
    }

    /// The account of `address` in the state trie whose root is `root`, read as
    /// [`get_under`](Self::get_under) reads.
    pub fn account_under(
        &self,
        root: B256,
        address: Address,
    ) -> Result<Option<TrieAccount>, TrieError> {
        self.get_under(root, &path_of(&keccak256(address)))?
            .map(|rlp| {
                TrieAccount::decode(&mut rlp.as_slice())
                    .map_err(|e| TrieError::Leaf(format!("account {address}: {e}")))
            })
            .transpose()
    }

    /// Slot `slot` of the storage trie whose root is `root` (zero when absent), read as
    /// [`get_under`](Self::get_under) reads.
    pub fn slot_under(&self, root: B256, slot: U256) -> Result<U256, TrieError> {
        self.get_under(root, &path_of(&keccak256(B256::from(slot))))?
            .map_or(Ok(U256::ZERO), |rlp| {
                U256::decode(&mut rlp.as_slice())
                    .map_err(|e| TrieError::Leaf(format!("slot {slot}: {e}")))
            })
    }

    /// A trie with root `root` over the same revealed nodes.
    pub fn rerooted(&self, root: B256) -> SparseTrie {
        let mut trie = SparseTrie::new(root);
        trie.known = self.known.clone();
        trie
    }

    /// Forgets the revealed nodes the root no longer reaches: the versions that changes
    /// replaced, which a trie carried from block to block otherwise keeps.
    pub fn prune(&mut self) {
        let mut kept = HashMap::new();
        let mut pending = vec![self.root.clone()];
        while let Some(node) = pending.pop() {
            let node = match node {
                Node::Hash(hash) => match self.known.get(&hash) {
                    Some(rlp) => {
                        kept.insert(hash, rlp.clone());
                        match decode(rlp) {
                            Ok(node) => node,
                            Err(_) => continue,
                        }
                    }
                    None => continue,
                },
                node => node,
            };
            match node {
                Node::Extension { child, .. } => pending.push(*child),
                Node::Branch { children } => pending.extend(*children),
                Node::Empty | Node::Hash(_) | Node::Leaf { .. } => {}
            }
        }
        self.known = kept;
    }

    /// How many proof nodes are revealed (the memory this trie holds, roughly).
    pub fn revealed(&self) -> usize {
        self.known.len()
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: &[u8], value: Vec<u8>) -> Result<(), TrieError> {
        let known = &self.known;
        insert(&mut self.root, key, value, &mut Vec::new(), known)
    }

    /// Removes `key` (nothing happens if it is absent).
    pub fn remove(&mut self, key: &[u8]) -> Result<(), TrieError> {
        let known = &self.known;
        remove(&mut self.root, key, &mut Vec::new(), known)
    }
}

fn apply_all(
    root: &mut Node,
    changes: &[(Vec<u8>, Option<Vec<u8>>)],
    known: &HashMap<B256, Bytes>,
) -> Result<(), TrieError> {
    for (key, value) in changes {
        match value {
            Some(value) => insert(root, key, value.clone(), &mut Vec::new(), known)?,
            None => remove(root, key, &mut Vec::new(), known)?,
        }
    }
    Ok(())
}

/// Replaces `node` and its resolved descendants by their hashes (nodes under 32 bytes stay
/// embedded, as their parents' encodings hold them), recording each encoding in `known`.
fn fold(node: &mut Node, known: &mut HashMap<B256, Bytes>) {
    match node {
        Node::Empty | Node::Hash(_) => return,
        Node::Leaf { .. } => {}
        Node::Extension { child, .. } => fold(child, known),
        Node::Branch { children } => children.iter_mut().for_each(|c| fold(c, known)),
    }
    let rlp = encode(node);
    if rlp.len() >= 32 {
        let hash = keccak256(&rlp);
        known.insert(hash, rlp.into());
        *node = Node::Hash(hash);
    }
}

/// A failure of [`SparseTrie::apply`].
#[derive(Debug, thiserror::Error)]
pub enum ApplyError<E> {
    /// The trie could not take the changes.
    #[error(transparent)]
    Trie(TrieError),
    /// Revealing a node failed.
    #[error("revealing a trie node failed")]
    Reveal(E),
}

/// Replaces a hash node by its revealed content, if known.
fn resolve(node: &mut Node, path: &[u8], known: &HashMap<B256, Bytes>) -> Result<(), TrieError> {
    if let Node::Hash(hash) = node {
        let hash = *hash;
        let rlp = known
            .get(&hash)
            .ok_or_else(|| TrieError::Blinded(path.to_vec()))?;
        *node = decode(rlp).map_err(|e| TrieError::Decode(hash, e))?;
    }
    Ok(())
}

fn decode(mut rlp: &[u8]) -> Result<Node, String> {
    let node = TrieNode::decode(&mut rlp).map_err(|e| e.to_string())?;
    Ok(match node {
        TrieNode::EmptyRoot => Node::Empty,
        TrieNode::Leaf(leaf) => Node::Leaf {
            key: leaf.key.to_vec(),
            value: leaf.value,
        },
        TrieNode::Extension(ext) => Node::Extension {
            key: ext.key.to_vec(),
            child: Box::new(child_node(&ext.child)?),
        },
        TrieNode::Branch(branch) => {
            let mut children = empty_children();
            let mut stack = branch.stack.iter();
            for index in CHILD_INDEX_RANGE {
                if branch.state_mask.is_bit_set(index) {
                    let child = stack.next().ok_or("branch mask exceeds its children")?;
                    children[index as usize] = child_node(child)?;
                }
            }
            Node::Branch { children }
        }
    })
}

/// A child reference: a hash, or a node embedded because its RLP is under 32 bytes.
fn child_node(child: &RlpNode) -> Result<Node, String> {
    match child.as_hash() {
        Some(hash) => Ok(Node::Hash(hash)),
        None => decode(child.as_slice()),
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn insert(
    node: &mut Node,
    key: &[u8],
    value: Vec<u8>,
    path: &mut Vec<u8>,
    known: &HashMap<B256, Bytes>,
) -> Result<(), TrieError> {
    resolve(node, path, known)?;
    match node {
        Node::Empty => {
            *node = Node::Leaf {
                key: key.to_vec(),
                value,
            };
        }
        Node::Leaf {
            key: leaf_key,
            value: leaf_value,
        } => {
            if leaf_key.as_slice() == key {
                *leaf_value = value;
                return Ok(());
            }
            let p = common_prefix(leaf_key, key);
            if p >= leaf_key.len() || p >= key.len() {
                return Err(TrieError::Malformed(path.clone()));
            }
            let mut children = empty_children();
            children[leaf_key[p] as usize] = Node::Leaf {
                key: leaf_key[p + 1..].to_vec(),
                value: std::mem::take(leaf_value),
            };
            children[key[p] as usize] = Node::Leaf {
                key: key[p + 1..].to_vec(),
                value,
            };
            *node = wrap(&key[..p], Node::Branch { children });
        }
        Node::Extension {
            key: ext_key,
            child,
        } => {
            let p = common_prefix(ext_key, key);
            if p == ext_key.len() {
                path.extend_from_slice(ext_key);
                return insert(child, &key[p..], value, path, known);
            }
            if p >= key.len() {
                return Err(TrieError::Malformed(path.clone()));
            }
            let mut children = empty_children();
            let rest = std::mem::replace(child.as_mut(), Node::Empty);
            children[ext_key[p] as usize] = wrap(&ext_key[p + 1..], rest);
            children[key[p] as usize] = Node::Leaf {
                key: key[p + 1..].to_vec(),
                value,
            };
            *node = wrap(&key[..p], Node::Branch { children });
        }
        Node::Branch { children } => {
            let Some(&first) = key.first() else {
                return Err(TrieError::Malformed(path.clone()));
            };
            path.push(first);
            return insert(&mut children[first as usize], &key[1..], value, path, known);
        }
        Node::Hash(_) => unreachable_resolved(path)?,
    }
    Ok(())
}

/// `node` under an extension of `prefix`, or `node` itself for an empty prefix.
fn wrap(prefix: &[u8], node: Node) -> Node {
    if prefix.is_empty() {
        node
    } else {
        Node::Extension {
            key: prefix.to_vec(),
            child: Box::new(node),
        }
    }
}

/// A hash node right after `resolve` cannot happen; reported as blinded rather than panicking.
fn unreachable_resolved(path: &[u8]) -> Result<(), TrieError> {
    Err(TrieError::Blinded(path.to_vec()))
}

fn remove(
    node: &mut Node,
    key: &[u8],
    path: &mut Vec<u8>,
    known: &HashMap<B256, Bytes>,
) -> Result<(), TrieError> {
    resolve(node, path, known)?;
    match node {
        Node::Empty => {}
        Node::Leaf { key: leaf_key, .. } => {
            if leaf_key.as_slice() == key {
                *node = Node::Empty;
            }
        }
        Node::Extension {
            key: ext_key,
            child,
        } => {
            if !key.starts_with(ext_key) {
                return Ok(());
            }
            let n = ext_key.len();
            path.extend_from_slice(ext_key);
            remove(child, &key[n..], path, known)?;
            let prefix = std::mem::take(ext_key);
            let child = std::mem::replace(child.as_mut(), Node::Empty);
            *node = prepend(&prefix, child);
        }
        Node::Branch { children } => {
            let Some(&first) = key.first() else {
                return Err(TrieError::Malformed(path.clone()));
            };
            let index = first as usize;
            let depth = path.len();
            path.push(first);
            remove(&mut children[index], &key[1..], path, known)?;
            path.truncate(depth);
            let mut left = (0..16).filter(|i| children[*i] != Node::Empty);
            let (Some(only), None) = (left.next(), left.next()) else {
                return Ok(());
            };
            // One child left: the branch collapses into it, which needs its kind.
            path.push(only as u8);
            resolve(&mut children[only], path, known)?;
            let child = std::mem::replace(&mut children[only], Node::Empty);
            *node = prepend(&[only as u8], child);
        }
        Node::Hash(_) => unreachable_resolved(path)?,
    }
    Ok(())
}

/// `prefix` followed by `node`, merged into the node's own path where it has one.
fn prepend(prefix: &[u8], node: Node) -> Node {
    match node {
        Node::Empty => Node::Empty,
        Node::Leaf { key, value } => Node::Leaf {
            key: [prefix, &key].concat(),
            value,
        },
        Node::Extension { key, child } => Node::Extension {
            key: [prefix, &key].concat(),
            child,
        },
        other => wrap(prefix, other),
    }
}

/// The node's RLP encoding.
fn encode(node: &Node) -> Vec<u8> {
    match node {
        Node::Empty => vec![EMPTY_STRING_CODE],
        Node::Hash(hash) => alloy_rlp::encode(hash),
        Node::Leaf { key, value } => {
            let key = Nibbles::from_nibbles(key);
            alloy_rlp::encode(LeafNodeRef::new(&key, value))
        }
        Node::Extension { key, child } => {
            let key = Nibbles::from_nibbles(key);
            let child = reference(child);
            alloy_rlp::encode(ExtensionNodeRef::new(&key, &child))
        }
        Node::Branch { children } => {
            let mut stack = Vec::new();
            let mut mask = TrieMask::default();
            for (index, child) in children.iter().enumerate() {
                if *child != Node::Empty {
                    mask.set_bit(index as u8);
                    stack.push(reference(child));
                }
            }
            alloy_rlp::encode(BranchNodeRef::new(&stack, mask))
        }
    }
}

/// How a parent refers to `node`: its hash, or the node itself when its RLP is short.
fn reference(node: &Node) -> RlpNode {
    match node {
        Node::Hash(hash) => RlpNode::word_rlp(hash),
        other => RlpNode::from_rlp(&encode(other)),
    }
}

/// The 64-nibble trie path of a 32-byte hashed key.
pub fn path_of(hashed_key: &B256) -> Vec<u8> {
    hashed_key
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 0x0f])
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use alloy_trie::proof::ProofRetainer;
    use alloy_trie::HashBuilder;
    use std::collections::BTreeMap;

    /// Root and proof nodes of a full trie over `leaves`, with proofs for `targets`.
    fn full_trie(leaves: &BTreeMap<B256, Vec<u8>>, targets: &[B256]) -> (B256, Vec<Bytes>) {
        let retainer = ProofRetainer::new(targets.iter().map(|t| Nibbles::unpack(t)).collect());
        let mut builder = HashBuilder::default().with_proof_retainer(retainer);
        for (key, value) in leaves {
            builder.add_leaf(Nibbles::unpack(key), value);
        }
        let root = builder.root();
        let nodes = builder
            .take_proof_nodes()
            .into_inner()
            .into_values()
            .collect();
        (root, nodes)
    }

    /// A deterministic pseudo-random stream, so failures reproduce.
    fn keys(seed: u64, n: usize) -> Vec<B256> {
        (0..n)
            .map(|i| keccak256((seed * 1_000_003 + i as u64).to_be_bytes()))
            .collect()
    }

    /// Applies `changes` to a sparse trie revealed from proofs of the changed keys only,
    /// revealing more through proofs of existing keys under a blinded path (as the live
    /// verifier does with a key found for that prefix), and checks the root against a full
    /// rebuild.
    fn check(before: &BTreeMap<B256, Vec<u8>>, changes: &[(B256, Option<Vec<u8>>)]) -> usize {
        let targets: Vec<B256> = changes.iter().map(|(k, _)| *k).collect();
        let (root, proof) = full_trie(before, &targets);
        let mut sparse = SparseTrie::new(root);
        sparse.reveal(&proof);
        assert_eq!(sparse.root(), root);
        let as_paths: Vec<(Vec<u8>, Option<Vec<u8>>)> = changes
            .iter()
            .map(|(k, v)| (path_of(k), v.clone()))
            .collect();
        let mut reveals = 0;
        let mut updated = sparse.clone();
        updated
            .apply(&as_paths, |path| {
                reveals += 1;
                let key = before
                    .keys()
                    .find(|k| path_of(k).starts_with(path))
                    .copied()
                    .ok_or("no key under the path")?;
                Ok::<_, &str>(full_trie(before, &[key]).1)
            })
            .unwrap();
        let mut after = before.clone();
        for (key, value) in changes {
            match value {
                Some(v) => after.insert(*key, v.clone()),
                None => after.remove(key),
            };
        }
        let expected = if after.is_empty() {
            EMPTY_ROOT_HASH
        } else {
            full_trie(&after, &[]).0
        };
        assert_eq!(updated.root(), expected, "{} reveals", reveals);
        updated.commit();
        assert_eq!(updated.root(), expected, "committed");
        reveals
    }

    fn value(i: usize) -> Vec<u8> {
        alloy_rlp::encode(alloy_primitives::U256::from(i * 7 + 1))
    }

    #[test]
    fn inserts_updates_and_removals_match_a_full_rebuild() {
        let mut reveals = 0;
        for (seed, size) in [(1, 1), (2, 2), (3, 17), (4, 300), (5, 2000)] {
            let existing = keys(seed, size);
            let before: BTreeMap<B256, Vec<u8>> = existing
                .iter()
                .enumerate()
                .map(|(i, k)| (*k, value(i)))
                .collect();
            let fresh = keys(seed + 100, 5);
            let mut changes: Vec<(B256, Option<Vec<u8>>)> = Vec::new();
            changes.push((fresh[0], Some(value(1000))));
            changes.push((fresh[1], Some(value(1001))));
            changes.push((existing[0], Some(value(2000))));
            // Remove a third of the existing keys (all of them for the tiny tries).
            for k in existing.iter().step_by(3) {
                changes.push((*k, None));
            }
            changes.push((fresh[2], None)); // absent: no effect
            reveals += check(&before, &changes);
        }
        assert!(
            reveals > 0,
            "some removals must have needed a hidden sibling"
        );
    }

    #[test]
    fn many_inserts_into_small_tries() {
        for size in 0..8 {
            for inserts in 1..8 {
                let existing = keys(20 + size as u64, size);
                let before: BTreeMap<B256, Vec<u8>> = existing
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (*k, value(i)))
                    .collect();
                let mut changes: Vec<(B256, Option<Vec<u8>>)> = keys(40 + inserts as u64, inserts)
                    .into_iter()
                    .map(|k| (k, Some(value(7))))
                    .collect();
                if let Some(first) = existing.first() {
                    changes.push((*first, Some(value(9))));
                }
                check(&before, &changes);
            }
        }
    }

    #[test]
    fn removing_everything_gives_the_empty_root() {
        let existing = keys(9, 40);
        let before: BTreeMap<B256, Vec<u8>> = existing
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, value(i)))
            .collect();
        let changes: Vec<_> = existing.iter().map(|k| (*k, None)).collect();
        check(&before, &changes);
        check(&BTreeMap::new(), &[(keys(10, 1)[0], Some(value(1)))]);
    }

    #[test]
    fn a_hidden_node_is_reported_with_its_path() {
        let existing = keys(11, 50);
        let before: BTreeMap<B256, Vec<u8>> = existing
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, value(i)))
            .collect();
        let (root, _) = full_trie(&before, &[]);
        let mut sparse = SparseTrie::new(root);
        let e = sparse.insert(&path_of(&existing[0]), value(5)).unwrap_err();
        assert_eq!(e, TrieError::Blinded(Vec::new()));
        let before = sparse.root();
        let failed = sparse
            .apply(
                &[(path_of(&existing[0]), None)],
                |_| Ok::<_, ()>(Vec::new()),
            )
            .unwrap_err();
        assert!(matches!(failed, ApplyError::Trie(TrieError::Blinded(_))));
        assert_eq!(
            sparse.root(),
            before,
            "a failed apply leaves the trie as it was"
        );
    }

    #[test]
    fn values_are_read_through_revealed_nodes() {
        let existing = keys(13, 300);
        let leaves: BTreeMap<B256, Vec<u8>> = existing
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, value(i)))
            .collect();
        let absent = keys(14, 3);
        let targets: Vec<B256> = existing[..20].iter().chain(&absent).copied().collect();
        let (root, proof) = full_trie(&leaves, &targets);
        let mut trie = SparseTrie::new(B256::ZERO);
        trie.reveal(&proof);
        for (i, key) in existing[..20].iter().enumerate() {
            assert_eq!(trie.get_under(root, &path_of(key)).unwrap(), Some(value(i)));
        }
        for key in &absent {
            assert_eq!(trie.get_under(root, &path_of(key)).unwrap(), None);
        }
        // A key no proof covered: never a wrong answer, at most "not revealed".
        match trie.get_under(root, &path_of(&existing[200])) {
            Ok(found) => assert_eq!(found, Some(value(200))),
            Err(e) => assert!(matches!(e, TrieError::Blinded(_))),
        }
        assert_eq!(
            trie.get_under(EMPTY_ROOT_HASH, &path_of(&absent[0]))
                .unwrap(),
            None
        );
    }

    #[test]
    fn a_committed_trie_carries_to_the_next_changes() {
        let existing = keys(12, 500);
        let mut state: BTreeMap<B256, Vec<u8>> = existing
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, value(i)))
            .collect();
        let (root, proof) = full_trie(&state, &existing[..40]);
        let mut sparse = SparseTrie::new(root);
        sparse.reveal(&proof);
        // Three rounds of changes to revealed keys, each on the previous round's committed trie.
        for round in 0..3usize {
            let changes: Vec<(B256, Option<Vec<u8>>)> = existing[..40]
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 3 == round)
                .map(|(i, k)| (*k, Some(value(10_000 + round * 100 + i))))
                .collect();
            let as_paths: Vec<_> = changes
                .iter()
                .map(|(k, v)| (path_of(k), v.clone()))
                .collect();
            sparse
                .apply(&as_paths, |_| {
                    Err::<Vec<Bytes>, _>("nothing hidden is needed")
                })
                .unwrap();
            sparse.commit();
            for (k, v) in changes {
                state.insert(k, v.unwrap());
            }
            assert_eq!(sparse.root(), full_trie(&state, &[]).0, "round {round}");
        }

        // Pruning forgets the replaced versions, not what the root reaches.
        let revealed = sparse.revealed();
        let now = sparse.root();
        sparse.prune();
        assert!(
            sparse.revealed() < revealed,
            "{} of {revealed}",
            sparse.revealed()
        );
        assert_eq!(sparse.root(), now);
        for key in &existing[..40] {
            assert_eq!(
                sparse.get_under(now, &path_of(key)).unwrap().as_ref(),
                state.get(key)
            );
        }
        let forgotten = existing[..40]
            .iter()
            .filter(|key| sparse.get_under(root, &path_of(key)).is_err())
            .count();
        assert!(forgotten > 0, "the first root is still fully readable");
        // What is kept is all reachable: pruning again drops nothing.
        let kept = sparse.revealed();
        sparse.prune();
        assert_eq!(sparse.revealed(), kept);
    }
}
