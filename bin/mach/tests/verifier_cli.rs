//! `mach verifier fixture` through the real binary: the Ethereum test suite passes with the
//! promised output shape, and a broken fixture fails with a non-zero exit status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

use std::path::PathBuf;
use std::process::{Command, Output};

fn mach(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mach"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run mach")
}

fn fixtures() -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/ethereum-tests");
    assert!(
        dir.is_dir(),
        "{} is missing: the shared/ folder must sit beside the repository",
        dir.display()
    );
    dir
}

#[test]
fn the_ethereum_test_suite_passes_through_the_cli() {
    let out = mach(&["verifier", "fixture", fixtures().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let (last, cases) = lines.split_last().unwrap();
    assert!(cases.iter().all(|l| l.starts_with("PASS ")), "{stdout}");
    assert_eq!(*last, format!("{} passed, 0 failed", cases.len()));
    assert!(cases.len() >= 295);
}

#[test]
fn a_wrong_last_block_hash_fails_the_case_and_the_exit_status() {
    let source = fixtures().join("ValidBlocks/bcExample/basefeeExample.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(source).unwrap()).unwrap();
    for case in json.as_object_mut().unwrap().values_mut() {
        case["lastblockhash"] = serde_json::Value::String(format!("0x{}", "11".repeat(32)));
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("broken.json");
    std::fs::write(&path, json.to_string()).unwrap();
    let out = mach(&["verifier", "fixture", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("FAIL basefeeExample_Cancun: head is"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("0 passed, 1 failed"));
}

#[test]
fn verbose_output_names_the_rule_that_rejected_each_invalid_block() {
    let path = fixtures().join("InvalidBlocks/bcInvalidHeaderTest/wrongStateRoot.json");
    let out = mach(&["verifier", "fixture", "--verbose", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "rejected (fixture expects BlockException.INVALID_STATE_ROOT): state root: expected"
        ),
        "{stdout}"
    );
}

/// `mach verifier --config --genesis-config` follows an anvil rollup in strict mode, logs each
/// validated block in the guide's form, and resumes after a restart where it stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verifier_follows_a_rollup_and_resumes_after_a_restart() {
    use alloy::network::TransactionBuilder;
    let anvil = mach_devnet::Anvil::spawn(&mach_devnet::AnvilConfig::validatable(31_337)).unwrap();
    anvil.space_timestamps().await.unwrap();
    let admin = mach_chain::connect(anvil.url(), anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let to = anvil.dev_signer(1).unwrap().address();
    for _ in 0..3 {
        let tx = alloy::rpc::types::TransactionRequest::default()
            .with_to(to)
            .with_value(alloy::primitives::U256::from(5));
        admin.send("transfer", tx).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mach-config.toml"),
        format!(
            "[collector]\nurl = \"{}\"\ninterval_ms = 200\n",
            anvil.url()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("genesis.json"), anvil.genesis_json()).unwrap();
    // Runs the verifier until its log shows `needle`, then stops it; returns the log.
    let run = |extra: &[&str], needle: &str| {
        let log_path = dir.path().join("verifier.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_mach"))
            .args([
                "verifier",
                "--config",
                "mach-config.toml",
                "--genesis-config",
                "genesis.json",
                "--db",
                "db",
            ])
            .args(extra)
            .current_dir(dir.path())
            .stderr(log)
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if text.contains(needle) {
                child.kill().unwrap();
                child.wait().unwrap();
                return text;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the verifier exited with {status}:\n{text}");
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "no {needle:?} in:\n{text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let first = run(&["--start-block", "1"], "Validate block #3(");
    assert!(first.contains("Validate block #2("), "{first}");
    assert!(first.contains("mode=Strict"), "{first}");
    let second = run(&[], "resumed=Some(3)");
    assert!(!second.contains("Validate block #2("), "{second}");
}
