//! `mach bench …`: performance figures measured on this machine, written into
//! `docs/benchmarks.md` with the command that reproduces them (the benchmarks are `mach_bench`).

use anyhow::{Context, Result};
use clap::Subcommand;
use mach_bench as bench;
use std::path::PathBuf;

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
    /// Time one BLS signature of an alert in memory (the key file) against one through the
    /// Cerberus remote-signer protocol (the node's client and the devnet's Cerberus stand-in on
    /// localhost, plain and TLS): median, p99 and mean of each.
    BlsSigner {
        /// Signatures timed per path.
        #[arg(long, default_value_t = 1000)]
        samples: usize,
        /// Print one JSON object per path (`path`, `samples`, `median_ms`, `p99_ms`, `mean_ms`,
        /// and for the remote paths `protocol_median_ms`, `protocol_p99_ms`) instead of a table.
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
        l2_network: mach_devnet::rollup::Network,
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
    let mach = || std::env::current_exe().context("cannot find the mach binary");
    match cmd {
        BenchCommand::Verifier {
            blocks,
            txs,
            max_fetcher,
            prestate,
            json,
            write,
        } => bench::verifier::run(blocks, txs, max_fetcher, &prestate, json, write.as_deref()),
        BenchCommand::Validate {
            fixtures: Some(fixtures),
            runs,
            json,
            write,
            ..
        } => bench::validate::run_fixtures(&fixtures, runs, json, write.as_deref()),
        BenchCommand::Validate {
            fixtures: None,
            blocks,
            txs,
            senders,
            runs,
            json,
            write,
        } => bench::validate::run(
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
        } => bench::devnet::run(&mach()?, &operators, faults, l2_network, write.as_deref()),
        BenchCommand::Rpc {
            requests,
            clients,
            seconds,
            write,
        } => bench::rpc::run(&mach()?, requests, clients, seconds, write.as_deref()),
        BenchCommand::Alert {
            operators,
            runs,
            write,
        } => bench::alert::run(operators, runs, write.as_deref()),
        BenchCommand::Bls {
            signers,
            json,
            write,
        } => bench::bls::run(&signers, json, write.as_deref()),
        BenchCommand::BlsSigner {
            samples,
            json,
            write,
        } => bench::bls_signer::run(samples, json, write.as_deref()),
        BenchCommand::Keys { iterations, write } => bench::keys::run(iterations, write.as_deref()),
    }
}
