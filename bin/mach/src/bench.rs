//! `mach bench …`: performance figures measured on this machine, written into
//! `docs/benchmarks.md` with the command that reproduces them. Nothing here asserts a time.

use anyhow::Result;
use clap::Subcommand;
use mach_keys::file::{encrypt_bls, encrypt_ecdsa};
use mach_keys::{BlsSecretKey, EcdsaSecretKey, KeyFile, KeyType};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::bench_report::{build, cargo_run, machine, today, write_section};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Time the decryption of ECDSA and BLS key files with the standard scrypt parameters
    /// (n=262144 r=8 p=1), the cost every node start and every `mach keys show` pays.
    Keys {
        /// Decryptions per key type.
        #[arg(long, default_value_t = 5)]
        iterations: u32,
        /// Replace this benchmark's section in FILE (for example docs/benchmarks.md).
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
    },
    /// Time an alert end to end on a local anvil: posted to every operator node at once until
    /// each holds the confirmAlert transaction (aggregator and nodes in this process).
    Alert {
        /// Operators (nodes) that sign.
        #[arg(long, default_value_t = 3)]
        operators: u32,
        /// Alerts to time.
        #[arg(long, default_value_t = 10)]
        runs: u32,
        /// Replace this benchmark's section in FILE (for example docs/benchmarks.md).
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
    },
    /// Time the aggregator's signature verification for N signers of one alert: each signature
    /// on its own versus aggregate-then-verify (one pairing check), as `aggregator_…` does.
    Bls {
        /// Signer counts to measure, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
        signers: Vec<usize>,
        /// Print one JSON object per signer count (`signers`, `aggregate_ms`,
        /// `per_signature_ms`, `individual_total_ms`) instead of a table.
        #[arg(long)]
        json: bool,
        /// Replace this benchmark's section in FILE (for example docs/benchmarks.md).
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
    },
    /// Time invalid block to confirmed alert on whole local devnets (`mach devnet up`), one
    /// per operator count, faults injected one at a time; also the startup time.
    Devnet {
        /// Operator counts, comma-separated; one devnet each.
        #[arg(long, value_delimiter = ',', default_value = "3,10")]
        operators: Vec<u16>,
        /// Faults to time per devnet.
        #[arg(long, default_value_t = 8)]
        faults: u32,
        /// The rollup: optimism or ethereum.
        #[arg(long, default_value = "optimism")]
        l2_network: String,
        /// Replace this benchmark's section in FILE (for example docs/benchmarks.md).
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
    },
    /// Time what `mach rpc` adds to `eth_call` and `eth_getBalance` (median, p99) against the
    /// rollup directly, and the requests per second it sustains; starts its own anvils.
    Rpc {
        /// Timed requests per method and path.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        /// Concurrent clients for the throughput figure.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Seconds of the throughput run.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Replace this benchmark's section in FILE (for example docs/benchmarks.md).
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
    },
    /// Follow a recorded anvil block range with the live verifier (strict mode, state over
    /// `eth_getProof`), then validate the same blocks from memory; report Mgas/s of both, the
    /// split into fetch, execute and root phases, and peak RSS. Starts its own anvil.
    Verifier {
        /// Blocks in the recorded range.
        #[arg(long, default_value_t = 40)]
        blocks: u64,
        /// Transactions sent per block (about 78 kgas each; keep blocks under half the 30M gas
        /// limit: anvil keeps a zero base fee where EIP-1559 would raise it to 1).
        #[arg(long, default_value_t = 100)]
        txs: usize,
        /// `[collector].max_fetcher` of the verifier: blocks fetched at one time (the one being
        /// validated and those read ahead).
        #[arg(long, default_value_t = 4)]
        max_fetcher: usize,
        /// Older state the range starts from, comma-separated, one run each: N funded accounts
        /// and N storage slots created before the range, which the range's transfers to known
        /// accounts and its fresh slots then reach (keys the verifier has to prove first).
        #[arg(long, value_delimiter = ',', default_value = "0")]
        prestate: Vec<usize>,
        /// Print one JSON object per run (`blocks`, `transactions`, `prestate`, `max_fetcher`,
        /// `gas`, `seconds`, `mgas_per_s`, `revm_mgas_per_s`, `peak_rss_mb`, `fetch_seconds`,
        /// `execute_seconds`, `root_seconds`, `proofs`) instead of a table.
        #[arg(long)]
        json: bool,
        /// Replace this benchmark's section in FILE (for example docs/benchmarks.md).
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
    },
    /// Validate a generated block range from memory (transfers and contract calls, Cancun
    /// rules) the way the verifier does, re-executing with revm, and report Mgas/s; with
    /// `--fixtures DIR`, re-validate real OP Stack blocks from their execution witnesses
    /// instead and report each block's time and Mgas/s.
    Validate {
        /// Real OP Stack block fixtures (files or directories, `.json` or `.json.gz`), e.g.
        /// crates/verifier/tests/data/op-stack: each block is rebuilt once, then validated from
        /// its witness (trie from the preimages, execution, every root) `--runs` times.
        #[arg(long, value_name = "DIR")]
        fixtures: Option<PathBuf>,
        /// Blocks in the range.
        #[arg(long, default_value_t = 50)]
        blocks: usize,
        /// Transactions per block (half transfers, half contract calls).
        #[arg(long, default_value_t = 200)]
        txs: usize,
        /// Distinct sending accounts.
        #[arg(long, default_value_t = 100)]
        senders: usize,
        /// Passes over the range; the fastest is reported.
        #[arg(long, default_value_t = 3)]
        runs: u32,
        /// Print one JSON object (`blocks`, `transactions`, `gas`, `seconds`,
        /// `mgas_per_second`, `blocks_per_second`; with `--fixtures` one per block: `name`,
        /// `chain_id`, `number`, `transactions`, `gas`, `preimages`, `seconds`,
        /// `mgas_per_second`) instead of a table.
        #[arg(long)]
        json: bool,
        /// Replace this benchmark's section in FILE (for example docs/benchmarks.md).
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
    },
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Verifier {
            blocks,
            txs,
            max_fetcher,
            prestate,
            json,
            write,
        } => {
            crate::bench_verifier::run(blocks, txs, max_fetcher, &prestate, json, write.as_deref())
        }
        BenchCommand::Validate {
            fixtures: Some(fixtures),
            runs,
            json,
            write,
            ..
        } => crate::bench_validate::run_fixtures(&fixtures, runs, json, write.as_deref()),
        BenchCommand::Validate {
            fixtures: None,
            blocks,
            txs,
            senders,
            runs,
            json,
            write,
        } => crate::bench_validate::run(
            mach_verifier::bench::RangeSpec {
                blocks,
                txs_per_block: txs,
                senders,
            },
            runs,
            json,
            write.as_deref(),
        ),
        BenchCommand::Devnet {
            operators,
            faults,
            l2_network,
            write,
        } => crate::bench_devnet::run(&operators, faults, &l2_network, write.as_deref()),
        BenchCommand::Rpc {
            requests,
            clients,
            seconds,
            write,
        } => crate::bench_rpc::run(requests, clients, seconds, write.as_deref()),
        BenchCommand::Alert {
            operators,
            runs,
            write,
        } => crate::bench_alert::run(operators, runs, write.as_deref()),
        BenchCommand::Bls {
            signers,
            json,
            write,
        } => bls(&signers, json, write.as_deref()),
        BenchCommand::Keys { iterations, write } => {
            let iterations = iterations.max(1);
            let password = "benchmark password";
            let ecdsa = encrypt_ecdsa(&EcdsaSecretKey::random(), password)?;
            let bls = encrypt_bls(&BlsSecretKey::random(), password)?;
            let mut rows = Vec::new();
            for (key_type, bytes) in [(KeyType::Ecdsa, ecdsa), (KeyType::Bls, bls)] {
                let file = KeyFile::parse(Path::new("(benchmark)"), &bytes, Some(key_type))?;
                let mut times = Vec::new();
                for _ in 0..iterations {
                    let start = Instant::now();
                    match key_type {
                        KeyType::Ecdsa => drop(file.decrypt_ecdsa(password)?),
                        KeyType::Bls => drop(file.decrypt_bls(password)?),
                    }
                    times.push(start.elapsed());
                }
                times.sort();
                rows.push(format!(
                    "| {key_type} | scrypt n=262144 r=8 p=1 | {iterations} | {} | {} | {} |",
                    ms(times[0]),
                    ms(times[times.len() / 2]),
                    ms(times[times.len() - 1])
                ));
            }
            let body = format!(
                "## Key file decryption\n\n\
                 Command: `cargo run --release -p mach -- bench keys --iterations {iterations} \
                 --write docs/benchmarks.md`\n\n\
                 Machine: {}; build: {}; date: {}\n\n\
                 | key type | KDF | runs | min | median | max |\n\
                 |---|---|---|---|---|---|\n{}\n",
                machine(),
                if cfg!(debug_assertions) {
                    "debug (dependencies optimized)"
                } else {
                    "release"
                },
                today(),
                rows.join("\n")
            );
            print!("{body}");
            if let Some(path) = write {
                write_section(&path, "keys", &body)?;
                eprintln!("updated {}", path.display());
            }
            Ok(())
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// One row of `bench bls`.
struct BlsFigures {
    signers: usize,
    aggregate: Duration,
    individual: Duration,
}

fn bls_once(signers: usize) -> BlsFigures {
    use mach_keys::bls;
    let hash = alloy::primitives::B256::repeat_byte(0x42);
    let items: Vec<_> = (0..signers)
        .map(|_| {
            let key = BlsSecretKey::random();
            (key.public_key_g2(), key.sign(&hash))
        })
        .collect();
    let start = Instant::now();
    let all_valid = mach_aggregator::quorum::verify_batch(&hash, &items)
        .iter()
        .all(|ok| *ok);
    let aggregate = start.elapsed();
    let start = Instant::now();
    let each_valid = items.iter().all(|(key, sig)| bls::verify(key, &hash, sig));
    let individual = start.elapsed();
    debug_assert!(all_valid && each_valid);
    BlsFigures {
        signers,
        aggregate,
        individual,
    }
}

fn bls(counts: &[usize], json: bool, write: Option<&Path>) -> Result<()> {
    let mut rows = Vec::new();
    for &n in counts.iter().filter(|n| **n > 0) {
        let f = bls_once(n);
        let per_signature = f.individual.as_secs_f64() * 1000.0 / n as f64;
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "signers": f.signers,
                    "aggregate_ms": f.aggregate.as_secs_f64() * 1000.0,
                    "per_signature_ms": per_signature,
                    "individual_total_ms": f.individual.as_secs_f64() * 1000.0,
                })
            );
        }
        rows.push(format!(
            "| {} | {:.2} ms | {:.3} ms | {:.2} ms |",
            f.signers,
            f.aggregate.as_secs_f64() * 1000.0,
            per_signature,
            f.individual.as_secs_f64() * 1000.0
        ));
    }
    let list = counts
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let body = format!(
        "## BLS signature verification (aggregator)\n\n\
         Command: `{} bench bls --signers {list} --write docs/benchmarks.md`\n\n\
         Machine: {}; build: {}; date: {}\n\n\
         N signatures of one alert, each from its own key. *Aggregate* sums the signatures and \
         the G2 keys and checks one pairing equation (what the aggregator does per batch); \
         *individual* checks each signature on its own.\n\n\
         | signers | aggregate-then-verify | individual, per signature | individual, total |\n\
         |---|---|---|---|\n{}\n",
        cargo_run(),
        machine(),
        build(),
        today(),
        rows.join("\n")
    );
    if !json {
        print!("{body}");
    }
    if let Some(path) = write {
        write_section(path, "bls", &body)?;
        eprintln!("updated {}", path.display());
    }
    Ok(())
}
