//! `mach keys` end to end, through the real binary: round trips, file modes, refusals and the
//! one-line errors an operator sees.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

/// Runs `mach` quietly (warnings and errors only) with `env`.
fn mach(args: &[&str], env: &[(&str, &str)]) -> Output {
    crate::support::mach(args, &[&[("RUST_LOG", "warn")], env].concat())
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "mach failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The error line of a failed run; also checks it is one line and not a panic.
fn err(out: &Output) -> String {
    assert!(!out.status.success(), "mach unexpectedly succeeded");
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    line.to_string()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn field(out: &str, prefix: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {out}"))
        .trim()
        .to_string()
}

#[test]
fn ecdsa_round_trip_create_list_show_export_import() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let d = dir.to_str().unwrap();
    let pw = [("OPERATOR_ECDSA_KEY_PASSWORD", "correct horse")];

    let out = ok(&mach(
        &["keys", "create", "--key-type", "ecdsa", "opr", "--dir", d],
        &pw,
    ));
    let address = field(&out, "Address:");
    assert!(out.contains("Back up"), "{out}");
    let file = dir.join("opr.ecdsa.key.json");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&dir), 0o700);

    let listed = ok(&mach(&["keys", "list", "--dir", d], &[]));
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("opr ") && l.contains("ECDSA") && l.contains(&address)),
        "{listed}"
    );

    let f = file.to_str().unwrap();
    let shown = ok(&mach(
        &["keys", "show", "--key-type", "ecdsa", f, "--json"],
        &pw,
    ));
    let json: serde_json::Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(json, serde_json::json!({ "address": address }));

    assert!(err(&mach(&["keys", "export", "--key-type", "ecdsa", f], &pw)).contains("--reveal"));
    let secret = ok(&mach(
        &["keys", "export", "--key-type", "ecdsa", f, "--reveal"],
        &pw,
    ));
    let secret = secret.trim();
    assert!(secret.starts_with("0x") && secret.len() == 66, "{secret}");

    let out = ok(&mach(
        &[
            "keys",
            "import",
            "--key-type",
            "ecdsa",
            "--private-key",
            secret,
            "again",
            "--dir",
            d,
        ],
        &pw,
    ));
    assert_eq!(field(&out, "Address:"), address);
    let again = dir.join("again.ecdsa.key.json");
    assert_ne!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&file).unwrap(),
        "fresh salt and iv"
    );
    let exported = ok(&mach(
        &[
            "keys",
            "export",
            "--key-type",
            "ecdsa",
            again.to_str().unwrap(),
            "--reveal",
        ],
        &pw,
    ));
    assert_eq!(exported.trim(), secret);
}

#[test]
fn bls_round_trip_with_password_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let d = dir.to_str().unwrap();
    let pw_file = tmp.path().join("pw");
    std::fs::write(&pw_file, "bls secret\n").unwrap();
    let p = pw_file.to_str().unwrap();

    let out = ok(&mach(
        &[
            "keys",
            "create",
            "--key-type",
            "bls",
            "opr",
            "--dir",
            d,
            "--password-file",
            p,
        ],
        &[],
    ));
    let operator_id = field(&out, "Operator ID:");
    let pubkey = field(&out, "Public key (G1):");
    let file = dir.join("opr.bls.key.json");
    assert_eq!(mode(&file), 0o600);
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(stored["pubKey"], pubkey.as_str());

    let listed = ok(&mach(&["keys", "list", "--dir", d], &[]));
    assert!(
        listed.contains(&pubkey) && listed.contains(&operator_id),
        "{listed}"
    );

    let f = file.to_str().unwrap();
    let shown = ok(&mach(
        &[
            "keys",
            "show",
            "--key-type",
            "bls",
            f,
            "--json",
            "--password-file",
            p,
        ],
        &[],
    ));
    let json: serde_json::Value = serde_json::from_str(shown.trim()).unwrap();
    let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["operator_id", "pubkey_g1", "pubkey_g2"]);
    assert_eq!(json["operator_id"], operator_id.as_str());
    let g1 = format!(
        "E([{},{}])",
        json["pubkey_g1"]["x"].as_str().unwrap(),
        json["pubkey_g1"]["y"].as_str().unwrap()
    );
    assert_eq!(g1, pubkey);
    assert_eq!(json["pubkey_g2"]["x"].as_array().unwrap().len(), 2);

    // The same password from the environment works too, and export/import preserves the key.
    let env = [("OPERATOR_BLS_KEY_PASSWORD", "bls secret")];
    let scalar = ok(&mach(
        &["keys", "export", "--key-type", "bls", f, "--reveal"],
        &env,
    ));
    let scalar = scalar.trim();
    assert!(scalar.chars().all(|c| c.is_ascii_digit()), "{scalar}");
    let out = ok(&mach(
        &[
            "keys",
            "import",
            "--key-type",
            "bls",
            "--private-key",
            scalar,
            "copy",
            "--dir",
            d,
        ],
        &env,
    ));
    assert_eq!(field(&out, "Operator ID:"), operator_id);
}

