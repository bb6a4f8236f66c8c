//! The finality RPC as a service: what `mach rpc` runs, started from the library.
//!
//! [`start`] opens the stores, connects to L1 and the rollup, binds the listener and hands the
//! three critical tasks to the caller's [`Supervisor`]: the validation loop, the L1 alert watcher
//! and the server. They live and die together: the answers are only as good as both loops behind
//! them, so a loop that stops stops the service instead of leaving a server that can no longer
//! open its circuit breaker.

use crate::pipeline::{self, Shared};
use crate::{FinalityState, Options};
use alloy::primitives::Address;
use mach_jsonrpc::http::{Access, Limits};
use mach_runtime::Supervisor;
use mach_verifier::ChainRules;
use mach_verifier_live::follow::Follower;
use mach_verifier_live::VerifierConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the L1 watcher reads `AlertConfirmed` events.
const L1_POLL: Duration = Duration::from_millis(200);

/// Everything the service runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The verifier's configuration; `[collector]` names the rollup RPC (`[operator]` is not
    /// used: the finality RPC never alerts).
    pub verifier: VerifierConfig,
    /// The rollup's chain rules.
    pub rules: ChainRules,
    /// How the server answers (rollup URL, tags, breaker).
    pub options: Options,
    /// The L1 JSON-RPC, where alerts are confirmed.
    pub l1_rpc: String,
    /// The rollup's MachServiceManager on L1.
    pub service_manager: Address,
    /// Where the finality state and the verifier's store live (created if absent).
    pub db: PathBuf,
    /// First block to validate on a fresh store (the rollup's latest when `None`).
    pub start_block: Option<u64>,
    /// Where the server listens.
    pub listen: SocketAddr,
    /// Host names and browser origins the server answers.
    pub access: Access,
    /// Timeouts, sizes and the connection cap of the server.
    pub limits: Limits,
}

/// Why the service could not start; the message names the part and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

fn failed(what: &str, e: impl std::fmt::Display) -> StartError {
    StartError(format!("{what}: {e}"))
}

/// Starts the service under `supervisor` and returns the address the server listens on. The
/// caller runs the supervisor (`supervisor.run_until(mach_runtime::signal()).await`, with the signal taken before starting).
pub async fn start(
    settings: Settings,
    supervisor: &mut Supervisor,
) -> Result<SocketAddr, StartError> {
    let Settings {
        verifier,
        rules,
        options,
        l1_rpc,
        service_manager,
        db,
        start_block,
        listen,
        access,
        limits,
    } = settings;
    std::fs::create_dir_all(&db)
        .map_err(|e| failed(&format!("cannot create {}", db.display()), e))?;
    let l1 = mach_chain::connect_read_only(&l1_rpc, Address::ZERO)
        .await
        .map_err(|e| failed("cannot use the L1 RPC", e))?;
    let state: Shared = Arc::new(Mutex::new(
        FinalityState::load(&db.join("finality.json"))
            .map_err(|e| failed("cannot load the finality state", e))?,
    ));
    let interval = Duration::from_millis(verifier.collector.interval_ms);
    let store = mach_verifier_live::store::Store::open(&db.join("verifier"))
        .map_err(|e| failed("cannot open the verifier's store", e))?;
    let resumed = store
        .last_validated()
        .map_err(|e| failed("cannot read the verifier's store", e))?;
    let follower = Follower::new(verifier, rules, store, "")
        .await
        .map_err(|e| failed("cannot start the verifier", e))?;
    let start = match (resumed, start_block) {
        (Some(_), _) => 0,
        (None, Some(n)) => n,
        (None, None) => follower
            .latest()
            .await
            .map_err(|e| failed("cannot read the rollup's latest block", e))?,
    };
    let (heads, heads_rx) = tokio::sync::watch::channel(None);
    supervisor.spawn_loop(
        "block validation loop",
        pipeline::validate(follower, state.clone(), start, interval, heads.clone()),
    );
    supervisor.spawn_loop(
        "L1 alert watcher",
        pipeline::watch_alerts(l1, service_manager, state.clone(), L1_POLL, heads),
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| failed(&format!("cannot listen on {listen}"), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| failed("cannot read the listen address", e))?;
    tracing::info!(
        address = %local,
        rollup = %options.rollup_url,
        l1 = %l1_rpc,
        service_manager = %service_manager,
        resumed = ?resumed.map(|b| b.number),
        "finality RPC listening at http://{local} (WebSocket at ws://{local})"
    );
    let app = crate::server::router(options, state, heads_rx)
        .map_err(|e| failed("cannot register the finality RPC's metrics", e))?;
    let shutdown = supervisor.shutdown();
    supervisor.spawn(
        "finality RPC server",
        mach_jsonrpc::http::serve(listener, app, access, limits, shutdown.cancelled_owned()),
    );
    Ok(local)
}
