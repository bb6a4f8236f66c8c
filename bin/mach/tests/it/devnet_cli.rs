//! `mach devnet deploy` against a real anvil, with a raw key and with a key file.

use crate::support::mach;
use mach_devnet::{Anvil, AnvilConfig};

const ANVIL_KEY_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[test]
fn deploy_with_private_key_writes_the_record() {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("deployment.json");
    let result = mach(
        &[
            "devnet",
            "deploy",
            "--rpc-url",
            anvil.url(),
            "--private-key",
            ANVIL_KEY_0,
            "--rollup-chain-id",
            "777",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    // One progress line per contract.
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("deployed") && l.contains("MachServiceManager implementation")),
        "{stderr}"
    );
    assert!(
        stderr.lines().filter(|l| l.contains("deployed")).count() >= 20,
        "{stderr}"
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(record["rollupChainId"], 777);
    assert_eq!(
        record["deployer"],
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
}

#[test]
fn deploy_with_key_file_and_clear_errors() {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let pw = [("OPERATOR_ECDSA_KEY_PASSWORD", "pw")];
    let imported = mach(
        &[
            "keys",
            "import",
            "--key-type",
            "ecdsa",
            "--private-key",
            ANVIL_KEY_0,
            "deployer",
            "--dir",
            d,
        ],
        &pw,
    );
    assert!(imported.status.success());
    let key_file = tmp.path().join("deployer.ecdsa.key.json");
    let out = tmp.path().join("d.json");
    let result = mach(
        &[
            "devnet",
            "deploy",
            "--ecdsa-key-file",
            key_file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("ETH_RPC_URL", anvil.url()), pw[0]],
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(String::from_utf8_lossy(&result.stdout).contains("MachServiceManager:"));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(record["rollupChainId"], 1868);

    // Wrong password (from a --password-file), unreachable RPC: one line that names the
    // problem.
    let wrong = tmp.path().join("wrong-password");
    std::fs::write(&wrong, "wrong\n").unwrap();
    let result = mach(
        &[
            "devnet",
            "deploy",
            "--ecdsa-key-file",
            key_file.to_str().unwrap(),
            "--password-file",
            wrong.to_str().unwrap(),
            "--rpc-url",
            anvil.url(),
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&result.stderr).contains("wrong password for"));
    let result = mach(
        &[
            "devnet",
            "deploy",
            "--private-key",
            ANVIL_KEY_0,
            "--rpc-url",
            "http://127.0.0.1:9",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains("cannot reach the L1 RPC at http://127.0.0.1:9"),
        "{stderr}"
    );
}
