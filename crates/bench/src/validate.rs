//! `mach bench validate`: block validation throughput from memory (no RPC): a generated Cancun
//! block range of ETH transfers and counter-contract calls, validated block by block exactly as
//! the verifier does (header rules, roots, sender recovery, revm re-execution, state root).
//! This is the "bare revm" figure the live verifier is measured against.
//!
//! With `--fixtures`, real OP Stack blocks instead: each re-validated from its execution
//! witness as the live verifier validates a block on a node's `debug_executionWitness`.

use crate::report::{build, cargo_run, machine, publish, today};
use anyhow::{bail, Result};
use mach_verifier::bench::{generate, validate_range, RangeSpec};
use std::path::Path;

/// Generates the range, validates it `runs` times, prints (and optionally records) the best run.
pub fn run(spec: RangeSpec, runs: u32, json: bool, write: Option<&Path>) -> Result<()> {
    if spec.blocks == 0 || spec.txs_per_block == 0 || runs == 0 {
        bail!("--blocks, --txs and --runs must be at least 1");
    }
    let range = generate(spec)?;
    let mut best = validate_range(&range)?;
    for _ in 1..runs {
        let m = validate_range(&range)?;
        if m.elapsed < best.elapsed {
            best = m;
        }
    }
    let secs = best.elapsed.as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "blocks": best.blocks,
                "transactions": best.transactions,
                "gas": best.gas,
                "seconds": secs,
                "mgas_per_second": best.mgas_per_second(),
                "blocks_per_second": best.blocks as f64 / secs.max(1e-9),
            })
        );
    }
    let body = format!(
        "## Block validation throughput (from memory)\n\n\
         Command: `{} bench validate --blocks {} --txs {} --senders {} --runs {runs} --write docs/benchmarks.md`\n\n\
         Machine: {}; build: {}; date: {}\n\n\
         A generated Cancun chain held in memory: each block carries {} transactions, half ETH \
         transfers and half calls to a contract that reads and writes the caller's storage slot \
         and emits a log. Each block is validated as the verifier does: header rules, \
         transactions and withdrawals roots, sender recovery, re-execution with revm \
         (alloy-evm), gas used, receipts root, logs bloom and the post-state root over the whole \
         in-memory state. Best of {runs} runs. Senders are recovered with libsecp256k1 (the \
         `secp256k1` feature of alloy-consensus); validation is single-threaded.\n\n\
         | blocks | transactions | gas | time | Mgas/s | blocks/s |\n\
         |---|---|---|---|---|---|\n\
         | {} | {} | {} | {:.1} ms | {:.1} | {:.1} |\n",
        cargo_run(),
        spec.blocks,
        spec.txs_per_block,
        spec.senders,
        machine(),
        build(),
        today(),
        spec.txs_per_block,
        best.blocks,
        best.transactions,
        best.gas,
        secs * 1000.0,
        best.mgas_per_second(),
        best.blocks as f64 / secs.max(1e-9),
    );
    publish(&body, "validate", write, json)
}

/// Re-validates every real OP Stack block under `dir` `runs` times from its witness, prints
/// (and optionally records) each block's fastest run.
pub fn run_fixtures(dir: &Path, runs: u32, json: bool, write: Option<&Path>) -> Result<()> {
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    let files = mach_verifier::fixture::collect_files(dir)?;
    let mut rows = Vec::new();
    for file in &files {
        let content = mach_verifier::fixture::read_json(file)?;
        if !mach_verifier::fixture::op_stack::is_op_stack_block(&content) {
            continue;
        }
        let fixture = mach_verifier::fixture::op_stack::OpBlockFixture::from_json(content, file)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let m = mach_verifier::bench::validate_real_block(&fixture, runs)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "name": m.name,
                    "chain_id": m.chain_id,
                    "number": m.number,
                    "transactions": m.transactions,
                    "gas": m.gas,
                    "preimages": m.preimages,
                    "seconds": m.elapsed.as_secs_f64(),
                    "mgas_per_second": m.mgas_per_second(),
                })
            );
        }
        rows.push(m);
    }
    if rows.is_empty() {
        bail!("no OP Stack block fixtures under {}", dir.display());
    }
    let gas: u64 = rows.iter().map(|m| m.gas).sum();
    let secs: f64 = rows.iter().map(|m| m.elapsed.as_secs_f64()).sum();
    let mut table = String::new();
    for m in &rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1} ms | {:.1} |\n",
            m.name,
            m.chain_id,
            m.transactions,
            m.gas,
            m.preimages,
            m.elapsed.as_secs_f64() * 1000.0,
            m.mgas_per_second(),
        ));
    }
    let body = format!(
        "## Block validation on real OP Stack blocks (from execution witnesses)\n\n\
         Command: `{} bench validate --fixtures {} --runs {runs} --write docs/benchmarks.md`\n\n\
         Machine: {}; build: {}; date: {}\n\n\
         Real blocks of OP Mainnet (10), OP Sepolia (11155420) and Unichain (130), Holocene rules, \
         each validated as the live verifier validates a block on a node's \
         `debug_executionWitness`: the witness's preimages read into a pre-state (each hashed), \
         then header rules, transactions root, sender recovery, re-execution with op-revm, gas \
         used, receipts root, logs bloom and the post-state root over the witness's trie nodes. \
         Best of {runs} runs per block; the block is first rebuilt once from its payload \
         attributes and must hash to the real block.\n\n\
         | block | chain | transactions | gas | preimages | time | Mgas/s |\n\
         |---|---|---|---|---|---|---|\n\
         {table}\
         | all {} blocks | | | {gas} | | {:.1} ms | {:.1} |\n",
        cargo_run(),
        dir.display(),
        machine(),
        build(),
        today(),
        rows.len(),
        secs * 1000.0,
        gas as f64 / 1e6 / secs.max(1e-9),
    );
    publish(&body, "validate-real", write, json)
}
