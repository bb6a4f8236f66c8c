//! The devnet supervisor (`mach devnet up`): a whole MACH network on this machine.
//!
//! The supervisor (the calling process) starts an L1 anvil and a rollup (anvil driven by our own
//! sequencer, [`crate::rollup`]), deploys EigenLayer and MACH, onboards N operators through
//! the registration code paths, and starts `mach aggregator`, and per operator `mach node` and
//! `mach verifier` (the executable named by [`UpConfig::mach`]), each from its own files under
//! the devnet directory as an operator would have them. It then keeps producing rollup blocks
//! under a load, injects faults on request (`devnet_fault` on its control endpoint), judges the
//! faulty blocks with a verifier of its own to learn the alert each should raise, and watches L1
//! for the confirmations. With [`UpConfig::remote_bls_operator`] it also serves operator0's BLS
//! key from a Cerberus stand-in ([`crate::cerberus`]) in its own process, which that operator's
//! node signs through.

use crate::record::{
    self, write_json, Confirmation, DevnetRecord, FaultRecord, Logs, OperatorRecord, ProcessRecord,
};
use crate::rollup::{FaultKind, Network, Rollup, RollupConfig, RollupError};
use crate::{deploy, onboard_operator, Anvil, AnvilConfig, DeployConfig};
use alloy::primitives::{B256, U256};
use anyhow::{bail, Context, Result};
use mach_chain::{connect, Connection, Deployment};
use mach_keys::{BlsSecretKey, EcdsaSecretKey, KeyDir, KeyType};
use mach_runtime::block_on;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// L1 chain ID of the devnet (anvil's default).
const L1_CHAIN_ID: u64 = 31_337;
/// The AVS name in every operator's files.
const AVS_NAME: &str = "devnet";
/// Restaked tokens per operator (18 decimals): equal stakes.
const STAKE_TOKENS: u64 = 100;
/// How long the network may take to become healthy once its processes are started.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How often the supervisor polls L1 for confirmations.
const L1_POLL: Duration = Duration::from_millis(10);

/// What a devnet runs: the settings of `mach devnet up`.
#[derive(Clone, Debug)]
pub struct UpConfig {
    /// The devnet directory: configs, keys, databases and logs of every component. Wiped and
    /// recreated on each start (only if an earlier start made it).
    pub dir: PathBuf,
    /// Number of operators (each runs a node and a verifier).
    pub operators: u16,
    /// Seconds between rollup blocks.
    pub block_time: u64,
    /// Load on the rollup, in transactions per second.
    pub load: u32,
    /// What kind of rollup.
    pub l2_network: Network,
    /// The `mach` executable the roles are started with (`mach aggregator`, `mach node`,
    /// `mach verifier`, and `mach devnet up --supervise` for [`detach`]); the binary passes
    /// its own path (`std::env::current_exe()`).
    pub mach: PathBuf,
    /// Keep operator0's BLS key in a Cerberus stand-in ([`crate::cerberus`]) that the
    /// supervisor runs, instead of a key file: its node signs every alert through the Cerberus
    /// protocol (`NODE_BLS_SIGNER=cerberus`), and no BLS key file is written for it.
    pub remote_bls_operator: bool,
}

impl UpConfig {
    /// The devnet directory as an absolute path.
    fn absolute_dir(&self) -> Result<PathBuf> {
        std::path::absolute(&self.dir)
            .with_context(|| format!("cannot resolve {}", self.dir.display()))
    }
}

/// Runs a devnet in the foreground (`mach devnet up`): prepares the directory and supervises
/// until a signal or a critical task's end.
pub fn run(config: &UpConfig) -> Result<()> {
    let dir = config.absolute_dir()?;
    prepare_dir(&dir)?;
    block_on(supervise_dir(config, dir))
}

/// Supervises a devnet in a directory [`detach`] prepared (`mach devnet up --supervise`).
pub fn supervise(config: &UpConfig) -> Result<()> {
    let dir = config.absolute_dir()?;
    block_on(supervise_dir(config, dir))
}

