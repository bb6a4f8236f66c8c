//! `mach bench bls-signer`: what keeping the operator's BLS key in Cerberus costs per alert. It
//! times one BLS signature of an alert's sign hash in memory (`BlsSecretKey::sign`, the node
//! with `NODE_BLS_SIGNER=keystore`) and through the Cerberus protocol: the node's own signer
//! (`mach_node::BlsSigner` over `mach_node::cerberus`, which verifies every signature it gets
//! back) against the devnet's Cerberus stand-in ([`mach_devnet::cerberus`]) on this machine,
//! in plain HTTP/2 and, when the test certificate of `crates/node/tests/data` is found (a source
//! checkout), over TLS.

use crate::report::{build, cargo_run, machine, publish, today};
use alloy::primitives::{keccak256, B256};
use anyhow::{Context, Result};
use mach_devnet::cerberus::CerberusServer;
use mach_keys::BlsSecretKey;
use mach_node::cerberus::{CerberusSettings, CerberusSigner, DEFAULT_TIMEOUT};
use mach_node::BlsSigner;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The API key the bench's signer wants (a local, throwaway server).
const API_KEY: &str = "bench-api-key";

/// The test CA and the `localhost` certificate mach-node's tests use, in a source checkout.
fn test_tls_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../node/tests/data")
}

/// Latencies of one path, sorted.
struct Timed {
    name: String,
    times: Vec<Duration>,
}

impl Timed {
    fn new(name: &str, mut times: Vec<Duration>) -> Self {
        times.sort();
        Self {
            name: name.to_string(),
            times,
        }
    }

    fn percentile(&self, p: usize) -> Duration {
        let index = (self.times.len() * p / 100).min(self.times.len().saturating_sub(1));
        self.times.get(index).copied().unwrap_or_default()
    }

    fn median(&self) -> Duration {
        self.percentile(50)
    }

    fn mean(&self) -> Duration {
        let total: Duration = self.times.iter().sum();
        total / self.times.len().max(1) as u32
    }
}

