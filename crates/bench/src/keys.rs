//! `mach bench keys`: the decryption of ECDSA and BLS key files with the standard scrypt
//! parameters, the cost every node start and every `mach keys show` pays.

use crate::report::{build, cargo_run, machine, publish, today};
use anyhow::Result;
use mach_keys::file::{encrypt_bls, encrypt_ecdsa};
use mach_keys::{BlsSecretKey, EcdsaSecretKey, KeyFile, KeyType};
use std::path::Path;
use std::time::{Duration, Instant};

/// Times `iterations` decryptions per key type; prints (and optionally records) the figures.
pub fn run(iterations: u32, write: Option<&Path>) -> Result<()> {
    let iterations = iterations.max(1);
    let password = "benchmark password";
    let ecdsa = encrypt_ecdsa(&EcdsaSecretKey::random(), password)?;
    let bls = encrypt_bls(&BlsSecretKey::random(), password)?;
    let mut rows = Vec::new();
    for (key_type, bytes) in [(KeyType::Ecdsa, ecdsa), (KeyType::Bls, bls)] {
        let file = KeyFile::parse(Path::new("(benchmark)"), &bytes, Some(key_type))?;
        let mut times = Vec::new();
        for _ in 0..iterations {
            let start = Instant::now();
            match key_type {
                KeyType::Ecdsa => drop(file.decrypt_ecdsa(password)?),
                KeyType::Bls => drop(file.decrypt_bls(password)?),
            }
            times.push(start.elapsed());
        }
        times.sort();
        rows.push(format!(
            "| {key_type} | scrypt n=262144 r=8 p=1 | {iterations} | {} | {} | {} |",
            ms(times[0]),
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        ));
    }
    let body = format!(
        "## Key file decryption\n\n\
         Command: `{} bench keys --iterations {iterations} --write docs/benchmarks.md`\n\n\
         Machine: {}; build: {}; date: {}\n\n\
         | key type | KDF | runs | min | median | max |\n\
         |---|---|---|---|---|---|\n{}\n",
        cargo_run(),
        machine(),
        build(),
        today(),
        rows.join("\n")
    );
    publish(&body, "keys", write, false)
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}
