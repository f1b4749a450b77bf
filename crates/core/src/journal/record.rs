//! The journal's writes made outside a chunked import session: a run recorded one write at a
//! time (undo), and the end of such a run. With [`super::session`] (import, migrate, roster sync,
//! restore) this is every write to the journal; no other module writes SQL.
//!
//! Invariant: as in a session, an intent is committed before its write is sent
//! ([`Journal::record_intent`] returns once SQLite has it), and resolved after
//! ([`Journal::resolve_intent`]).

use super::spec::{IntentState, RunStatus};
use super::store::{AtPath, Journal};
use super::JournalError;
use rusqlite::params;
use serde_json::Value;

/// One write about to be sent by a run that records its writes one at a time.
#[derive(Debug, Clone)]
pub struct NewIntent<'a> {
    /// The run sending it.
    pub run_id: &'a str,
    /// The row it belongs to: input file index and line (an undo: the undone run's).
    pub file_index: usize,
    /// See `file_index`.
    pub line: u64,
    /// System name.
    pub system: &'a str,
    /// `create`, `update`, `delete` or `restore`.
    pub op: &'a str,
    /// Match-key value.
    pub key: Option<&'a str>,
    /// Match field.
    pub match_field: Option<&'a str>,
    /// Target id.
    pub target_id: Option<&'a str>,
    /// The record as it is before the write.
    pub before: &'a Value,
    /// What is sent (none for a delete).
    pub after: Option<&'a Value>,
}

/// One record's outcome in a run recorded one write at a time.
#[derive(Debug, Clone)]
pub struct RecordOutcome<'a> {
    /// Match-key value.
    pub key: Option<&'a str>,
    /// Outcome name.
    pub outcome: &'a str,
    /// Why, if it is not plain.
    pub reason: Option<&'a str>,
    /// Target id.
    pub target_id: Option<&'a str>,
}

impl Journal {
    /// Records (durably) an intent before its write is sent; returns its id for
    /// [`Journal::resolve_intent`].
    pub fn record_intent(&self, i: &NewIntent<'_>) -> Result<i64, JournalError> {
        self.conn()
            .execute(
                "INSERT INTO intents (run_id, file_index, line, system, op, key, match_field, \
                 target_id, before, after, state, attempt, recorded_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 1, ?12)",
                params![
                    i.run_id,
                    i.file_index as i64,
                    i.line as i64,
                    i.system,
                    i.op,
                    i.key,
                    i.match_field,
                    i.target_id,
                    i.before.to_string(),
                    i.after.map(Value::to_string),
                    IntentState::Pending,
                    super::now()
                ],
            )
            .at(self.path())?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Resolves intent `id` once its write's answer is known.
    pub fn resolve_intent(
        &self,
        id: i64,
        state: IntentState,
        result: &str,
    ) -> Result<(), JournalError> {
        self.conn()
            .execute(
                "UPDATE intents SET state = ?2, result = ?3, resolved_at = ?4 WHERE id = ?1",
                params![id, state, result, super::now()],
            )
            .at(self.path())?;
        Ok(())
    }

    /// Ends run `run_id` in one transaction: its outcomes (numbered 1, 2, … under the file name
    /// `file`), status `finished`, and — when `undoes` is given — the run it undid marked as
    /// undone by it.
    pub fn finish_recorded(
        &self,
        run_id: &str,
        file: &str,
        outcomes: &[RecordOutcome<'_>],
        undoes: Option<&str>,
    ) -> Result<(), JournalError> {
        let p = self.path();
        let tx = self.conn().unchecked_transaction().at(p)?;
        for (n, o) in outcomes.iter().enumerate() {
            tx.execute(
                "INSERT INTO row_outcomes (run_id, file_index, line, file, key, outcome, reason, \
                 target_id, attempt) VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6, ?7, 1)",
                params![
                    run_id,
                    n as i64 + 1,
                    file,
                    o.key,
                    o.outcome,
                    o.reason,
                    o.target_id
                ],
            )
            .at(p)?;
        }
        let now = super::now();
        tx.execute(
            "UPDATE runs SET status = ?3, updated_at = ?2, finished_at = ?2 WHERE id = ?1",
            params![run_id, now, RunStatus::Finished],
        )
        .at(p)?;
        if let Some(parent) = undoes {
            tx.execute(
                "UPDATE runs SET undone_by = ?2 WHERE id = ?1",
                params![parent, run_id],
            )
            .at(p)?;
        }
        tx.commit().at(p)?;
        Ok(())
    }
}
