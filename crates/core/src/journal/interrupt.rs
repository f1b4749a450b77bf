//! Graceful interruption: the first Ctrl-C (or SIGTERM) sets a flag that the pipeline checks
//! before starting each write, and wakes every paced wait (the governor, retry backoff, Libib's
//! 429 waits) so lookups, scans and exports stop within moments; requests already in flight finish
//! and are recorded, the rest of the rows are reported `skipped`, and the run stays resumable. A
//! second Ctrl-C exits at once (exit code 130); the journal is still consistent because every row
//! commits atomically.
//!
//! The same flag halts a run whose target stopped answering ([`Stop::set_unreachable`]): the rows
//! not yet written are `skipped` with that reason, and the run's accounting is still written.
//!
//! A run makes its flag current with [`Stop::scope`]; waits deep in the clients find it with
//! [`sleep`] and [`unless_stopped`] (a tokio task-local, so concurrent runs in one process — tests —
//! never see each other's flags). Outside a scope nothing is ever stopped.

use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

tokio::task_local! {
    static CURRENT: Stop;
}

const RUNNING: u8 = 0;
const INTERRUPTED: u8 = 1;
const UNREACHABLE: u8 = 2;

#[derive(Debug, Default)]
struct Inner {
    state: AtomicU8,
    why: Mutex<Option<String>>,
    wake: Notify,
}

/// A shared "stop starting new work" flag.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<Inner>);

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// The target stopped answering (or refused the credentials mid-run); what was seen.
    Unreachable(String),
}

impl Stop {
    /// A flag nobody sets (tests, previews without a runtime).
    pub fn never() -> Stop {
        Stop::default()
    }

    /// Installs the Ctrl-C / SIGTERM handler, on a thread of its own: a run's runtime may be
    /// a single thread (the import's) busy in a long synchronous step, and a second Ctrl-C must
    /// still quit at once. Falls back to a task on the current runtime if the thread or its
    /// runtime cannot be made.
    pub fn install() -> Stop {
        let stop = Stop::default();
        let handler = watch_signals(stop.clone());
        let spawned = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|rt| {
                std::thread::Builder::new()
                    .name("signals".into())
                    .spawn(move || rt.block_on(handler))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = spawned {
            tracing::debug!("signal thread: {e}; watching signals on the run's runtime");
            tokio::spawn(watch_signals(stop.clone()));
        }
        stop
    }

    /// Whether the run should stop starting new work (interrupted or target lost).
    pub fn is_set(&self) -> bool {
        self.0.state.load(Ordering::SeqCst) != RUNNING
    }

    /// Why the run stopped, if it did.
    pub fn halt(&self) -> Option<Halt> {
        match self.0.state.load(Ordering::SeqCst) {
            RUNNING => None,
            INTERRUPTED => Some(Halt::Interrupted),
            _ => Some(Halt::Unreachable(
                self.0
                    .why
                    .lock()
                    .map(|w| w.clone().unwrap_or_default())
                    .unwrap_or_default(),
            )),
        }
    }

    /// Requests a stop (as a signal would).
    pub fn set(&self) {
        let _ =
            self.0
                .state
                .compare_exchange(RUNNING, INTERRUPTED, Ordering::SeqCst, Ordering::SeqCst);
        self.0.wake.notify_waiters();
    }

    /// Halts the run because the target is unreachable (`why`: what was seen); the first reason
    /// wins, and an interruption already requested stays one.
    pub fn set_unreachable(&self, why: String) {
        if let Ok(mut w) = self.0.why.lock() {
            if self.0.state.load(Ordering::SeqCst) == RUNNING {
                *w = Some(why);
                self.0.state.store(UNREACHABLE, Ordering::SeqCst);
            }
        }
        self.0.wake.notify_waiters();
    }

    /// Resolves once the flag is set.
    pub async fn stopped(&self) {
        loop {
            let woken = self.0.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.is_set() {
                return;
            }
            woken.await;
        }
    }

    /// Runs `fut` with this flag as the current one (see [`sleep`], [`unless_stopped`]).
    pub async fn scope<F: Future>(&self, fut: F) -> F::Output {
        CURRENT.scope(self.clone(), fut).await
    }

    /// The current run's flag, if the caller runs inside [`Stop::scope`].
    pub fn current() -> Option<Stop> {
        CURRENT.try_with(Stop::clone).ok()
    }
}

/// Whether the current run (if any) has been stopped.
pub fn stopped() -> bool {
    Stop::current().is_some_and(|s| s.is_set())
}

/// Awaits `fut` unless the current run is stopped first (`None`, and `fut` is dropped).
pub async fn unless_stopped<F: Future>(fut: F) -> Option<F::Output> {
    match Stop::current() {
        None => Some(fut.await),
        Some(stop) => {
            if stop.is_set() {
                return None;
            }
            tokio::select! {
                out = fut => Some(out),
                () = stop.stopped() => None,
            }
        }
    }
}

/// Sleeps for `d`, cut short when the current run is stopped; false if it was.
pub async fn sleep(d: Duration) -> bool {
    unless_stopped(tokio::time::sleep(d)).await.is_some()
}

/// The first Ctrl-C / SIGTERM sets `flag` (the run finishes what is in flight); the second
/// quits at once (exit 130).
async fn watch_signals(flag: Stop) {
    let mut seen = 0u8;
    loop {
        if !next_signal().await {
            return;
        }
        seen += 1;
        if seen == 1 {
            flag.set();
            eprintln!(
                "interrupted: finishing the requests in flight and recording them \
                 (press Ctrl-C again to quit at once)"
            );
        } else {
            eprintln!("interrupted again: quitting now; the run can still be resumed");
            std::process::exit(130);
        }
    }
}

/// Waits for Ctrl-C or (Unix) SIGTERM; false if signals cannot be watched.
async fn next_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return tokio::signal::ctrl_c().await.is_ok();
        };
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.is_ok(),
            r = term.recv() => r.is_some(),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn a_stop_cuts_paced_waits_short_only_inside_its_scope() {
        let stop = Stop::default();
        let s2 = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            s2.set();
        });
        let t = Instant::now();
        let slept = stop.scope(sleep(Duration::from_secs(30))).await;
        assert!(!slept && t.elapsed() < Duration::from_secs(5));
        assert_eq!(stop.halt(), Some(Halt::Interrupted));
        // Outside the scope the same wait is not cut short.
        assert!(sleep(Duration::from_millis(1)).await);
        assert!(!stopped());
    }

    #[test]
    fn the_first_reason_wins() {
        let stop = Stop::default();
        stop.set_unreachable("connection refused".into());
        stop.set();
        stop.set_unreachable("later".into());
        assert_eq!(
            stop.halt(),
            Some(Halt::Unreachable("connection refused".into()))
        );
    }
}
