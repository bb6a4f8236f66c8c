//! anvil chains for tests and the local devnet: found where the README's setup installs it,
//! started on a free port, logged to a file, and killed when the handle is dropped.

use alloy::signers::local::{
    coins_bip39::English, LocalSignerError, MnemonicBuilder, PrivateKeySigner,
};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The mnemonic anvil derives its dev accounts from when none is given.
const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// How long anvil may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Why anvil could not be found or started.
#[derive(Debug, thiserror::Error)]
pub enum AnvilError {
    /// No anvil binary anywhere we look.
    #[error(
        "anvil not found: run `make setup` (it runs `npm ci`) in the repository to install the \
         pinned Foundry binaries, or set MACH_ANVIL_BIN to an anvil binary"
    )]
    NotFound,
    /// `MACH_ANVIL_BIN` names a file that is not there.
    #[error("MACH_ANVIL_BIN={} is not a file; point it at an anvil binary or unset it", .0.display())]
    BadOverride(PathBuf),
    /// The process could not be spawned.
    #[error("cannot start {}: {source}", path.display())]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// anvil exited or never said it was listening.
    #[error("anvil did not start: {reason} (log: {})", log.display())]
    Start {
        /// What happened.
        reason: String,
        /// Its log file.
        log: PathBuf,
    },
    /// The log file could not be created.
    #[error("cannot create the anvil log {}: {source}", path.display())]
    Log {
        /// The log file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// How to start an anvil chain.
#[derive(Clone, Debug)]
pub struct AnvilConfig {
    /// Chain ID of the new chain.
    pub chain_id: u64,
    /// Interval mining; `None` mines each transaction as it arrives.
    pub block_time: Option<Duration>,
    /// Port to listen on; 0 lets the system pick a free one.
    pub port: u16,
    /// Where anvil's output goes; `None` keeps it in a temporary file that lives as long as the
    /// handle.
    pub log_path: Option<PathBuf>,
    /// Number of funded dev accounts.
    pub accounts: u32,
    /// Further command-line arguments, for example `--hardfork prague` or `--optimism`.
    pub args: Vec<String>,
}

impl AnvilConfig {
    /// A chain whose blocks follow the header rules the block validator enforces, as far as
    /// anvil can: Prague from genesis and a zero base fee (anvil does not derive block 1's base
    /// fee from genesis by EIP-1559; zero is a fixed point of the rule). After start, call
    /// [`Anvil::space_timestamps`]; [`Anvil::genesis_json`] describes the chain to a verifier.
    /// What anvil still does differently from Ethereum is listed in docs/decisions.md.
    pub fn validatable(chain_id: u64) -> Self {
        let mut config = Self::new(chain_id);
        config.args = ["--hardfork", "prague", "--block-base-fee-per-gas", "0"]
            .map(String::from)
            .to_vec();
        config
    }

    /// A chain with `chain_id`, automine, a free port and a temporary log.
    pub fn new(chain_id: u64) -> Self {
        Self {
            chain_id,
            block_time: None,
            port: 0,
            log_path: None,
            accounts: 10,
            args: Vec::new(),
        }
    }
}

/// A running anvil. Dropping it kills the process.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    url: String,
    chain_id: u64,
    log_path: PathBuf,
    _log_dir: Option<tempfile::TempDir>,
}

