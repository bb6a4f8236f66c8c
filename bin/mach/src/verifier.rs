//! `mach verifier …`: block validation. Without a subcommand it follows a rollup
//! (`--config mach-config.toml --genesis-config genesis.json`); `fixture` runs the Ethereum test
//! suite's BlockchainTests through the same validator.

use anyhow::{bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use mach_verifier::schedule::ScheduleSource;
use mach_verifier_live::service;
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
    /// Where the OP Stack fork schedule comes from: the genesis file (checked against the
    /// bundled Superchain registry; strict and safe mode refuse to start when they differ), or
    /// the registry's entry for the chain ID.
    #[arg(long, value_enum, default_value_t = ChainRulesSource::Genesis)]
    chain_rules: ChainRulesSource,
}

/// `--chain-rules`: which OP Stack fork schedule to validate by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ChainRulesSource {
    /// The genesis file's, checked against the Superchain registry.
    Genesis,
    /// The Superchain registry's for the genesis file's chain ID.
    Registry,
}

impl From<ChainRulesSource> for ScheduleSource {
    fn from(source: ChainRulesSource) -> Self {
        match source {
            ChainRulesSource::Genesis => Self::Genesis,
            ChainRulesSource::Registry => Self::Registry,
        }
    }
}

pub fn main(args: VerifierArgs) -> Result<()> {
    if let Some(cmd) = args.command {
        return run(cmd);
    }
    let (Some(config), Some(genesis)) = (&args.config, &args.genesis_config) else {
        bail!("pass --config mach-config.toml and --genesis-config genesis.json (or a subcommand, e.g. `mach verifier fixture`)");
    };
    let config = mach_verifier_live::VerifierConfig::load(config)?;
    let judges_blocks = service::judges_blocks(config.validator.mode);
    let settings = service::Settings {
        rules: service::chain_rules(genesis, args.chain_rules.into(), judges_blocks)?,
        config,
        db: args.db,
        start_block: args.start_block,
        avs_name: args.avs_name,
    };
    mach_runtime::block_on(async move {
        // Listen first: a signal while starting stops the process in order.
        let stop = mach_runtime::signal();
        let mut supervisor = mach_runtime::Supervisor::new();
        service::start(settings, &mut supervisor).await?;
        Ok(supervisor.run_until(stop).await?)
    })
}

#[derive(Subcommand, Debug)]
pub enum VerifierCommand {
    /// Run fixture files (or directories searched recursively for `.json` and `.json.gz`)
    /// through the block validator: Ethereum BlockchainTests files and real OP Stack blocks,
    /// told apart by their content.
    ///
    /// Prints `PASS name` or `FAIL name: reason` per test case and a last line
    /// `N passed, M failed`; exits non-zero unless every case passed. A BlockchainTests case
    /// passes when each block without `expectException` is accepted, each block with it is
    /// rejected, and the chain ends at `lastblockhash`. An OP Stack block passes when the block
    /// rebuilt from its parent and payload attributes on its witness hashes to
    /// `expected_block_hash` and the validator accepts it (or, with `"expect": "invalid"`, when
    /// it is rejected; with `"expect": "undecided"`, when it cannot be decided).
    Fixture {
        /// Fixture files or directories, e.g. crates/verifier/tests/data/op-stack.
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
