//! `mach doctor`: each check, passing and failing, run as an operator would run it (an env file,
//! key files, `avs_configs.json`, `mach-config.toml`) against a real anvil with EigenLayer and
//! MACH deployed and an operator opted in through the real code paths.

use crate::support::free_port;
use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use mach_chain::{connect, Deployment};
use mach_contracts::MachServiceManager;
use mach_devnet::{deploy, onboard_operator, Anvil, AnvilConfig, DeployConfig};
use mach_keys::file::{encrypt_bls, encrypt_ecdsa};
use mach_keys::{BlsSecretKey, EcdsaSecretKey};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

const BLS_PASSWORD: &str = "bls pass /$";
const ECDSA_PASSWORD: &str = "ecdsa pass";

/// Runs `mach doctor ARGS` in `dir` with an empty environment; returns success and stdout.
fn doctor(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mach"))
        .arg("doctor")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains(BLS_PASSWORD) && !stdout.contains(ECDSA_PASSWORD),
        "a password was printed:\n{stdout}"
    );
    assert!(
        !stderr.contains(BLS_PASSWORD) && !stderr.contains(ECDSA_PASSWORD),
        "a password was printed:\n{stderr}"
    );
    (out.status.success(), stdout)
}

/// The line of `check` (`ok <check>: …` or `FAIL <check>: …`).
fn line<'a>(stdout: &'a str, check: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| {
            l.strip_prefix("ok ")
                .or_else(|| l.strip_prefix("FAIL "))
                .is_some_and(|rest| rest.starts_with(&format!("{check}:")))
        })
        .unwrap_or_else(|| panic!("no line for {check:?} in:\n{stdout}"))
}

fn assert_ok(stdout: &str, check: &str) {
    let l = line(stdout, check);
    assert!(l.starts_with("ok "), "{check} should pass:\n{stdout}");
}

fn assert_fail(stdout: &str, check: &str, says: &str) {
    let l = line(stdout, check);
    assert!(l.starts_with("FAIL "), "{check} should fail:\n{stdout}");
    assert!(l.contains(says), "{check} should say {says:?}:\n{stdout}");
}

/// An operator's working directory: key files, `.env`, `avs_configs.json`.
struct Setup {
    dir: tempfile::TempDir,
    bls: BlsSecretKey,
    ecdsa: EcdsaSecretKey,
    /// `.env` lines, written by [`Setup::write_env`].
    vars: Vec<(String, String)>,
}

impl Setup {
    /// Key files and an `.env` for `rpc_url` (chain 31337); no AVS list yet.
    fn new(rpc_url: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bls = BlsSecretKey::random();
        let ecdsa = EcdsaSecretKey::random();
        let keys = dir.path().join("operator_keys");
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(
            keys.join("opr.bls.key.json"),
            encrypt_bls(&bls, BLS_PASSWORD).unwrap(),
        )
        .unwrap();
        std::fs::write(
            keys.join("opr.ecdsa.key.json"),
            encrypt_ecdsa(&ecdsa, ECDSA_PASSWORD).unwrap(),
        )
        .unwrap();
        let mut setup = Self {
            bls,
            vars: Vec::new(),
            ecdsa,
            dir,
        };
        let keys = keys.display().to_string();
        let address = setup.ecdsa.address().to_string();
        for (name, value) in [
            ("OPERATOR_SERVER_URL", format!("127.0.0.1:{}", free_port())),
            (
                "BLS_PRIVATE_KEY_PATH",
                "/app/operator_keys/bls_key.json".into(),
            ),
            ("NODE_BLS_KEY_FILE_HOST", format!("{keys}/opr.bls.key.json")),
            (
                "NODE_ECDSA_KEY_FILE_HOST",
                format!("{keys}/opr.ecdsa.key.json"),
            ),
            ("OPERATOR_BLS_KEY_PASSWORD", format!("'{BLS_PASSWORD}'")),
            ("OPERATOR_ECDSA_KEY_PASSWORD", format!("'{ECDSA_PASSWORD}'")),
            ("OPERATOR_ECDSA_ADDRESS", address),
            ("ETH_RPC_URL", rpc_url.into()),
            ("LAYER1_CHAIN_ID", "31337".into()),
            ("AGGREGATOR_JSONRPC_SERVER_URL", "http://127.0.0.1:1".into()),
            ("ENABLE_METRICS", "true".into()),
            ("EIGEN_METRICS_URL", format!("127.0.0.1:{}", free_port())),
            ("ENABLE_NODE_API", "true".into()),
            ("NODE_API_URL", format!("127.0.0.1:{}", free_port())),
        ] {
            setup.vars.push((name.into(), value));
        }
        setup.write_env();
        setup
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn set(&mut self, name: &str, value: &str) {
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value.into(),
            None => self.vars.push((name.into(), value.into())),
        }
        self.write_env();
    }

