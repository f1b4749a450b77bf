//! One writing run per target at a time: a lease, taken before the first write and held until
//! the run ends.
//!
//! The lease is two things: an exclusive OS lock (`flock`) on
//! `<home>/locks/<hash of the target>.lock` — the kernel releases it when the holder dies,
//! however it dies — and a row in the journal's `leases` table naming the holder (run, process,
//! since when), so a second run can say who holds it. A second run refuses (exit 2) naming the
//! holder; a row left by a dead process (its lock free) is stale and taken over, with a notice.
//!
//! The target is identified by its system and URL for a configured target (two names for the same
//! server share one lease) and by its name for a built-in `sandbox:*` target.

use super::store::{connect, AtPath};
use super::JournalError;
use crate::exit::UsageError;
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::path::{Path, PathBuf};

/// A held lease; released on [`Lease::release`] or drop (the lock file's lock goes with it).
#[derive(Debug)]
pub struct Lease {
    _lock: File,
    journal: PathBuf,
    target: String,
}

fn lock_path(home: &Path, target: &str) -> PathBuf {
    let h = Sha256::digest(target.as_bytes());
    let name: String = h.iter().take(8).map(|b| format!("{b:02x}")).collect();
    home.join("locks").join(format!("{name}.lock"))
}

/// The lease key of a target: its system and URL when configured, its name when built in.
pub fn key_of(tref: &crate::target::TargetRef, name: &str) -> String {
    match tref {
        crate::target::TargetRef::Sandbox(_) => name.to_string(),
        crate::target::TargetRef::Configured(t) => format!("{} {}", t.system, t.url),
    }
}

impl Lease {
    /// Takes the lease of `target` for `run_id` (this process), or says who holds it (a
    /// [`UsageError`], exit 2).
    pub fn acquire(home: &Path, target: &str, run_id: &str) -> anyhow::Result<Lease> {
        let path = lock_path(home, target);
        let io = |source| JournalError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            crate::runs::create_private_dir(dir).map_err(io)?;
        }
        let mut o = std::fs::OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let lock = o.open(&path).map_err(io)?;
        let journal = super::path_in(home);
        // The lease is taken before the run opens the journal, so open it as a run does: created
        // owner-only (not with the umask's permissions), and a missing or empty journal beside
        // run folders refused rather than replaced.
        let opened = super::store::Journal::open(home)?;
        let conn = opened.conn();
        let holder = |conn: &rusqlite::Connection| {
            conn.query_row(
                "SELECT run_id, pid, acquired_at FROM leases WHERE target = ?1",
                params![target],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .at(&journal)
        };
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let who = match holder(conn)? {
                    Some((run, pid, at)) => format!("run {run} (process {pid}, since {at})"),
                    None => "another run that is starting".to_string(),
                };
                return Err(UsageError(format!(
                    "target {target} is being written by {who}; one writing run per target at a \
                     time: wait for it to finish (see `patron-etl runs`)"
                ))
                .into());
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e).into()),
        }
        if let Some((run, pid, _)) = holder(conn)? {
            if pid != i64::from(std::process::id()) {
                tracing::warn!(
                    target = %target,
                    "taking over the lease of run {run}: its process {pid} is gone"
                );
            }
        }
        conn.execute(
            "INSERT INTO leases (target, run_id, pid, acquired_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (target) DO UPDATE SET run_id = excluded.run_id, pid = excluded.pid, \
             acquired_at = excluded.acquired_at",
            params![target, run_id, i64::from(std::process::id()), super::now()],
        )
        .at(&journal)?;
        Ok(Lease {
            _lock: lock,
            journal,
            target: target.to_string(),
        })
    }

    /// Names the run holding the lease (once its id is known).
    pub fn name_run(&self, run_id: &str) -> Result<(), JournalError> {
        let conn = connect(&self.journal)?;
        conn.execute(
            "UPDATE leases SET run_id = ?2 WHERE target = ?1 AND pid = ?3",
            params![self.target, run_id, i64::from(std::process::id())],
        )
        .at(&self.journal)?;
        Ok(())
    }

    /// Gives the lease back: its row is removed, then the lock (as on drop).
    pub fn release(self) {
        drop(self);
    }
}

/// A run that ends early after taking the lease (an error, `resume` of a finished run) gives it
/// back too, so the next run does not report a holder "gone" that merely stopped; only a holder
/// that died leaves its row for the next run to take over.
impl Drop for Lease {
    fn drop(&mut self) {
        if let Ok(conn) = connect(&self.journal) {
            let _ = conn.execute(
                "DELETE FROM leases WHERE target = ?1 AND pid = ?2",
                params![self.target, i64::from(std::process::id())],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_by_name_and_a_dead_ones_row_is_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        crate::journal::Journal::open(d).expect("journal");
        let a = Lease::acquire(d, "sandbox:folio", "run-a").expect("first");
        // A second lock on the same file from this process: flock locks are per open file.
        let err = Lease::acquire(d, "sandbox:folio", "run-b").expect_err("held");
        let msg = err.to_string();
        assert!(
            msg.contains("run-a") && msg.contains(&std::process::id().to_string()),
            "{msg}"
        );
        assert!(err.is::<UsageError>());
        // Another target is free.
        let c = Lease::acquire(d, "sandbox:libib", "run-c").expect("other target");
        let conn = connect(&crate::journal::path_in(d)).expect("conn");
        let count = |conn: &rusqlite::Connection| -> i64 {
            conn.query_row("SELECT COUNT(*) FROM leases", [], |r| r.get(0))
                .expect("count")
        };
        drop(a);
        // A lease dropped without `release` (a run that ended early) gives its row back.
        assert_eq!(count(&conn), 1, "only sandbox:libib's row is left");
        // The row of a holder whose lock is gone (as after a crash) is taken over.
        conn.execute(
            "INSERT INTO leases (target, run_id, pid, acquired_at) VALUES ('sandbox:folio', 'run-a', 999999999, 'then')",
            [],
        )
        .expect("stale row");
        let b = Lease::acquire(d, "sandbox:folio", "run-b").expect("taken over");
        b.name_run("run-b2").expect("named");
        let run: String = conn
            .query_row(
                "SELECT run_id FROM leases WHERE target = 'sandbox:folio'",
                [],
                |r| r.get(0),
            )
            .expect("row");
        assert_eq!(run, "run-b2");
        b.release();
        c.release();
        assert_eq!(count(&conn), 0);
    }
}
