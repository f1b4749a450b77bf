//! Reader stage: streams rows out of CSV, XLSX, XLS and ODS files (STUB: being written).
//!
//! Every data row becomes a [`SourceRow`] (or a [`BadRow`] when the row itself is broken, e.g. the
//! wrong number of fields); the rest of the file goes on. Problems that make the whole file
//! unreadable are a [`ReadError`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Options for opening an input file.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// CSV delimiter; detected (comma, semicolon, tab, pipe) when `None`.
    pub delimiter: Option<u8>,
    /// CSV encoding label (`utf-8`, `utf-16`, `windows-1252`, `latin1`, …); sniffed when `None`.
    pub encoding: Option<String>,
    /// Spreadsheet sheet, by name or 1-based index; first sheet when `None`.
    pub sheet: Option<String>,
    /// 1-based row number of the header row in spreadsheets (default 1).
    pub header_row: Option<u32>,
}

/// The format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Delimited text.
    Csv,
    /// Office Open XML workbook.
    Xlsx,
    /// Legacy Excel workbook.
    Xls,
    /// OpenDocument spreadsheet.
    Ods,
}

/// One data row of an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRow {
    /// The input file as given by the user.
    pub file: Arc<str>,
    /// The sheet name, for spreadsheets.
    pub sheet: Option<Arc<str>>,
    /// 1-based line (CSV: the physical line the record starts on) or spreadsheet row number.
    pub line: u64,
    /// Cell texts, one per header column, in header order.
    pub cells: Vec<String>,
}

/// A data row that could not be read as a row (wrong number of fields, undecodable bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// 1-based line or spreadsheet row number.
    pub line: u64,
    /// Why the row was rejected.
    pub reason: String,
    /// Whatever cells could be recovered (for the rejects file).
    pub cells: Vec<String>,
}

/// What a reader yields for each data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A readable row.
    Row(SourceRow),
    /// A broken row, rejected with a reason.
    Bad(BadRow),
}

/// A file-level problem: the input cannot be read at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file does not exist or cannot be opened.
    #[error("{path}: cannot open: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not in a format we can read, or is corrupt.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A streaming source of rows with a header.
pub trait RowReader: Iterator<Item = Result<Record, ReadError>> + Send {
    /// Header names, trimmed, in file order.
    fn headers(&self) -> &[String];
    /// The file's format.
    fn format(&self) -> InputFormat;
}

/// Opens `path`, choosing the reader by extension (`.csv`, `.tsv`, `.txt` → CSV; `.xlsx`, `.xlsm`,
/// `.xls`, `.ods` → spreadsheet).
pub fn open(path: &Path, opts: &ReadOptions) -> Result<Box<dyn RowReader>, ReadError> {
    let _ = opts;
    Err(ReadError::Invalid {
        path: path.to_path_buf(),
        reason: "reader not yet implemented".into(),
    })
}
