//! `mach bench verifier`: the live verifier end to end. It starts its own anvil rollup (the
//! validatable configuration, manual mining), records a block range under a mixed load
//! (transfers to old and new accounts, storage-writing calls that log, deployments, calls to a
//! contract that self-destructs, reverts), then follows the range with the live
//! verifier in strict mode over JSON-RPC: blocks, proofs and code fetched from anvil, every
//! block re-executed and its state root recomputed. The same blocks then go through the
//! validation core from memory, starting from anvil's dump of the pre-range state, for the bare
//! revm figure. With `--prestate N` the range starts from an older state of N accounts and N
//! slots that its load reaches, so keys have to be proven before they can be carried.

use crate::report::{build, cargo_run, machine, publish, today};
use anyhow::{bail, Context, Result};
use mach_devnet::rollup::hex_u64;
use mach_devnet::{Anvil, AnvilConfig};
use mach_jsonrpc::{CallError, Client, Retry};
use mach_verifier::{validate_block, ChainRules, InMemoryState};
use mach_verifier_live::blocks::fetch_block;
use mach_verifier_live::follow::{Follower, Outcome};
use mach_verifier_live::store::Store;
use mach_verifier_live::VerifierConfig;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

const CHAIN_ID: u64 = 31_337;
const SENDERS: u32 = 20;

/// Runtime storing its first calldata word in slot 0.
const STORE_WORD: &str = "600035600055";
/// Init code returning [`STORE_WORD`] as the runtime.
const DEPLOY_STORE_WORD: &str = "6006600c60003960066000f3600035600055";
/// Runtime writing `n` (first calldata word) new slots after a counter kept in slot 0, then
/// logging the caller.
const WRITER: &str = "6000356000545b8115601b576001014381559060019003906006565b6000553360006000a100";
/// Runtime that self-destructs to the caller: since Cancun (EIP-6780) this sends its balance and
/// keeps the account. (A contract created and destroyed in one transaction is deleted; anvil
/// keeps such accounts and commits a state root Ethereum would not, see docs/decisions.md.)
const SELF_DESTRUCT: &str = "33ff";
/// Runtime that always reverts.
const REVERTER: &str = "60006000fd";

/// Slots the writer creates per call while setting up the older state (about 11 Mgas).
const PRESTATE_SLOTS_PER_CALL: usize = 500;
/// Transfers per block while setting up the older state (12.6 Mgas).
const PRESTATE_TRANSFERS_PER_BLOCK: usize = 600;

/// Figures of one run.
struct Figures {
    prestate: usize,
    proofs: u64,
    blocks: u64,
    transactions: usize,
    gas: u64,
    live: Duration,
    revm: Duration,
    fetch: Duration,
    execute: Duration,
    root: Duration,
    peak_rss_mb: f64,
}

