//! What the journal records about a run, as types: the [`RunSpec`] (the options a later
//! `patron-etl resume RUN_ID` rebuilds the import from), the [`RunStatus`] of a run and the
//! [`IntentState`] of a write intent.
//!
//! Invariants:
//! - the spec is the `options` JSON column of the run's row, written and read by serde only; its
//!   field names are those the journal used before the spec existed (hand-written JSON, schema
//!   version 1), and every field has a default, so runs recorded by an earlier patron-etl resume
//!   unchanged;
//! - no secrets: the target is stored by name and the config file by path, never a URL, key,
//!   token or password;
//! - statuses and intent states are stored as the lowercase names below (the SQL in `session.rs`
//!   and `store.rs` compares against the same names: [`RunStatus::name`], [`IntentState::name`]).

use crate::read::ReadOptions;
use crate::sync::{MissingPolicy, DEFAULT_MAX_MISSING};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The options of an import (or migration, roster sync, restore) that a resume needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunSpec {
    /// Input files, absolute (empty for a migration).
    pub files: Vec<String>,
    /// Mapping file, absolute.
    pub mapping: Option<String>,
    /// Target name (`sandbox:folio` or a config entry).
    pub to: String,
    /// Migration source target name.
    pub from: Option<String>,
    /// Config file, absolute.
    pub config: Option<String>,
    /// Requests per second override.
    pub rate: Option<f64>,
    /// In-flight override.
    pub concurrency: Option<usize>,
    /// `--max-errors`.
    pub max_errors: Option<u64>,
    /// `--limit`.
    pub limit: Option<u64>,
    /// `--missing`.
    pub missing: MissingPolicy,
    /// `--max-missing`.
    pub max_missing: f64,
    /// `--allow-incomplete-roster`.
    pub allow_incomplete_roster: bool,
    /// Reader options.
    pub read: ReadOptions,
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            files: Vec::new(),
            mapping: None,
            to: String::new(),
            from: None,
            config: None,
            rate: None,
            concurrency: None,
            max_errors: None,
            limit: None,
            missing: MissingPolicy::Ignore,
            max_missing: DEFAULT_MAX_MISSING,
            allow_incomplete_roster: false,
            read: ReadOptions::default(),
        }
    }
}

impl RunSpec {
    /// The spec as the journal stores it.
    pub fn to_json(&self) -> serde_json::Value {
        // A struct of strings, numbers and options always serialises; Null is a defined answer.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The spec of a recorded run (`options` column).
    pub fn from_json(v: &serde_json::Value) -> Result<RunSpec, serde_json::Error> {
        RunSpec::deserialize(v)
    }
}

/// `path` made absolute (resolving symlinks where it exists), as runs are recorded.
pub fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p)
        .or_else(|_| std::path::absolute(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

/// A run's status (`runs.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Started and not ended (or its process was killed: then read back as `Interrupted`).
    Running,
    /// Ctrl-C: resumable.
    Interrupted,
    /// The target was lost mid-run: resumable.
    Unreachable,
    /// Rows were skipped after `--max-errors`: resumable.
    Stopped,
    /// A run-fatal error.
    Failed,
    /// Every row has its outcome.
    Finished,
}

impl RunStatus {
    /// Every status.
    pub const ALL: [RunStatus; 6] = [
        RunStatus::Running,
        RunStatus::Interrupted,
        RunStatus::Unreachable,
        RunStatus::Stopped,
        RunStatus::Failed,
        RunStatus::Finished,
    ];

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Unreachable => "unreachable",
            RunStatus::Stopped => "stopped",
            RunStatus::Failed => "failed",
            RunStatus::Finished => "finished",
        }
    }

    /// The status stored as `name`; `None` for a name this version does not know.
    pub fn parse(name: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A write intent's state (`intents.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntentState {
    /// Recorded; the write may or may not have been applied.
    Pending,
    /// The target confirmed the write.
    Applied,
    /// The write was sent and refused or failed.
    Failed,
    /// Never sent (the run was interrupted first).
    NotSent,
    /// A later attempt of the same row recorded a new intent.
    Superseded,
}