    fn unset(&mut self, name: &str) {
        self.vars.retain(|(n, _)| n != name);
        self.write_env();
    }

    fn write_env(&self) {
        let text: String = self
            .vars
            .iter()
            .map(|(n, v)| format!("{n}={v}\n"))
            .collect();
        std::fs::write(self.path().join(".env"), text).unwrap();
    }

    fn var(&self, name: &str) -> String {
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    }

    /// Writes `avs_configs.json` naming `deployment` (or made-up addresses).
    fn write_avs_config(&self, deployment: Option<&Deployment>) -> PathBuf {
        let (rc, osr, sm) = match deployment {
            Some(d) => (
                d.registry_coordinator,
                d.operator_state_retriever,
                d.mach_service_manager,
            ),
            None => (
                Address::repeat_byte(1),
                Address::repeat_byte(2),
                Address::repeat_byte(3),
            ),
        };
        let path = self.path().join("avs_configs.json");
        let avs = json!([{
            "avs_name": "soneium",
            "methods": [{"method": "confirmAlert", "quorum_numbers": [0], "quorum_threshold_percentages": [66]}],
            "avs_registry_coordinator_address": rc,
            "operator_state_retriever_address": osr,
            "avs_contract_address": sm,
        }]);
        std::fs::write(&path, avs.to_string()).unwrap();
        path
    }

    fn signer(&self) -> PrivateKeySigner {
        PrivateKeySigner::from_signing_key(self.ecdsa.signing_key().clone())
    }
}

/// A URL where nothing listens.
fn dead_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

#[test]
fn env_file_check() {
    let setup = Setup::new(&dead_url());
    let (_, out) = doctor(setup.path(), &["--env-file", ".env"]);
    assert_ok(&out, "env file");
    let (ok, out) = doctor(setup.path(), &["--env-file", "missing.env"]);
    assert!(!ok);
    assert_fail(&out, "env file", "missing.env");
}

#[test]
fn bls_key_file_check() {
    let mut setup = Setup::new(&dead_url());
    let (_, out) = doctor(setup.path(), &[]);
    assert_ok(&out, "BLS key file");
    setup.set("NODE_BLS_KEY_FILE_HOST", "/nowhere/opr.bls.key.json");
    let (ok, out) = doctor(setup.path(), &[]);
    assert!(!ok);
    assert_fail(&out, "BLS key file", "NODE_BLS_KEY_FILE_HOST");
    // An ECDSA file where the BLS key should be.
    let ecdsa = setup.var("NODE_ECDSA_KEY_FILE_HOST");
    setup.set("NODE_BLS_KEY_FILE_HOST", &ecdsa);
    let (_, out) = doctor(setup.path(), &[]);
    assert_fail(&out, "BLS key file", "ECDSA");
}

#[test]
fn bls_key_password_check() {
    let mut setup = Setup::new(&dead_url());
    let (_, out) = doctor(setup.path(), &[]);
    assert_ok(&out, "BLS key password");
    assert!(
        line(&out, "BLS key password").contains(&setup.bls.operator_id().0.to_string()),
        "{out}"
    );
    setup.set("OPERATOR_BLS_KEY_PASSWORD", "wrong");
    let (ok, out) = doctor(setup.path(), &[]);
    assert!(!ok);
    assert_fail(&out, "BLS key password", "OPERATOR_BLS_KEY_PASSWORD");
    setup.unset("OPERATOR_BLS_KEY_PASSWORD");
    let (_, out) = doctor(setup.path(), &[]);
    assert_fail(&out, "BLS key password", "is not set");
}

