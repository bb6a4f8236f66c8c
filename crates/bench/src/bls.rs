//! `mach bench bls`: the aggregator's signature verification for N signers of one alert: each
//! signature on its own versus aggregate-then-verify (one pairing check), as the aggregator does.

use crate::report::{build, cargo_run, machine, publish, today};
use anyhow::Result;
use mach_keys::BlsSecretKey;
use std::path::Path;
use std::time::{Duration, Instant};

/// One row of `bench bls`.
struct BlsFigures {
    signers: usize,
    aggregate: Duration,
    individual: Duration,
}

fn bls_once(signers: usize) -> BlsFigures {
    use mach_keys::bls;
    let hash = alloy::primitives::B256::repeat_byte(0x42);
    let items: Vec<_> = (0..signers)
        .map(|_| {
            let key = BlsSecretKey::random();
            (key.public_key_g2(), key.sign(&hash))
        })
        .collect();
    let start = Instant::now();
    let all_valid = mach_aggregator::quorum::verify_batch(&hash, &items)
        .iter()
        .all(|ok| *ok);
    let aggregate = start.elapsed();
    let start = Instant::now();
    let each_valid = items.iter().all(|(key, sig)| bls::verify(key, &hash, sig));
    let individual = start.elapsed();
    debug_assert!(all_valid && each_valid);
    BlsFigures {
        signers,
        aggregate,
        individual,
    }
}

/// Measures each signer count in `counts`; prints (and optionally records) the figures, as a
/// table or, with `json`, one JSON object per count.
pub fn run(counts: &[usize], json: bool, write: Option<&Path>) -> Result<()> {
    let mut rows = Vec::new();
    for &n in counts.iter().filter(|n| **n > 0) {
        let f = bls_once(n);
        let per_signature = f.individual.as_secs_f64() * 1000.0 / n as f64;
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "signers": f.signers,
                    "aggregate_ms": f.aggregate.as_secs_f64() * 1000.0,
                    "per_signature_ms": per_signature,
                    "individual_total_ms": f.individual.as_secs_f64() * 1000.0,
                })
            );
        }
        rows.push(format!(
            "| {} | {:.2} ms | {:.3} ms | {:.2} ms |",
            f.signers,
            f.aggregate.as_secs_f64() * 1000.0,
            per_signature,
            f.individual.as_secs_f64() * 1000.0
        ));
    }
    let list = counts
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let body = format!(
        "## BLS signature verification (aggregator)\n\n\
         Command: `{} bench bls --signers {list} --write docs/benchmarks.md`\n\n\
         Machine: {}; build: {}; date: {}\n\n\
         N signatures of one alert, each from its own key. *Aggregate* sums the signatures and \
         the G2 keys and checks one pairing equation (what the aggregator does per batch); \
         *individual* checks each signature on its own.\n\n\
         | signers | aggregate-then-verify | individual, per signature | individual, total |\n\
         |---|---|---|---|\n{}\n",
        cargo_run(),
        machine(),
        build(),
        today(),
        rows.join("\n")
    );
    publish(&body, "bls", write, json)
}