/// The `p`th percentile of sorted values.
fn percentile_f64(sorted: &[f64], p: usize) -> f64 {
    let index = (sorted.len() * p / 100).min(sorted.len().saturating_sub(1));
    sorted.get(index).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Times `samples` signatures per path; prints (and optionally records) the figures, as a
/// table or, with `json`, one JSON object per path.
pub fn run(samples: usize, json: bool, write: Option<&Path>) -> Result<()> {
    mach_runtime::block_on(measure(samples.max(10), json, write))
}

async fn measure(samples: usize, json: bool, write: Option<&Path>) -> Result<()> {
    let key = BlsSecretKey::random();
    let hashes: Vec<B256> = (0..samples as u64)
        .map(|i| keccak256(i.to_be_bytes()))
        .collect();
    let warm_up = (samples / 10).max(5);

    // The signers: the stand-in in plain HTTP/2, and over TLS when the test certificate is here.
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let plain = CerberusServer::serve(any, key.clone(), API_KEY, None).await?;
    let mut remotes = vec![(
        "Cerberus protocol, plain HTTP/2 on localhost",
        client(&plain.url, &key, None)?,
    )];
    let tls_dir = test_tls_dir();
    let tls_files = ["cerberus-test-server.pem", "cerberus-test-server.key"]
        .map(|name| std::fs::read(tls_dir.join(name)));
    let (_tls_server, tls_note) = match tls_files {
        [Ok(cert), Ok(tls_key)] => {
            let identity = mach_node::cerberus::tonic::transport::Identity::from_pem(cert, tls_key);
            let server = CerberusServer::serve(any, key.clone(), API_KEY, Some(identity)).await?;
            let ca = tls_dir.join("cerberus-test-ca.pem");
            remotes.push((
                "Cerberus protocol, TLS on localhost",
                client(&server.url, &key, Some(ca))?,
            ));
            (Some(server), String::new())
        }
        _ => (
            None,
            format!(
                " The TLS row is missing: the test certificate was not found in {} (run from a source checkout to get it).",
                tls_dir.display()
            ),
        ),
    };

    // Untimed first signatures: connections made, TLS handshakes done, caches warm.
    for hash in hashes.iter().take(warm_up) {
        std::hint::black_box(key.sign(hash));
        for (name, signer) in &remotes {
            signer
                .sign(*hash)
                .await
                .with_context(|| format!("{name}: the Cerberus stand-in did not sign"))?;
        }
    }

    // Each hash on every path in turn, so that a change of load on the machine falls on all
    // paths alike. The node's check of a remote signature (one pairing equation) is timed on
    // its own too.
    let g2 = key.public_key_g2();
    let mut memory = Vec::with_capacity(samples);
    let mut checks = Vec::with_capacity(samples);
    let mut remote_times: Vec<Vec<Duration>> = remotes
        .iter()
        .map(|_| Vec::with_capacity(samples))
        .collect();
    for hash in &hashes {
        let started = Instant::now();
        let signature = std::hint::black_box(key.sign(hash));
        memory.push(started.elapsed());
        let started = Instant::now();
        std::hint::black_box(mach_keys::bls::verify(&g2, hash, &signature));
        checks.push(started.elapsed());
        for ((_, signer), times) in remotes.iter().zip(&mut remote_times) {
            let started = Instant::now();
            let signature = signer.sign(*hash).await?;
            times.push(started.elapsed());
            std::hint::black_box(signature);
        }
    }
    // What the protocol itself adds, hash by hash: the remote time less the signing and the
    // check the same hash took in memory (milliseconds; noise can make one negative).
    let protocol: Vec<Vec<f64>> = remote_times
        .iter()
        .map(|times| {
            let mut added: Vec<f64> = times
                .iter()
                .zip(memory.iter().zip(&checks))
                .map(|(remote, (sign, check))| {
                    (remote.as_secs_f64() - sign.as_secs_f64() - check.as_secs_f64()) * 1000.0
                })
                .collect();
            added.sort_by(f64::total_cmp);
            added
        })
        .collect();
    let check = Timed::new("check", checks);
    let mut paths = vec![Timed::new(
        "in memory (`BlsSecretKey::sign`, `NODE_BLS_SIGNER=keystore`)",
        memory,
    )];
    for ((name, _), times) in remotes.iter().zip(remote_times) {
        paths.push(Timed::new(name, times));
    }
    drop(plain);
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(String::from))
        .map(|load| format!(" The 1-minute load average was {load} when it finished."))
        .unwrap_or_default();

    if json {
        for (i, path) in paths.iter().enumerate() {
            let added = i.checked_sub(1).and_then(|r| protocol.get(r));
            println!(
                "{}",
                serde_json::json!({
                    "path": path.name,
                    "samples": path.times.len(),
                    "median_ms": path.median().as_secs_f64() * 1000.0,
                    "p99_ms": path.percentile(99).as_secs_f64() * 1000.0,
                    "mean_ms": path.mean().as_secs_f64() * 1000.0,
                    "protocol_median_ms": added.map(|a| percentile_f64(a, 50)),
                    "protocol_p99_ms": added.map(|a| percentile_f64(a, 99)),
                })
            );
        }
    }
    let memory_median = paths[0].median();
    let rows: Vec<String> = paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let (added, protocol) = match i.checked_sub(1).and_then(|r| protocol.get(r)) {
                None => (String::new(), String::new()),
                Some(added) => (
                    format!("**+{}**", ms(path.median().saturating_sub(memory_median))),
                    format!(
                        "{:.3} ms / {:.3} ms",
                        percentile_f64(added, 50),
                        percentile_f64(added, 99)
                    ),
                ),
            };
            format!(
                "| {} | {} | {} | {} | {} | {added} | {protocol} |",
                path.name,
                path.times.len(),
                ms(path.median()),
                ms(path.percentile(99)),
                ms(path.mean()),
            )
        })
        .collect();
    let body = format!(
        "## One BLS alert signature: in memory vs through Cerberus\n\n\
         Command: `{} bench bls-signer --samples {samples} --write docs/benchmarks.md`\n\n\
         Machine: {}; build: {}; date: {}\n\n\
         One signature of an alert's 32-byte sign hash, timed {samples} times per path (a \
         different hash each time, the same hashes on every path, after {warm_up} untimed ones). \
         *In memory* is `BlsSecretKey::sign` (hash to G1, one scalar multiplication), what the \
         node does with its key file. *Cerberus protocol* is the node's own signer \
         (`mach_node::BlsSigner` with the `mach_node::cerberus` gRPC client) asking the devnet's \
         Cerberus stand-in (`mach_devnet::cerberus`, Cerberus's `signer.v1.Signer/SignGeneric` \
         and API key check, in the same process) over one kept-open connection on localhost, then \
         verifying the returned signature against the operator's G2 key as the node does for every \
         alert; that check alone takes {} (median; p99 {}). The remote rows therefore include \
         gRPC encoding, HTTP/2 (and TLS) on the loopback, the signer's own signing and the \
         node's check; *protocol alone* is, hash by hash, the remote time less that hash's \
         in-memory signing and check (median / p99). Not included: the network between hosts (a \
         Cerberus on another machine adds its round trip) and a real Cerberus's key store (the \
         lookup, and decryption for password-protected keys). The paths take turns hash by hash, so that other work on \
         the machine weighs on all of them alike.{load}{tls_note}\n\n\
         | path | samples | median | p99 | mean | added (median) | protocol alone |\n\
         |---|---|---|---|---|---|---|\n{}\n",
        cargo_run(),
        machine(),
        build(),
        today(),
        ms(check.median()),
        ms(check.percentile(99)),
        rows.join("\n"),
    );
    publish(&body, "bls-signer", write, json)
}

/// The node's signer for the key in the Cerberus signer at `url` (with `ca_file` for TLS).
fn client(url: &str, key: &BlsSecretKey, ca_file: Option<PathBuf>) -> Result<BlsSigner> {
    let client = CerberusSigner::new(CerberusSettings {
        url: url.to_string(),
        public_key_g1: key.public_key(),
        api_key: Some(API_KEY.to_string()),
        ca_file,
        password: None,
        timeout: DEFAULT_TIMEOUT,
    })?;
    client.set_public_key_g2(key.public_key_g2())?;
    Ok(BlsSigner::from(client))
}