impl Anvil {
    /// Finds anvil and starts it; returns once it listens.
    pub fn spawn(config: &AnvilConfig) -> Result<Self, AnvilError> {
        let binary = find_anvil()?;
        let (log_path, log_dir) = match &config.log_path {
            Some(path) => (path.clone(), None),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("mach-anvil-")
                    .tempdir()
                    .map_err(|source| AnvilError::Log {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                (dir.path().join("anvil.log"), Some(dir))
            }
        };
        let log = std::fs::File::create(&log_path).map_err(|source| AnvilError::Log {
            path: log_path.clone(),
            source,
        })?;
        let mut cmd = Command::new(&binary);
        cmd.arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(config.port.to_string())
            .arg("--chain-id")
            .arg(config.chain_id.to_string())
            .arg("--accounts")
            .arg(config.accounts.to_string());
        if let Some(block_time) = config.block_time {
            cmd.arg("--block-time")
                .arg(block_time.as_secs().max(1).to_string());
        }
        cmd.args(&config.args);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.try_clone().map_err(|source| AnvilError::Log {
                path: log_path.clone(),
                source,
            })?)
            .spawn()
            .map_err(|source| AnvilError::Spawn {
                path: binary.clone(),
                source,
            })?;

        // Copy stdout into the log, and report the address anvil announces.
        let (tx, rx) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            let mut log = log;
            std::thread::spawn(move || {
                let mut announced = false;
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = writeln!(log, "{line}");
                    if !announced {
                        if let Some(addr) = line.trim().strip_prefix("Listening on ") {
                            announced = true;
                            let _ = tx.send(addr.trim().to_string());
                        }
                    }
                }
            });
        }
        let mut anvil = Self {
            child,
            url: String::new(),
            chain_id: config.chain_id,
            log_path,
            _log_dir: log_dir,
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => anvil.url = format!("http://{addr}"),
            Err(_) => {
                let reason = match anvil.child.try_wait() {
                    Ok(Some(status)) => format!("it exited with {status}"),
                    _ => format!("it did not listen within {} s", START_TIMEOUT.as_secs()),
                };
                return Err(AnvilError::Start {
                    reason,
                    log: anvil.log_path.clone(),
                });
            }
        }
        tracing::debug!(url = %anvil.url, chain_id = anvil.chain_id, "anvil started");
        Ok(anvil)
    }

    /// The HTTP JSON-RPC endpoint, e.g. `http://127.0.0.1:38211`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The WebSocket endpoint (anvil serves both on one port).
    pub fn ws_url(&self) -> String {
        self.url.replacen("http://", "ws://", 1)
    }

    /// The chain ID it was started with.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The file anvil's output goes to.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The operating system's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Makes each new block one second after its parent: automining anvil may otherwise give
    /// consecutive blocks the same timestamp, which no Ethereum chain accepts.
    pub async fn space_timestamps(&self) -> Result<(), String> {
        use alloy::providers::{Provider, ProviderBuilder};
        let url = self.url.parse().map_err(|e| format!("{}: {e}", self.url))?;
        let provider = ProviderBuilder::new().connect_http(url);
        provider
            .raw_request::<_, serde_json::Value>(
                "anvil_setBlockTimestampInterval".into(),
                serde_json::json!([1]),
            )
            .await
            .map(|_| ())
            .map_err(|e| format!("anvil_setBlockTimestampInterval: {e}"))
    }

    /// A geth-style `genesis.json` with this chain's ID and every fork through Prague from
    /// genesis: the rules of a [`AnvilConfig::validatable`] chain, for `--genesis-config`.
    pub fn genesis_json(&self) -> String {
        serde_json::json!({"config": {
            "chainId": self.chain_id, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
            "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0,
            "petersburgBlock": 0, "istanbulBlock": 0, "berlinBlock": 0, "londonBlock": 0,
            "mergeNetsplitBlock": 0, "terminalTotalDifficulty": 0, "shanghaiTime": 0,
            "cancunTime": 0, "pragueTime": 0,
            "depositContractAddress": "0x0000000000000000000000000000000000000000"
        }})
        .to_string()
    }

    /// Dev account `index` (funded with 10000 ETH at genesis).
    pub fn dev_signer(&self, index: u32) -> Result<PrivateKeySigner, LocalSignerError> {
        dev_signer(index)
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Dev account `index` of anvil's default mnemonic.
pub fn dev_signer(index: u32) -> Result<PrivateKeySigner, LocalSignerError> {
    MnemonicBuilder::<English>::default()
        .phrase(DEV_MNEMONIC)
        .index(index)?
        .build()
}

/// The anvil binary: `MACH_ANVIL_BIN`, else `node_modules/.bin/anvil` of the repository (looked
/// for above the current directory and above this crate's source), else `anvil` on `PATH`.
pub fn find_anvil() -> Result<PathBuf, AnvilError> {
    if let Some(path) = std::env::var_os("MACH_ANVIL_BIN").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(AnvilError::BadOverride(path))
        };
    }
    let in_repo = |start: &Path| {
        start
            .ancestors()
            .map(|dir| dir.join("node_modules/.bin/anvil"))
            .find(|candidate| candidate.is_file())
    };
    if let Some(found) = std::env::current_dir().ok().and_then(|dir| in_repo(&dir)) {
        return Ok(found);
    }
    if let Some(found) = in_repo(Path::new(env!("CARGO_MANIFEST_DIR"))) {
        return Ok(found);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("anvil"))
        .find(|candidate| candidate.is_file())
        .ok_or(AnvilError::NotFound)
}
