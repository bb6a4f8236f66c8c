//! Helpers the `mach` integration tests share.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Variables of an operator's shell that change what `mach` does; cleared for every run, so
/// each test sets exactly what it means.
const OPERATOR_VARS: [&str; 5] = [
    "ETH_RPC_URL",
    "OPERATOR_ECDSA_KEY_PASSWORD",
    "OPERATOR_BLS_KEY_PASSWORD",
    "OPERATOR_ECDSA_ADDRESS",
    "EIGENLAYER_HOME",
];

/// Runs the `mach` binary with `args`, the calling shell's operator variables cleared, then
/// `env` set, stdin closed (never a terminal).
pub fn mach(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mach"));
    cmd.args(args).stdin(Stdio::null());
    for name in OPERATOR_VARS {
        cmd.env_remove(name);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().expect("run mach")
}

/// Standard output, then standard error.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A port free now (the kernel's pick), for a child process to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Writes `text` to `path` readable by the owner only, as key passwords and `.env` files are.
pub fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
