//! Opening the journal and reading it: runs, row outcomes, intents. Writes during a run go through
//! the [`super::writer::JournalWriter`] thread; the few writes made outside a run (creating the
//! run's row, an undo's own records) use [`Journal::conn`] directly.

use super::spec::{IntentState, RunStatus};
use super::{schema, JournalError};
use crate::outcome::{Outcome, OutcomeKind};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// An open journal connection.
pub struct Journal {
    conn: Connection,
    path: PathBuf,
}

/// Adds the journal path to SQLite errors.
pub(crate) trait AtPath<T> {
    /// Maps the error into a [`JournalError`] naming `path`.
    fn at(self, path: &Path) -> Result<T, JournalError>;
}

impl<T> AtPath<T> for rusqlite::Result<T> {
    fn at(self, path: &Path) -> Result<T, JournalError> {
        self.map_err(|source| JournalError::Sqlite {
            path: path.display().to_string(),
            source,
        })
    }
}

/// One run as recorded.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// Run id (also its folder name).
    pub id: String,
    /// `import` or `undo`.
    pub command: String,
    /// When it started.
    pub started_at: String,
    /// Last change.
    pub updated_at: String,
    /// When it finished (None while running or after an interruption).
    pub finished_at: Option<String>,
    /// Where the run stands.
    pub status: RunStatus,
    /// Target name (never a URL or credential).
    pub target: String,
    /// Target system name.
    pub system: String,
    /// Whether it wrote (`--commit`).
    pub commit: bool,
    /// Mapping file (absolute).
    pub mapping: Option<String>,
    /// SHA-256 of the mapping file.
    pub mapping_hash: Option<String>,
    /// Input files (absolute).
    pub inputs: Vec<String>,
    /// SHA-256 over the input files.
    pub input_hash: Option<String>,
    /// Options needed to resume (rate, limits, reader options, config path).
    pub options: Value,
    /// How many times it was started (1 + resumes).
    pub attempts: i64,
    /// Process id of the latest attempt.
    pub pid: Option<i64>,
    /// For an undo: the run it undoes.
    pub parent: Option<String>,
    /// The undo run that undid this run.
    pub undone_by: Option<String>,
}

/// One recorded write intent.
#[derive(Debug, Clone)]
pub struct IntentRow {
    /// Sequence number.
    pub id: i64,
    /// Input file index.
    pub file_index: usize,
    /// Input line.
    pub line: u64,
    /// System name.
    pub system: String,
    /// `create`, `update`, `delete` or `restore`.
    pub op: String,
    /// Match-key value.
    pub key: Option<String>,
    /// Match field.
    pub match_field: Option<String>,
    /// Target id (known up front for updates, after the write for creates).
    pub target_id: Option<String>,
    /// Before-image.
    pub before: Option<Value>,
    /// What was sent.
    pub after: Option<Value>,
    /// Changed fields as `field: old → new`.
    pub changes: Vec<String>,
    /// Where the write stands.
    pub state: IntentState,
    /// The outcome that resolved it.
    pub result: Option<String>,
    /// Attempt that recorded it.
    pub attempt: i64,
}

const RUN_COLS: &str = "id, command, started_at, updated_at, finished_at, status, target, system, \
    commit_mode, mapping, mapping_hash, inputs, input_hash, options, attempts, pid, parent, undone_by";

fn json_col(s: Option<String>) -> Option<Value> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

fn strings(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

/// Whether process `pid` is alive (Linux: it exists and is no zombie); elsewhere assumed alive.
pub fn process_alive(pid: i64) -> bool {
    #[cfg(target_os = "linux")]
    {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // state after the ")" of the command name: Z (zombie) / X (dead) are not running.
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().next());
        matches!(state, Some(s) if s != "Z" && s != "X")
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        true
    }
}

