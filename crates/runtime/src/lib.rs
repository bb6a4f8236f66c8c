//! How every long-running `mach` process runs: its critical tasks under one [`Supervisor`],
//! signals handled in one place, one way to shut down.
//!
//! A role spawns the tasks it cannot live without (a server, a follow loop, a watcher) with
//! [`Supervisor::spawn`] and hands each the [`Shutdown`] token to stop on.
//! [`Supervisor::run_until`] then waits for [`signal`] (Ctrl-C or SIGTERM), or for the first
//! critical task to end. A task that ends on
//! its own (returns, fails or panics) while nobody asked it to is a fault: the supervisor stops
//! the others and returns an error naming the task and why it ended, so the process exits
//! non-zero with that message instead of serving on without it (a finality RPC whose L1 alert
//! watcher died would otherwise keep answering with a breaker that can never open).
//!
//! On a signal or a fault every task is told to stop through the token and given a grace period
//! ([`Supervisor::with_grace`], 10 s by default) to finish; those still running after it are
//! aborted, as a crash would end them.
//!
//! Code that embeds a role in a process it does not own (tests, benchmarks) has no signal to wait
//! for: [`Supervisor::run_in_background`] runs the supervisor on a task of its own and returns a
//! [`Running`] handle that stops it through the same token.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;
use tokio::task::{AbortHandle, Id, JoinError, JoinHandle, JoinSet};

pub use tokio_util::sync::CancellationToken as Shutdown;

/// Default time the tasks get to finish once shutdown starts.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// Why [`Supervisor::run_until`] ended other than by a requested shutdown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stopped {
    /// A critical task ended on its own; `reason` says how.
    #[error("{task} {reason}; the process stops rather than run without it")]
    TaskEnded {
        /// The task's name, as given to [`Supervisor::spawn`].
        task: &'static str,
        /// "failed: …", "panicked: …", "was aborted" or "returned".
        reason: String,
    },
}

