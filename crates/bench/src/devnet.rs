//! `mach bench devnet`: the time from an invalid rollup block's production to the receipt of
//! its `confirmAlert` on L1, on a whole local devnet (a detached [`mach_devnet::up`], as
//! `mach devnet up --detach` starts it), for several operator counts; also the devnet's startup
//! time.

use crate::report::{build, cargo_run, machine, publish, today};
use anyhow::{bail, Result};
use mach_devnet::rollup::{FaultKind, Network};
use mach_devnet::{control, record, up, UpConfig};
use std::path::Path;
use std::time::{Duration, Instant};

/// One operator count's figures.
struct Run {
    operators: u16,
    startup_s: f64,
    latencies_ms: Vec<u64>,
}

/// Runs one devnet per operator count (its processes are the `mach` executable at `mach`),
/// times `faults` faults on each; prints (and optionally records) the figures.
pub fn run(
    mach: &Path,
    operators: &[u16],
    faults: u32,
    network: Network,
    write: Option<&Path>,
) -> Result<()> {
    let mut runs = Vec::new();
    for &n in operators {
        let tmp = tempfile::Builder::new()
            .prefix("mach-bench-devnet-")
            .tempdir()?;
        let config = UpConfig {
            dir: tmp.path().join("devnet"),
            operators: n,
            block_time: 1,
            load: 10,
            l2_network: network,
            mach: mach.to_path_buf(),
            remote_bls_operator: false,
        };
        eprintln!("devnet with {n} operators in {}", config.dir.display());
        let result = measure(&config, faults);
        control::down(&config.dir);
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
        cargo_run(),
        list.join(","),
        machine(),
        build(),
        today(),
        rows.join("\n")
    );
    publish(&body, "devnet", write, false)
}

fn measure(config: &UpConfig, faults: u32) -> Result<Run> {
    let dir = &config.dir;
    let devnet = up::detach(config)?;
    let kinds = FaultKind::ALL;
    let mut latencies = Vec::new();
    for i in 0..faults {
        let kind = kinds[i as usize % kinds.len()];
        mach_runtime::block_on(control::fault(dir, kind))?;
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
        operators: config.operators,
        startup_s: devnet.startup_s,
        latencies_ms: latencies,
    })
}
