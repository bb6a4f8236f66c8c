//! `mach aggregator`: the AVS team's aggregator, configured by `aggregator.yaml` and a
//! deployment record.

use crate::keys::AccountKey;
use crate::operator::block_on;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct AggregatorArgs {
    /// The aggregator configuration (reference `aggregator.yaml` fields; see docs/aggregator.md).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The deployment record naming the RegistryCoordinator, OperatorStateRetriever and
    /// MachServiceManager (ours from `mach devnet deploy`, or AltLayer's).
    #[arg(long, value_name = "FILE")]
    avs_deployment: PathBuf,
    /// The alert confirmer's key: confirmAlert is sent from this account.
    #[command(flatten)]
    key: AccountKey,
}

pub fn run(args: AggregatorArgs) -> Result<()> {
    block_on(async move {
        let config = mach_aggregator::AggregatorConfig::load(&args.config)?;
        let avs = mach_chain::AvsAddresses::load(&args.avs_deployment)?;
        let signer = args.key.signer()?;
        let conn = mach_chain::connect(&config.eth_rpc_url, signer).await?;
        let handle = mach_aggregator::start(config, conn, &avs).await?;
        mach_runtime::signal().await;
        tracing::info!("stopping");
        handle.shutdown().await;
        Ok(())
    })
}
