//! Helpers the `mach` integration tests share.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Variables of an operator's shell that change what `mach` does; cleared for every run with the
/// signer variables (`MACH_ECDSA_SIGNER`, …), so each test sets exactly what it means.
const OPERATOR_VARS: [&str; 6] = [
    "ETH_RPC_URL",
    "OPERATOR_ECDSA_KEY_PASSWORD",
    "OPERATOR_BLS_KEY_PASSWORD",
    "OPERATOR_ECDSA_ADDRESS",
    "EIGENLAYER_HOME",
    "MACH_SIGNER_TIMEOUT_MS",
];

/// Runs the `mach` binary with `args`, the calling shell's operator variables cleared, then
/// `env` set, stdin closed (never a terminal).
pub fn mach(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mach"));
    cmd.args(args).stdin(Stdio::null());
    for name in OPERATOR_VARS
        .iter()
        .chain(&mach_chain::signer::SIGNER_VARIABLES)
    {
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

/// A child process killed when the test ends, whatever happens; its log is printed on failure.
pub struct Proc {
    /// The process.
    pub child: Child,
    /// Where its output goes.
    pub log: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- {} ---\n{}",
                self.log.display(),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// Starts `mach ARGS` in `dir` (info logs into `dir/NAME.log`), with no BLS key password from
/// the test's own environment.
pub fn spawn(args: &[&str], dir: &Path, name: &str) -> Proc {
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_mach"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .env_remove("OPERATOR_BLS_KEY_PASSWORD")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    Proc { child, log }
}

/// Waits until `url` answers HTTP at all (any status), or fails after a minute naming `what`.
/// Waits until `url` answers HTTP; fails if the process exits first or after a minute.
pub async fn wait_http(url: &str, what: &str, proc: &mut Proc) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if client.get(url).send().await.is_ok() {
            return;
        }
        if let Ok(Some(status)) = proc.child.try_wait() {
            panic!("{what} exited with {status} before answering at {url}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} did not answer at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
