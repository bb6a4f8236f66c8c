//! `mach bench validate`: block validation throughput from memory (no RPC): a generated Cancun
//! block range of ETH transfers and counter-contract calls, validated block by block exactly as
//! the verifier does (header rules, roots, sender recovery, revm re-execution, state root).
//! This is the "bare revm" figure the live verifier is measured against.

use crate::bench::{build, cargo_run, machine, today, write_section};
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
    if !json {
        print!("{body}");
    }
    if let Some(path) = write {
        write_section(path, "validate", &body)?;
        eprintln!("updated {}", path.display());
    }
    Ok(())
}
