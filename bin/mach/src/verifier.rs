//! `mach verifier …`: block validation. Without a subcommand it follows a rollup
//! (`--config mach-config.toml --genesis-config genesis.json`); `fixture` runs the Ethereum test
//! suite's BlockchainTests through the same validator.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct VerifierArgs {
    #[command(subcommand)]
    command: Option<VerifierCommand>,
    /// The verifier configuration (reference `mach-config.toml`; old section names accepted).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The rollup's geth-style genesis file (its `config` gives the chain rules).
    #[arg(long, value_name = "FILE")]
    genesis_config: Option<PathBuf>,
    /// Directory of the verifier's store (progress and unsent alerts).
    #[arg(long, value_name = "DIR", default_value = "verifier-db")]
    db: PathBuf,
    /// Validate from the block after this one on a fresh store [default: the latest block].
    #[arg(long, value_name = "N")]
    start_block: Option<u64>,
    /// The AVS name put in alerts (leave empty when [operator].url ends in /<avs_name>).
    #[arg(long, default_value = "")]
    avs_name: String,
}

pub fn main(args: VerifierArgs) -> Result<()> {
    if let Some(cmd) = args.command {
        return run(cmd);
    }
    let (Some(config), Some(genesis)) = (&args.config, &args.genesis_config) else {
        bail!("pass --config mach-config.toml and --genesis-config genesis.json (or a subcommand, e.g. `mach verifier fixture`)");
    };
    let config = mach_verifier::live::VerifierConfig::load(config)?;
    let genesis_text = std::fs::read_to_string(genesis)
        .with_context(|| format!("cannot read {}", genesis.display()))?;
    let rules = mach_verifier::ChainRules::from_genesis_json(&genesis_text)
        .with_context(|| format!("{} is not a usable genesis file", genesis.display()))?;
    crate::operator::block_on(follow(
        config,
        rules,
        args.db,
        args.start_block,
        args.avs_name,
    ))
}

async fn follow(
    config: mach_verifier::live::VerifierConfig,
    rules: mach_verifier::ChainRules,
    db: PathBuf,
    start_block: Option<u64>,
    avs_name: String,
) -> Result<()> {
    use mach_verifier::live::follow::{Follower, Outcome};
    let interval = std::time::Duration::from_millis(config.collector.interval_ms);
    let retry = std::time::Duration::from_millis(config.scheduler.retry_wait_timout_ms);
    let store = mach_verifier::live::store::Store::open(&db)?;
    let resumed = store.last_validated()?;
    tracing::info!(mode = ?config.validator.mode, rpc = %config.collector.url, chain_id = rules.chain_id, db = %db.display(), resumed = ?resumed.map(|b| b.number), "verifier started");
    let follower = Follower::new(config, rules, store, &avs_name).await?;
    let start = match (resumed, start_block) {
        (Some(_), _) => 0,
        (None, Some(n)) => n,
        (None, None) => follower.latest().await?,
    };
    let stop = crate::node::shutdown_signal();
    tokio::pin!(stop);
    loop {
        let outcome = tokio::select! {
            _ = &mut stop => {
                tracing::info!("stopping");
                return Ok(());
            }
            outcome = follower.step(start) => outcome?,
        };
        let pause = match outcome {
            Outcome::Valid(_) | Outcome::Invalid(..) | Outcome::Reorg(_) => None,
            Outcome::UpToDate => Some(interval),
            Outcome::Undecided(number, reason) => {
                tracing::warn!(block = number, %reason, "could not validate; retrying in {} ms", retry.as_millis());
                Some(retry)
            }
        };
        if let Some(pause) = pause {
            tokio::select! {
                _ = &mut stop => {
                    tracing::info!("stopping");
                    return Ok(());
                }
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum VerifierCommand {
    /// Run Ethereum BlockchainTests JSON fixtures (files, or directories searched recursively
    /// for `.json`) through the block validator.
    ///
    /// Prints `PASS name` or `FAIL name: reason` per test case and a last line
    /// `N passed, M failed`; exits non-zero unless every case passed. A case passes when each
    /// block without `expectException` is accepted, each block with it is rejected, and the
    /// chain ends at `lastblockhash`.
    Fixture {
        /// Fixture files or directories, e.g. ../shared/fixtures/ethereum-tests.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Also print, under each case, every block the validator rejected and why.
        #[arg(long, short)]
        verbose: bool,
    },
}

pub fn run(cmd: VerifierCommand) -> Result<()> {
    match cmd {
        VerifierCommand::Fixture { paths, verbose } => {
            let stdout = std::io::stdout();
            let summary = mach_verifier::fixture::run_paths(&paths, |result| {
                let mut out = stdout.lock();
                let _ = writeln!(out, "{result}");
                if verbose {
                    for r in &result.rejections {
                        let expected = r.expected.as_deref().unwrap_or("no exception");
                        let _ = writeln!(
                            out,
                            "  block {} rejected (fixture expects {expected}): {}",
                            r.block, r.reason
                        );
                    }
                }
            })?;
            println!("{summary}");
            if summary.failed > 0 {
                bail!(
                    "{} of {} test cases failed",
                    summary.failed,
                    summary.passed + summary.failed
                );
            }
            Ok(())
        }
    }
}