/// A node whose BLS key is behind Cerberus has no key file: doctor reads the signer settings the
/// node reads, names the key and its operator ID, and refuses what the node would refuse.
#[test]
fn cerberus_bls_signer_check() {
    let mut setup = Setup::new(&dead_url());
    setup.unset("NODE_BLS_KEY_FILE_HOST");
    setup.unset("OPERATOR_BLS_KEY_PASSWORD");
    setup.set("NODE_BLS_SIGNER", "cerberus");
    setup.set("NODE_BLS_CERBERUS_URL", "https://signer.internal:50051");
    let g1 = mach_node::cerberus::hex_g1(&setup.bls.public_key());
    setup.set("NODE_BLS_CERBERUS_PUBLIC_KEY_G1", &g1);
    let (_, out) = doctor(setup.path(), &[]);
    assert_ok(&out, "BLS signer");
    let signer = line(&out, "BLS signer");
    assert!(signer.contains(&g1), "{out}");
    assert!(
        signer.contains(&setup.bls.operator_id().0.to_string()),
        "{out}"
    );
    assert!(!out.contains("BLS key file"), "{out}");
    setup.set("NODE_BLS_CERBERUS_PUBLIC_KEY_G1", "0x1234");
    let (ok, out) = doctor(setup.path(), &[]);
    assert!(!ok);
    assert_fail(&out, "BLS signer", "NODE_BLS_CERBERUS_PUBLIC_KEY_G1");
    setup.set("NODE_BLS_SIGNER", "vault");
    let (_, out) = doctor(setup.path(), &[]);
    assert_fail(&out, "BLS signer", "keystore (the key file) or cerberus");
}

#[test]
fn ecdsa_key_file_check() {
    let mut setup = Setup::new(&dead_url());
    let (_, out) = doctor(setup.path(), &[]);
    assert_ok(&out, "ECDSA key file");
    setup.set("NODE_ECDSA_KEY_FILE_HOST", "/nowhere/opr.ecdsa.key.json");
    let (ok, out) = doctor(setup.path(), &[]);
    assert!(!ok);
    assert_fail(&out, "ECDSA key file", "NODE_ECDSA_KEY_FILE_HOST");
    // Not set at all: the node does not need it.
    setup.unset("NODE_ECDSA_KEY_FILE_HOST");
    let (_, out) = doctor(setup.path(), &[]);
    assert_ok(&out, "ECDSA key file");
}

#[test]
fn ecdsa_key_password_check() {
    let mut setup = Setup::new(&dead_url());
    let (_, out) = doctor(setup.path(), &[]);
    assert_ok(&out, "ECDSA key password");
    setup.set("OPERATOR_ECDSA_KEY_PASSWORD", "wrong");
    let (ok, out) = doctor(setup.path(), &[]);
    assert!(!ok);
    assert_fail(&out, "ECDSA key password", "OPERATOR_ECDSA_KEY_PASSWORD");
    // The right password, but the key of another address than OPERATOR_ECDSA_ADDRESS.
    setup.set("OPERATOR_ECDSA_KEY_PASSWORD", ECDSA_PASSWORD);
    setup.set(
        "OPERATOR_ECDSA_ADDRESS",
        &Address::repeat_byte(7).to_string(),
    );
    let (_, out) = doctor(setup.path(), &[]);
    assert_fail(&out, "ECDSA key password", "OPERATOR_ECDSA_ADDRESS");
}

#[test]
fn avs_config_check() {
    let setup = Setup::new(&dead_url());
    let (ok, out) = doctor(setup.path(), &[]);
    assert!(!ok);
    assert_fail(&out, "AVS config", "--avs-config");
    setup.write_avs_config(None);
    let (_, out) = doctor(setup.path(), &[]);
    assert_ok(&out, "AVS config");
    assert!(line(&out, "AVS config").contains("soneium"), "{out}");
    std::fs::write(setup.path().join("broken.json"), "[{\"avs_name\": 1}]").unwrap();
    let (_, out) = doctor(setup.path(), &["--avs-config", "broken.json"]);
    assert_fail(&out, "AVS config", "broken.json");
}

