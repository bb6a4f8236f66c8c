//! The operator guide's steps two and three through the binary, on anvil with a real deployment:
//! keys, `operator config create`, `operator register`, `operator status`, allowlisting,
//! `opt-in`, `avs status`, `opt-out`; and every opt-in refusal, each shown to send nothing.

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use mach_chain::operator::{self, OperatorDetails};
use mach_chain::{connect, Connection, Deployment};
use mach_contracts::MachServiceManager;
use mach_devnet::{deploy, Anvil, AnvilConfig, DeployConfig};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs `mach` quietly (warnings and errors only) with `env`.
fn mach(args: &[&str], env: &[(&str, &str)]) -> Output {
    crate::support::mach(args, &[&[("RUST_LOG", "warn")], env].concat())
}

const PASSWORD: &str = "operator password";

fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "mach failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn refused(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "mach unexpectedly succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Serves `file` over HTTP at any path, as a metadata host would.
fn serve(file: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metadata.json", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf);
            let body = std::fs::read(&file).unwrap_or_default();
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
}

/// An operator's key files, made through the binary.
struct Keys {
    ecdsa: PathBuf,
    bls: PathBuf,
    address: Address,
    operator_id: String,
}

fn create_keys(dir: &Path, name: &str) -> Keys {
    let d = dir.to_str().unwrap();
    let env = [
        ("OPERATOR_ECDSA_KEY_PASSWORD", PASSWORD),
        ("OPERATOR_BLS_KEY_PASSWORD", PASSWORD),
    ];
    let out = ok(mach(
        &["keys", "create", "--key-type", "ecdsa", name, "--dir", d],
        &env,
    ));
    let address = out
        .lines()
        .find_map(|l| l.strip_prefix("Address: "))
        .unwrap()
        .parse()
        .unwrap();
    let out = ok(mach(
        &["keys", "create", "--key-type", "bls", name, "--dir", d],
        &env,
    ));
    let operator_id = out
        .lines()
        .find_map(|l| l.strip_prefix("Operator ID: "))
        .unwrap()
        .to_string();
    Keys {
        ecdsa: dir.join(format!("{name}.ecdsa.key.json")),
        bls: dir.join(format!("{name}.bls.key.json")),
        address,
        operator_id,
    }
}

/// Writes a `.env.opt` in the reference layout for `keys`.
fn env_opt(path: &Path, anvil: &Anvil, d: &Deployment, keys: &Keys, extra: &str) -> String {
    let text = format!(
        "# as in env.opt-example\n\
         AVS_REGISTRY_COORDINATOR_ADDRESS={}\n\
         OPERATOR_STATE_RETRIEVER_ADDRESS={}\n\
         LAYER1_CHAIN_ID=31337\n\
         ETH_RPC_URL={}\n\
         NODE_ECDSA_KEY_FILE_HOST={}\n\
         NODE_BLS_KEY_FILE_HOST={}\n\
         OPERATOR_ECDSA_KEY_PASSWORD='{PASSWORD}'\n\
         OPERATOR_BLS_KEY_PASSWORD='{PASSWORD}'\n\
         REG_QUORUM_NUMBERS=0\n\
         {extra}\n",
        d.registry_coordinator,
        d.operator_state_retriever,
        anvil.url(),
        keys.ecdsa.display(),
        keys.bls.display(),
    );
    std::fs::write(path, text).unwrap();
    path.to_str().unwrap().to_string()
}

async fn fund(admin: &Connection, to: Address) {
    let tx = TransactionRequest::default()
        .to(to)
        .value(U256::from(10u64).pow(U256::from(18)));
    admin.send("fund the operator", tx).await.unwrap();
}

async fn nonce(admin: &Connection, of: Address) -> u64 {
    admin.provider.get_transaction_count(of).await.unwrap()
}