fn run_row(r: &Row<'_>) -> rusqlite::Result<RunRow> {
    let status: RunStatus = r.get(5)?;
    let pid: Option<i64> = r.get(15)?;
    // A run recorded as running whose process is gone was killed: it is interrupted.
    let status = match pid {
        Some(p) if status == RunStatus::Running && !process_alive(p) => RunStatus::Interrupted,
        _ => status,
    };
    Ok(RunRow {
        id: r.get(0)?,
        command: r.get(1)?,
        started_at: r.get(2)?,
        updated_at: r.get(3)?,
        finished_at: r.get(4)?,
        status,
        target: r.get(6)?,
        system: r.get(7)?,
        commit: r.get::<_, i64>(8)? != 0,
        mapping: r.get(9)?,
        mapping_hash: r.get(10)?,
        inputs: strings(&r.get::<_, String>(11)?),
        input_hash: r.get(12)?,
        options: json_col(r.get(13)?).unwrap_or(Value::Null),
        attempts: r.get(14)?,
        pid,
        parent: r.get(16)?,
        undone_by: r.get(17)?,
    })
}

fn intent_row(r: &Row<'_>) -> rusqlite::Result<IntentRow> {
    Ok(IntentRow {
        id: r.get(0)?,
        file_index: r.get::<_, i64>(1)? as usize,
        line: r.get::<_, i64>(2)? as u64,
        system: r.get(3)?,
        op: r.get(4)?,
        key: r.get(5)?,
        match_field: r.get(6)?,
        target_id: r.get(7)?,
        before: json_col(r.get(8)?),
        after: json_col(r.get(9)?),
        changes: strings(&r.get::<_, String>(10)?),
        state: r.get(11)?,
        result: r.get(12)?,
        attempt: r.get(13)?,
    })
}

/// Every outcome kind, for reading names back.
const KINDS: [OutcomeKind; 13] = [
    OutcomeKind::Ok,
    OutcomeKind::WouldCreate,
    OutcomeKind::WouldUpdate,
    OutcomeKind::Created,
    OutcomeKind::Updated,
    OutcomeKind::Unchanged,
    OutcomeKind::Exists,
    OutcomeKind::Rejected,
    OutcomeKind::Conflict,
    OutcomeKind::Failed,
    OutcomeKind::Skipped,
    OutcomeKind::Deactivated,
    OutcomeKind::WouldDeactivate,
];

/// The outcome kind with this report name.
pub fn kind_from_name(name: &str) -> Option<OutcomeKind> {
    KINDS.into_iter().find(|k| k.name() == name)
}

/// Opens a connection with the journal's settings.
pub(crate) fn connect(path: &Path) -> Result<Connection, JournalError> {
    let conn = Connection::open(path).at(path)?;
    conn.execute_batch(schema::PRAGMAS).at(path)?;
    Ok(conn)
}