/// Makes `dir` empty and ours: refuses a directory a running devnet uses, or one `up` did not
/// make.
fn prepare_dir(dir: &Path) -> Result<()> {
    if let Ok(pid) = std::fs::read_to_string(dir.join(record::PID)) {
        if let Ok(pid) = pid.trim().parse::<u32>() {
            if record::alive(pid) {
                bail!(
                    "a devnet is already running in {} (process {pid}); stop it with `mach devnet down --dir {}`",
                    dir.display(),
                    dir.display()
                );
            }
        }
    }
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_none();
        if !empty && !dir.join(record::MARKER).exists() {
            bail!(
                "{} exists and was not made by `mach devnet up`; choose another --dir (the devnet wipes its directory on each start)",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir.join("logs"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(
        dir.join(record::MARKER),
        "made by `mach devnet up`; wiped by the next one\n",
    )
    .with_context(|| format!("cannot write in {}", dir.display()))
}

/// `mach devnet up --detach`: prepares the directory, starts the supervisor (`mach devnet up
/// --supervise`) in its own process group (so a Ctrl-C here does not reach it), and waits until
/// it reports ready. Returns its record; stop it with [`crate::control::down`].
pub fn detach(config: &UpConfig) -> Result<DevnetRecord> {
    use std::os::unix::process::CommandExt;
    let dir = &config.absolute_dir()?;
    prepare_dir(dir)?;
    let log_path = dir.join("logs").join("devnet.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut child = Command::new(&config.mach)
        .args(["devnet", "up", "--supervise", "--dir"])
        .arg(dir)
        .args(["--operators", &config.operators.to_string()])
        .args(["--block-time", &config.block_time.to_string()])
        .args(["--load", &config.load.to_string()])
        .args(["--l2-network", &config.l2_network.to_string()])
        .args(
            config
                .remote_bls_operator
                .then_some("--remote-bls-operator"),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("cannot start the devnet supervisor")?;
    let started = Instant::now();
    loop {
        if let Ok(record) = record::load(dir) {
            if record.pid == child.id() {
                return Ok(record);
            }
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "the devnet did not start ({status}); last lines of {}:\n{}",
                log_path.display(),
                tail(&log_path, 30)
            );
        }
        if started.elapsed() > READY_TIMEOUT + Duration::from_secs(120) {
            let _ = child.kill();
            bail!(
                "the devnet was not ready after {} s; see {}",
                started.elapsed().as_secs(),
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A process the devnet started; its log is a file.
struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
    exited: bool,
}

/// Everything the supervisor runs, stopped in reverse order. Every process the devnet
/// started (the chains too) is listed in `DIR/processes.json` as soon as it runs, so that
/// `mach devnet down` finds them even if the supervisor died before it was ready.
struct Processes {
    list: Vec<Proc>,
    chains: Vec<ProcessRecord>,
    file: PathBuf,
    mach: PathBuf,
}

impl Processes {
    /// The processes of the devnet in `dir`, after its chains; `mach` is the executable the
    /// others run.
    fn new(dir: &Path, chains: Vec<ProcessRecord>, mach: &Path) -> Result<Self> {
        let procs = Self {
            list: Vec::new(),
            chains,
            file: dir.join(record::PROCESSES),
            mach: mach.to_path_buf(),
        };
        procs.save()?;
        Ok(procs)
    }

    /// Every process started: the chains, then the others.
    fn records(&self) -> Vec<ProcessRecord> {
        self.chains
            .iter()
            .cloned()
            .chain(self.list.iter().map(|p| ProcessRecord {
                name: p.name.clone(),
                pid: p.child.id(),
            }))
            .collect()
    }

    fn save(&self) -> Result<()> {
        write_json(&self.file, &self.records())
    }

    /// Starts `mach <args>` in `cwd` with its output in `log`.
    fn spawn_mach(&mut self, name: &str, args: &[&str], cwd: &Path, log: &Path) -> Result<()> {
        let out = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(&self.mach)
            .args(args)
            .current_dir(cwd)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        self.list.push(Proc {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
            exited: false,
        });
        self.save()
    }

    /// Fails, naming the process and its log, if any process has exited.
    fn check(&mut self) -> Result<()> {
        for proc in &mut self.list {
            if let Some(status) = proc.child.try_wait()? {
                bail!(
                    "{} exited ({status}); last lines of {}:\n{}",
                    proc.name,
                    proc.log.display(),
                    tail(&proc.log, 20)
                );
            }
        }
        Ok(())
    }

    /// Logs, once each, the processes that exited while the devnet runs.
    fn report_exits(&mut self) {
        for proc in self.list.iter_mut().filter(|p| !p.exited) {
            if let Ok(Some(status)) = proc.child.try_wait() {
                proc.exited = true;
                tracing::error!(process = %proc.name, log = %proc.log.display(), "{} exited ({status}); the devnet goes on without it", proc.name);
            }
        }
    }

    /// SIGTERM to all, then SIGKILL to those still running after 10 s.
    fn stop(&mut self) {
        for proc in self.list.iter().rev() {
            record::signal(proc.child.id(), false);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for proc in self.list.iter_mut().rev() {
            loop {
                match proc.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        let _ = proc.child.kill();
                        let _ = proc.child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the supervisor's tasks share.
#[derive(Default)]
struct Shared {
    faults: Vec<FaultRecord>,
    /// Block number → message hash of the alert the watcher raised for it.
    judged: HashMap<u64, B256>,
    /// Message hash → its confirmation as seen on L1.
    confirmed: HashMap<B256, (B256, u64, u64)>,
    /// Newest rollup block produced.
    head: u64,
}

impl Shared {
    /// Fills in what the faults learned from the watcher and from L1.
    fn reconcile(&mut self) {
        for fault in &mut self.faults {
            if fault.message_hash.is_none() {
                fault.message_hash = self.judged.get(&fault.invalid_block).copied();
            }
            if let (Some(hash), None) = (fault.message_hash, &fault.confirmed) {
                if let Some((l1_tx, l1_block, seen_at_ms)) = self.confirmed.get(&hash) {
                    fault.confirmed = Some(Confirmation {
                        l1_tx: *l1_tx,
                        l1_block: *l1_block,
                        seen_at_ms: *seen_at_ms,
                        latency_ms: seen_at_ms.saturating_sub(fault.produced_at_ms),
                    });
                }
            }
        }
    }
}

type SharedState = Arc<Mutex<Shared>>;

fn lock(shared: &SharedState) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Saves the fault list (after reconciling).
fn save_faults(dir: &Path, shared: &SharedState) {
    let faults = {
        let mut state = lock(shared);
        state.reconcile();
        state.faults.clone()
    };
    if let Err(e) = write_json(&dir.join(record::FAULTS), &faults) {
        tracing::error!(error = %format!("{e:#}"), "cannot record the faults");
    }
}

/// A fault request from the control endpoint.
type FaultRequest = (FaultKind, oneshot::Sender<Result<FaultRecord, String>>);

async fn supervise_dir(config: &UpConfig, dir: PathBuf) -> Result<()> {
    let started = Instant::now();
    std::fs::write(dir.join(record::PID), std::process::id().to_string())
        .context("cannot write the pid file")?;
    // A signal at any point, during startup too, drops `start_and_run`: what it started stops.
    let result = tokio::select! {
        result = start_and_run(config, &dir, started) => result,
        _ = mach_runtime::signal() => {
            println!("stopping the devnet");
            Ok(())
        }
    };
    for file in [record::RECORD, record::PID, record::PROCESSES] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    match &result {
        Ok(()) => println!(
            "devnet stopped; logs stay in {}",
            dir.join("logs").display()
        ),
        Err(e) => eprintln!("devnet failed: {e:#}"),
    }
    result
}

async fn start_and_run(args: &UpConfig, dir: &Path, started: Instant) -> Result<()> {
    let logs = dir.join("logs");

    // The chains (dropped after the processes, declared below).
    let mut l1_config = AnvilConfig::new(L1_CHAIN_ID);
    l1_config.log_path = Some(logs.join("l1.log"));
    let l1 = Anvil::spawn(&l1_config)?;
    println!("L1 anvil at {} (chain {L1_CHAIN_ID})", l1.url());
    let seed = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1))
        | 1;
    let rollup = Rollup::start(&RollupConfig {
        network: args.l2_network,
        chain_id: crate::deploy::DEVNET_ROLLUP_CHAIN_ID,
        port: 0,
        log_path: Some(logs.join("l2.log")),
        seed,
    })
    .await?;
    println!(
        "rollup anvil at {} ({}, chain {}, load seed {seed:#x})",
        rollup.url(),
        rollup.network(),
        rollup.chain_id()
    );

    let mut procs = Processes::new(
        dir,
        vec![
            ProcessRecord {
                name: "l1-anvil".into(),
                pid: l1.pid(),
            },
            ProcessRecord {
                name: "l2-anvil".into(),
                pid: rollup.pid(),
            },
        ],
        &args.mach,
    )?;

    // The contracts, from the deployer (anvil's first dev account), also the alert confirmer.
    let deployer = l1.dev_signer(0)?;
    let admin = connect(l1.url(), deployer.clone()).await?;
    let deployment = deploy(
        &admin,
        &DeployConfig {
            rollup_chain_id: rollup.chain_id(),
            ..DeployConfig::default()
        },
    )
    .await?;
    let deployment_file = dir.join("deployment.json");
    deployment.save(&deployment_file)?;
    println!(
        "deployed EigenLayer and MACH; MachServiceManager {}",
        deployment.mach_service_manager
    );

    // Operators: keys written (scrypt, in the background) while they register on L1. With
    // --remote-bls-operator, operator0's BLS key is never written: onboarding signs with it in
    // memory, and then only the Cerberus stand-in holds it.
    let operators: Vec<OperatorKeys> = (0..args.operators)
        .map(|i| OperatorKeys::new(dir, i, args.remote_bls_operator && i == 0))
        .collect::<Result<_>>()?;
    let key_files = {
        let keys: Vec<_> = operators.iter().map(OperatorKeys::to_write).collect();
        tokio::task::spawn_blocking(move || keys.iter().try_for_each(write_keys))
    };
    let stake = U256::from(STAKE_TOKENS) * U256::from(10u64).pow(U256::from(18u64));
    for op in &operators {
        onboard_operator(&admin, &deployment, &op.signer(), &op.bls, stake, &[0])
            .await
            .with_context(|| format!("cannot onboard {}", op.name))?;
    }
    key_files.await.context("key writer stopped")??;
    println!(
        "{} operators registered, staked and opted in",
        operators.len()
    );

    // The aggregator, confirming alerts with the deployer's key from a key file.
    let aggregator_dir = dir.join("aggregator");
    DirBuilder::new().mode(0o700).create(&aggregator_dir)?;
    let aggregator_port = free_port()?;
    let aggregator_url = format!("http://127.0.0.1:{aggregator_port}");
    let mut aggregator_config =
        mach_aggregator::AggregatorConfig::new(l1.url(), L1_CHAIN_ID, rollup.chain_id());
    aggregator_config.aggregator_jsonrpc_server_ip_port_address =
        format!("127.0.0.1:{aggregator_port}");
    aggregator_config.db_path = "db".into();
    let aggregator_metrics = format!("127.0.0.1:{}", free_port()?);
    aggregator_config.metrics_ip_port_address = Some(aggregator_metrics.clone());
    aggregator_config.save(&aggregator_dir.join("aggregator.yaml"))?;
    let confirmer_password = random_password();
    let confirmer_key = EcdsaSecretKey::from_bytes(deployer.to_bytes().as_slice())?;
    write_private(&aggregator_dir.join("password"), &confirmer_password)?;
    KeyDir::new(&aggregator_dir).write_new(
        "confirmer",
        KeyType::Ecdsa,
        &mach_keys::file::encrypt_ecdsa(&confirmer_key, &confirmer_password)?,
    )?;
    let aggregator_log = logs.join("aggregator.log");
    procs.spawn_mach(
        "aggregator",
        &[
            "aggregator",
            "--config",
            "aggregator.yaml",
            "--avs-deployment",
            "../deployment.json",
            "--ecdsa-key-file",
            "confirmer.ecdsa.key.json",
            "--password-file",
            "password",
        ],
        &aggregator_dir,
        &aggregator_log,
    )?;
    wait_until("the aggregator", &mut procs, || {
        let url = aggregator_url.clone();
        async move { reqwest::get(&url).await.is_ok() }
    })
    .await?;

    // The Cerberus stand-in holding the remote operator's key, in this process: it stops with
    // the devnet (dropped when this function returns), and a failure of it stops the devnet.
    let cerberus = match operators.iter().find(|op| op.remote_bls) {
        Some(op) => {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()?));
            let server = crate::cerberus::CerberusServer::serve(
                addr,
                op.bls.clone(),
                &random_password(),
                None,
            )
            .await?;
            println!(
                "{}'s BLS key is held by the devnet's Cerberus stand-in at {}",
                op.name, server.url
            );
            Some(server)
        }
        None => None,
    };
    let cerberus_access = cerberus.as_ref().map(|server| CerberusAccess {
        url: server.url.clone(),
        api_key: server
            .behaviour
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .api_key
            .clone(),
    });

    // Per operator: its node and verifier, from its own files.
    let setup_block = rollup.setup_block();
    let genesis = rollup.genesis_json();
    let mut records = Vec::new();
    for op in &operators {
        let remote = cerberus_access.as_ref().filter(|_| op.remote_bls);
        let files = op.write_files(
            &l1,
            &deployment,
            &aggregator_url,
            rollup.url(),
            &genesis,
            remote,
        )?;
        let node_log = logs.join(format!("{}-node.log", op.name));
        let verifier_log = logs.join(format!("{}-verifier.log", op.name));
        procs.spawn_mach(
            &format!("{}-node", op.name),
            &[
                "node",
                "--avs-config",
                "avs_configs.json",
                "--env-file",
                ".env",
            ],
            &op.home,
            &node_log,
        )?;
        let start = setup_block.to_string();
        procs.spawn_mach(
            &format!("{}-verifier", op.name),
            &[
                "verifier",
                "--config",
                "mach-config.toml",
                "--genesis-config",
                "genesis.json",
                "--db",
                "verifier-db",
                "--start-block",
                &start,
            ],
            &op.home,
            &verifier_log,
        )?;
        records.push(OperatorRecord {
            name: op.name.clone(),
            address: op.ecdsa.address(),
            operator_id: op.bls.operator_id().0,
            node_alert_url: files.alert_url,
            node_api_url: files.api_url,
            node_metrics_url: files.node_metrics_url,
            verifier_metrics_url: files.verifier_metrics_url,
            verifier_config: op.home.join("mach-config.toml"),
            genesis_config: op.home.join("genesis.json"),
            env_file: op.home.join(".env"),
            avs_config: op.home.join("avs_configs.json"),
            ecdsa_key_file: op.ecdsa_file(),
            bls_signer: if remote.is_some() {
                "cerberus"
            } else {
                "keystore"
            }
            .into(),
            bls_key_file: remote.is_none().then(|| op.bls_file()),
            bls_cerberus_url: remote.map(|access| access.url.clone()),
            node_log,
            verifier_log,
        });
    }

    // The sequencer, the devnet's own watcher, the control endpoint and the L1 watcher: the
    // devnet's critical tasks. One that ends stops the devnet with its name; dropping `run`
    // (a signal) drops the supervisor, which aborts them.
    let mut supervisor = mach_runtime::Supervisor::new();
    let shared = SharedState::default();
    let (fault_tx, fault_rx) = mpsc::channel::<FaultRequest>(16);
    let control = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let control_url = format!("http://{}", control.local_addr()?);
    supervisor.spawn_loop("control endpoint", serve_control(control, fault_tx));
    if let Some(server) = &cerberus {
        supervisor.spawn_loop("Cerberus signer", server.ended());
    }
    let mut txs_per_block = (u64::from(args.load) * args.block_time) as usize;
    if txs_per_block > rollup.max_load() {
        println!(
            "a block holds at most {} load transactions (anvil keeps the base fee at zero only under the gas target); the load is capped at that",
            rollup.max_load()
        );
        txs_per_block = rollup.max_load();
    }
    let l2_rpc = rollup.url().to_string();
    supervisor.spawn_loop(
        "rollup sequencer",
        sequence(
            rollup,
            Duration::from_secs(args.block_time),
            txs_per_block,
            fault_rx,
            shared.clone(),
            dir.to_path_buf(),
        ),
    );
    let watcher = watcher(&l2_rpc, &genesis, shared.clone(), dir, setup_block).await?;
    supervisor.spawn_loop("devnet block watcher", watcher);
    supervisor.spawn_loop(
        "L1 alert watcher",
        mach_chain::quorum::watch_confirmed_alerts(
            admin.clone(),
            deployment.mach_service_manager,
            L1_POLL,
            DevnetAlerts {
                shared: shared.clone(),
                dir: dir.to_path_buf(),
                next: 0,
            },
        ),
    );

    // Ready when every node answers its health API and every verifier has validated a block.
    for op in &records {
        let url = op.node_api_url.clone();
        wait_until(&format!("{}'s node", op.name), &mut procs, || {
            let url = url.clone();
            async move { reqwest::get(&url).await.is_ok() }
        })
        .await?;
        let metrics = op.verifier_metrics_url.clone();
        wait_until(&format!("{}'s verifier", op.name), &mut procs, || {
            let metrics = metrics.clone();
            async move { validated(&metrics).await.is_some_and(|n| n > setup_block) }
        })
        .await?;
    }

    let record = DevnetRecord {
        dir: dir.to_path_buf(),
        pid: std::process::id(),
        l1_rpc: l1.url().to_string(),
        l1_chain_id: L1_CHAIN_ID,
        l2_rpc,
        l2_chain_id: crate::deploy::DEVNET_ROLLUP_CHAIN_ID,
        l2_network: args.l2_network.to_string(),
        block_time_s: args.block_time as f64,
        load_tps: args.load,
        aggregator_url,
        aggregator_metrics_url: Some(format!("http://{aggregator_metrics}/metrics")),
        control_url,
        avs_name: AVS_NAME.into(),
        deployment,
        deployment_file,
        operators: records,
        logs: Logs {
            l1: l1.log_path().to_path_buf(),
            l2: logs.join("l2.log"),
            aggregator: aggregator_log,
            devnet: logs.join("devnet.log"),
        },
        processes: procs.records(),
        startup_s: started.elapsed().as_secs_f64(),
    };
    write_json(&dir.join(record::RECORD), &record)?;
    print!("{}", record.ready_text());

    // Run until stopped (the caller drops this future: the tasks and the processes stop, then
    // the chains), with a summary line now and then, or until a critical task ends.
    let summaries = async {
        let mut summary = tokio::time::interval(Duration::from_secs(5));
        loop {
            summary.tick().await;
            procs.report_exits();
            println!("{}", summary_line(&record, &shared).await);
        }
    };
    Ok(supervisor.run_until(summaries).await?)
}

/// Polls `ready` every 200 ms until it holds, failing when a process exits or after
/// [`READY_TIMEOUT`].
async fn wait_until<F, Fut>(what: &str, procs: &mut Processes, mut ready: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if ready().await {
            return Ok(());
        }
        procs.check()?;
        if started.elapsed() > READY_TIMEOUT {
            bail!(
                "{what} was not ready after {} s; see the logs under the devnet directory",
                READY_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Produces a block every `block_time` with `txs` load transactions; a requested fault is
/// injected just before the next block, one fault per block.
async fn sequence(
    mut rollup: Rollup,
    block_time: Duration,
    txs: usize,
    mut faults: mpsc::Receiver<FaultRequest>,
    shared: SharedState,
    dir: PathBuf,
) {
    let mut tick = tokio::time::interval(block_time);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending: std::collections::VecDeque<FaultRequest> = Default::default();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            Some(request) = faults.recv() => {
                pending.push_back(request);
                continue;
            }
        }
        let fault = match pending.pop_front() {
            Some((kind, reply)) => match rollup.inject(kind).await {
                Ok(description) => Some((kind, description, reply)),
                // Right after a faulty block: one valid block first, then this fault.
                Err(RollupError::InjectNotReady(_)) => {
                    pending.push_front((kind, reply));
                    None
                }
                Err(e) => {
                    let _ = reply.send(Err(format!("cannot inject the {kind} fault: {e}")));
                    None
                }
            },
            None => None,
        };
        match rollup.produce(txs).await {
            Ok(block) => {
                lock(&shared).head = block.number;
                tracing::debug!(
                    block = block.number,
                    txs = block.transactions,
                    gas = block.gas_used,
                    "produced"
                );
                if let Some((kind, description, reply)) = fault {
                    let produced_at_ms = block
                        .produced_at
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis() as u64)
                        .unwrap_or_default();
                    let record = FaultRecord {
                        kind: kind.to_string(),
                        description,
                        invalid_block: block.number,
                        invalid_block_hash: block.hash,
                        produced_at_ms,
                        message_hash: None,
                        confirmed: None,
                    };
                    tracing::info!(kind = %kind, block = %format!("#{}({})", block.number, block.hash), "fault injected: {}", record.description);
                    if block.external > 0 {
                        tracing::warn!(block = block.number, outside = block.external, "outside transactions landed in the faulty block; verifiers may be unable to prove what they touch and stop there: if validation stalls, restart the devnet");
                    }
                    lock(&shared).faults.push(record.clone());
                    save_faults(&dir, &shared);
                    let _ = reply.send(Ok(record));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "the sequencer could not produce a block; trying again next tick");
                if let Some((_, _, reply)) = fault {
                    let _ = reply.send(Err(format!(
                        "the fault was injected but the block failed: {e}"
                    )));
                }
            }
        }
    }
}

/// The control endpoint: `devnet_fault`.
async fn serve_control(listener: tokio::net::TcpListener, faults: mpsc::Sender<FaultRequest>) {
    use axum::body::Bytes;
    let control = move |body: Bytes| {
        let faults = faults.clone();
        async move {
            let answer = mach_jsonrpc::answer_body(&body, |call| {
                let faults = faults.clone();
                async move { control_call(&faults, &call.method, &call.params).await }
            })
            .await;
            mach_jsonrpc::http::reply(answer)
        }
    };
    let app = axum::Router::new().route("/", axum::routing::post(control));
    let (access, limits) = (mach_jsonrpc::http::Access::local(), Default::default());
    let forever = std::future::pending();
    if let Err(e) = mach_jsonrpc::http::serve(listener, app, access, limits, forever).await {
        tracing::error!(error = %e, "the control endpoint stopped");
    }
}

async fn control_call(
    faults: &mpsc::Sender<FaultRequest>,
    method: &str,
    params: &Value,
) -> Result<Value, mach_jsonrpc::RpcError> {
    use mach_jsonrpc::{codes, RpcError};
    let fault = super::control::FAULT.name();
    if method != fault {
        return Err(RpcError::new(
            codes::METHOD_NOT_FOUND,
            format!("no method {method}; the devnet control endpoint has {fault}"),
        ));
    }
    let kind = params
        .get(0)
        .or_else(|| params.get("kind"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            RpcError::new(codes::INVALID_PARAMS, "give the fault kind: [\"balance\"]")
        })?;
    let kind: FaultKind = kind
        .parse()
        .map_err(|e| RpcError::new(codes::INVALID_PARAMS, format!("{e}")))?;
    let (reply, answer) = oneshot::channel();
    faults
        .send((kind, reply))
        .await
        .map_err(|_| RpcError::new(codes::INTERNAL_ERROR, "the sequencer has stopped"))?;
    match answer.await {
        Ok(Ok(record)) => serde_json::to_value(record)
            .map_err(|e| RpcError::new(codes::INTERNAL_ERROR, e.to_string())),
        Ok(Err(e)) => Err(RpcError::new(codes::INTERNAL_ERROR, e)),
        Err(_) => Err(RpcError::new(
            codes::INTERNAL_ERROR,
            "the sequencer has stopped",
        )),
    }
}

/// The devnet's own strict follower of the rollup (alerting nobody): each invalid block's
/// evidence gives the message hash the operators' alerts carry. Returns its loop, to be run.
async fn watcher(
    l2_rpc: &str,
    genesis: &str,
    shared: SharedState,
    dir: &Path,
    start: u64,
) -> Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use mach_verifier_live::follow::{follow, Follower, OnError, Pace};
    let mut config = mach_verifier_live::VerifierConfig::default();
    config.collector.url = l2_rpc.to_string();
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("watcher config: {e}"))?;
    let rules = mach_verifier::ChainRules::from_genesis_json(genesis)?;
    let store = mach_verifier_live::store::Store::open(&dir.join("watcher-db"))?;
    let follower = Follower::new(config, rules, store, AVS_NAME).await?;
    let mut sink = Judged {
        shared,
        dir: dir.to_path_buf(),
    };
    let pace = Pace {
        up_to_date: Duration::from_millis(20),
        undecided: Duration::from_millis(20),
        on_error: OnError::RetryAfter(Duration::from_secs(1)),
    };
    Ok(async move {
        let _ = follow(&follower, start, pace, &mut sink).await;
    })
}

/// The devnet's record as its watcher's sink: the message hash of each invalid block's alert.
struct Judged {
    shared: SharedState,
    dir: PathBuf,
}

impl mach_verifier_live::follow::OutcomeSink for Judged {
    async fn decided(
        &mut self,
        follower: &mach_verifier_live::follow::Follower,
        outcome: &mach_verifier_live::follow::Outcome,
    ) {
        let mach_verifier_live::follow::Outcome::Invalid(block, error) = outcome else {
            return;
        };
        match follower.evidence(*block, error).await {
            Ok(evidence) => {
                let message_hash = evidence.alert(*block).message_hash().0;
                tracing::info!(block = %format!("#{}({})", block.number, block.hash), message_hash = %message_hash, "the devnet's watcher found an invalid block");
                lock(&self.shared).judged.insert(block.number, message_hash);
                save_faults(&self.dir, &self.shared);
            }
            Err(e) => {
                tracing::warn!(block = block.number, error = %e, "no evidence for the invalid block")
            }
        }
    }
}

/// The devnet's record as the L1 watcher's sink: when each alert was first seen.
struct DevnetAlerts {
    shared: SharedState,
    dir: PathBuf,
    next: u64,
}

impl mach_chain::quorum::AlertSink for DevnetAlerts {
    fn next_block(&mut self) -> u64 {
        self.next
    }

    async fn record(
        &mut self,
        _l1: &Connection,
        alerts: Vec<mach_chain::quorum::ConfirmedAlert>,
        head: u64,
    ) {
        if !alerts.is_empty() {
            let seen = mach_runtime::now_ms();
            let mut state = lock(&self.shared);
            for alert in &alerts {
                state.confirmed.entry(alert.message_hash).or_insert((
                    alert.l1_tx,
                    alert.l1_block,
                    seen,
                ));
            }
            drop(state);
            for alert in &alerts {
                tracing::info!(message_hash = %alert.message_hash, l1_tx = %alert.l1_tx, l1_block = alert.l1_block, "alert confirmed on L1");
            }
            save_faults(&self.dir, &self.shared);
        }
        self.next = head + 1;
    }
}

/// The verifier's `mach_verifier_validated_block`, if it answers.
pub async fn validated(metrics_url: &str) -> Option<u64> {
    let text = reqwest::get(metrics_url).await.ok()?.text().await.ok()?;
    metric(&text, "mach_verifier_validated_block")
}

/// The value of an unlabelled sample in a Prometheus text page.
pub fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (key, value) = line.split_once(' ')?;
            (key == name).then(|| value.trim().parse::<f64>().ok())?
        })
        .map(|v| v as u64)
}

async fn summary_line(record: &DevnetRecord, shared: &SharedState) -> String {
    let mut validated_heads = Vec::new();
    for op in &record.operators {
        validated_heads.push(match validated(&op.verifier_metrics_url).await {
            Some(n) => format!("#{n}"),
            None => "down".into(),
        });
    }
    let state = lock(shared);
    let confirmed = state
        .faults
        .iter()
        .filter(|f| f.confirmed.is_some())
        .count();
    format!(
        "rollup #{} | validated {} | faults {} | alerts confirmed {}",
        state.head,
        validated_heads.join(" "),
        state.faults.len(),
        confirmed.max(state.confirmed.len())
    )
}

/// A port for one of the devnet's servers. The child process binds it later, so it is taken
/// from below the kernel's ephemeral range: a port bind(0) hands out is one the kernel may give
/// the next outgoing connection (the devnet makes many), which then holds it when the server
/// starts ("Address already in use"). Below that range only explicit binds compete, and each
/// candidate is checked free; the ports handed out here are remembered so no two servers of
/// this devnet share one.
fn free_port() -> Result<u16> {
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let (floor, ceiling) = devnet_port_range();
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..500 {
        let random = u16::from_be_bytes([B256::random()[0], B256::random()[1]]);
        let port = floor + random % (ceiling - floor);
        if handed_out.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed_out.insert(port);
            return Ok(port);
        }
    }
    bail!("no free port between {floor} and {ceiling} on 127.0.0.1")
}

/// The ports [`free_port`] picks from: below the ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`, 32768 when unreadable), above 10000.
fn devnet_port_range() -> (u16, u16) {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let ceiling = ephemeral_low.max(12_000);
    (
        ceiling
            .saturating_sub(20_000)
            .max(10_000)
            .min(ceiling - 1_000),
        ceiling,
    )
}

fn random_password() -> String {
    alloy::primitives::hex::encode(B256::random())
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// One operator's keys and home directory.
struct OperatorKeys {
    name: String,
    home: PathBuf,
    ecdsa: EcdsaSecretKey,
    bls: BlsSecretKey,
    ecdsa_password: String,
    bls_password: String,
    /// Its BLS key is held by the devnet's Cerberus stand-in, not in a key file.
    remote_bls: bool,
}

/// What the key writer needs, owned.
struct KeysToWrite {
    dir: PathBuf,
    ecdsa: EcdsaSecretKey,
    /// `None` when no BLS key file is written (the key is in the Cerberus stand-in).
    bls: Option<BlsSecretKey>,
    ecdsa_password: String,
    bls_password: String,
}

fn write_keys(keys: &KeysToWrite) -> Result<()> {
    let dir = KeyDir::new(&keys.dir);
    dir.write_new(
        "opr",
        KeyType::Ecdsa,
        &mach_keys::file::encrypt_ecdsa(&keys.ecdsa, &keys.ecdsa_password)?,
    )?;
    if let Some(bls) = &keys.bls {
        dir.write_new(
            "opr",
            KeyType::Bls,
            &mach_keys::file::encrypt_bls(bls, &keys.bls_password)?,
        )?;
    }
    Ok(())
}

/// How a node reaches the devnet's Cerberus stand-in.
struct CerberusAccess {
    url: String,
    api_key: String,
}

/// Where one operator's node listens.
struct NodeEndpoints {
    alert_url: String,
    api_url: String,
    node_metrics_url: String,
    verifier_metrics_url: String,
}

impl OperatorKeys {
    fn new(dir: &Path, index: u16, remote_bls: bool) -> Result<Self> {
        let name = format!("operator{index}");
        let home = dir.join(&name);
        DirBuilder::new().mode(0o700).create(&home)?;
        Ok(Self {
            name,
            home,
            ecdsa: EcdsaSecretKey::random(),
            bls: BlsSecretKey::random(),
            ecdsa_password: random_password(),
            bls_password: random_password(),
            remote_bls,
        })
    }

    fn signer(&self) -> alloy::signers::local::PrivateKeySigner {
        mach_chain::signer(&self.ecdsa)
    }

    fn to_write(&self) -> KeysToWrite {
        KeysToWrite {
            dir: self.home.join("keys"),
            ecdsa: self.ecdsa.clone(),
            bls: (!self.remote_bls).then(|| self.bls.clone()),
            ecdsa_password: self.ecdsa_password.clone(),
            bls_password: self.bls_password.clone(),
        }
    }

    fn ecdsa_file(&self) -> PathBuf {
        self.home.join("keys").join("opr.ecdsa.key.json")
    }

    fn bls_file(&self) -> PathBuf {
        self.home.join("keys").join("opr.bls.key.json")
    }

    /// Writes the operator's `.env` (node and opt-in variables), `avs_configs.json`,
    /// `mach-config.toml` and `genesis.json`. With `cerberus`, the node's BLS key is that
    /// signer's (`NODE_BLS_SIGNER=cerberus`) instead of a key file.
    fn write_files(
        &self,
        l1: &Anvil,
        deployment: &Deployment,
        aggregator_url: &str,
        l2_rpc: &str,
        genesis: &str,
        cerberus: Option<&CerberusAccess>,
    ) -> Result<NodeEndpoints> {
        let (alert, api, node_metrics, verifier_metrics) =
            (free_port()?, free_port()?, free_port()?, free_port()?);
        let bls_vars = match cerberus {
            None => vec![
                (
                    "NODE_BLS_KEY_FILE_HOST",
                    self.bls_file().display().to_string(),
                ),
                ("OPERATOR_BLS_KEY_PASSWORD", self.bls_password.clone()),
            ],
            Some(access) => vec![
                ("NODE_BLS_SIGNER", "cerberus".to_string()),
                ("NODE_BLS_CERBERUS_URL", access.url.clone()),
                (
                    "NODE_BLS_CERBERUS_PUBLIC_KEY_G1",
                    crate::cerberus::name_of(&self.bls.public_key()),
                ),
                ("NODE_BLS_CERBERUS_API_KEY", access.api_key.clone()),
            ],
        };
        let mut vars = vec![
            ("OPERATOR_SERVER_URL", format!("127.0.0.1:{alert}")),
            (
                "NODE_ECDSA_KEY_FILE_HOST",
                self.ecdsa_file().display().to_string(),
            ),
            ("OPERATOR_ECDSA_KEY_PASSWORD", self.ecdsa_password.clone()),
        ];
        vars.extend(bls_vars);
        vars.extend([
            ("OPERATOR_ECDSA_ADDRESS", self.ecdsa.address().to_string()),
            ("ETH_RPC_URL", l1.url().to_string()),
            ("LAYER1_CHAIN_ID", L1_CHAIN_ID.to_string()),
            (
                "AVS_REGISTRY_COORDINATOR_ADDRESS",
                deployment.registry_coordinator.to_string(),
            ),
            (
                "OPERATOR_STATE_RETRIEVER_ADDRESS",
                deployment.operator_state_retriever.to_string(),
            ),
            (
                "SERVICE_MANAGER_ADDRESS",
                deployment.mach_service_manager.to_string(),
            ),
            ("REG_QUORUM_NUMBERS", "0".into()),
            ("AGGREGATOR_JSONRPC_SERVER_URL", aggregator_url.to_string()),
            ("ENABLE_METRICS", "true".into()),
            ("EIGEN_METRICS_URL", format!("127.0.0.1:{node_metrics}")),
            ("ENABLE_NODE_API", "true".into()),
            ("NODE_API_URL", format!("127.0.0.1:{api}")),
        ]);
        let comment = match cerberus {
            None => format!(
                "{}: the operator node's .env (reference variables), also usable as .env.opt",
                self.name
            ),
            Some(_) => format!(
                "{}: the operator node's .env (reference variables), also usable as .env.opt while the devnet runs (the BLS key is in its Cerberus stand-in)",
                self.name
            ),
        };
        let env = mach_primitives::env::format_env(Some(&comment), &vars)
            .map_err(|e| anyhow::anyhow!("cannot write {}'s .env: {e}", self.name))?;
        write_private(&self.home.join(".env"), &env)?;
        let avs = json!([{
            "avs_name": AVS_NAME,
            "methods": [{"method": "confirmAlert", "quorum_numbers": [0], "quorum_threshold_percentages": [66]}],
            "avs_registry_coordinator_address": deployment.registry_coordinator,
            "operator_state_retriever_address": deployment.operator_state_retriever,
            "avs_contract_address": deployment.mach_service_manager,
        }]);
        std::fs::write(
            self.home.join("avs_configs.json"),
            serde_json::to_string_pretty(&avs)? + "\n",
        )?;
        let alert_url = format!("http://127.0.0.1:{alert}/{AVS_NAME}");
        let mut config = mach_verifier_live::VerifierConfig::default();
        config.operator.enable = true;
        config.operator.alert = true;
        config.operator.url = alert_url.clone();
        config.validator.mode = mach_verifier_live::Mode::Strict;
        config.collector.url = l2_rpc.to_string();
        config.collector.interval_ms = 100;
        config.scheduler.retry_wait_timout_ms = 1000;
        config.prometheus.port = verifier_metrics;
        config.save(&self.home.join("mach-config.toml"))?;
        std::fs::write(self.home.join("genesis.json"), genesis)?;
        Ok(NodeEndpoints {
            alert_url,
            api_url: format!("http://127.0.0.1:{api}/eigen/node/health"),
            node_metrics_url: format!("http://127.0.0.1:{node_metrics}/metrics"),
            verifier_metrics_url: format!("http://127.0.0.1:{verifier_metrics}/metrics"),
        })
    }
}

#[cfg(test)]
mod port_tests {
    use super::*;

    #[test]
    fn devnet_ports_are_distinct_free_and_not_ephemeral() {
        let (floor, ceiling) = devnet_port_range();
        assert!(floor >= 10_000 && floor < ceiling, "{floor}..{ceiling}");
        let ports: std::collections::BTreeSet<u16> =
            (0..50).map(|_| free_port().unwrap()).collect();
        assert_eq!(ports.len(), 50);
        for port in ports {
            assert!((floor..ceiling).contains(&port), "{port}");
            std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        }
    }
}
