//! `mach doctor`: the setup checks of `mach_doctor`, one printed line each, then the counts;
//! exits non-zero on any failure.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Env file with the reference `.env` variables [default: ./.env if present].
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// The AVS list [default: ./avs_configs.json, else $AVS_CONFIGS_PATH/avs_configs.json].
    #[arg(long, value_name = "FILE")]
    avs_config: Option<PathBuf>,
    /// The verifier's `mach-config.toml`: checks it parses and its rollup RPC answers.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The verifier's genesis file: checks its OP Stack fork schedule against the bundled
    /// Superchain registry, as `mach verifier` does at start (and the rollup RPC's chain ID
    /// against it).
    #[arg(long, value_name = "FILE")]
    genesis_config: Option<PathBuf>,
    /// The `--chain-rules` the verifier runs with.
    #[arg(long, value_enum, default_value_t = crate::verifier::ChainRulesSource::Genesis)]
    chain_rules: crate::verifier::ChainRulesSource,
}

pub fn run(args: DoctorArgs) -> Result<()> {
    let options = mach_doctor::Options {
        env_file: args.env_file,
        avs_config: args.avs_config,
        config: args.config,
        genesis_config: args.genesis_config,
        chain_rules: args.chain_rules.into(),
    };
    let summary = mach_runtime::block_on(async {
        Ok::<_, std::io::Error>(mach_doctor::run(options, |check| println!("{check}")).await)
    })?;
    println!(
        "{} checks passed, {} failed",
        summary.passed, summary.failed
    );
    if summary.failed > 0 {
        anyhow::bail!(
            "{} check(s) failed; fix them and run `mach doctor` again",
            summary.failed
        );
    }
    Ok(())
}
