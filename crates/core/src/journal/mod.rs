//! The run journal: `<home>/journal.sqlite` (home: `--home`, `PATRON_ETL_HOME`, `./.patron-etl`) (owner-only, SQLite in WAL mode) records every
//! run, one outcome per input row, a write intent committed *before* each write is sent (with the
//! before-image of an updated record), and the intent's result after. It is what makes runs
//! resumable after a crash or Ctrl-C and undoable afterwards.
//!
//! Invariants:
//! - one writer: during a run only the [`writer::JournalWriter`] thread writes, one transaction
//!   per chunk of rows; readers (`patron-etl runs`) never block it (WAL);
//! - an intent is durable before its request leaves ([`session::RunJournal::record_intents`] is
//!   awaited); a row's outcome and the resolution of its intents commit in the same transaction,
//!   so a row is either fully recorded or not at all, and recorded exactly once per run;
//! - system-neutral: an intent is a system name, an operation, a target id and JSON images, so
//!   any backend (FOLIO, Libib) is journaled and undone the same way;
//! - no secrets: targets are stored by name, never with URLs carrying keys, tokens or passwords.

pub mod interrupt;
pub mod lease;
pub mod record;
pub mod schema;
pub mod session;
pub mod spec;
pub mod store;
pub mod writer;

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

pub use session::{JournalOptions, ResumeFrom, RunJournal, RunStart};
pub use spec::{IntentState, RunSpec, RunStatus};
pub use store::{IntentRow, Journal, RunRow};

/// A journal problem.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite refused.
    #[error("journal {path}: {source}")]
    Sqlite {
        /// The journal file.
        path: String,
        /// Cause.
        source: rusqlite::Error,
    },
    /// The file or its folder could not be created or read.
    #[error("journal {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// No such run.
    #[error("no run {0} in {path} (see `patron-etl runs`, and --home / PATRON_ETL_HOME)", path = .1.display())]
    NoRun(String, PathBuf),
    /// The journal is missing or empty although run folders exist.
    #[error(
        "journal {path} is {state} but {runs} run folder(s) exist beside it: their history \
         would be lost, so it is not started afresh. Restore journal.sqlite from a backup, or \
         move the runs folder beside it aside to start a new history"
    )]
    Lost {
        /// The journal file.
        path: String,
        /// `missing` or `empty`.
        state: &'static str,
        /// Run folders found.
        runs: usize,
    },
    /// The journal failed its integrity check.
    #[error(
        "journal {path} is damaged (PRAGMA quick_check: {found}); nothing was written. Keep a \
         copy, restore journal.sqlite from a backup (or move it aside to start a new history), \
         and run again"
    )]
    Damaged {
        /// The journal file.
        path: String,
        /// What the check found.
        found: String,
    },
    /// The writer thread is gone (an earlier journal write failed).
    #[error("the journal writer stopped: {0}")]
    Closed(String),
}

/// The journal file in the patron-etl home directory (see [`crate::runs::home`]).
pub fn path_in(home: &Path) -> PathBuf {
    home.join("journal.sqlite")
}

/// Now, as RFC 3339 in local time (what `runs` shows).
pub fn now() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's bytes, streamed.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// One hash over several files (in order): SHA-256 of their hashes.
pub fn hash_files(paths: &[PathBuf]) -> std::io::Result<String> {
    let mut h = Sha256::new();
    for p in paths {
        h.update(hash_file(p)?.as_bytes());
        h.update(b"\n");
    }
    Ok(hex(&h.finalize()))
}