/// Records and follows a range of `blocks` blocks of `txs` transactions once per older-state
/// size in `prestate`, with `[collector].max_fetcher = max_fetcher`; prints (and optionally
/// records) the figures, as a table or, with `json`, one JSON object per run.
pub fn run(
    blocks: u64,
    txs: usize,
    max_fetcher: usize,
    prestate: &[usize],
    json: bool,
    write: Option<&Path>,
) -> Result<()> {
    if blocks == 0 || txs == 0 || max_fetcher == 0 || prestate.is_empty() {
        bail!("--blocks, --txs and --max-fetcher must be at least 1, and --prestate not empty");
    }
    let mut rows = String::new();
    for &older in prestate {
        let figures = mach_runtime::block_on(measure(blocks, txs, max_fetcher, older))?;
        let secs = figures.live.as_secs_f64().max(1e-9);
        let mgas = figures.gas as f64 / 1e6 / secs;
        let revm_mgas = figures.gas as f64 / 1e6 / figures.revm.as_secs_f64().max(1e-9);
        if json {
            println!(
                "{}",
                json!({
                    "blocks": figures.blocks,
                    "transactions": figures.transactions,
                    "prestate": figures.prestate,
                    "max_fetcher": max_fetcher,
                    "gas": figures.gas,
                    "seconds": secs,
                    "mgas_per_s": mgas,
                    "revm_mgas_per_s": revm_mgas,
                    "peak_rss_mb": figures.peak_rss_mb,
                    "fetch_seconds": figures.fetch.as_secs_f64(),
                    "execute_seconds": figures.execute.as_secs_f64(),
                    "root_seconds": figures.root.as_secs_f64(),
                    "proofs": figures.proofs,
                })
            );
        }
        rows.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2} s | **{:.1}** | {:.1} | {:.2} s | {:.2} s | {:.2} s | {:.0} MB |\n",
            figures.prestate,
            figures.blocks,
            figures.transactions,
            figures.gas,
            figures.proofs,
            secs,
            mgas,
            revm_mgas,
            figures.fetch.as_secs_f64(),
            figures.execute.as_secs_f64(),
            figures.root.as_secs_f64(),
            figures.peak_rss_mb,
        ));
    }
    let ahead = max_fetcher - 1;
    let prestate_list = prestate
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let body = format!(
        "## Live verifier throughput (anvil rollup over JSON-RPC)\n\n\
         Command: `{} bench verifier --blocks {blocks} --txs {txs} --max-fetcher {max_fetcher} --prestate {prestate_list} --write docs/benchmarks.md`\n\n\
         Machine: {}; build: {}; date: {}\n\n\
         `mach bench verifier` starts an anvil rollup (Prague rules, manual mining), records \
         {blocks} blocks of about {txs} transactions each from {SENDERS} senders (transfers to \
         new accounts and to older ones, calls that write fresh storage slots and log, \
         deployments, calls to a contract that self-destructs, reverts), then follows them with \
         the live verifier in strict mode with `[collector].max_fetcher = {max_fetcher}` (the \
         block being validated and up to {ahead} after it fetched at one time, read ahead while \
         it is validated): blocks, `eth_getProof` proofs and code over HTTP from anvil, each \
         proof checked, each block re-executed and its state root recomputed on the sparse \
         trie. Then the same blocks go through the validation core from memory (anvil's state \
         dump before the range, whole tries rebuilt for each root) for the bare revm figure.\n\n\
         What a block proved carries to the next: accounts and slots created during the range, \
         and keys whose trie path runs through nodes already revealed, are read without the \
         RPC, so a block costs a proof only for keys of older state it is first to touch. \
         *Older state* is how many accounts, and as many slots of the contract whose fresh slots \
         the load writes, exist before the range (created by setup blocks); the load's transfers \
         to older accounts go to them. With 0 the range starts from little more than its own \
         contracts, so after its first blocks nearly every key was created or revealed while \
         following; the larger older state shows the cost of first touches, each an \
         `eth_getProof` on which anvil rebuilds the whole trie it proves from (docs/decisions.md). \
         A block runs once when every slot it reads is known; a block that reads unknown slots \
         runs first to find them, has them fetched in one batch, and runs again. Fetch is time \
         spent waiting for anvil (a block read ahead counts only for the time validation waited \
         for it). Peak RSS is the verifier process's (anvil excluded).\n\n\
         | older state | blocks | transactions | gas | `eth_getProof` calls | end to end | Mgas/s | revm from memory, Mgas/s | fetch | execute | root | peak RSS |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n\
         {rows}",
        cargo_run(),
        machine(),
        build(),
        today(),
    );
    publish(&body, "verifier", write, json)
}

/// The load's JSON-RPC client (anvil signs for its unlocked dev accounts): `null` results are
/// answers here, any error stops the benchmark.
struct Node {
    client: Client,
}

