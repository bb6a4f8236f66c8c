//! `mach verifier …`: block validation. `fixture` runs the Ethereum test suite's
//! BlockchainTests through the same validator the live verifier uses.

use anyhow::{bail, Result};
use clap::Subcommand;
use std::io::Write;
use std::path::PathBuf;

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