#[test]
fn node_settings_check() {
    let mut setup = Setup::new(&dead_url());
    setup.write_avs_config(None);
    let (_, out) = doctor(setup.path(), &[]);
    assert_ok(&out, "node settings");
    setup.unset("AGGREGATOR_JSONRPC_SERVER_URL");
    let (ok, out) = doctor(setup.path(), &[]);
    assert!(!ok);
    assert_fail(&out, "node settings", "AGGREGATOR_JSONRPC_SERVER_URL");
}

#[test]
fn l1_rpc_check() {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).unwrap();
    let mut setup = Setup::new(anvil.url());
    let (_, out) = doctor(setup.path(), &[]);
    assert_ok(&out, "L1 RPC");
    setup.set("LAYER1_CHAIN_ID", "1");
    let (ok, out) = doctor(setup.path(), &[]);
    assert!(!ok);
    assert_fail(&out, "L1 RPC", "LAYER1_CHAIN_ID is 1");
    setup.set("LAYER1_CHAIN_ID", "31337");
    setup.set("ETH_RPC_URL", &dead_url());
    let (_, out) = doctor(setup.path(), &[]);
    assert_fail(&out, "L1 RPC", "ETH_RPC_URL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_check() {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).unwrap();
    let admin = connect(anvil.url(), anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let deployment = deploy(&admin, &DeployConfig::default()).await.unwrap();
    let setup = Setup::new(anvil.url());
    setup.write_avs_config(Some(&deployment));
    let dir = setup.path().to_path_buf();

    let (ok, out) = tokio::task::spawn_blocking(move || doctor(&dir, &[]))
        .await
        .unwrap();
    assert!(!ok);
    assert_fail(&out, "registration soneium", "mach operator register");

    let stake = U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64));
    onboard_operator(
        &admin,
        &deployment,
        &setup.signer(),
        &setup.bls,
        stake,
        &[0],
    )
    .await
    .unwrap();
    let dir = setup.path().to_path_buf();
    let (ok, out) = tokio::task::spawn_blocking(move || doctor(&dir, &[]))
        .await
        .unwrap();
    assert_ok(&out, "registration soneium");
    assert_ok(&out, "allowlist soneium");
    assert!(ok, "every check passes for a registered operator:\n{out}");
    assert!(!out.contains("FAIL"), "{out}");

    // Another BLS key than the one the operator registered.
    let other = BlsSecretKey::random();
    std::fs::write(
        setup.path().join("other.bls.key.json"),
        encrypt_bls(&other, BLS_PASSWORD).unwrap(),
    )
    .unwrap();
    let mut setup = setup;
    let other_path = setup.path().join("other.bls.key.json");
    setup.set("NODE_BLS_KEY_FILE_HOST", &other_path.display().to_string());
    let dir = setup.path().to_path_buf();
    let (ok, out) = tokio::task::spawn_blocking(move || doctor(&dir, &[]))
        .await
        .unwrap();
    assert!(!ok);
    assert_fail(&out, "registration soneium", "NODE_BLS_KEY_FILE_HOST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowlist_check() {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).unwrap();
    let admin = connect(anvil.url(), anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let deployment = deploy(&admin, &DeployConfig::default()).await.unwrap();
    let setup = Setup::new(anvil.url());
    setup.write_avs_config(Some(&deployment));
    let stake = U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64));
    onboard_operator(
        &admin,
        &deployment,
        &setup.signer(),
        &setup.bls,
        stake,
        &[0],
    )
    .await
    .unwrap();
    let dir = setup.path().to_path_buf();
    let (_, out) = tokio::task::spawn_blocking(move || doctor(&dir, &[]))
        .await
        .unwrap();
    assert_ok(&out, "allowlist soneium");

    let msm = MachServiceManager::new(deployment.mach_service_manager, &admin.provider);
    admin
        .send(
            "remove the operator from the allowlist",
            msm.removeFromAllowlist(setup.ecdsa.address())
                .into_transaction_request(),
        )
        .await
        .unwrap();
    let dir = setup.path().to_path_buf();
    let (ok, out) = tokio::task::spawn_blocking(move || doctor(&dir, &[]))
        .await
        .unwrap();
    assert!(!ok);
    assert_fail(&out, "allowlist soneium", "AVS team");
    assert_ok(&out, "registration soneium");
}

