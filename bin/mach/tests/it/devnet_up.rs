//! `mach devnet up --detach` brings up a whole MACH network; the rollup's blocks validate on
//! every operator; each fault `mach devnet fault` injects is alerted and confirmed on L1 exactly
//! once, and nothing else is; `mach devnet down` leaves no process behind. With
//! `--remote-bls-operator`, operator0's key lives only in the devnet's Cerberus stand-in and its
//! signatures, made through the Cerberus protocol, count toward the quorum.

use crate::support::text;
use alloy::primitives::{B256, U256};
use mach_contracts::MachServiceManager;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn mach(args: &[&str]) -> Output {
    crate::support::mach(args, &[])
}

/// A running devnet: stopped when the test ends, whatever happens, and its logs printed if the
/// test failed.
struct Devnet {
    dir: PathBuf,
}

impl Devnet {
    fn up(dir: &Path, extra: &[&str]) -> (Self, String) {
        let dir_arg = dir.to_str().unwrap();
        let mut args = vec!["devnet", "up", "--detach", "--dir", dir_arg];
        args.extend_from_slice(extra);
        let started = Instant::now();
        let out = mach(&args);
        let devnet = Self {
            dir: dir.to_path_buf(),
        };
        assert!(out.status.success(), "devnet up failed:\n{}", text(&out));
        eprintln!("devnet up returned after {:?}", started.elapsed());
        (devnet, text(&out))
    }