/// The critical tasks of one process and the token that stops them. Dropping it cancels the
/// token and aborts the tasks.
#[derive(Debug)]
pub struct Supervisor {
    shutdown: Shutdown,
    tasks: JoinSet<Result<(), String>>,
    names: HashMap<Id, &'static str>,
    /// Every critical task spawned, in spawn order, for [`Supervisor::abort_handle`].
    spawned: Vec<(&'static str, AbortHandle)>,
    grace: Duration,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    /// A supervisor with no tasks yet and the default grace period.
    pub fn new() -> Self {
        Self {
            shutdown: Shutdown::new(),
            tasks: JoinSet::new(),
            names: HashMap::new(),
            spawned: Vec::new(),
            grace: DEFAULT_GRACE,
        }
    }

    /// Sets how long tasks get to finish once shutdown starts.
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The token every task watches (`shutdown.cancelled().await`). Cancelling it from anywhere
    /// starts the same graceful shutdown a signal does.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Spawns a critical task named `name` (for example "L1 alert watcher"). The task should run
    /// until the shutdown token is cancelled; ending before that, with `Ok`, an error or a panic,
    /// stops the process. Returns a handle that can abort the task.
    pub fn spawn<F, E>(&mut self, name: &'static str, task: F) -> AbortHandle
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Display,
    {
        let handle = self
            .tasks
            .spawn(async move { task.await.map_err(|e| e.to_string()) });
        self.names.insert(handle.id(), name);
        self.spawned.push((name, handle.clone()));
        tracing::debug!(task = name, "started");
        handle
    }

    /// The names of the critical tasks spawned so far, in the order they were spawned.
    pub fn task_names(&self) -> Vec<&'static str> {
        self.spawned.iter().map(|(name, _)| *name).collect()
    }

    /// A handle that aborts the critical task named `name` (the first spawned under that name),
    /// or `None` if there is none. Aborting it ends it as a crash would: the supervisor reports
    /// it ("was aborted") and stops the process. For whoever must end a task from outside the
    /// role that spawned it, such as a test that checks a role reports a dead critical task.
    pub fn abort_handle(&self, name: &str) -> Option<AbortHandle> {
        self.spawned
            .iter()
            .find(|(spawned, _)| *spawned == name)
            .map(|(_, handle)| handle.clone())
    }

    /// Spawns a critical loop that has no result of its own (a follow loop, a watcher): it runs
    /// until the shutdown token is cancelled, when it is dropped wherever it waits. If it ever
    /// finishes by itself that is a fault, like any critical task that ends early.
    pub fn spawn_loop<F>(&mut self, name: &'static str, task: F) -> AbortHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let shutdown = self.shutdown.clone();
        self.spawn(name, async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = task => {}
            }
            Ok::<(), std::convert::Infallible>(())
        })
    }

    /// Runs the supervisor on a tokio task of its own, with no signal to wait for: it runs until
    /// the returned handle (or anyone holding the token) stops it, or a critical task ends on
    /// its own. For roles embedded in a process they do not own (tests, benchmarks).
    pub fn run_in_background(self) -> Running {
        let shutdown = self.shutdown();
        let run = tokio::spawn(self.run_until(std::future::pending()));
        Running {
            shutdown,
            run: Some(run),
        }
    }

    /// Runs until `stop` resolves (a process passes [`signal`]; tests and embedders their own
    /// future), then `Ok`, or until a critical task ends on its own, then the error naming it;
    /// either way every task is then stopped as described in the crate notes.
    pub async fn run_until(mut self, stop: impl Future<Output = ()>) -> Result<(), Stopped> {
        let outcome = if self.tasks.is_empty() {
            tokio::select! {
                _ = stop => Ok(()),
                _ = self.shutdown.cancelled() => Ok(()),
            }
        } else {
            // Biased: a shutdown already asked for wins over a task that ended because of it.
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => Ok(()),
                _ = stop => {
                    tracing::info!("stopping");
                    Ok(())
                }
                Some(ended) = self.tasks.join_next_with_id() => {
                    let (task, reason) = self.describe(ended);
                    if self.shutdown.is_cancelled() && reason.is_none() {
                        // It saw the shutdown token between our polls: an orderly end.
                        Ok(())
                    } else {
                        let reason = reason.unwrap_or_else(|| "returned".into());
                        tracing::error!(task, reason = %reason, "a critical task ended; stopping the process");
                        Err(Stopped::TaskEnded { task, reason })
                    }
                }
            }
        };
        self.stop_all().await;
        if outcome.is_ok() {
            tracing::info!("stopped");
        }
        outcome
    }

    /// Cancels the token, waits up to the grace period for the tasks, aborts the rest.
    async fn stop_all(&mut self) {
        self.shutdown.cancel();
        let deadline = tokio::time::sleep(self.grace);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                ended = self.tasks.join_next_with_id() => match ended {
                    None => return,
                    Some(ended) => {
                        if let (task, Some(reason)) = self.describe(ended) {
                            tracing::warn!(task, reason = %reason, "task ended while stopping");
                        }
                    }
                },
                _ = &mut deadline => {
                    let left: Vec<_> = self.names.values().copied().collect();
                    tracing::warn!(tasks = ?left, grace_s = self.grace.as_secs_f64(), "tasks did not stop in time; aborting them");
                    self.tasks.shutdown().await;
                    return;
                }
            }
        }
    }

    /// The name of a task that ended, and how if not by returning `Ok`: "failed: …",
    /// "panicked: …" or "was aborted".
    fn describe(
        &mut self,
        ended: Result<(Id, Result<(), String>), JoinError>,
    ) -> (&'static str, Option<String>) {
        let (id, reason) = match ended {
            Ok((id, Ok(()))) => (id, None),
            Ok((id, Err(e))) => (id, Some(format!("failed: {e}"))),
            Err(e) => {
                let id = e.id();
                let reason = if e.is_cancelled() {
                    "was aborted".to_string()
                } else {
                    format!("panicked: {}", panic_message(e.into_panic()))
                };
                (id, Some(reason))
            }
        };
        (self.names.remove(&id).unwrap_or("a task"), reason)
    }
}

