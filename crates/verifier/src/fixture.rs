//! Conformance runner for Ethereum `BlockchainTests` JSON fixtures: imports each test's blocks
//! through [`validate_block`] and checks that valid blocks are accepted, blocks with
//! `expectException` are rejected, and the chain ends at `lastblockhash`.

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    path::{Path, PathBuf},
};

use alloy_consensus::{Header, Sealed};
use alloy_primitives::{Address, Bytes, B256, U256};
use serde::Deserialize;

use crate::{
    chain::ChainRules,
    state::InMemoryState,
    validate::{validate_block, ChainBlock},
};

/// A fixture file or directory that could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// Reading a file or listing a directory failed.
    #[error("cannot read {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a BlockchainTests JSON object.
    #[error("{path}: not a BlockchainTests file: {message}")]
    Format {
        /// The path.
        path: PathBuf,
        /// What serde said.
        message: String,
    },
}

/// The outcome of one test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// Test name (the key in the JSON file).
    pub name: String,
    /// `None` on pass; on failure what went wrong.
    pub failure: Option<String>,
    /// Each rejected block: its index in the case, the validator's reason and the exception
    /// the fixture expected (for `--verbose` output and for checking reasons by eye).
    pub rejections: Vec<Rejection>,
}

/// A block the validator rejected during a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Index of the block in the case's `blocks`.
    pub block: usize,
    /// Why the validator rejected it.
    pub reason: String,
    /// The fixture's `expectException`, if it had one.
    pub expected: Option<String>,
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            None => write!(f, "PASS {}", self.name),
            Some(reason) => write!(f, "FAIL {}: {}", self.name, reason),
        }
    }
}

/// Totals of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestCase {
    network: String,
    #[serde(rename = "genesisRLP")]
    genesis_rlp: Bytes,
    pre: BTreeMap<Address, FixtureAccount>,
    blocks: Vec<FixtureBlock>,
    lastblockhash: B256,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FixtureAccount {
    balance: U256,
    nonce: U256,
    code: Bytes,
    storage: BTreeMap<U256, U256>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FixtureBlock {
    rlp: String,
    expect_exception: Option<String>,
}

/// Every `.json` file under `path` (recursively, sorted), or `path` itself if it is a file.
pub fn collect_files(path: &Path) -> Result<Vec<PathBuf>, FixtureError> {
    let io = |source| FixtureError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            files.extend(collect_files(&entry)?);
        } else if entry.extension().is_some_and(|e| e == "json") {
            files.push(entry);
        }
    }
    Ok(files)
}

/// Runs every test case in one BlockchainTests JSON file, in name order.
pub fn run_file(path: &Path) -> Result<Vec<CaseResult>, FixtureError> {
    let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let cases: BTreeMap<String, TestCase> =
        serde_json::from_str(&text).map_err(|e| FixtureError::Format {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(cases
        .into_iter()
        .map(|(name, case)| {
            let mut rejections = Vec::new();
            let failure = run_case(&case, &mut rejections).err();
            CaseResult {
                name,
                failure,
                rejections,
            }
        })
        .collect())
}

/// Runs every case of every file under each path, calling `report` after each case.
pub fn run_paths(
    paths: &[PathBuf],
    mut report: impl FnMut(&CaseResult),
) -> Result<Summary, FixtureError> {
    let mut summary = Summary::default();
    for path in paths {
        for file in collect_files(path)? {
            for result in run_file(&file)? {
                if result.failure.is_none() {
                    summary.passed += 1;
                } else {
                    summary.failed += 1;
                }
                report(&result);
            }
        }
    }
    Ok(summary)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    alloy_primitives::hex::decode(s).ok()
}

/// One chain the runner has accepted: the block header and its post-state.
struct Node {
    header: Sealed<Header>,
    state: InMemoryState,
}

fn run_case(case: &TestCase, rejections: &mut Vec<Rejection>) -> Result<(), String> {
    let rules = ChainRules::ethereum_network(&case.network).map_err(|e| e.to_string())?;
    let genesis =
        ChainBlock::decode(&rules, &case.genesis_rlp).map_err(|e| format!("genesis: {e}"))?;
    let genesis_header = genesis.header().clone();
    let genesis_hash = genesis_header.hash_slow();

    let mut state = InMemoryState::new();
    for (address, account) in &case.pre {
        let nonce = u64::try_from(account.nonce)
            .map_err(|_| format!("pre-state nonce of {address} overflows"))?;
        state.insert_account(
            *address,
            nonce,
            account.balance,
            account.code.clone(),
            account.storage.clone(),
        );
    }
    let root = state.state_root();
    if root != genesis_header.state_root {
        return Err(format!(
            "pre-state root {root} differs from the genesis state root {}",
            genesis_header.state_root
        ));
    }
    state.set_block_hash(genesis_header.number, genesis_hash);

    let mut chain: HashMap<B256, Node> = HashMap::new();
    chain.insert(
        genesis_hash,
        Node {
            header: Sealed::new_unchecked(genesis_header, genesis_hash),
            state,
        },
    );
    let mut head = genesis_hash;

    for (index, fixture_block) in case.blocks.iter().enumerate() {
        let outcome = import(&rules, &chain, &fixture_block.rlp);
        if let Err(reason) = &outcome {
            rejections.push(Rejection {
                block: index,
                reason: reason.clone(),
                expected: fixture_block.expect_exception.clone(),
            });
        }
        match (outcome, &fixture_block.expect_exception) {
            (Ok((node, hash)), None) => {
                chain.insert(hash, node);
                head = hash;
            }
            (Ok(_), Some(expected)) => {
                return Err(format!(
                    "block {index} was accepted, expected rejection ({expected})"
                ));
            }
            (Err(reason), None) => return Err(format!("block {index} rejected: {reason}")),
            (Err(_), Some(_)) => {}
        }
    }
    if head != case.lastblockhash {
        return Err(format!(
            "head is {head}, expected lastblockhash {}",
            case.lastblockhash
        ));
    }
    Ok(())
}

fn import(
    rules: &ChainRules,
    chain: &HashMap<B256, Node>,
    rlp_hex: &str,
) -> Result<(Node, B256), String> {
    let rlp = decode_hex(rlp_hex).ok_or_else(|| "block RLP is not hex".to_string())?;
    let block = ChainBlock::decode(rules, &rlp).map_err(|e| e.to_string())?;
    let parent_hash = block.header().parent_hash;
    let parent = chain
        .get(&parent_hash)
        .ok_or_else(|| format!("unknown parent {parent_hash}"))?;
    let valid = validate_block(rules, &parent.header, &parent.state, &block, None)
        .map_err(|e| e.to_string())?;
    let mut state = parent.state.clone();
    state.apply(&valid.changes);
    state.set_block_hash(block.header().number, valid.hash);
    Ok((
        Node {
            header: Sealed::new_unchecked(block.header().clone(), valid.hash),
            state,
        },
        valid.hash,
    ))
}