impl IntentState {
    /// Every state.
    pub const ALL: [IntentState; 5] = [
        IntentState::Pending,
        IntentState::Applied,
        IntentState::Failed,
        IntentState::NotSent,
        IntentState::Superseded,
    ];

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            IntentState::Pending => "pending",
            IntentState::Applied => "applied",
            IntentState::Failed => "failed",
            IntentState::NotSent => "not_sent",
            IntentState::Superseded => "superseded",
        }
    }

    /// The state stored as `name`; `None` for a name this version does not know.
    pub fn parse(name: &str) -> Option<IntentState> {
        IntentState::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl std::fmt::Display for IntentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! stored_as_name {
    ($t:ty, $what:literal) => {
        impl rusqlite::ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.name().into())
            }
        }

        impl rusqlite::types::FromSql for $t {
            fn column_result(
                v: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                let s = v.as_str()?;
                <$t>::parse(s).ok_or_else(|| {
                    rusqlite::types::FromSqlError::Other(format!("unknown {} {s:?}", $what).into())
                })
            }
        }
    };
}
stored_as_name!(RunStatus, "run status");
stored_as_name!(IntentState, "intent state");

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The `options` JSON exactly as the hand-written `options_json` of the previous version
    /// wrote it (crates/core/src/journal/session.rs before the spec).
    fn previous_format() -> serde_json::Value {
        json!({
            "files": ["/data/roster.csv"],
            "mapping": "/data/folio.toml",
            "to": "sb",
            "from": null,
            "config": "/data/patron-etl.toml",
            "rate": 5.0,
            "concurrency": null,
            "max_errors": 10,
            "limit": null,
            "missing": "deactivate",
            "max_missing": 0.25,
            "allow_incomplete_roster": true,
            "read": {"delimiter": 59, "encoding": "windows-1252", "sheet": null, "header_row": 2},
        })
    }

    #[test]
    fn the_previous_hand_written_options_read_back_whole() {
        let spec = RunSpec::from_json(&previous_format()).unwrap();
        assert_eq!(spec.files, vec!["/data/roster.csv".to_string()]);
        assert_eq!(spec.mapping.as_deref(), Some("/data/folio.toml"));
        assert_eq!(spec.to, "sb");
        assert_eq!(spec.config.as_deref(), Some("/data/patron-etl.toml"));
        assert_eq!(spec.rate, Some(5.0));
        assert_eq!(spec.max_errors, Some(10));
        assert_eq!(spec.missing, MissingPolicy::Deactivate);
        assert_eq!(spec.max_missing, 0.25);
        assert!(spec.allow_incomplete_roster);
        assert_eq!(spec.read.delimiter, Some(b';'));
        assert_eq!(spec.read.encoding.as_deref(), Some("windows-1252"));
        assert_eq!(spec.read.header_row, Some(2));
        // and writes the same keys back
        assert_eq!(spec.to_json(), previous_format());
    }

    #[test]
    fn a_spec_lacking_fields_gets_the_cli_defaults() {
        let spec = RunSpec::from_json(&json!({"files": ["/a.csv"], "to": "sb"})).unwrap();
        assert_eq!(spec.missing, MissingPolicy::Ignore);
        assert_eq!(spec.max_missing, DEFAULT_MAX_MISSING);
        assert_eq!(spec.read, ReadOptions::default());
    }

    #[test]
    fn an_unknown_missing_policy_is_an_error_not_a_guess() {
        let mut v = previous_format();
        v["missing"] = json!("purge");
        assert!(RunSpec::from_json(&v).is_err());
    }

    #[test]
    fn names_round_trip() {
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.name()), Some(s));
        }
        for s in IntentState::ALL {
            assert_eq!(IntentState::parse(s.name()), Some(s));
        }
        assert_eq!(RunStatus::parse("done"), None);
    }
}
