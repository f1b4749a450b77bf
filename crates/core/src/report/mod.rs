//! Report stage: one line per input row, written as CSV, XLSX, JSON or HTML (by the path's
//! extension), plus the summary printed at the end of a run. Every run folder gets a
//! self-contained `report.html` ([`html`]).
//!
//! Sinks stream: CSV and JSON write as rows arrive; XLSX uses rust_xlsxwriter's constant-memory
//! mode. Reports hold personal data, so files are created owner-only (0600). Text cells that a
//! spreadsheet would run as a formula are neutralised ([`cell::neutralise`]).

pub mod cell;
pub mod csv;
pub mod html;
pub mod json;
pub mod rejects;
pub mod summary;
pub mod xlsx;

use crate::outcome::Outcome;
use std::path::{Path, PathBuf};

/// A report column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Input file.
    File,
    /// Line or spreadsheet row.
    Line,
    /// Match key.
    Key,
    /// Display name from the record.
    Name,
    /// Outcome name.
    Outcome,
    /// Reason.
    Reason,
    /// HTTP status.
    HttpStatus,
    /// Record id in the target system.
    TargetId,
    /// Changed fields.
    ChangedFields,
    /// Retries.
    Retries,
}

impl Column {
    /// Header text.
    pub fn header(self) -> &'static str {
        match self {
            Column::File => "file",
            Column::Line => "line",
            Column::Key => "key",
            Column::Name => "name",
            Column::Outcome => "outcome",
            Column::Reason => "reason",
            Column::HttpStatus => "http_status",
            Column::TargetId => "target_id",
            Column::ChangedFields => "changed_fields",
            Column::Retries => "retries",
        }
    }

    /// The columns of an offline `check` report.
    pub const CHECK: &'static [Column] = &[
        Column::File,
        Column::Line,
        Column::Key,
        Column::Name,
        Column::Outcome,
        Column::Reason,
    ];

    /// The columns of an import report.
    pub const IMPORT: &'static [Column] = &[
        Column::File,
        Column::Line,
        Column::Key,
        Column::Name,
        Column::Outcome,
        Column::Reason,
        Column::HttpStatus,
        Column::TargetId,
        Column::ChangedFields,
        Column::Retries,
    ];

    /// This column's value for one outcome, as text (empty when absent).
    pub fn value(self, o: &Outcome) -> String {
        match self {
            Column::File => o.file.clone(),
            Column::Line => o.line_text(),
            Column::Key => o.key.clone().unwrap_or_default(),
            Column::Name => o.name.clone().unwrap_or_default(),
            Column::Outcome => o.outcome.name().to_string(),
            Column::Reason => o.reason.clone().unwrap_or_default(),
            Column::HttpStatus => o.http_status.map(|s| s.to_string()).unwrap_or_default(),
            Column::TargetId => o.target_id.clone().unwrap_or_default(),
            Column::ChangedFields => o.changed_fields.join("; "),
            Column::Retries => o.retries.to_string(),
        }
    }
}

/// Error writing a report.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot write report: {reason}")]
pub struct ReportError {
    /// The report file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

impl ReportError {
    pub(crate) fn new(path: &Path, reason: impl std::fmt::Display) -> ReportError {
        ReportError {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

/// A destination for per-row outcomes.
pub trait ReportSink {
    /// Writes one row.
    fn write(&mut self, outcome: &Outcome) -> Result<(), ReportError>;
    /// Flushes and closes the report.
    fn finish(self: Box<Self>) -> Result<(), ReportError>;
}

/// Opens a report at `path`, choosing the format by extension (`.csv`, `.xlsx`, `.json`,
/// `.html`).
pub fn open(path: &Path, columns: &[Column]) -> Result<Box<dyn ReportSink>, ReportError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => Ok(Box::new(csv::CsvReport::create(path, columns)?)),
        "xlsx" => Ok(Box::new(xlsx::XlsxReport::create(path, columns)?)),
        "json" => Ok(Box::new(json::JsonReport::create(path)?)),
        "html" | "htm" => Ok(Box::new(html::HtmlReport::create(
            path,
            html::RunInfo::default(),
        )?)),
        _ => Err(ReportError::new(
            path,
            "unknown report format (use a .csv, .xlsx, .json or .html file name)",
        )),
    }
}

/// Creates (truncating) a file readable and writable by its owner only.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Fans one stream of outcomes out to several sinks.
pub struct Tee(pub Vec<Box<dyn ReportSink>>);

impl ReportSink for Tee {
    fn write(&mut self, outcome: &Outcome) -> Result<(), ReportError> {
        for s in &mut self.0 {
            s.write(outcome)?;
        }
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<(), ReportError> {
        for s in self.0 {
            s.finish()?;
        }
        Ok(())
    }
}