    fn record(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.join("devnet.json")).unwrap())
            .unwrap()
    }

    fn status(&self) -> Value {
        let out = mach(&[
            "devnet",
            "status",
            "--json",
            "--dir",
            self.dir.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Waits until `done` holds for `devnet status --json`, for at most `secs`.
    fn wait_status(&self, what: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let status = self.status();
            if done(&status) {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(secs),
                "{what} not reached in {secs} s; last status:\n{status:#}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn down(&self) -> Output {
        mach(&["devnet", "down", "--dir", self.dir.to_str().unwrap()])
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for entry in std::fs::read_dir(self.dir.join("logs"))
                .into_iter()
                .flatten()
            {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                eprintln!(
                    "--- {} (last 40 lines) ---\n{}",
                    path.display(),
                    lines[lines.len().saturating_sub(40)..].join("\n")
                );
            }
        }
        let _ = self.down();
    }
}

fn alive(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// The value of the Prometheus sample `series` (name and labels, exactly as exposed) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .next()
}

/// The variables of an env file.
fn env_vars(path: &Path) -> std::collections::BTreeMap<String, String> {
    mach_primitives::env::parse_env(&std::fs::read_to_string(path).unwrap(), &|_| None).unwrap()
}

/// Checks that operator0's BLS key is held by the devnet's Cerberus stand-in only (its record,
/// its `.env`, no key file) and the other operators' by key files.
fn check_bls_key_holders(ops: &[Value], ready: &str) {
    for (i, op) in ops.iter().enumerate() {
        let env_file = PathBuf::from(op["env_file"].as_str().unwrap());
        let env = env_vars(&env_file);
        let home = env_file.parent().unwrap();
        let key_file = home.join("keys").join("opr.bls.key.json");
        assert!(home.join("keys").join("opr.ecdsa.key.json").is_file());
        if i == 0 {
            assert_eq!(op["bls_signer"], "cerberus", "{op:#}");
            assert!(op.get("bls_key_file").is_none(), "{op:#}");
            let url = op["bls_cerberus_url"].as_str().unwrap();
            assert!(url.starts_with("http://127.0.0.1:"), "{op:#}");
            assert!(
                ready.contains(&format!("BLS key: cerberus {url}")),
                "{ready}"
            );
            assert_eq!(env["NODE_BLS_SIGNER"], "cerberus");
            assert_eq!(env["NODE_BLS_CERBERUS_URL"], url);
            assert_eq!(env["NODE_BLS_CERBERUS_PUBLIC_KEY_G1"].len(), 64);
            assert!(!env["NODE_BLS_CERBERUS_API_KEY"].is_empty());
            for absent in ["NODE_BLS_KEY_FILE_HOST", "OPERATOR_BLS_KEY_PASSWORD"] {
                assert!(
                    !env.contains_key(absent),
                    "{absent} in {}",
                    env_file.display()
                );
            }
            assert!(!key_file.exists(), "{} was written", key_file.display());
        } else {
            assert_eq!(op["bls_signer"], "keystore", "{op:#}");
            assert_eq!(op["bls_key_file"].as_str(), key_file.to_str(), "{op:#}");
            assert!(key_file.is_file());
            assert_eq!(env["NODE_BLS_KEY_FILE_HOST"], key_file.to_str().unwrap());
            assert!(!env.contains_key("NODE_BLS_SIGNER"));
        }
    }
}

/// Runs the devnet on `network` with `operators` (operator0's BLS key in the devnet's Cerberus
/// stand-in with `remote_bls`), injects `faults`, and checks everything the acceptance asks.
async fn devnet_alerts_every_fault_once(
    network: &str,
    operators: usize,
    faults: &[&str],
    remote_bls: bool,
) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let n = operators.to_string();
    let mut args = vec!["--operators", &n, "--l2-network", network];
    if remote_bls {
        args.push("--remote-bls-operator");
    }
    let (devnet, out) = Devnet::up(&dir, &args);
    assert!(out.contains("devnet ready"), "{out}");

    // The record names every endpoint and file.
    let record = devnet.record();
    for key in [
        "l1_rpc",
        "l2_rpc",
        "aggregator_url",
        "deployment",
        "control_url",
    ] {
        assert!(!record[key].is_null(), "no {key} in {record:#}");
    }
    let ops = record["operators"].as_array().unwrap();
    assert_eq!(ops.len(), operators);
    for op in ops {
        for key in [
            "address",
            "operator_id",
            "node_alert_url",
            "node_api_url",
            "node_metrics_url",
            "verifier_metrics_url",
        ] {
            assert!(op[key].is_string(), "no {key} in {op:#}");
        }
        for key in [
            "verifier_config",
            "genesis_config",
            "env_file",
            "avs_config",
            "node_log",
            "verifier_log",
        ] {
            let path = PathBuf::from(op[key].as_str().unwrap());
            assert!(path.is_file(), "{key}: {} is missing", path.display());
        }
        use std::os::unix::fs::PermissionsExt;
        let env = PathBuf::from(op["env_file"].as_str().unwrap());
        let mode = std::fs::metadata(&env).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} holds passwords", env.display());
    }
    if remote_bls {
        check_bls_key_holders(ops, &out);
    } else {
        for op in ops {
            assert_eq!(op["bls_signer"], "keystore", "{op:#}");
            let key_file = PathBuf::from(op["bls_key_file"].as_str().unwrap());
            assert!(key_file.is_file(), "{} is missing", key_file.display());
        }
    }

    // Twenty rollup blocks validate on every operator.
    devnet.wait_status("20 blocks validated on every operator", 120, |s| {
        s["operators"]
            .as_array()
            .unwrap()
            .iter()
            .all(|op| op["validated"].as_u64().is_some_and(|n| n >= 21))
    });
    let before = devnet.status();
    assert_eq!(before["total_alerts"], 0, "{before:#}");

    // Each fault makes one block invalid; each is alerted and confirmed once.
    let mut invalid = Vec::new();
    for kind in faults {
        let out = mach(&[
            "devnet",
            "fault",
            "--kind",
            kind,
            "--dir",
            dir.to_str().unwrap(),
        ]);
        let said = text(&out);
        assert!(out.status.success(), "{said}");
        let block: u64 = said
            .split("invalid block: #")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no invalid block in: {said}"));
        invalid.push(block);
    }
    let status = devnet.wait_status("every fault confirmed on L1", 120, |s| {
        s["faults"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["confirmed"].is_null())
    });
    let alerts = status["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), faults.len(), "{status:#}");
    assert_eq!(status["total_alerts"], faults.len(), "{status:#}");
    let mut alerted: Vec<u64> = alerts
        .iter()
        .map(|a| {
            a["invalid_block"]
                .as_u64()
                .unwrap_or_else(|| panic!("an alert for no injected fault: {a:#}"))
        })
        .collect();
    alerted.sort_unstable();
    assert_eq!(alerted, invalid, "{status:#}");
    for alert in alerts {
        assert!(alert["latency_ms"].is_u64(), "{alert:#}");
    }

    // The same on L1 directly.
    let l1 = record["l1_rpc"].as_str().unwrap();
    let provider = alloy::providers::ProviderBuilder::new().connect_http(l1.parse().unwrap());
    let msm_address = record["deployment"]["machServiceManager"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let msm = MachServiceManager::new(msm_address, &provider);
    assert_eq!(
        msm.totalAlerts().call().await.unwrap(),
        U256::from(faults.len())
    );
    for alert in alerts {
        let hash: B256 = alert["message_hash"].as_str().unwrap().parse().unwrap();
        assert!(msm.contains(hash).call().await.unwrap());
    }

    // Every operator signed: each node's signatures, operator0's through Cerberus with the
    // remote key. With two operators of equal stake and a threshold above half, the
    // confirmation above needed both signatures, so it already counts operator0's.
    if remote_bls {
        assert_eq!(operators, 2);
        let threshold = msm.quorumThresholdPercentage().call().await.unwrap();
        assert!(
            threshold > 50,
            "a {threshold} % quorum does not need operator0"
        );
    }
    for (i, op) in ops.iter().enumerate() {
        let url = op["node_metrics_url"].as_str().unwrap();
        let metrics = reqwest::get(url).await.unwrap().text().await.unwrap();
        let (used, unused) = match (remote_bls, i) {
            (true, 0) => ("cerberus", "keystore"),
            _ => ("keystore", "cerberus"),
        };
        let signed = sample(
            &metrics,
            &format!("mach_bls_sign_duration_seconds_count{{signer=\"{used}\"}}"),
        );
        assert!(
            signed.is_some_and(|n| n >= 1.0),
            "{} made no signature through its {used} signer:\n{metrics}",
            op["name"]
        );
        let other = sample(
            &metrics,
            &format!("mach_bls_sign_duration_seconds_count{{signer=\"{unused}\"}}"),
        );
        assert!(other.is_none_or(|n| n == 0.0), "{metrics}");
        let errors = sample(&metrics, "mach_bls_signer_errors_total{avs=\"devnet\"}");
        assert!(errors.is_none_or(|n| n == 0.0), "{metrics}");
    }
    // The aggregator counts what it confirmed and the confirmer key's signatures.
    let url = record["aggregator_metrics_url"].as_str().unwrap();
    let metrics = reqwest::get(url).await.unwrap().text().await.unwrap();
    let confirmed = sample(&metrics, "mach_alerts_confirmed_total");
    assert_eq!(confirmed, Some(faults.len() as f64), "{metrics}");
    let signed = sample(
        &metrics,
        "mach_ecdsa_sign_duration_seconds_count{signer=\"local\"}",
    );
    assert!(signed.is_some_and(|n| n >= 1.0), "{metrics}");

    // Down stops every process the devnet started.
    let mut pids: Vec<u64> = record["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_u64().unwrap())
        .collect();
    pids.push(record["pid"].as_u64().unwrap());
    let out = devnet.down();
    assert!(out.status.success(), "{}", text(&out));
    let left: Vec<u64> = pids.into_iter().filter(|pid| alive(*pid)).collect();
    assert!(left.is_empty(), "still running after down: {left:?}");
    assert!(!dir.join("devnet.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optimism_devnet_alerts_each_fault_kind_once_and_stops_cleanly() {
    devnet_alerts_every_fault_once(
        "optimism",
        3,
        &["balance", "storage", "code", "nonce"],
        false,
    )
    .await;
}

/// Also the remote BLS operator: two operators of equal stake, so the 66 % quorum needs
/// operator0's signature, which only the devnet's Cerberus stand-in can make.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ethereum_devnet_with_a_remote_bls_operator_alerts_a_block_hash() {
    devnet_alerts_every_fault_once("ethereum", 2, &["balance"], true).await;
}

#[test]
fn up_refuses_a_directory_it_did_not_make() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("precious.txt"), "keep me").unwrap();
    let out = mach(&["devnet", "up", "--dir", tmp.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("was not made by `mach devnet up`"),
        "{}",
        text(&out)
    );
    assert!(tmp.path().join("precious.txt").exists());
}

#[test]
fn status_and_fault_without_a_devnet_say_how_to_start_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    for args in [
        vec!["devnet", "status", "--dir", dir],
        vec!["devnet", "fault", "--kind", "balance", "--dir", dir],
    ] {
        let out = mach(&args);
        assert!(!out.status.success());
        assert!(
            text(&out).contains("mach devnet up --dir"),
            "{}",
            text(&out)
        );
    }
    let out = mach(&["devnet", "down", "--dir", dir]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("no devnet is running"),
        "{}",
        text(&out)
    );
}

/// A supervisor killed outright while starting leaves its processes behind; `down` finds them
/// through `processes.json` and stops them.
#[test]
fn down_stops_what_a_killed_supervisor_started() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let mut supervisor = Command::new(env!("CARGO_BIN_EXE_mach"))
        .args(["devnet", "up", "--dir", dir.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let pids: Vec<u64> = loop {
        let listed: Vec<Value> = std::fs::read_to_string(dir.join("processes.json"))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        // The chains and the aggregator at least.
        if listed.len() >= 3 {
            break listed.iter().map(|p| p["pid"].as_u64().unwrap()).collect();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the devnet did not start its processes"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    supervisor.kill().unwrap();
    supervisor.wait().unwrap();
    assert!(
        pids.iter().any(|pid| alive(*pid)),
        "nothing was left to clean up"
    );
    let out = mach(&["devnet", "down", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("leftover"), "{}", text(&out));
    std::thread::sleep(Duration::from_millis(200));
    let left: Vec<u64> = pids.into_iter().filter(|pid| alive(*pid)).collect();
    assert!(left.is_empty(), "still running after down: {left:?}");
}
