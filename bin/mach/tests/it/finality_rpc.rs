//! `mach rpc` on a devnet: a transaction sent through it is reported `validated` within two
//! rollup blocks; `safe` is MACH's validated head; after a fault the block is `invalid` then
//! `alerted`, the finalized head stops below it, and state reads answer the circuit-breaker
//! error until `mach rpc reset`; new finalized heads arrive over WebSocket.

use crate::support::text;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn mach(args: &[&str]) -> std::process::Output {
    crate::support::mach(args, &[])
}

/// The devnet and `mach rpc`, stopped whatever happens; logs printed on failure.
struct Running {
    dir: std::path::PathBuf,
    rpc: Child,
    rpc_log: std::path::PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.rpc.kill();
        let _ = self.rpc.wait();
        if std::thread::panicking() {
            let mut logs = vec![self.rpc_log.clone(), self.dir.join("logs/devnet.log")];
            logs.push(self.dir.join("logs/operator0-verifier.log"));
            for log in logs {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                eprintln!(
                    "--- {} ---\n{}",
                    log.display(),
                    lines[lines.len().saturating_sub(40)..].join("\n")
                );
            }
        }
        let _ = mach(&["devnet", "down", "--dir", self.dir.to_str().unwrap()]);
    }
}

/// One JSON-RPC call; returns the whole response object.
async fn call(http: &reqwest::Client, url: &str, method: &str, params: Value) -> Value {
    http.post(url)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
        .json()
        .await
        .unwrap()
}

async fn result(http: &reqwest::Client, url: &str, method: &str, params: Value) -> Value {
    let response = call(http, url, method, params).await;
    assert!(
        response.get("error").is_none(),
        "{method} failed: {response}"
    );
    response["result"].clone()
}

fn number(value: &Value) -> u64 {
    match value {
        Value::Number(n) => n.as_u64().unwrap(),
        Value::String(s) => u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap(),
        other => panic!("not a number: {other}"),
    }
}