#[test]
fn ports_check() {
    let mut setup = Setup::new(&dead_url());
    let (_, out) = doctor(setup.path(), &[]);
    for check in [
        "port OPERATOR_SERVER_URL",
        "port NODE_API_URL",
        "port EIGEN_METRICS_URL",
    ] {
        assert_ok(&out, check);
    }
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    for name in ["OPERATOR_SERVER_URL", "NODE_API_URL", "EIGEN_METRICS_URL"] {
        let before = setup.var(name);
        setup.set(name, &addr);
        let (ok, out) = doctor(setup.path(), &[]);
        assert!(!ok);
        assert_fail(&out, &format!("port {name}"), name);
        setup.set(name, &before);
    }
    // A disabled node API does not need its port.
    setup.set("NODE_API_URL", &addr);
    setup.set("ENABLE_NODE_API", "false");
    let (_, out) = doctor(setup.path(), &[]);
    assert_ok(&out, "port NODE_API_URL");
    // A switch the node rejects is reported as the node reports it, not read as "off".
    setup.set("ENABLE_NODE_API", "yes");
    let (ok, out) = doctor(setup.path(), &[]);
    assert!(!ok);
    assert_fail(&out, "node settings", "ENABLE_NODE_API");
    assert_fail(&out, "ports", "node settings");
}

#[test]
fn verifier_config_and_rollup_rpc_checks() {
    let rollup = Anvil::spawn(&AnvilConfig::new(1868)).unwrap();
    let setup = Setup::new(&dead_url());
    // The reference file with our rollup's URL.
    let reference = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/verifier/tests/data/mach-config.toml");
    let text = std::fs::read_to_string(&reference)
        .unwrap()
        .replace("https://rpc.soneium.org/", rollup.url());
    std::fs::write(setup.path().join("mach-config.toml"), text).unwrap();
    let (_, out) = doctor(setup.path(), &["--config", "mach-config.toml"]);
    assert_ok(&out, "verifier config");
    assert_ok(&out, "rollup RPC");
    assert!(line(&out, "rollup RPC").contains("chain 1868"), "{out}");

    // The older [fetcher] section is read too; an RPC that does not answer fails.
    std::fs::write(
        setup.path().join("old.toml"),
        format!("[fetcher]\nurl = \"{}\"\n", dead_url()),
    )
    .unwrap();
    let (ok, out) = doctor(setup.path(), &["--config", "old.toml"]);
    assert!(!ok);
    assert_ok(&out, "verifier config");
    assert_fail(&out, "rollup RPC", "[fetcher].url");

    std::fs::write(setup.path().join("bad.toml"), "[collector\nurl = 1\n").unwrap();
    let (_, out) = doctor(setup.path(), &["--config", "bad.toml"]);
    assert_fail(&out, "verifier config", "not valid TOML");
    assert_fail(&out, "rollup RPC", "mach-config.toml");
}