impl Journal {
    /// Opens (creating it owner-only if needed) the journal in the home directory `home`,
    /// tightening loose permissions of what holds personal data. A missing or empty journal
    /// beside existing run folders is refused, not replaced: the history of those runs would be
    /// lost.
    pub fn open(home: &Path) -> Result<Journal, JournalError> {
        let path = super::path_in(home);
        let io = |source| JournalError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            crate::runs::create_private_dir(dir).map_err(io)?;
        }
        crate::runs::tighten_all(home);
        let empty = std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
        let runs = crate::runs::existing_runs(home);
        if empty && runs > 0 {
            return Err(JournalError::Lost {
                path: path.display().to_string(),
                state: if path.exists() { "empty" } else { "missing" },
                runs,
            });
        }
        if !path.exists() {
            crate::runs::create_private_file(&path).map_err(io)?;
        }
        let conn = connect(&path)?;
        conn.execute_batch(schema::TABLES).at(&path)?;
        for (table, column, kind) in schema::ADDED_COLUMNS {
            let has: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2",
                    params![table, column],
                    |r| r.get(0),
                )
                .at(&path)?;
            if has == 0 {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))
                    .at(&path)?;
            }
        }
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?1)",
            params![schema::VERSION.to_string()],
        )
        .at(&path)?;
        Ok(Journal { conn, path })
    }

    /// Opens the journal only if it exists (read-only commands).
    pub fn open_existing(home: &Path) -> Result<Option<Journal>, JournalError> {
        if super::path_in(home).exists() {
            Journal::open(home).map(Some)
        } else {
            Ok(None)
        }
    }

    /// `PRAGMA quick_check`: `Err` with SQLite's findings when the file is damaged.
    pub fn quick_check(&self) -> Result<(), String> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA quick_check")
            .map_err(|e| e.to_string())?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .collect();
        if rows.len() == 1 && rows[0] == "ok" {
            Ok(())
        } else {
            let mut found: Vec<String> = rows.into_iter().take(3).collect();
            if found.is_empty() {
                found.push("no answer".into());
            }
            Err(found.join("; "))
        }
    }

    /// The connection (for writes outside a run's writer thread).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives up the connection (to the writer thread).
    pub fn into_parts(self) -> (Connection, PathBuf) {
        (self.conn, self.path)
    }

    /// Records a new run.
    pub fn insert_run(&self, r: &RunRow) -> Result<(), JournalError> {
        self.conn
            .execute(
                &format!(
                    "INSERT INTO runs ({RUN_COLS}) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
                ),
                params![
                    r.id,
                    r.command,
                    r.started_at,
                    r.updated_at,
                    r.finished_at,
                    r.status,
                    r.target,
                    r.system,
                    r.commit as i64,
                    r.mapping,
                    r.mapping_hash,
                    serde_json::to_string(&r.inputs).unwrap_or_else(|_| "[]".into()),
                    r.input_hash,
                    r.options.to_string(),
                    r.attempts,
                    r.pid,
                    r.parent,
                    r.undone_by,
                ],
            )
            .at(&self.path)?;
        Ok(())
    }

    /// Deletes run `id` if it recorded no row and no intent (a run that ended on a usage
    /// error before doing anything: it is not worth a `failed` line in `runs`). True if deleted.
    pub fn forget_empty_run(&self, id: &str) -> Result<bool, JournalError> {
        let n = self
            .conn
            .execute(
                "DELETE FROM runs WHERE id = ?1 \
                 AND NOT EXISTS (SELECT 1 FROM row_outcomes WHERE run_id = ?1) \
                 AND NOT EXISTS (SELECT 1 FROM intents WHERE run_id = ?1)",
                params![id],
            )
            .at(&self.path)?;
        Ok(n > 0)
    }

    /// Records the end of a run that keeps no per-row journal (export, undo): its status, and
    /// `finished_at` when it is `finished`.
    pub fn set_status(&self, id: &str, status: RunStatus) -> Result<(), JournalError> {
        let now = super::now();
        self.conn
            .execute(
                "UPDATE runs SET status = ?2, updated_at = ?3, \
                 finished_at = CASE WHEN ?2 = ?4 THEN ?3 ELSE NULL END WHERE id = ?1",
                params![id, status, now, RunStatus::Finished],
            )
            .at(&self.path)?;
        Ok(())
    }

    /// Replaces a run's options (an export records its counts there: it has no row outcomes).
    pub fn set_options(&self, id: &str, options: &Value) -> Result<(), JournalError> {
        self.conn
            .execute(
                "UPDATE runs SET options = ?2 WHERE id = ?1",
                params![id, options.to_string()],
            )
            .at(&self.path)?;
        Ok(())
    }

    /// One run.
    pub fn run(&self, id: &str) -> Result<RunRow, JournalError> {
        self.conn
            .query_row(
                &format!("SELECT {RUN_COLS} FROM runs WHERE id = ?1"),
                params![id],
                run_row,
            )
            .optional()
            .at(&self.path)?
            .ok_or_else(|| JournalError::NoRun(id.to_string(), self.path.clone()))
    }

    /// The most recent runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRow>, JournalError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {RUN_COLS} FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?1"
            ))
            .at(&self.path)?;
        let rows = st
            .query_map(params![limit as i64], run_row)
            .at(&self.path)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .at(&self.path)?;
        Ok(rows)
    }

    /// The newest unfinished committed import of exactly these inputs, mapping and target.
    pub fn latest_resumable(
        &self,
        target: &str,
        mapping: &str,
        inputs: &[String],
    ) -> Result<Option<RunRow>, JournalError> {
        let inputs = serde_json::to_string(inputs).unwrap_or_default();
        self.conn
            .query_row(
                &format!(
                    "SELECT {RUN_COLS} FROM runs WHERE command = 'import' AND commit_mode = 1 \
                     AND status != ?4 AND target = ?1 AND mapping = ?2 AND inputs = ?3 \
                     ORDER BY started_at DESC, rowid DESC LIMIT 1"
                ),
                params![target, mapping, inputs, RunStatus::Finished],
                run_row,
            )
            .optional()
            .at(&self.path)
    }

    /// Row counts per outcome name.
    pub fn outcome_counts(&self, id: &str) -> Result<Vec<(String, u64)>, JournalError> {
        self.grouped(
            "SELECT outcome, COUNT(*) FROM row_outcomes WHERE run_id = ?1 GROUP BY outcome ORDER BY outcome",
            id,
        )
    }

    /// Intent counts per `op/state` (undo runs report these).
    pub fn intent_counts(&self, id: &str) -> Result<Vec<(String, u64)>, JournalError> {
        self.grouped(
            "SELECT op || ' ' || COALESCE(result, state), COUNT(*) FROM intents WHERE run_id = ?1 GROUP BY 1 ORDER BY 1",
            id,
        )
    }

    fn grouped(&self, sql: &str, id: &str) -> Result<Vec<(String, u64)>, JournalError> {
        let mut st = self.conn.prepare(sql).at(&self.path)?;
        let rows = st
            .query_map(params![id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .at(&self.path)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .at(&self.path)?;
        Ok(rows)
    }

    /// Every recorded row outcome of a run, with its file index.
    pub fn outcomes(&self, id: &str) -> Result<Vec<(usize, Outcome)>, JournalError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT file_index, line, file, key, outcome, reason, http_status, target_id, \
                 changed_fields, retries, code FROM row_outcomes WHERE run_id = ?1 \
                 ORDER BY file_index, line",
            )
            .at(&self.path)?;
        let rows = st
            .query_map(params![id], |r| {
                let kind: String = r.get(4)?;
                let mut o = Outcome::new(
                    &r.get::<_, String>(2)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get(3)?,
                    kind_from_name(&kind).unwrap_or(OutcomeKind::Failed),
                );
                o.reason = r.get(5)?;
                o.http_status = r.get::<_, Option<i64>>(6)?.map(|s| s as u16);
                o.target_id = r.get(7)?;
                o.changed_fields = strings(&r.get::<_, String>(8)?);
                o.retries = r.get::<_, i64>(9)? as u32;
                o.code = r
                    .get::<_, Option<String>>(10)?
                    .and_then(|c| crate::outcome::ReasonCode::from_name(&c));
                Ok((r.get::<_, i64>(0)? as usize, o))
            })
            .at(&self.path)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .at(&self.path)?;
        Ok(rows)
    }

    /// Every intent of a run, in the order recorded.
    pub fn intents(&self, id: &str) -> Result<Vec<IntentRow>, JournalError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, file_index, line, system, op, key, match_field, target_id, before, \
                 after, changes, state, result, attempt FROM intents WHERE run_id = ?1 ORDER BY id",
            )
            .at(&self.path)?;
        let rows = st
            .query_map(params![id], intent_row)
            .at(&self.path)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .at(&self.path)?;
        Ok(rows)
    }
}
