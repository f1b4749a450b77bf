//! Reader stage: streams rows out of CSV, XLSX, XLS and ODS files.
//!
//! Every data row becomes a [`SourceRow`] (or a [`BadRow`] when the row itself is broken, e.g. the
//! wrong number of fields); the rest of the file goes on. Problems that make the whole file
//! unreadable are a [`ReadError`].
//!
//! Invariants: CSV is streamed in constant memory; a spreadsheet sheet is loaded once. Header
//! names are trimmed, non-empty and unique; cells are not trimmed. `line` is 1-based (the CSV
//! physical line a record starts on, or the spreadsheet row number). No input panics.

pub mod csv;
pub mod encoding;
pub mod limits;
pub mod sheet;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Options for opening an input file (serialisable: a run's journal records them for `resume`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
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
    /// Reading failed part-way through the file.
    #[error("{path}: read error near line {line}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The line reading had reached.
        line: u64,
        /// The cause.
        source: std::io::Error,
    },
}

/// A streaming source of rows with a header.
pub trait RowReader: Iterator<Item = Result<Record, ReadError>> + Send {
    /// Header names, trimmed, in file order.
    fn headers(&self) -> &[String];
    /// The file's format.
    fn format(&self) -> InputFormat;
    /// Hands back the cells of a row the caller is done with, so the reader can reuse their
    /// buffers for a later row (a no-op for readers that do not recycle).
    fn recycle(&mut self, cells: Vec<String>) {
        drop(cells);
    }
    /// Fields the source held that this reader's columns do not carry, with how many records
    /// had them and why (a migration source's export layout; empty for files). Complete once
    /// the reader is exhausted.
    fn left_out(&self) -> Vec<(String, u64, String)> {
        Vec::new()
    }
    /// Why lines of the file may have been read into another row's field (a quote left open),
    /// if they may have been: the rows read are then not the whole file. Meaningful once the
    /// reader is exhausted; `None` for readers where it cannot happen.
    fn swallowed(&self) -> Option<String> {
        None
    }
}

/// Opens `path`, choosing the reader by extension (`.csv`, `.tsv`, `.txt`, `.psv` → CSV; `.xlsx`,
/// `.xlsm`, `.xls`, `.ods` → spreadsheet; anything else is sniffed, see [`detect_format`]).
pub fn open(path: &Path, opts: &ReadOptions) -> Result<Box<dyn RowReader>, ReadError> {
    let format = detect_format(path)?;
    match format {
        InputFormat::Csv => {
            let default_delimiter = match extension(path).as_deref() {
                Some("tsv") => Some(b'\t'),
                Some("psv") => Some(b'|'),
                _ => None,
            };
            Ok(Box::new(csv::CsvReader::open(
                path,
                opts,
                default_delimiter,
            )?))
        }
        _ => Ok(Box::new(sheet::SheetReader::open(path, format, opts)?)),
    }
}

/// The format of `path`: by extension, else by content (ZIP magic → XLSX, or ODS when the
/// archive names the OpenDocument spreadsheet mimetype; OLE magic → XLS; otherwise CSV).
/// A missing or unreadable file is [`ReadError::Open`].
pub fn detect_format(path: &Path) -> Result<InputFormat, ReadError> {
    let open_err = |source| ReadError::Open {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(open_err)?;
    if meta.is_dir() {
        return Err(ReadError::Invalid {
            path: path.to_path_buf(),
            reason: "is a directory, not a file".into(),
        });
    }
    match extension(path).as_deref() {
        Some("csv" | "tsv" | "txt" | "psv") => return Ok(InputFormat::Csv),
        Some("xlsx" | "xlsm") => return Ok(InputFormat::Xlsx),
        Some("xls") => return Ok(InputFormat::Xls),
        Some("ods") => return Ok(InputFormat::Ods),
        _ => {}
    }
    let mut head = Vec::with_capacity(128);
    std::fs::File::open(path)
        .and_then(|f| f.take(128).read_to_end(&mut head))
        .map_err(open_err)?;
    Ok(sniff_format(&head))
}

/// Guesses the format from the first bytes of a file (see [`detect_format`]).
pub fn sniff_format(head: &[u8]) -> InputFormat {
    const OLE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if head.starts_with(b"PK\x03\x04") {
        let ods = b"application/vnd.oasis.opendocument.spreadsheet";
        if head.windows(ods.len()).any(|w| w == ods) {
            InputFormat::Ods
        } else {
            InputFormat::Xlsx
        }
    } else if head.starts_with(&OLE) {
        InputFormat::Xls
    } else {
        InputFormat::Csv
    }
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats() {
        assert_eq!(sniff_format(b"PK\x03\x04rest"), InputFormat::Xlsx);
        let mut ods = b"PK\x03\x04".to_vec();
        ods.extend_from_slice(&[0; 26]);
        ods.extend_from_slice(b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet");
        assert_eq!(sniff_format(&ods), InputFormat::Ods);
        assert_eq!(
            sniff_format(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]),
            InputFormat::Xls
        );
        assert_eq!(sniff_format(b"a,b\n1,2\n"), InputFormat::Csv);
    }

    #[test]
    fn missing_file_is_open_error() {
        let err = open(
            Path::new("/nonexistent/roster.csv"),
            &ReadOptions::default(),
        );
        match err {
            Err(ReadError::Open { path, .. }) => {
                assert_eq!(path, Path::new("/nonexistent/roster.csv"))
            }
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("opened a missing file"),
        }
    }
}