/// Runs `mach` and checks it was refused with `expected` and sent no transaction from `who`.
async fn refused_without_tx(
    admin: &Connection,
    who: Address,
    args: &[&str],
    env: &[(&str, &str)],
    expected: &str,
) {
    let before = nonce(admin, who).await;
    let stderr = refused(mach(args, env));
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in: {stderr}"
    );
    assert_eq!(
        nonce(admin, who).await,
        before,
        "a transaction was sent: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_guide_steps_and_refusals() {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).unwrap();
    let admin = connect(anvil.url(), anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let d = deploy(&admin, &DeployConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let keys = create_keys(&tmp.path().join("keys"), "opr");
    fund(&admin, keys.address).await;

    // operator config create → register → status.
    let op_dir = tmp.path().join("op");
    let metadata_url = serve(op_dir.join("metadata.json"));
    let dm = d.delegation_manager.to_string();
    ok(mach(
        &[
            "operator",
            "config",
            "create",
            "--non-interactive",
            "--dir",
            op_dir.to_str().unwrap(),
            "--key-file",
            keys.ecdsa.to_str().unwrap(),
            "--metadata-url",
            &metadata_url,
            "--rpc-url",
            anvil.url(),
            "--chain-id",
            "31337",
            "--delegation-manager",
            &dm,
            "--name",
            "Test Operator",
            "--description",
            "Validates rollups",
            "--website",
            "https://op.example",
            "--logo",
            "https://op.example/logo.png",
            "--twitter",
            "https://x.com/op",
        ],
        &[],
    ));
    let yaml = op_dir.join("operator.yaml");
    let y = yaml.to_str().unwrap();
    let text = std::fs::read_to_string(&yaml).unwrap();
    assert!(
        text.contains("signer_type: local_keystore")
            && text.contains("el_delegation_manager_address"),
        "{text}"
    );
    let metadata: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(op_dir.join("metadata.json")).unwrap())
            .unwrap();
    assert_eq!(metadata["name"], "Test Operator");

    assert!(ok(mach(&["operator", "status", y], &[])).contains("Registered with EigenLayer: no"));
    let pw = [("OPERATOR_ECDSA_KEY_PASSWORD", PASSWORD)];
    let out = ok(mach(&["operator", "register", y], &pw));
    assert!(
        out.contains("Operator is registered successfully to EigenLayer"),
        "{out}"
    );
    let out = ok(mach(&["operator", "status", y], &[]));
    assert!(
        out.contains("Registered with EigenLayer: yes") && out.contains(&metadata_url),
        "{out}"
    );
    ok(mach(&["operator", "update", y], &pw));
    refused_without_tx(
        &admin,
        keys.address,
        &["operator", "register", y],
        &pw,
        "already registered",
    )
    .await;

    let env_file = env_opt(&tmp.path().join(".env.opt"), &anvil, &d, &keys, "");
    let e = env_file.as_str();

    // Refused until the whitelister adds the address.
    refused_without_tx(
        &admin,
        keys.address,
        &["opt-in", "--env-file", e],
        &[],
        "not in the AVS allowlist",
    )
    .await;
    let msm = MachServiceManager::new(d.mach_service_manager, &admin.provider);
    admin
        .send(
            "allowlist",
            msm.addToAllowlist(keys.address).into_transaction_request(),
        )
        .await
        .unwrap();

    let out = ok(mach(&["opt-in", "--env-file", e], &[]));
    assert!(out.contains("opted in"), "{out}");
    let out = ok(mach(&["avs", "status", "--env-file", e], &[]));
    assert!(out.contains("Opted in: yes"), "{out}");
    assert!(
        out.contains(&format!("Operator ID: {}", keys.operator_id)),
        "{out}"
    );
    assert!(out.contains("operator is allowlisted"), "{out}");
    assert!(out.contains("Paused: no"), "{out}");
    refused_without_tx(
        &admin,
        keys.address,
        &["opt-in", "--env-file", e],
        &[],
        "already opted in",
    )
    .await;

    // Another registered, allowlisted, funded operator trying to reuse this BLS key.
    let other = create_keys(&tmp.path().join("other"), "other");
    fund(&admin, other.address).await;
    let other_signer = mach_keys::KeyFile::read(&other.ecdsa, None)
        .unwrap()
        .decrypt_ecdsa(PASSWORD)
        .unwrap();
    let other_conn = connect(
        anvil.url(),
        alloy::signers::local::PrivateKeySigner::from_signing_key(
            other_signer.signing_key().clone(),
        ),
    )
    .await
    .unwrap();
    let details = OperatorDetails {
        delegation_approver: Address::ZERO,
        staker_opt_out_window_blocks: 0,
    };
    operator::register_as_operator(
        &other_conn,
        d.delegation_manager,
        &details,
        "https://x.example/m.json",
    )
    .await
    .unwrap();
    admin
        .send(
            "allowlist",
            msm.addToAllowlist(other.address).into_transaction_request(),
        )
        .await
        .unwrap();
    let stolen = Keys {
        ecdsa: other.ecdsa.clone(),
        bls: keys.bls.clone(),
        address: other.address,
        operator_id: keys.operator_id.clone(),
    };
    let other_env = env_opt(&tmp.path().join("other.env"), &anvil, &d, &stolen, "");
    refused_without_tx(
        &admin,
        other.address,
        &["opt-in", "--env-file", &other_env],
        &[],
        "is already registered to operator",
    )
    .await;

    // Key file and OPERATOR_ECDSA_ADDRESS disagree.
    let mismatch = env_opt(
        &tmp.path().join("mismatch.env"),
        &anvil,
        &d,
        &other,
        &format!("OPERATOR_ECDSA_ADDRESS={}", keys.address),
    );
    refused_without_tx(
        &admin,
        other.address,
        &["opt-in", "--env-file", &mismatch],
        &[],
        "but OPERATOR_ECDSA_ADDRESS is",
    )
    .await;

    // Wrong password (the environment overrides the file).
    refused_without_tx(
        &admin,
        other.address,
        &["opt-in", "--env-file", &other_env],
        &[("OPERATOR_ECDSA_KEY_PASSWORD", "nope")],
        "wrong password for",
    )
    .await;

    // Unreachable RPC.
    refused_without_tx(
        &admin,
        other.address,
        &[
            "opt-in",
            "--env-file",
            &other_env,
            "--rpc-url",
            "http://127.0.0.1:9",
        ],
        &[],
        "cannot reach the L1 RPC",
    )
    .await;

    // Some ETH, but not enough for the registration's gas: the message says how much.
    let own_env = env_opt(&tmp.path().join("own.env"), &anvil, &d, &other, "");
    let _: serde_json::Value = admin
        .provider
        .raw_request("anvil_setBalance".into(), (other.address, "0x3e8"))
        .await
        .unwrap();
    refused_without_tx(
        &admin,
        other.address,
        &["opt-in", "--env-file", &own_env],
        &[],
        "ETH but needs about",
    )
    .await;

    // Not an EigenLayer operator yet (funded, allowlist irrelevant).
    let newcomer = create_keys(&tmp.path().join("new"), "new");
    fund(&admin, newcomer.address).await;
    let new_env = env_opt(&tmp.path().join("new.env"), &anvil, &d, &newcomer, "");
    refused_without_tx(
        &admin,
        newcomer.address,
        &["opt-in", "--env-file", &new_env],
        &[],
        "run `mach operator register",
    )
    .await;

    // No ETH at all.
    let broke = create_keys(&tmp.path().join("broke"), "broke");
    let broke_env = env_opt(&tmp.path().join("broke.env"), &anvil, &d, &broke, "");
    refused_without_tx(
        &admin,
        broke.address,
        &["opt-in", "--env-file", &broke_env],
        &[],
        "has no ETH",
    )
    .await;

    // Any pause flag stops deregistration from the AVS, as in the deployed contract: opting out
    // of the last quorum is refused before a transaction, and the status shows the pause.
    admin
        .send(
            "pause",
            msm.pause(U256::from(1u64) << 7).into_transaction_request(),
        )
        .await
        .unwrap();
    refused_without_tx(
        &admin,
        keys.address,
        &["opt-out", "--env-file", e],
        &[],
        "the AVS is paused (MachServiceManager.paused() = 0x80)",
    )
    .await;
    let out = ok(mach(&["avs", "status", "--env-file", e], &[]));
    assert!(out.contains("Paused: yes (flags 0x80)"), "{out}");
    admin
        .send(
            "unpause",
            msm.unpause(U256::ZERO).into_transaction_request(),
        )
        .await
        .unwrap();

    // Opt out, then the status and a second opt-out say so.
    let out = ok(mach(&["opt-out", "--env-file", e], &[]));
    assert!(out.contains("opted out"), "{out}");
    let out = ok(mach(&["avs", "status", "--env-file", e], &[]));
    assert!(out.contains("Opted in: no"), "{out}");
    refused_without_tx(
        &admin,
        keys.address,
        &["opt-out", "--env-file", e],
        &[],
        "is not opted in",
    )
    .await;
}

#[test]
fn config_create_validates_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let keys_dir = tmp.path().join("keys");
    let out = mach(
        &[
            "keys",
            "import",
            "--key-type",
            "ecdsa",
            "--private-key",
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
            "opr",
            "--dir",
            keys_dir.to_str().unwrap(),
        ],
        &[("OPERATOR_ECDSA_KEY_PASSWORD", PASSWORD)],
    );
    assert!(out.status.success());
    let key = keys_dir.join("opr.ecdsa.key.json");
    let dir = tmp.path().join("op");
    let base = [
        "operator",
        "config",
        "create",
        "--non-interactive",
        "--dir",
        dir.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
        "--rpc-url",
        "http://localhost:8545",
        "--chain-id",
        "1",
        "--delegation-manager",
        "0x39053D51B77DC0d36036Fc1fCc8Cb819df8Ef37A",
    ];
    let stderr = refused(mach(&base, &[]));
    assert!(
        stderr.contains("--metadata-url")
            && stderr.contains("--name")
            && stderr.contains("--description"),
        "{stderr}"
    );
    let mut args = base.to_vec();
    args.extend([
        "--metadata-url",
        "https://op.example/m.json",
        "--name",
        "Op",
        "--description",
        "d",
        "--logo",
        "https://op.example/logo.jpg",
    ]);
    let stderr = refused(mach(&args, &[]));
    assert!(stderr.contains(".png"), "{stderr}");
    assert!(!dir.join("operator.yaml").exists());
}