impl Node {
    async fn batch(&self, calls: &[(&str, Value)]) -> Result<Vec<Value>> {
        let answers = self.client.batch(calls).await?;
        calls
            .iter()
            .zip(answers)
            .map(|((method, _), answer)| match answer {
                Ok(value) => Ok(value),
                Err(CallError::Missing { .. }) => Ok(Value::Null),
                Err(e) => Err(anyhow::anyhow!("anvil refused {method}: {e}")),
            })
            .collect()
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value> {
        let mut answers = self.batch(&[(method, params)]).await?;
        Ok(answers.pop().unwrap_or(Value::Null))
    }

    async fn number(&self) -> Result<u64> {
        let value = self.call("eth_blockNumber", json!([])).await?;
        hex_u64(&value).context("eth_blockNumber")
    }
}

/// One transaction of the load, sent with `eth_sendTransaction` by a dev account.
fn tx(from: &str, nonce: u64, to: Option<&str>, gas: u64, value: u64, data: &str) -> Value {
    let mut tx = json!({
        "from": from,
        "nonce": format!("{nonce:#x}"),
        "gas": format!("{gas:#x}"),
        "maxFeePerGas": "0x3b9aca00",
        "maxPriorityFeePerGas": "0x1",
        "value": format!("{value:#x}"),
        "input": format!("0x{data}"),
    });
    if let Some(to) = to {
        tx["to"] = json!(to);
    }
    tx
}

async fn measure(blocks: u64, txs: usize, max_fetcher: usize, prestate: usize) -> Result<Figures> {
    let mut config = AnvilConfig::validatable(CHAIN_ID);
    config.accounts = SENDERS;
    config.args.push("--no-mining".into());
    let anvil = Anvil::spawn(&config)?;
    anvil.space_timestamps().await.map_err(anyhow::Error::msg)?;
    let node = Node {
        client: Client::new(anvil.url(), Duration::from_secs(60)),
    };
    let senders: Vec<String> = (0..SENDERS)
        .map(|i| anvil.dev_signer(i).map(|s| format!("{:#x}", s.address())))
        .collect::<Result<_, _>>()?;
    let mut nonces = vec![0u64; senders.len()];

    // Setup block: the load's contracts.
    let deployer = &senders[0];
    let mut deploys = Vec::new();
    for runtime in [STORE_WORD, WRITER, REVERTER, SELF_DESTRUCT] {
        let len = runtime.len() / 2;
        let init = format!("60{len:02x}600c60003960{len:02x}6000f3{runtime}");
        deploys.push((
            "eth_sendTransaction",
            json!([tx(deployer, nonces[0], None, 200_000, 0, &init)]),
        ));
        nonces[0] += 1;
    }
    let hashes = node.batch(&deploys).await?;
    node.call("evm_mine", json!([])).await?;
    let mut contracts = Vec::new();
    for hash in hashes {
        let receipt = node
            .call("eth_getTransactionReceipt", json!([hash]))
            .await?;
        match receipt["contractAddress"].as_str() {
            Some(address) if receipt["status"] == "0x1" => contracts.push(address.to_string()),
            _ => bail!("deploying a load contract failed: {receipt}"),
        }
    }
    let (store_word, writer, reverter, destructor) =
        (&contracts[0], &contracts[1], &contracts[2], &contracts[3]);

    // The older state: funded accounts, then as many slots of the writer, in blocks under half
    // the gas limit (a fuller block would need a base fee anvil does not charge).
    let mut older: Vec<String> = Vec::with_capacity(prestate);
    let mut transfers = Vec::with_capacity(prestate);
    for k in 0..prestate {
        let s = k % senders.len();
        let to = format!("0x{:040x}", 0xbeef_0000_0000u64 + k as u64);
        transfers.push((
            "eth_sendTransaction",
            json!([tx(&senders[s], nonces[s], Some(&to), 21_000, 1, "")]),
        ));
        nonces[s] += 1;
        older.push(to);
    }
    let mut setup: Vec<Vec<(&str, Value)>> = transfers
        .chunks(PRESTATE_TRANSFERS_PER_BLOCK)
        .map(<[_]>::to_vec)
        .collect();
    let mut slots = prestate;
    while slots > 0 {
        let n = slots.min(PRESTATE_SLOTS_PER_CALL);
        let gas = 100_000 + 25_000 * n as u64;
        let data = format!("{n:064x}");
        setup.push(vec![(
            "eth_sendTransaction",
            json!([tx(deployer, nonces[0], Some(writer), gas, 0, &data)]),
        )]);
        nonces[0] += 1;
        slots -= n;
    }
    for calls in &setup {
        node.batch(calls).await?;
        node.call("evm_mine", json!([])).await?;
    }
    if !setup.is_empty() {
        let status = node.call("txpool_status", json!([])).await?;
        if hex_u64(&status["pending"]).unwrap_or(0) != 0 {
            bail!("setting up the older state left transactions pending: {status}");
        }
    }
    let start = node.number().await?;
    // Decoded after following, so the peak RSS is the verifier's.
    let dump = node.call("anvil_dumpState", json!([])).await?;

    // The recorded range.
    let mut sent = 0usize;
    for block in 0..blocks {
        let mut calls = Vec::with_capacity(txs);
        for i in 0..txs {
            let s = (i + block as usize) % senders.len();
            let from = &senders[s];
            let nonce = nonces[s];
            nonces[s] += 1;
            let word = format!("{:064x}", block * 1_000_000 + i as u64 + 1);
            let fresh = format!("0x{:040x}", 0xf00d_0000_0000u64 + block * 10_000 + i as u64);
            let t = match i % 10 {
                0 | 1 => tx(from, nonce, Some(&fresh), 21_000, 1, ""),
                2 => tx(
                    from,
                    nonce,
                    Some(&senders[(s + 1) % senders.len()]),
                    21_000,
                    7,
                    "",
                ),
                3 => {
                    let to = match older.len() {
                        0 => &senders[(s + 1) % senders.len()],
                        n => &older[(block as usize * txs + i) % n],
                    };
                    tx(from, nonce, Some(to), 21_000, 7, "")
                }
                4..=6 => tx(
                    from,
                    nonce,
                    Some(writer),
                    400_000,
                    0,
                    &format!("{:064x}", 8),
                ),
                7 => tx(from, nonce, Some(store_word), 60_000, 0, &word),
                8 if i % 20 == 8 => tx(from, nonce, None, 120_000, 0, DEPLOY_STORE_WORD),
                8 => tx(from, nonce, Some(destructor), 60_000, 5, ""),
                _ => tx(from, nonce, Some(reverter), 40_000, 0, ""),
            };
            calls.push(("eth_sendTransaction", json!([t])));
        }
        node.batch(&calls).await?;
        sent += calls.len();
        node.call("evm_mine", json!([])).await?;
    }
    // Whatever did not fit in its block.
    for _ in 0..blocks {
        let status = node.call("txpool_status", json!([])).await?;
        if hex_u64(&status["pending"]).unwrap_or(0) == 0 {
            break;
        }
        node.call("evm_mine", json!([])).await?;
    }
    let end = node.number().await?;
    eprintln!(
        "recorded blocks {}..={end} ({sent} transactions); validating",
        start + 1
    );

    // Live: the follower over JSON-RPC.
    let rules = ChainRules::from_genesis_json(&anvil.genesis_json())?;
    let mut verifier_config = VerifierConfig::default();
    verifier_config.collector.url = anvil.url().to_string();
    verifier_config.collector.max_fetcher = max_fetcher;
    verifier_config.validate()?;
    let db = tempfile::tempdir()?;
    let follower =
        Follower::new(verifier_config, rules.clone(), Store::open(db.path())?, "").await?;
    let started = Instant::now();
    let mut validated = 0u64;
    loop {
        match follower.step(start).await? {
            Outcome::Valid(_) => validated += 1,
            Outcome::UpToDate => break,
            other => bail!("the load must validate, but: {other:?}"),
        }
    }
    let live = started.elapsed();
    let peak_rss_mb = peak_rss_mb();
    let pre_state = state_from_dump(&dump)?;
    if validated != end - start {
        bail!("validated {validated} blocks of {}", end - start);
    }

    // From memory: the same blocks through the validation core.
    let rpc = Client::paced(anvil.url(), None, Duration::from_secs(30));
    let mut chain = Vec::new();
    for number in start..=end {
        let (block, hash) = fetch_block(&rpc, &rules, number, Retry::default())
            .await
            .map_err(anyhow::Error::msg)?;
        chain.push((block, hash));
    }
    let (gas, transactions, revm) =
        tokio::task::spawn_blocking(move || from_memory(&rules, pre_state, &chain))
            .await
            .context("the in-memory pass stopped")??;
    let phases = follower.phases();
    Ok(Figures {
        prestate,
        proofs: phases.proofs(),
        blocks: validated,
        transactions,
        gas,
        live,
        revm,
        fetch: phases.fetch(),
        execute: phases.execute(),
        root: phases.root(),
        peak_rss_mb,
    })
}

/// Validates `chain[1..]` on `state` (the post-state of `chain[0]`): gas, transactions, time.
fn from_memory(
    rules: &ChainRules,
    mut state: InMemoryState,
    chain: &[(mach_verifier::ChainBlock, alloy::primitives::B256)],
) -> Result<(u64, usize, Duration)> {
    let (mut gas, mut transactions, mut elapsed) = (0, 0, Duration::ZERO);
    for pair in chain.windows(2) {
        let ((parent, parent_hash), (block, hash)) = (&pair[0], &pair[1]);
        let parent = alloy::consensus::Sealed::new_unchecked(parent.header().clone(), *parent_hash);
        state.set_block_hash(parent.number, *parent_hash);
        let started = Instant::now();
        let valid = validate_block(rules, &parent, &state, block, Some(*hash))
            .with_context(|| format!("block {} from memory", parent.number + 1))?;
        elapsed += started.elapsed();
        state.apply(&valid.changes);
        gas += valid.gas_used;
        transactions += match block {
            mach_verifier::ChainBlock::Ethereum(b) => b.body.transactions.len(),
            mach_verifier::ChainBlock::Optimism(b) => b.body.transactions.len(),
        };
    }
    Ok((gas, transactions, elapsed))
}

/// The state in an `anvil_dumpState` answer (hex of gzipped JSON).
fn state_from_dump(dump: &Value) -> Result<InMemoryState> {
    let hex = dump
        .as_str()
        .context("anvil_dumpState did not answer a string")?;
    let bytes = alloy::hex::decode(hex).context("anvil_dumpState is not hex")?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut text)
        .context("anvil_dumpState is not gzipped JSON")?;
    let dump: Value = serde_json::from_str(&text)?;
    let accounts = dump["accounts"]
        .as_object()
        .context("anvil_dumpState has no accounts")?;
    let mut state = InMemoryState::new();
    for (address, account) in accounts {
        let number = |v: &Value| -> Result<alloy::primitives::U256> {
            match v {
                Value::Number(n) => Ok(alloy::primitives::U256::from(n.as_u64().unwrap_or(0))),
                Value::String(s) => Ok(s.parse()?),
                _ => Ok(alloy::primitives::U256::ZERO),
            }
        };
        let mut storage = BTreeMap::new();
        if let Some(slots) = account["storage"].as_object() {
            for (slot, value) in slots {
                storage.insert(slot.parse()?, number(value)?);
            }
        }
        let code = alloy::hex::decode(account["code"].as_str().unwrap_or("0x"))?;
        state.insert_account(
            address.parse()?,
            number(&account["nonce"])?.to::<u64>(),
            number(&account["balance"])?,
            code.into(),
            storage,
        );
    }
    Ok(state)
}

/// Peak resident memory of this process, in MB (Linux; 0 elsewhere).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