/// `--genesis-config`: the genesis file's OP Stack fork schedule is checked against the bundled
/// Superchain registry as `mach verifier` checks it (the reference Soneium genesis lists forks
/// only to Holocene), and the rollup RPC must serve the genesis file's chain.
#[test]
fn chain_rules_check_the_genesis_against_the_registry() {
    let rollup = Anvil::spawn(&AnvilConfig::new(1868)).unwrap();
    let setup = Setup::new(&dead_url());
    let stale = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/verifier/tests/data/soneium-genesis.json");
    std::fs::copy(&stale, setup.path().join("genesis.json")).unwrap();
    std::fs::write(
        setup.path().join("mach-config.toml"),
        format!("[collector]\nurl = \"{}\"\n", rollup.url()),
    )
    .unwrap();
    let (ok, out) = doctor(setup.path(), &["--genesis-config", "genesis.json"]);
    assert!(!ok);
    for says in [
        "Soneium (chain 1868)",
        "Isthmus: genesis none, registry 1746806401",
        "Jovian: genesis none, registry 1764691201",
        "Karst: genesis none, registry 1783526401",
        "--chain-rules registry",
    ] {
        assert_fail(&out, "chain rules", says);
    }
    let (_, out) = doctor(
        setup.path(),
        &[
            "--genesis-config",
            "genesis.json",
            "--chain-rules",
            "registry",
            "--config",
            "mach-config.toml",
        ],
    );
    assert_ok(&out, "chain rules");
    assert!(
        line(&out, "chain rules").contains("Karst@1783526401"),
        "{out}"
    );
    assert_ok(&out, "rollup RPC");

    // The compose deployment's Soneium genesis is current; a rollup of another chain fails.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/compose/configs/chain/soneium/genesis.json");
    std::fs::copy(&shipped, setup.path().join("current.json")).unwrap();
    let other = Anvil::spawn(&AnvilConfig::new(901)).unwrap();
    std::fs::write(
        setup.path().join("other.toml"),
        format!("[collector]\nurl = \"{}\"\n", other.url()),
    )
    .unwrap();
    let (_, out) = doctor(
        setup.path(),
        &["--genesis-config", "current.json", "--config", "other.toml"],
    );
    assert_ok(&out, "chain rules");
    assert_fail(
        &out,
        "rollup RPC",
        "is chain 901 but the genesis file is chain 1868",
    );
}

/// With the keys in remote signers, doctor asks them: Cerberus must hold the configured BLS key
/// and accept the API key; web3signer must sign for OPERATOR_ECDSA_ADDRESS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_signers_are_asked() {
    use mach_devnet::cerberus::CerberusServer;
    use mach_test_support::web3signer::{self, Behaviour};
    let mut setup = Setup::new(&dead_url());
    let cerberus = CerberusServer::start(setup.bls.clone(), "doctor api key").await;
    setup.unset("NODE_BLS_KEY_FILE_HOST");
    setup.unset("OPERATOR_BLS_KEY_PASSWORD");
    setup.set("NODE_BLS_SIGNER", "cerberus");
    setup.set("NODE_BLS_CERBERUS_URL", &cerberus.url);
    let g1 = mach_node::cerberus::hex_g1(&setup.bls.public_key());
    setup.set("NODE_BLS_CERBERUS_PUBLIC_KEY_G1", &g1);
    setup.set("NODE_BLS_CERBERUS_API_KEY", "doctor api key");
    let operator = mach_chain::signer(&setup.ecdsa);
    let w3 = web3signer::start(operator.clone(), Behaviour::Honest).await;
    setup.unset("NODE_ECDSA_KEY_FILE_HOST");
    setup.unset("OPERATOR_ECDSA_KEY_PASSWORD");
    setup.set("MACH_ECDSA_SIGNER", "web3signer");
    setup.set("MACH_WEB3SIGNER_URL", &w3.url);
    setup.set("MACH_SIGNER_ADDRESS", &operator.address().to_string());
    let (_, out) = doctor(setup.path(), &[]);
    assert_ok(&out, "BLS signer answers");
    assert_ok(&out, "ECDSA signer");
    assert!(line(&out, "ECDSA signer").contains(&w3.url), "{out}");
    assert!(!out.contains("ECDSA key file"), "{out}");

    setup.set("NODE_BLS_CERBERUS_API_KEY", "wrong");
    let other = alloy::signers::local::PrivateKeySigner::random();
    setup.set("OPERATOR_ECDSA_ADDRESS", &other.address().to_string());
    let (ok, out) = doctor(setup.path(), &[]);
    assert!(!ok);
    assert_fail(&out, "BLS signer answers", "NODE_BLS_CERBERUS_API_KEY");
    assert_fail(&out, "ECDSA signer", "OPERATOR_ECDSA_ADDRESS");
    setup.set("NODE_BLS_CERBERUS_API_KEY", "doctor api key");
    cerberus.behaviour.lock().unwrap().key = BlsSecretKey::random();
    let (_, out) = doctor(setup.path(), &[]);
    assert_fail(&out, "BLS signer answers", "another key");
}