impl Drop for Supervisor {
    /// A supervisor dropped without being run (its role failed to start, say) aborts its
    /// critical tasks and cancels its token, so the tasks its roles started beside them (an
    /// aggregator's alert actors, a node's announcers) stop too.
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A supervisor running on a task of its own ([`Supervisor::run_in_background`]). Dropping it
/// starts the graceful shutdown without waiting for it.
#[derive(Debug)]
pub struct Running {
    shutdown: Shutdown,
    run: Option<JoinHandle<Result<(), Stopped>>>,
}

impl Running {
    /// The supervisor's shutdown token.
    pub fn shutdown_token(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Starts the graceful shutdown and waits until every task has stopped. `Err` if a critical
    /// task had ended on its own before.
    pub async fn stop(mut self) -> Result<(), Stopped> {
        self.shutdown.cancel();
        self.join().await
    }

    /// Waits until the supervisor stops: after [`Running::stop`] from another holder of the
    /// token (`Ok`), or because a critical task ended on its own (the error naming it).
    pub async fn wait(mut self) -> Result<(), Stopped> {
        self.join().await
    }

    async fn join(&mut self) -> Result<(), Stopped> {
        let Some(run) = self.run.take() else {
            return Ok(());
        };
        match run.await {
            Ok(outcome) => outcome,
            Err(e) => Err(Stopped::TaskEnded {
                task: "the supervisor",
                reason: if e.is_cancelled() {
                    "was aborted".to_string()
                } else {
                    format!("panicked: {}", panic_message(e.into_panic()))
                },
            }),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A future that resolves on Ctrl-C (SIGINT) or SIGTERM (`docker stop`, Kubernetes): the one
/// place processes wait for signals. The handlers are installed when this is called, not when
/// the future is first polled, so a process takes it before it starts anything and a signal
/// that arrives while it is still starting stops it in order instead of killing it. Call it
/// inside the tokio runtime; pass it to [`Supervisor::run_until`].
pub fn signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal as listen, SignalKind};
    let listeners = listen(SignalKind::terminate()).and_then(|term| {
        let interrupt = listen(SignalKind::interrupt())?;
        Ok((term, interrupt))
    });
    async move {
        match listeners {
            Ok((mut term, mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the process in order");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// Wall-clock milliseconds since the Unix epoch (0 on a clock set before 1970), for the times
/// records and logs keep.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Runs `future` to completion on a new multi-threaded tokio runtime: how the synchronous entry
/// points of `mach` (and the libraries' blocking wrappers) run their async work. A runtime that
/// cannot start is an I/O error, converted into the future's error type.
pub fn block_on<T, E, F>(future: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
    E: From<std::io::Error>,
{
    let runtime = tokio::runtime::Runtime::new().map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot start the async runtime: {e}"))
    })?;
    runtime.block_on(future)
}

/// The text of a panic payload (`panic!("…")` gives a `&str` or a `String`).
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(text) => (*text).to_string(),
            Err(_) => "(a non-text panic payload)".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// A task that runs until shutdown, then returns.
    async fn well_behaved(shutdown: Shutdown, stopped: Arc<AtomicBool>) -> Result<(), String> {
        shutdown.cancelled().await;
        stopped.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn never() -> impl Future<Output = ()> {
        std::future::pending()
    }

    #[tokio::test]
    async fn a_panicking_task_stops_the_process_with_its_name_and_message() {
        let mut supervisor = Supervisor::new();
        let stopped = Arc::new(AtomicBool::new(false));
        supervisor.spawn(
            "finality RPC server",
            well_behaved(supervisor.shutdown(), stopped.clone()),
        );
        supervisor.spawn("L1 alert watcher", async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if true {
                panic!("log index out of range");
            }
            Ok::<(), String>(())
        });
        let err = supervisor.run_until(never()).await.unwrap_err();
        assert_eq!(
            err,
            Stopped::TaskEnded {
                task: "L1 alert watcher",
                reason: "panicked: log index out of range".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "L1 alert watcher panicked: log index out of range; the process stops rather than run without it"
        );
        assert!(
            stopped.load(Ordering::SeqCst),
            "the other task was told to stop and did"
        );
    }

    #[tokio::test]
    async fn a_failing_task_is_reported_with_its_error() {
        let mut supervisor = Supervisor::new();
        supervisor.spawn("block follower", async {
            Err::<(), _>("the store at /var/lib/mach is read-only")
        });
        let err = supervisor.run_until(never()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "block follower failed: the store at /var/lib/mach is read-only; the process stops rather than run without it"
        );
    }

    #[tokio::test]
    async fn a_task_that_returns_before_shutdown_is_a_fault() {
        let mut supervisor = Supervisor::new();
        supervisor.spawn("HTTP server", async { Ok::<(), String>(()) });
        let err = supervisor.run_until(never()).await.unwrap_err();
        assert_eq!(
            err,
            Stopped::TaskEnded {
                task: "HTTP server",
                reason: "returned".into()
            }
        );
    }

    #[tokio::test]
    async fn killing_a_critical_task_is_reported() {
        let mut supervisor = Supervisor::new();
        let stopped = Arc::new(AtomicBool::new(false));
        supervisor.spawn(
            "server",
            well_behaved(supervisor.shutdown(), stopped.clone()),
        );
        let watcher = supervisor.spawn("L1 alert watcher", async {
            std::future::pending::<()>().await;
            Ok::<(), String>(())
        });
        let killer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            watcher.abort();
        });
        let err = supervisor.run_until(never()).await.unwrap_err();
        killer.await.unwrap();
        assert_eq!(
            err,
            Stopped::TaskEnded {
                task: "L1 alert watcher",
                reason: "was aborted".into()
            }
        );
        assert!(stopped.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_task_aborted_by_name_is_reported() {
        let mut supervisor = Supervisor::new();
        let stopped = Arc::new(AtomicBool::new(false));
        supervisor.spawn(
            "server",
            well_behaved(supervisor.shutdown(), stopped.clone()),
        );
        supervisor.spawn_loop("watcher", std::future::pending());
        assert_eq!(supervisor.task_names(), ["server", "watcher"]);
        assert!(supervisor.abort_handle("nothing").is_none());
        supervisor.abort_handle("watcher").unwrap().abort();
        let err = supervisor.run_until(never()).await.unwrap_err();
        assert_eq!(
            err,
            Stopped::TaskEnded {
                task: "watcher",
                reason: "was aborted".into()
            }
        );
        assert!(stopped.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_supervisor_in_the_background_stops_on_request_or_reports_a_fault() {
        let mut supervisor = Supervisor::new();
        let stopped = Arc::new(AtomicBool::new(false));
        supervisor.spawn(
            "server",
            well_behaved(supervisor.shutdown(), stopped.clone()),
        );
        let running = supervisor.run_in_background();
        assert!(!running.shutdown_token().is_cancelled());
        running.stop().await.unwrap();
        assert!(stopped.load(Ordering::SeqCst));

        let mut supervisor = Supervisor::new();
        supervisor.spawn("loop", async { Err::<(), _>("disk full") });
        let err = supervisor.run_in_background().wait().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "loop failed: disk full; the process stops rather than run without it"
        );

        // Dropping the handle stops the tasks too.
        let mut supervisor = Supervisor::new();
        let stopped = Arc::new(AtomicBool::new(false));
        let shutdown = supervisor.shutdown();
        supervisor.spawn("server", well_behaved(shutdown.clone(), stopped.clone()));
        drop(supervisor.run_in_background());
        assert!(shutdown.is_cancelled());
    }

    #[tokio::test]
    async fn a_signal_stops_every_task_gracefully() {
        let mut supervisor = Supervisor::new();
        let flags: Vec<_> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
        for (name, flag) in ["a", "b", "c"].into_iter().zip(&flags) {
            supervisor.spawn(name, well_behaved(supervisor.shutdown(), flag.clone()));
        }
        supervisor
            .run_until(tokio::time::sleep(Duration::from_millis(20)))
            .await
            .unwrap();
        assert!(flags.iter().all(|f| f.load(Ordering::SeqCst)));
    }

    #[tokio::test]
    async fn cancelling_the_token_is_the_same_graceful_shutdown() {
        let mut supervisor = Supervisor::new();
        let stopped = Arc::new(AtomicBool::new(false));
        let shutdown = supervisor.shutdown();
        supervisor.spawn(
            "server",
            well_behaved(supervisor.shutdown(), stopped.clone()),
        );
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            shutdown.cancel();
        });
        supervisor.run_until(never()).await.unwrap();
        assert!(stopped.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn tasks_that_ignore_shutdown_are_aborted_after_the_grace_period() {
        /// Records that the task's future was dropped (aborted).
        struct Dropped(Arc<AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let mut supervisor = Supervisor::new().with_grace(Duration::from_millis(50));
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = Dropped(dropped.clone());
        supervisor.spawn("stubborn", async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok::<(), String>(())
        });
        supervisor
            .run_until(tokio::time::sleep(Duration::from_millis(10)))
            .await
            .unwrap();
        assert!(dropped.load(Ordering::SeqCst), "the task was aborted");
    }
}
