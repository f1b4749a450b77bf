//! Graceful interruption: the first Ctrl-C (or SIGTERM) sets a flag that the pipeline checks
//! before starting each write; requests already in flight finish and are recorded, the rest of
//! the rows are reported `skipped`, and the run stays resumable. A second Ctrl-C exits at once
//! (exit code 130); the journal is still consistent because every row commits atomically.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A shared "stop starting new work" flag.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A flag nobody sets (tests, previews without a runtime).
    pub fn never() -> Stop {
        Stop::default()
    }

    /// Installs the Ctrl-C / SIGTERM handler on the current tokio runtime.
    pub fn install() -> Stop {
        let stop = Stop::default();
        let flag = stop.0.clone();
        tokio::spawn(async move {
            let mut seen = 0u8;
            loop {
                if !next_signal().await {
                    return;
                }
                seen += 1;
                if seen == 1 {
                    flag.store(true, Ordering::SeqCst);
                    eprintln!(
                        "interrupted: finishing the requests in flight and recording them \
                         (press Ctrl-C again to quit at once)"
                    );
                } else {
                    eprintln!("interrupted again: quitting now; the run can still be resumed");
                    std::process::exit(130);
                }
            }
        });
        stop
    }

    /// Whether an interruption was requested.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Requests a stop (as a signal would).
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
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