/// The finality RPC's Prometheus page.
async fn metrics(http: &reqwest::Client, url: &str) -> String {
    http.get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of an unlabelled sample.
fn sample(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

fn start_rpc(dir: &Path, port: u16) -> (Child, std::path::PathBuf) {
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("devnet.json")).unwrap()).unwrap();
    let operator = &record["operators"][0];
    let log = dir.join("mach-rpc.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_mach"))
        .args([
            "rpc",
            "--config",
            operator["verifier_config"].as_str().unwrap(),
            "--genesis-config",
            operator["genesis_config"].as_str().unwrap(),
            "--l1-rpc",
            record["l1_rpc"].as_str().unwrap(),
            "--service-manager",
            record["deployment"]["machServiceManager"].as_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            dir.join("rpc-db").to_str().unwrap(),
            "--start-block",
            "1",
        ])
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    (child, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finality_rpc_reports_validated_blocks_alerts_and_breaks_the_circuit() {
    use alloy::providers::Provider;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let up = mach(&["devnet", "up", "--detach", "--dir", dir.to_str().unwrap()]);
    assert!(up.status.success(), "{}", text(&up));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (rpc, rpc_log) = start_rpc(&dir, port);
    let running = Running {
        dir: dir.clone(),
        rpc,
        rpc_log,
    };
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // Up once it has validated something.
    let started = Instant::now();
    loop {
        if let Ok(r) = http
            .post(&url)
            .json(
                &json!({"jsonrpc": "2.0", "id": 1, "method": "mach_finalizedBlock", "params": []}),
            )
            .send()
            .await
        {
            let v: Value = r.json().await.unwrap();
            if !v["result"].is_null() {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "mach rpc did not validate a block"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A client's bad parameter is its error (-32602), never "rollup RPC did not answer".
    let huge: Value = serde_json::from_str("1180591620717411303424").unwrap(); // 2^70
    let not_hex = format!("0x{}", "zz".repeat(32));
    for bad in [
        huge,
        json!(-1),
        json!("0xzz"),
        json!(not_hex),
        json!({"a": 1}),
    ] {
        let reply = call(&http, &url, "mach_blockStatus", json!([bad])).await;
        assert_eq!(reply["error"]["code"], -32602, "{bad} → {reply}");
    }
    // Notifications are not answered; an unknown Host and a foreign Origin are refused.
    let note = http
        .post(&url)
        .json(&json!({"jsonrpc": "2.0", "method": "mach_finalizedBlock", "params": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(note.status(), 204);
    for (header, value) in [("host", "evil.example"), ("origin", "https://evil.example")] {
        let refused = http
            .post(&url)
            .header(header, value)
            .json(
                &json!({"jsonrpc": "2.0", "id": 1, "method": "mach_finalizedBlock", "params": []}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{header}: {value}");
    }

    // New finalized heads over WebSocket.
    let ws = alloy::providers::ProviderBuilder::new()
        .connect_ws(alloy::providers::WsConnect::new(format!(
            "ws://127.0.0.1:{port}"
        )))
        .await
        .unwrap();
    let mut heads = ws
        .subscribe::<_, Value>(("machFinalizedHeads",))
        .await
        .unwrap();

    // A transaction sent through mach rpc: validated within two rollup blocks.
    let from = result(&http, &url, "eth_accounts", json!([])).await[9].clone();
    let tx = result(
        &http,
        &url,
        "eth_sendTransaction",
        json!([{"from": from, "to": "0x00000000000000000000000000000000000000aa", "value": "0x2a"}]),
    )
    .await;
    let (included, seen_at_head) = loop {
        let receipt = result(&http, &url, "eth_getTransactionReceipt", json!([tx])).await;
        if !receipt.is_null() {
            let block = number(&receipt["blockNumber"]);
            let status = result(&http, &url, "mach_blockStatus", json!([block])).await;
            if status["status"] == "validated" {
                let head = number(&result(&http, &url, "eth_blockNumber", json!([])).await);
                break (block, head);
            }
            assert_eq!(status["status"], "pending", "{status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        seen_at_head <= included + 2,
        "block {included} validated only at head {seen_at_head}"
    );
    let by_hash = result(
        &http,
        &url,
        "mach_blockStatus",
        json!([result(
            &http,
            &url,
            "eth_getBlockByNumber",
            json!([format!("{included:#x}"), false])
        )
        .await["hash"]]),
    )
    .await;
    assert_eq!(by_hash["status"], "validated");
    assert!(by_hash["validated_at"].is_u64(), "{by_hash}");

    // `safe` is MACH's validated head.
    let finalized = result(&http, &url, "mach_finalizedBlock", json!([])).await;
    let safe = result(&http, &url, "eth_getBlockByNumber", json!(["safe", false])).await;
    let safe_number = number(&safe["number"]);
    assert!(
        safe_number >= number(&finalized["number"]) && safe_number >= included,
        "safe {safe} finalized {finalized}"
    );
    let head = heads.recv().await.unwrap();
    assert!(number(&head["number"]) > 1, "{head}");

    // A fault: invalid, then alerted; finality stops below it; the breaker opens.
    let out = mach(&[
        "devnet",
        "fault",
        "--kind",
        "nonce",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    let bad: u64 = said
        .split("invalid block: #")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    let mut seen = Vec::new();
    let started = Instant::now();
    let alerted = loop {
        let status = result(&http, &url, "mach_blockStatus", json!([bad])).await;
        let s = status["status"].as_str().unwrap().to_string();
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if s == "alerted" {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "block {bad} went through {seen:?} but was not alerted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let order: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .filter(|s| *s != "pending")
        .collect();
    assert!(
        order == ["invalid", "alerted"] || order == ["alerted"],
        "statuses {seen:?}"
    );
    assert!(alerted["alert"]["l1_tx"].is_string(), "{alerted}");
    let alerts = result(&http, &url, "mach_alerts", json!([])).await;
    assert_eq!(alerts.as_array().unwrap().len(), 1, "{alerts}");
    assert_eq!(alerts[0]["block"], bad);
    assert_eq!(alerts[0]["message_hash"], alerted["alert"]["message_hash"]);
    // The rollup goes on; MACH's finalized head does not pass the invalid block.
    let rollup_head = number(&result(&http, &url, "eth_blockNumber", json!([])).await);
    while number(&result(&http, &url, "eth_blockNumber", json!([])).await) < rollup_head + 2 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let finalized = result(&http, &url, "mach_finalizedBlock", json!([])).await;
    assert!(number(&finalized["number"]) < bad, "{finalized}");
    let safe = result(&http, &url, "eth_getBlockByNumber", json!(["safe", false])).await;
    assert!(number(&safe["number"]) < bad, "{safe}");
    let refused = call(&http, &url, "eth_getBalance", json!([from, "latest"])).await;
    assert_eq!(refused["error"]["code"], -32090, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("#{bad}")),
        "{refused}"
    );
    // Chain reads that are not state still answer.
    result(&http, &url, "eth_blockNumber", json!([])).await;
    // A batch: forwarded, local and refused calls answered in order, each under its own id.
    let answers: Value = http
        .post(&url)
        .json(&json!([
            {"jsonrpc": "2.0", "id": "a", "method": "eth_chainId", "params": []},
            {"jsonrpc": "2.0", "id": "b", "method": "mach_finalizedBlock", "params": []},
            {"jsonrpc": "2.0", "id": "c", "method": "eth_getBalance", "params": [from, "latest"]},
            {"jsonrpc": "2.0", "id": "d", "method": "eth_blockNumber", "params": []},
        ]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&Value> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(
        ids,
        [&json!("a"), &json!("b"), &json!("c"), &json!("d")],
        "{answers}"
    );
    assert_eq!(answers[0]["result"], "0x385", "{answers}");
    assert!(number(&answers[1]["result"]["number"]) < bad, "{answers}");
    assert_eq!(answers[2]["error"]["code"], -32090, "{answers}");
    assert!(answers[3]["result"].is_string(), "{answers}");
    let scraped = metrics(&http, &url).await;
    assert_eq!(
        sample(&scraped, "mach_rpc_circuit_breaker_open"),
        1,
        "{scraped}"
    );
    assert_eq!(
        sample(&scraped, "mach_rpc_alerts_confirmed"),
        1,
        "{scraped}"
    );
    assert!(
        sample(&scraped, "mach_rpc_invalid_blocks") >= 1,
        "{scraped}"
    );
    assert!(
        scraped.contains("mach_rpc_requests_total{outcome=\"refused\"} 2"),
        "{scraped}"
    );

    // Reset: state reads answer again, and finality moves past the acknowledged block.
    let out = mach(&["rpc", "reset", "--url", &url]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("circuit breaker closed"),
        "{}",
        text(&out)
    );
    result(&http, &url, "eth_getBalance", json!([from, "latest"])).await;
    let scraped = metrics(&http, &url).await;
    assert_eq!(
        sample(&scraped, "mach_rpc_circuit_breaker_open"),
        0,
        "{scraped}"
    );
    assert!(
        sample(&scraped, "mach_rpc_validated_block") > bad,
        "{scraped}"
    );
    let started = Instant::now();
    while number(&result(&http, &url, "mach_finalizedBlock", json!([])).await["number"]) <= bad {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "finality did not move on"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(running);
}
