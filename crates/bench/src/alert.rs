//! `mach bench alert`: end-to-end alert latency on a local anvil: from the moment every node
//! receives `alert_blockHash` to the moment they all hold the `confirmAlert` receipt.
//!
//! Everything is real and in one process: anvil, the full deployment, N operators onboarded
//! through the registration code paths, the aggregator and N operator nodes over HTTP.

use crate::report::{build, cargo_run, machine, publish, today};
use alloy::primitives::{B256, U256};
use anyhow::{bail, Context, Result};
use mach_devnet::{deploy, onboard_operator, Anvil, AnvilConfig, DeployConfig};
use mach_jsonrpc::Client;
use mach_keys::BlsSecretKey;
use mach_primitives::rpc::{api, BlockHashParams};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long one alert may take to be confirmed (as the verifier waits on its node).
const ALERT_TIMEOUT: Duration = Duration::from_secs(180);

/// Measures `runs` alerts with `operators` operators and prints (and optionally records) the
/// latency figures.
pub fn run(operators: u32, runs: u32, write: Option<&Path>) -> Result<()> {
    if operators == 0 || runs == 0 {
        bail!("--operators and --runs must be at least 1");
    }
    let latencies = mach_runtime::block_on(measure(operators, runs))?;
    let mut sorted = latencies.clone();
    sorted.sort();
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let body = format!(
        "## End-to-end alert latency (anvil)\n\n\
         Command: `{} bench alert --operators {operators} --runs {runs} --write docs/benchmarks.md`\n\n\
         Machine: {}; build: {}; date: {}\n\n\
         From posting `alert_blockHash` to all {operators} operator nodes at once until every node \
         has answered with the `confirmAlert` transaction (receipt included), on an automining \
         anvil L1, with the real deployment, the aggregator and the nodes over HTTP in one process.\n\n\
         | operators | runs | min | median | max |\n\
         |---|---|---|---|---|\n\
         | {operators} | {runs} | {} | {} | {} |\n",
        cargo_run(),
        machine(),
        build(),
        today(),
        ms(sorted[0]),
        ms(sorted[sorted.len() / 2]),
        ms(sorted[sorted.len() - 1]),
    );
    publish(&body, "alert", write, false)
}

async fn measure(operators: u32, runs: u32) -> Result<Vec<Duration>> {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337))?;
    let admin = mach_chain::connect(anvil.url(), anvil.dev_signer(0)?).await?;
    let deployment = deploy(&admin, &DeployConfig::default()).await?;
    let tmp = tempfile::tempdir()?;
    let mut aggregator_config = mach_aggregator::AggregatorConfig::new(
        anvil.url(),
        31_337,
        mach_devnet::deploy::DEFAULT_ROLLUP_CHAIN_ID,
    );
    aggregator_config.aggregator_jsonrpc_server_ip_port_address = "127.0.0.1:0".into();
    aggregator_config.db_path = tmp.path().join("aggregator-db");
    aggregator_config.validate()?;
    let aggregator =
        mach_aggregator::start(aggregator_config, admin.clone(), &deployment.avs()).await?;
    let aggregator_url = format!("http://{}", aggregator.address);

    let mut nodes = Vec::new();
    for i in 0..operators {
        let signer = anvil.dev_signer(i + 1)?;
        let bls = BlsSecretKey::random();
        let stake = U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64));
        onboard_operator(&admin, &deployment, &signer, &bls, stake, &[0]).await?;
        let vars = [
            ("OPERATOR_SERVER_URL", "127.0.0.1:0".to_string()),
            ("NODE_BLS_KEY_FILE_HOST", "(in memory)".to_string()),
            ("OPERATOR_ECDSA_ADDRESS", signer.address().to_string()),
            ("ETH_RPC_URL", anvil.url().to_string()),
            ("LAYER1_CHAIN_ID", "31337".to_string()),
            ("AGGREGATOR_JSONRPC_SERVER_URL", aggregator_url.clone()),
        ];
        let avs = vec![mach_node::AvsConfig {
            avs_name: "bench".into(),
            methods: vec![],
            avs_registry_coordinator_address: deployment.registry_coordinator,
            operator_state_retriever_address: deployment.operator_state_retriever,
            avs_contract_address: Some(deployment.mach_service_manager),
            aggregator_url: None,
        }];
        let config = mach_node::NodeConfig::from_vars(
            &|name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.clone())
            },
            avs,
        )?;
        nodes.push(mach_node::start(config, bls).await?);
    }

    let clients: Vec<Client> = nodes
        .iter()
        .map(|node| Client::new(&format!("http://{}", node.alert_addr), ALERT_TIMEOUT))
        .collect();
    let mut latencies = Vec::new();
    for run in 0..runs {
        let alert = BlockHashParams {
            avs_name: "bench".into(),
            hash: B256::from(U256::from(0xbe_0000u64 + u64::from(run))),
        };
        let started = Instant::now();
        let posts: Vec<_> = clients
            .iter()
            .map(|client| {
                let client = client.clone();
                let alert = alert.clone();
                tokio::spawn(async move { client.request(api::ALERT_BLOCK_HASH, &alert).await })
            })
            .collect();
        for post in posts {
            let answer = post.await.context("alert request task failed")??;
            if answer.tx_hash == B256::ZERO {
                bail!("run {run}: the alert was not confirmed: {answer:?}");
            }
        }
        latencies.push(started.elapsed());
    }
    for node in nodes {
        node.shutdown().await;
    }
    aggregator.shutdown().await;
    Ok(latencies)
}
