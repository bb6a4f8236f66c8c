//! `mach verifier` through the real binary: the Ethereum test suite and real OP Stack blocks pass
//! `mach verifier fixture` with the promised output shape, a broken fixture fails with a non-zero
//! exit status, the live verifier follows and resumes, and a stale genesis stops it.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `mach` quietly (warnings and errors only).
fn mach(args: &[&str]) -> Output {
    crate::support::mach(args, &[("RUST_LOG", "warn")])
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/verifier/tests/data/ethereum-tests")
}

/// The JSON of a gzip-compressed fixture file.
fn read_gz(path: &std::path::Path) -> serde_json::Value {
    use std::io::Read;
    let bytes = std::fs::read(path).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs `mach verifier fixture PATH`, checks every case passed with the promised output shape
/// (one `PASS name` line per case, then `N passed, 0 failed`), and returns the case lines.
fn all_pass(path: &std::path::Path) -> Vec<String> {
    let out = mach(&["verifier", "fixture", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    let (last, cases) = lines.split_last().unwrap();
    assert!(cases.iter().all(|l| l.starts_with("PASS ")), "{stdout}");
    assert_eq!(*last, format!("{} passed, 0 failed", cases.len()));
    cases.to_vec()
}

#[test]
fn the_ethereum_test_suite_passes_through_the_cli() {
    assert!(all_pass(&fixtures()).len() >= 295);
}

#[test]
fn a_wrong_last_block_hash_fails_the_case_and_the_exit_status() {
    let mut json = read_gz(&fixtures().join("ValidBlocks/bcExample/basefeeExample.json.gz"));
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
    let path = fixtures().join("InvalidBlocks/bcInvalidHeaderTest/wrongStateRoot.json.gz");
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

/// The body of `GET http://127.0.0.1:{port}{path}` (HTTP/1.1, connection closed after).
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{response}");
    body.to_string()
}

/// The value of the unlabelled sample `name` in Prometheus text.
fn sample(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
        .parse()
        .unwrap()
}

/// `mach verifier --config --genesis-config` follows an anvil rollup in strict mode, logs each
/// validated block and the rollup head in the guide's form, serves its metrics at
/// `[prometheus]`, and resumes after a restart where it stopped.
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
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = mach_verifier_live::VerifierConfig::default();
    config.collector.url = anvil.url().to_string();
    config.collector.interval_ms = 200;
    config.prometheus.port = metrics_port;
    config.prometheus.metrics_path = "/verifier-metrics".into();
    config.save(&dir.path().join("mach-config.toml")).unwrap();
    std::fs::write(dir.path().join("genesis.json"), anvil.genesis_json()).unwrap();
    // Runs the verifier until its log shows every one of `needles`, then reads its metrics and
    // stops it; returns the log and the metrics.
    let run = |extra: &[&str], needles: &[&str]| {
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
            if needles.iter().all(|n| text.contains(n)) {
                let metrics = http_get(metrics_port, "/verifier-metrics");
                child.kill().unwrap();
                child.wait().unwrap();
                return (text, metrics);
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the verifier exited with {status}:\n{text}");
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "not all of {needles:?} in:\n{text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let (first, metrics) = run(
        &["--start-block", "1"],
        &["Validate block #3(", "Latest block #"],
    );
    assert!(first.contains("Validate block #2("), "{first}");
    assert!(first.contains("Pre validate block #2(0x"), "{first}");
    assert!(first.contains("mode=Strict"), "{first}");
    assert!(
        first.contains(&format!("Starting metrics server at port {metrics_port}")),
        "{first}"
    );
    assert!(
        sample(&metrics, "mach_verifier_validated_block") >= 3,
        "{metrics}"
    );
    assert!(
        sample(&metrics, "mach_verifier_latest_block") >= 3,
        "{metrics}"
    );
    assert!(
        sample(&metrics, "mach_verifier_validation_seconds_count") >= 2,
        "{metrics}"
    );
    // The second start finds the port free again and reports the resumed progress at once.
    let (second, metrics) = run(&[], &["resumed=Some(3)", "Starting metrics server"]);
    assert!(!second.contains("Validate block #2("), "{second}");
    assert!(
        sample(&metrics, "mach_verifier_validated_block") >= 3,
        "{metrics}"
    );
}

/// `mach bench verifier --json` on a tiny range: one object with the figures the benchmark
/// section records, consistent with each other.
#[test]
fn bench_verifier_prints_its_figures_as_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_mach"))
        .args([
            "bench", "verifier", "--blocks", "3", "--txs", "10", "--json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: serde_json::Value = stdout
        .lines()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no JSON object in:\n{stdout}"));
    assert_eq!(figures["blocks"], 3, "{figures}");
    assert!(figures["gas"].as_u64().unwrap() > 0, "{figures}");
    for key in [
        "mgas_per_s",
        "revm_mgas_per_s",
        "peak_rss_mb",
        "fetch_seconds",
        "execute_seconds",
        "root_seconds",
        "seconds",
    ] {
        let value = figures[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {figures}"));
        assert!(value > 0.0, "{key} = {value}: {figures}");
    }
    let phases = ["fetch_seconds", "execute_seconds", "root_seconds"]
        .iter()
        .map(|k| figures[k].as_f64().unwrap())
        .sum::<f64>();
    assert!(
        phases <= figures["seconds"].as_f64().unwrap() * 1.05,
        "the phases add up to more than the whole: {figures}"
    );
}

fn op_stack_blocks() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../crates/verifier/tests/data/op-stack")
}

/// One vendored real block as JSON, to change and write back.
fn real_block(name: &str) -> serde_json::Value {
    read_gz(&op_stack_blocks().join(format!("{name}.json.gz")))
}

#[test]
fn real_op_stack_blocks_pass_through_the_cli() {
    let cases = all_pass(&op_stack_blocks());
    assert_eq!(cases.len(), 9, "{cases:?}");
    assert!(cases.contains(&"PASS unichain-mainnet-10311000".to_string()));
}

/// A real block changed (a transaction dropped; the witness without the parent's state root
/// node) fails as a valid block, and passes once the file expects what the verifier finds.
#[test]
fn changed_real_blocks_fail_unless_the_file_expects_the_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dropped = real_block("op-sepolia-26207962");
    dropped["payload_attributes"]["transactions"]
        .as_array_mut()
        .unwrap()
        .pop();
    let path = tmp.path().join("dropped.json");
    std::fs::write(&path, dropped.to_string()).unwrap();
    let out = mach(&["verifier", "fixture", "--verbose", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("FAIL op-sepolia-26207962: rejected ("),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("0 passed, 1 failed"));
    dropped["expect"] = "invalid".into();
    std::fs::write(&path, dropped.to_string()).unwrap();
    let out = mach(&["verifier", "fixture", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let mut thin = real_block("unichain-mainnet-10211000");
    let root: alloy::primitives::B256 =
        serde_json::from_value(thin["parent_header"]["stateRoot"].clone()).unwrap();
    thin["witness"].as_array_mut().unwrap().retain(|preimage| {
        let bytes: alloy::primitives::Bytes = serde_json::from_value(preimage.clone()).unwrap();
        alloy::primitives::keccak256(&bytes) != root
    });
    let path = tmp.path().join("thin.json");
    std::fs::write(&path, thin.to_string()).unwrap();
    let out = mach(&["verifier", "fixture", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("could not decide ("), "{stdout}");
    assert!(!out.status.success());
    thin["expect"] = "undecided".into();
    std::fs::write(&path, thin.to_string()).unwrap();
    let out = mach(&["verifier", "fixture", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The reference Soneium genesis (forks to Holocene only) stops `mach verifier` in strict and
/// safe mode before it contacts the rollup RPC, naming each missing fork; `--chain-rules
/// registry` starts it, and so does unsafe mode (with a warning, checking headers by the
/// registry's schedule).
#[test]
fn a_stale_genesis_stops_strict_and_safe_mode_before_any_rpc() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../crates/verifier/tests/data/soneium-genesis.json"),
        dir.path().join("genesis.json"),
    )
    .unwrap();
    // A rollup RPC that records whether anyone connects.
    let rpc = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    rpc.set_nonblocking(true).unwrap();
    let url = format!("http://{}", rpc.local_addr().unwrap());
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = |mode: &str| {
        let path = dir.path().join(format!("{mode}.toml"));
        let mut config = mach_verifier_live::VerifierConfig::default();
        config.validator.mode = match mode {
            "unsafe" => mach_verifier_live::Mode::Unsafe,
            "safe" => mach_verifier_live::Mode::Safe,
            "strict" => mach_verifier_live::Mode::Strict,
            other => panic!("no mode {other:?}"),
        };
        config.collector.url = url.to_string();
        config.prometheus.port = metrics_port;
        config.save(&path).unwrap();
        path
    };
    let genesis = dir.path().join("genesis.json");
    let args = |config: &PathBuf| {
        vec![
            "verifier".to_string(),
            "--config".into(),
            config.to_str().unwrap().into(),
            "--genesis-config".into(),
            genesis.to_str().unwrap().into(),
            "--db".into(),
            dir.path().join("db").to_str().unwrap().into(),
        ]
    };
    for mode in ["strict", "safe"] {
        let args = args(&config(mode));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = mach(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{mode}: {stderr}");
        for needle in [
            "Soneium (chain 1868)",
            "Isthmus: genesis none, registry 1746806401 (2025-05-09 16:00:01 UTC)",
            "Jovian: genesis none, registry 1764691201",
            "Karst: genesis none, registry 1783526401",
            "--chain-rules registry",
        ] {
            assert!(stderr.contains(needle), "{mode}: {needle:?} in {stderr}");
        }
        assert!(
            rpc.accept().is_err(),
            "{mode}: the verifier contacted the RPC before refusing"
        );
    }

    // Past the schedule check, the verifier asks the RPC for its chain ID: a connection.
    let starts = |extra: &[&str], mode: &str, says: &str| {
        let log_path = dir.path().join(format!("{mode}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_mach"))
            .args(args(&config(mode)))
            .args(extra)
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let connected = loop {
            if let Ok((stream, _)) = rpc.accept() {
                break stream;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{mode}: exited with {status}: {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(30));
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        drop(connected);
        child.kill().unwrap();
        child.wait().unwrap();
        let log = std::fs::read_to_string(&log_path).unwrap();
        assert!(log.contains(says), "{mode}: {says:?} in {log}");
    };
    starts(
        &["--chain-rules", "registry"],
        "strict",
        "validating Soneium (chain 1868) by the Superchain registry's schedule",
    );
    starts(
        &[],
        "unsafe",
        "starting, with the registry's schedule for header checks",
    );
}
