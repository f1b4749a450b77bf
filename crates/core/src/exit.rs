//! Exit codes and the run-fatal error types that choose them.
//!
//! 0: every row ok · 1: some rows rejected/conflict/failed/skipped · 2: usage, config, mapping or
//! unreadable input · 3: target unreachable, authentication failed, a permission refused, or the target answered a call
//! that must succeed with garbage or kept failing until the retries ran out · 4: internal or I/O
//! error (the journal's SQLite refused, the home's files or folders could not be written) · 130:
//! interrupted before the run could start (or a second Ctrl-C).

use crate::journal::JournalError;
use crate::mapping::MappingError;
use crate::read::ReadError;

/// Every row was fine.
pub const OK: u8 = 0;
/// Some rows were rejected, conflicted, failed or were skipped.
pub const ROWS_FAILED: u8 = 1;
/// Usage, configuration, mapping or unreadable input.
pub const USAGE: u8 = 2;
/// Target unreachable, authentication failed, server garbage or retries exhausted.
pub const UNREACHABLE: u8 = 3;

/// Internal or I/O error: the journal (SQLite) or the disk under the home failed.
pub const INTERNAL: u8 = 4;

/// Interrupted (Ctrl-C) before the run could start, or quit by a second Ctrl-C.
pub const INTERRUPTED: u8 = 130;

/// Ctrl-C arrived while connecting, before any row was processed (exit code 130).
#[derive(Debug, thiserror::Error)]
#[error("interrupted before any row was processed; nothing was written")]
pub struct InterruptedError;

/// A usage or configuration problem found after argument parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The target could not be reached or refused our credentials (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UnreachableError(pub String);

/// A run-fatal client error: the target could not be reached, refused the credentials, or
/// answered garbage / kept failing a call that must succeed. All are target problems (exit 3).
pub trait TargetError: std::error::Error + Send + Sync + Sized + 'static {
    /// True when the target could not be reached or refused the credentials.
    fn is_connection(&self) -> bool;

    /// The error for the run: an [`UnreachableError`] (exit 3), whatever the cause — a server
    /// answering garbage or exhausting the retries is a problem of the target, not of usage.
    fn into_run_error(self) -> anyhow::Error {
        anyhow::Error::new(UnreachableError(self.to_string()))
    }
}

/// An internal or I/O problem not caused by the user's input or the target (exit code 4).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InternalError(pub String);

/// Picks the exit code for a run-fatal error by looking through its cause chain (outermost
/// first); an error of no known class is 2.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(j) = cause.downcast_ref::<JournalError>() {
            return match j {
                // The user must act on the home (restore, move aside) or name another run.
                JournalError::NoRun(..)
                | JournalError::Lost { .. }
                | JournalError::Damaged { .. } => USAGE,
                JournalError::Sqlite { .. } | JournalError::Io { .. } | JournalError::Closed(_) => {
                    INTERNAL
                }
            };
        }
        if cause.is::<InternalError>() || cause.is::<rusqlite::Error>() {
            return INTERNAL;
        }
        if cause.is::<InterruptedError>() {
            return INTERRUPTED;
        }
        if cause.is::<UnreachableError>() {
            return UNREACHABLE;
        }
        if cause.is::<UsageError>() || cause.is::<ReadError>() || cause.is::<MappingError>() {
            return USAGE;
        }
    }
    USAGE
}
