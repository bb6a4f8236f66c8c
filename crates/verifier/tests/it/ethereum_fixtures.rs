//! The Ethereum test suite's BlockchainTests (Cancun, valid and invalid blocks) through the
//! validator: every case must pass. The fixtures are in `tests/data/ethereum-tests` (gzip).

use std::path::PathBuf;

use mach_verifier::fixture::run_paths;

/// How many cases `tests/data/ethereum-tests` holds; fewer means files went missing.
const EXPECTED_CASES: usize = 295;

#[test]
fn every_ethereum_blockchain_test_passes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/ethereum-tests");
    assert!(
        dir.is_dir(),
        "fixture directory {} is missing",
        dir.display()
    );
    let mut failures = Vec::new();
    let summary = run_paths(&[dir], |result| {
        if result.failure.is_some() {
            failures.push(result.to_string());
        }
    })
    .expect("fixtures readable");
    println!("{summary}");
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        summary.passed >= EXPECTED_CASES,
        "only {} cases ran, expected at least {EXPECTED_CASES}",
        summary.passed
    );
}
