//! moto's AWS KMS server with DIGEST signing (`scripts/kms-test-server.py`, in the venv that
//! `make setup` installs under `.tools/moto`), started per test on a free port and killed when
//! dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Starts the server; panics (never skips) when moto is not installed or does not listen.
pub fn start() -> Moto {
    let python = repo().join(".tools/moto/bin/python");
    assert!(
        python.is_file(),
        "moto is not installed at {}: run `make setup` (scripts/moto-setup.sh) in the repository",
        python.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&python)
        .arg(repo().join("scripts/kms-test-server.py"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let moto = Moto {
        url: format!("http://127.0.0.1:{port}"),
        child,
    };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto (scripts/kms-test-server.py) did not listen on port {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    moto
}

/// A KMS client for moto: credentials `test`/`test`, region `us-east-1`.
pub fn client(url: &str) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url(url)
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

/// Creates an `ECC_SECG_P256K1` `SIGN_VERIFY` key and returns its ID.
pub async fn create_key(client: &aws_sdk_kms::Client) -> String {
    let key = client
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::EccSecgP256K1)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .expect("create a KMS key in moto");
    key.key_metadata().unwrap().key_id().to_string()
}