#[test]
fn refusals_and_errors_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let pw = [
        ("OPERATOR_ECDSA_KEY_PASSWORD", "pw"),
        ("OPERATOR_BLS_KEY_PASSWORD", "pw"),
    ];
    ok(&mach(
        &[
            "keys",
            "import",
            "--key-type",
            "ecdsa",
            "--private-key",
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
            "opr",
            "--dir",
            d,
        ],
        &pw,
    ));
    let file = tmp.path().join("opr.ecdsa.key.json");
    let before = std::fs::read(&file).unwrap();

    // Overwrite refused, file untouched.
    let e = err(&mach(
        &["keys", "create", "--key-type", "ecdsa", "opr", "--dir", d],
        &pw,
    ));
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // Known answer through the binary.
    let f = file.to_str().unwrap();
    let shown = ok(&mach(&["keys", "show", "--key-type", "ecdsa", f], &pw));
    assert!(
        shown.contains("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
        "{shown}"
    );

    // Wrong password.
    let e = err(&mach(
        &["keys", "show", "--key-type", "ecdsa", f],
        &[("OPERATOR_ECDSA_KEY_PASSWORD", "nope")],
    ));
    assert_eq!(e, format!("error: wrong password for {f}"));

    // ECDSA file given as BLS.
    let e = err(&mach(&["keys", "show", "--key-type", "bls", f], &pw));
    assert!(e.contains("pass --key-type ecdsa"), "{e}");

    // Missing file.
    let missing = tmp.path().join("nope.json");
    let e = err(&mach(
        &[
            "keys",
            "show",
            "--key-type",
            "bls",
            missing.to_str().unwrap(),
        ],
        &pw,
    ));
    assert!(e.contains("does not exist"), "{e}");

    // Malformed JSON names the field.
    let broken = tmp.path().join("broken.json");
    let text = String::from_utf8(before)
        .unwrap()
        .replacen("\"salt\":\"", "\"salt\":\"zz", 1);
    std::fs::write(&broken, text).unwrap();
    let e = err(&mach(
        &[
            "keys",
            "show",
            "--key-type",
            "ecdsa",
            broken.to_str().unwrap(),
        ],
        &pw,
    ));
    assert!(e.contains("crypto.kdfparams.salt"), "{e}");

    // Empty password only when asked for.
    let e = err(&mach(
        &["keys", "create", "--key-type", "bls", "empty", "--dir", d],
        &[("OPERATOR_BLS_KEY_PASSWORD", "")],
    ));
    assert!(e.contains("--allow-empty-password"), "{e}");
    assert!(!tmp.path().join("empty.bls.key.json").exists());
    ok(&mach(
        &[
            "keys",
            "create",
            "--key-type",
            "bls",
            "empty",
            "--dir",
            d,
            "--allow-empty-password",
        ],
        &[("OPERATOR_BLS_KEY_PASSWORD", "")],
    ));
    // Set-but-empty variable is the empty password when reading.
    let empty = tmp.path().join("empty.bls.key.json");
    ok(&mach(
        &["keys", "show", "--key-type", "bls", empty.to_str().unwrap()],
        &[("OPERATOR_BLS_KEY_PASSWORD", "")],
    ));

    // No password source and no terminal.
    let e = err(&mach(
        &["keys", "show", "--key-type", "bls", empty.to_str().unwrap()],
        &[],
    ));
    assert!(e.contains("OPERATOR_BLS_KEY_PASSWORD"), "{e}");

    // Bad private keys and names.
    let e = err(&mach(
        &[
            "keys",
            "import",
            "--key-type",
            "ecdsa",
            "--private-key",
            "0x12",
            "x",
            "--dir",
            d,
        ],
        &pw,
    ));
    assert!(e.contains("invalid private key"), "{e}");
    let e = err(&mach(
        &["keys", "create", "--key-type", "ecdsa", "../x", "--dir", d],
        &pw,
    ));
    assert!(e.contains("invalid key name"), "{e}");
}

#[test]
fn default_directory_follows_eigenlayer_home() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("el");
    let env = [
        ("EIGENLAYER_HOME", home.to_str().unwrap()),
        ("OPERATOR_BLS_KEY_PASSWORD", "pw"),
    ];
    ok(&mach(&["keys", "create", "--key-type", "bls", "opr"], &env));
    assert!(home.join("operator_keys/opr.bls.key.json").is_file());
    let listed = ok(&mach(&["keys", "list"], &env));
    assert!(listed.contains("opr"), "{listed}");
    let empty = ok(&mach(
        &[
            "keys",
            "list",
            "--dir",
            tmp.path().join("none").to_str().unwrap(),
        ],
        &[],
    ));
    assert!(empty.contains("No key files"), "{empty}");
}

#[test]
fn help_explains_the_commands() {
    let out = ok(&mach(&["--help"], &[]));
    assert!(out.contains("keys"), "{out}");
    let out = ok(&mach(&["keys", "create", "--help"], &[]));
    assert!(
        out.contains("--key-type") && out.contains("OPERATOR_BLS_KEY_PASSWORD"),
        "{out}"
    );
}
