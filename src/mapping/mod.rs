//! Mapping stage: declarative TOML mapping files that turn a [`crate::read::SourceRow`] into one
//! system's record (STUB: being written).

use crate::read::SourceRow;
use crate::systems::System;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A problem with one field of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The target field (system name), if the issue concerns one.
    pub field: Option<String>,
    /// The source column, if the issue concerns one.
    pub column: Option<String>,
    /// Human-readable reason, e.g. `not a valid e-mail address: "x@"`.
    pub reason: String,
}

/// A row turned into a record of the target system.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The source row's line.
    pub line: u64,
    /// The match-key value, if present.
    pub key: Option<String>,
    /// The record in the system's own JSON shape (FOLIO nested; names such as patron groups not
    /// yet resolved to UUIDs). Blank fields are omitted.
    pub record: Value,
    /// Fields whose source was blank and whose `on_blank` policy is `clear`.
    pub clear: Vec<String>,
    /// Problems; a row with any issue is rejected.
    pub issues: Vec<Issue>,
}

/// Error loading or compiling a mapping file, or binding it to an input's header (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct MappingError {
    /// The mapping file.
    pub path: PathBuf,
    /// 1-based line in the mapping file, when known.
    pub line: Option<usize>,
    /// What is wrong, including the nearest valid name where one exists.
    pub message: String,
}

/// A loaded, validated mapping file.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The file it came from.
    pub path: PathBuf,
    /// Target system.
    pub system: System,
    /// Field used to find an existing record.
    pub match_field: String,
    /// Fields never overwritten on update.
    pub protect: Vec<String>,
}

impl Mapping {
    /// Loads and compiles a mapping file.
    pub fn load(path: &Path) -> Result<Mapping, MappingError> {
        Err(MappingError {
            path: path.to_path_buf(),
            line: None,
            message: "mapping not yet implemented".into(),
        })
    }

    /// Binds the mapping to an input's header: every referenced column must exist.
    pub fn bind(&self, headers: &[String]) -> Result<BoundMapping, MappingError> {
        let _ = headers;
        Err(MappingError {
            path: self.path.clone(),
            line: None,
            message: "mapping not yet implemented".into(),
        })
    }
}

/// A mapping bound to one input's columns; maps rows.
#[derive(Debug, Clone)]
pub struct BoundMapping {
    /// The mapping.
    pub mapping: Mapping,
}

impl BoundMapping {
    /// Maps one row: sources, transforms, coercion, then per-system validation.
    pub fn map_row(&self, row: &SourceRow) -> Mapped {
        Mapped {
            line: row.line,
            key: None,
            record: Value::Null,
            clear: Vec::new(),
            issues: Vec::new(),
        }
    }
}
