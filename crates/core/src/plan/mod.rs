//! Planner stage: compares mapped rows with what the target already holds and decides one
//! [`Action`] per row — before anything is written, so a preview is the real plan.

mod change;

use crate::outcome::ReasonCode;
pub use change::{differences, Change};
use serde_json::Value;
use std::sync::Arc;

/// A key a planner may add to a `Create` or `Update` record: the other records its write will
/// create first (`[{"what": "department", "name": "History"}]`, from `create_missing`). The
/// preview lists them (`would_create department "History"`), the journal keeps them with the
/// record sent, and the system's writer takes the key off before sending.
pub const ALSO_CREATES: &str = "_alsoCreates";

/// The [`ALSO_CREATES`] entries of a record, as people read them (`department "History"`).
pub fn also_creates(record: &Value) -> Vec<String> {
    record
        .get(ALSO_CREATES)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let what = e.get("what")?.as_str()?;
            let name = e.get("name")?.as_str()?;
            Some(format!("{what} {}", Value::String(name.to_string())))
        })
        .collect()
}

/// Rows a stage hands a planner at a time (FOLIO looks a chunk up in one batched query).
pub const CHUNK: usize = 50;

/// A row that passed mapping, validation and the in-file duplicate check.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Input file.
    pub file: Arc<str>,
    /// Line in it.
    pub line: u64,
    /// Match-key value.
    pub key: String,
    /// The mapped record (names unresolved).
    pub record: Value,
    /// Fields to clear (blank sources with `on_blank = clear`).
    pub clear: Vec<String>,
    /// What the planner kept from the row and why (`expirationDate: kept later expiry …`):
    /// shown among the row's changed fields, so nothing it decides is silent.
    pub notes: Vec<String>,
}

impl Candidate {
    /// An outcome for this row (file, line, key and name filled in) of the given kind.
    pub fn outcome(&self, kind: crate::outcome::OutcomeKind) -> crate::outcome::Outcome {
        let mut o =
            crate::outcome::Outcome::new(&self.file, self.line, Some(self.key.clone()), kind);
        o.name = crate::outcome::display_name(&self.record);
        o.changed_fields = self.notes.clone();
        o
    }
}

/// What to do with one row.
#[derive(Debug, Clone)]
pub enum Action {
    /// Create this record.
    Create(Value),
    /// Replace record `id` with `record` (the merged full record), changing `changes`.
    Update {
        /// Target id.
        id: String,
        /// Full record to send.
        record: Value,
        /// What changes.
        changes: Vec<Change>,
        /// The record as the target held it (the before-image the journal keeps for undo).
        before: Value,
    },
    /// Already identical.
    Unchanged {
        /// Target id.
        id: String,
    },
    /// Exists and the API cannot update it (ILLiad); the differences are listed.
    Exists {
        /// Target id.
        id: String,
        /// Differences.
        changes: Vec<Change>,
    },
    /// Collides with another record.
    Conflict(String),
    /// Cannot be sent (e.g. unknown reference-data name), with the reason's code.
    Reject(Rejection),
}

/// Why a planner cannot send a row: the reason's [`ReasonCode`], set where the reason is made
/// (an unknown patron group is `unknown_reference`, an over-long custom-field text `too_long`),
/// and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The reason's stable code.
    pub code: ReasonCode,
    /// The reason as people read it.
    pub reason: String,
}

impl Rejection {
    /// A rejection with `code` and `reason`.
    pub fn new(code: ReasonCode, reason: impl Into<String>) -> Rejection {
        Rejection {
            code,
            reason: reason.into(),
        }
    }

    /// Reasons made without a code, all of kind `code`.
    pub fn each(code: ReasonCode, reasons: Vec<String>) -> impl Iterator<Item = Rejection> {
        reasons.into_iter().map(move |r| Rejection::new(code, r))
    }

    /// A row's problems as one rejection: the first one's code, every reason joined with "; "
    /// (`None`: no problem).
    pub fn all(problems: &[Rejection]) -> Option<Rejection> {
        let first = problems.first()?;
        Some(Rejection::new(
            first.code,
            problems
                .iter()
                .map(|p| p.reason.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        ))
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// A `merge`d list field on update: the stored items, then the mapped items not already among
/// them (compared trimmed and ignoring case), so a migration adds its tags and removes none.
pub fn merged_list<'a>(
    stored: impl IntoIterator<Item = &'a str>,
    mapped: impl IntoIterator<Item = &'a str>,
) -> Vec<Value> {
    let mut out: Vec<&str> = Vec::new();
    for item in stored.into_iter().chain(mapped) {
        let item = item.trim();
        if !item.is_empty() && !out.iter().any(|o| o.to_lowercase() == item.to_lowercase()) {
            out.push(item);
        }
    }
    out.into_iter()
        .map(|s| Value::String(s.to_string()))
        .collect()
}

/// A candidate with its action.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The row.
    pub row: Candidate,
    /// The decision.
    pub action: Action,
}
