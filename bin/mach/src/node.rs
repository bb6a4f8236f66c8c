//! `mach node` and `mach proxy`: the operator's long-running processes, configured like the
//! reference deployment (`.env`, `avs_configs.json`, `operator_proxy.yaml`).

use anyhow::{Context, Result};
use clap::Args;
use mach_primitives::env::Env;
use mach_runtime::block_on;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct NodeArgs {
    /// The AVS list (reference `avs_configs.json`: one entry per rollup).
    #[arg(long, value_name = "FILE")]
    avs_config: PathBuf,
    /// Env file with the reference `.env` variables [default: ./.env if present].
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ProxyArgs {
    /// The proxy configuration (reference `operator_proxy.yaml`).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The AVS list; only these names are routed.
    #[arg(long, value_name = "FILE")]
    avs_config: PathBuf,
}

pub fn node(args: NodeArgs) -> Result<()> {
    block_on(async move {
        // Listen first: a signal while starting stops the process in order.
        let stop = mach_runtime::signal();
        let env = Env::load(args.env_file.as_deref(), ".env")?;
        let avs = mach_node::load_avs_configs(&args.avs_config)?;
        let config = mach_node::NodeConfig::from_vars(&|name| env.get(name), avs)?;
        // The key file decrypted, or a Cerberus client (NODE_BLS_SIGNER), checked at start.
        let bls = mach_node::BlsSigner::open(&config)?;
        let mut supervisor = mach_runtime::Supervisor::new();
        mach_node::start_supervised(config, bls, &mut supervisor).await?;
        Ok(supervisor.run_until(stop).await?)
    })
}

pub fn proxy(args: ProxyArgs) -> Result<()> {
    block_on(async move {
        // Listen first: a signal while starting stops the process in order.
        let stop = mach_runtime::signal();
        let text = std::fs::read_to_string(&args.config)
            .with_context(|| format!("cannot read {}", args.config.display()))?;
        let config = mach_node::proxy::ProxyConfig::from_yaml(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a valid operator_proxy.yaml: {e}",
                args.config.display()
            )
        })?;
        let names = mach_node::load_avs_configs(&args.avs_config)?
            .into_iter()
            .map(|a| a.avs_name)
            .collect();
        let mut supervisor = mach_runtime::Supervisor::new();
        mach_node::proxy::start_supervised(config, names, &mut supervisor)
            .await
            .map_err(anyhow::Error::msg)?;
        Ok(supervisor.run_until(stop).await?)
    })
}
