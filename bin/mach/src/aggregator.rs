//! `mach aggregator`: the AVS team's aggregator, configured by `aggregator.yaml` and a
//! deployment record.

use crate::keys::SignerArgs;
use anyhow::Result;
use clap::Args;
use mach_runtime::block_on;
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
    /// The alert confirmer's signer: confirmAlert is sent from its account, which must be the
    /// MachServiceManager's alertConfirmer() (checked at start).
    #[command(flatten)]
    signer: SignerArgs,
}

pub fn run(args: AggregatorArgs) -> Result<()> {
    block_on(async move {
        // Listen first: a signal while starting stops the process in order.
        let stop = mach_runtime::signal();
        // The signer's options first: a missing one is named before any file is read.
        args.signer.choice().config()?;
        let config = mach_aggregator::AggregatorConfig::load(&args.config)?;
        let avs = mach_chain::AvsAddresses::load(&args.avs_deployment)?;
        let signer = args.signer.signer().await?;
        tracing::info!(signer = %signer.describe(), address = %signer.address(), "alert confirmer's signer ready");
        let conn = mach_chain::connect(&config.eth_rpc_url, signer).await?;
        let mut supervisor = mach_runtime::Supervisor::new();
        mach_aggregator::start_supervised(config, conn, &avs, &mut supervisor).await?;
        Ok(supervisor.run_until(stop).await?)
    })
}
