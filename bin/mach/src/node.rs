//! `mach node` and `mach proxy`: the operator's long-running processes, configured like the
//! reference deployment (`.env`, `avs_configs.json`, `operator_proxy.yaml`).

use crate::envfile::Env;
use crate::operator::block_on;
use anyhow::{Context, Result};
use clap::Args;
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
        let env = Env::load(args.env_file.as_deref(), ".env")?;
        let avs = mach_node::load_avs_configs(&args.avs_config)?;
        let config = mach_node::NodeConfig::from_vars(&|name| env.get(name), avs)?;
        let bls =
            crate::keys::bls_key(&config.bls_key_file, None, config.bls_key_password.clone())?;
        let handle = mach_node::start(config, bls).await?;
        mach_runtime::signal().await;
        tracing::info!("stopping");
        handle.shutdown().await;
        Ok(())
    })
}

pub fn proxy(args: ProxyArgs) -> Result<()> {
    block_on(async move {
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
        let handle = mach_node::proxy::start(config, names)
            .await
            .map_err(anyhow::Error::msg)?;
        mach_runtime::signal().await;
        tracing::info!("stopping");
        drop(handle);
        Ok(())
    })
}
