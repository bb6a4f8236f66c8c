//! `mach bench devnet`: the time from an invalid rollup block's production to the receipt of
//! its `confirmAlert` on L1, on a whole local devnet (`mach devnet up --detach`), for several
//! operator counts; also the devnet's startup time.

use crate::bench_report::{build, machine, today, write_section};
use crate::devnet::record;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One operator count's figures.
struct Run {
    operators: u16,
    startup_s: f64,
    latencies_ms: Vec<u64>,
}

pub fn run(operators: &[u16], faults: u32, network: &str, write: Option<&Path>) -> Result<()> {
    let mut runs = Vec::new();
    for &n in operators {
        let tmp = tempfile::Builder::new()
            .prefix("mach-bench-devnet-")
            .tempdir()?;
        let dir = tmp.path().join("devnet");
        eprintln!("devnet with {n} operators in {}", dir.display());
        let result = measure(&dir, n, faults, network);
        let _ = mach(&["devnet", "down", "--dir", path(&dir)?]);
        runs.push(result?);
    }
    let rows: Vec<String> = runs
        .iter()
        .map(|r| {
            let mut sorted = r.latencies_ms.clone();
            sorted.sort_unstable();
            format!(
                "| {} | {:.1} s | {} | {} ms | {} ms | {} ms |",
                r.operators,
                r.startup_s,
                sorted.len(),
                sorted.first().copied().unwrap_or_default(),
                sorted.get(sorted.len() / 2).copied().unwrap_or_default(),
                sorted.last().copied().unwrap_or_default(),
            )
        })
        .collect();
    let list: Vec<String> = operators.iter().map(u16::to_string).collect();
    let body = format!(
        "## Devnet: invalid block to confirmed alert\n\n\
         Command: `{} bench devnet --operators {} --faults {faults} --l2-network {network} --write docs/benchmarks.md`\n\n\
         Machine: {}; build: {}; date: {}\n\n\
         Each run is a fresh `mach devnet up --detach` (L1 and rollup on anvil, one block a \
         second, 10 load transactions a second, every operator running `mach node` and `mach \
         verifier` as separate processes). The faults (balance, storage, code, nonce in turn) are \
         injected one at a time, each after the previous one's alert is confirmed. Latency runs \
         from the moment the sequencer mined the invalid block to the moment the devnet saw \
         the `AlertConfirmed` receipt on L1 (polled every 10 ms); startup is from the start of \
         `devnet up` to `devnet ready`.\n\n\
         | operators | startup | faults | min | median | max |\n\
         |---|---|---|---|---|---|\n{}\n",
        if cfg!(debug_assertions) {
            "cargo run -p mach --"
        } else {
            "cargo run --release -p mach --"
        },
        list.join(","),
        machine(),
        build(),
        today(),
        rows.join("\n")
    );
    print!("{body}");
    if let Some(path) = write {
        write_section(path, "devnet", &body)?;
        eprintln!("updated {}", path.display());
    }
    Ok(())
}

fn measure(dir: &Path, operators: u16, faults: u32, network: &str) -> Result<Run> {
    let n = operators.to_string();
    mach(&[
        "devnet",
        "up",
        "--detach",
        "--dir",
        path(dir)?,
        "--operators",
        &n,
        "--l2-network",
        network,
    ])?;
    let devnet = record::load(dir)?;
    let kinds = ["balance", "storage", "code", "nonce"];
    let mut latencies = Vec::new();
    for i in 0..faults {
        let kind = kinds[i as usize % kinds.len()];
        mach(&["devnet", "fault", "--kind", kind, "--dir", path(dir)?])?;
        let started = Instant::now();
        loop {
            let recorded = record::load_faults(dir)?;
            if recorded.len() == i as usize + 1 {
                if let Some(confirmed) = recorded.last().and_then(|f| f.confirmed.as_ref()) {
                    eprintln!("  {kind}: {} ms", confirmed.latency_ms);
                    latencies.push(confirmed.latency_ms);
                    break;
                }
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "the {kind} fault's alert was not confirmed within 60 s; see the logs in {}",
                    dir.join("logs").display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(Run {
        operators,
        startup_s: devnet.startup_s,
        latencies_ms: latencies,
    })
}

fn path(dir: &Path) -> Result<&str> {
    dir.to_str()
        .with_context(|| format!("{} is not UTF-8", dir.display()))
}

/// Runs `mach <args>`; fails with its output when it fails.
fn mach(args: &[&str]) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find the mach binary")?;
    let out = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run mach {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "mach {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
