//! `mach bench rpc`: what `mach rpc` adds to the rollup's JSON-RPC. It starts an anvil rollup
//! and an anvil L1, runs `mach rpc` against them (validating as it does in production), and
//! times `eth_call` and `eth_getBalance` directly and through it (median and 99th percentile
//! on one keep-alive connection), then the requests per second it sustains with concurrent
//! clients.

use crate::report::{build, cargo_run, machine, publish, today};
use anyhow::{bail, Context, Result};
use mach_devnet::{Anvil, AnvilConfig};
use mach_jsonrpc::Client;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Runtime returning the 32-byte word 42: the `eth_call` target.
const RETURN_42: &str = "0x602a60005260206000f3";
/// Where it is installed.
const TARGET: &str = "0x00000000000000000000000000000000000c0de5";

/// Times `requests` calls per method and path and `clients` concurrent clients for `seconds`
/// against `mach rpc` (the executable at `mach`); prints (and optionally records) the figures.
pub fn run(
    mach: &Path,
    requests: usize,
    clients: usize,
    seconds: u64,
    write: Option<&Path>,
) -> Result<()> {
    mach_runtime::block_on(measure(
        mach,
        requests.max(10),
        clients.max(1),
        seconds.max(1),
        write,
    ))
}

async fn measure(
    mach: &Path,
    requests: usize,
    clients: usize,
    seconds: u64,
    write: Option<&Path>,
) -> Result<()> {
    let rollup = Anvil::spawn(&AnvilConfig::validatable(
        mach_devnet::deploy::DEVNET_ROLLUP_CHAIN_ID,
    ))?;
    rollup
        .space_timestamps()
        .await
        .map_err(anyhow::Error::msg)?;
    let l1 = Anvil::spawn(&AnvilConfig::new(31_337))?;
    let anvil = Client::new(rollup.url(), TIMEOUT);
    call(&anvil, "anvil_setCode", json!([TARGET, RETURN_42])).await?;
    call(&anvil, "evm_mine", json!([])).await?;

    let tmp = tempfile::tempdir()?;
    let mut config = mach_verifier_live::VerifierConfig::default();
    config.collector.url = rollup.url().to_string();
    config.collector.interval_ms = 100;
    config.save(&tmp.path().join("mach-config.toml"))?;
    std::fs::write(tmp.path().join("genesis.json"), rollup.genesis_json())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log = std::fs::File::create(tmp.path().join("rpc.log"))?;
    let mut child = Command::new(mach)
        .args([
            "rpc",
            "--config",
            "mach-config.toml",
            "--genesis-config",
            "genesis.json",
        ])
        .args(["--l1-rpc", l1.url()])
        .args([
            "--service-manager",
            "0x0000000000000000000000000000000000000001",
        ])
        .args(["--listen", &format!("127.0.0.1:{port}"), "--db", "db"])
        .current_dir(tmp.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("cannot start mach rpc")?;
    let proxied = Client::new(&format!("http://127.0.0.1:{port}"), TIMEOUT);
    let result = async {
        wait_up(&proxied, &anvil, &mut child).await?;
        let calls = [
            ("eth_call", json!([{"to": TARGET, "data": "0x"}, "latest"])),
            (
                "eth_getBalance",
                json!(["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "latest"]),
            ),
        ];
        let mut rows = Vec::new();
        for (method, params) in &calls {
            let direct = latencies(&anvil, method, params, requests).await?;
            let through = latencies(&proxied, method, params, requests).await?;
            rows.push(format!(
                "| `{method}` | {requests} | {} | {} | {} | {} | **{}** |",
                us(percentile(&direct, 50)),
                us(percentile(&direct, 99)),
                us(percentile(&through, 50)),
                us(percentile(&through, 99)),
                us(percentile(&through, 50).saturating_sub(percentile(&direct, 50))),
            ));
        }
        let (method, params) = &calls[1];
        let direct_rps = throughput(&anvil, method, params, clients, seconds).await?;
        let through_rps = throughput(&proxied, method, params, clients, seconds).await?;
        Ok::<_, anyhow::Error>((rows, direct_rps, through_rps))
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let (rows, direct_rps, through_rps) = result?;

    let body = format!(
        "## Finality RPC: added latency and throughput\n\n\
         Command: `{} bench rpc --requests {requests} --clients {clients} --seconds {seconds} --write docs/benchmarks.md`\n\n\
         Machine: {}; build: {}; date: {}\n\n\
         `mach rpc` runs as its own process in front of an anvil rollup (validating its blocks \
         and watching an L1, as in production); the benchmark sends each request on one \
         keep-alive HTTP connection, directly to anvil and through `mach rpc`, in turn. \
         Latencies in microseconds.\n\n\
         | method | requests | direct p50 | direct p99 | through p50 | through p99 | added p50 |\n\
         |---|---|---|---|---|---|---|\n{}\n\n\
         Throughput, `eth_getBalance`, {clients} concurrent clients for {seconds} s: **{through_rps:.0} \
         requests/s** through `mach rpc`, {direct_rps:.0} requests/s directly (the same machine \
         runs the clients, `mach rpc` and anvil on 2 cores).\n",
        cargo_run(),
        machine(),
        build(),
        today(),
        rows.join("\n"),
    );
    publish(&body, "rpc", write, false)
}

async fn call(client: &Client, method: &str, params: Value) -> Result<Value> {
    Ok(client.call::<Value>(method, params).await?)
}

/// Mines a block now and then (each validates) until `mach rpc` has validated one.
async fn wait_up(url: &Client, rollup: &Client, child: &mut std::process::Child) -> Result<()> {
    let started = Instant::now();
    loop {
        call(rollup, "evm_mine", json!([])).await?;
        if let Ok(v) = call(url, "mach_finalizedBlock", json!([])).await {
            if !v.is_null() {
                return Ok(());
            }
        }
        if let Some(status) = child.try_wait()? {
            bail!("mach rpc exited ({status})");
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("mach rpc did not validate a block within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn latencies(
    client: &Client,
    method: &str,
    params: &Value,
    n: usize,
) -> Result<Vec<Duration>> {
    for _ in 0..n / 10 {
        call(client, method, params.clone()).await?;
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        call(client, method, params.clone()).await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times)
}

fn percentile(sorted: &[Duration], p: usize) -> u128 {
    let index = (sorted.len() * p / 100).min(sorted.len().saturating_sub(1));
    sorted.get(index).map_or(0, |d| d.as_micros())
}

fn us(micros: u128) -> String {
    micros.to_string()
}

async fn throughput(
    client: &Client,
    method: &str,
    params: &Value,
    clients: usize,
    seconds: u64,
) -> Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, method, params) = (client.clone(), method.to_string(), params.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                call(&client, &method, params.clone()).await?;
                done += 1;
            }
            Ok::<_, anyhow::Error>(done)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    Ok(total as f64 / seconds as f64)
}
