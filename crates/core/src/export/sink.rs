//! Export writers, chosen by the output's extension: CSV (UTF-8, optional BOM for Excel), XLSX
//! and JSON Lines.
//!
//! - CSV and JSONL stream row by row (constant memory); XLSX uses rust_xlsxwriter's
//!   constant-memory mode and the report's sheet style (bold frozen header, autofilter).
//! - CSV cells a spreadsheet would evaluate as a formula get a leading `'` ([`neutralise`]; the
//!   rule is in [`crate::report::cell`]), which the CSV reader takes off again, so export →
//!   import is the identity. XLSX text cells are string cells, which are never evaluated, so they
//!   are written exactly. JSONL is data for programs and is written as is.
//! - XLSX: ids, barcodes and all other text are string cells (leading zeros stay); date columns
//!   are date cells (date-time when the time of day is not midnight); a sheet that fills up
//!   continues on another sheet with the same header.
//! - Files are created owner-only (0600): they hold personal data.

use super::columns::ColumnKind;
use crate::report::cell::neutralise;
use crate::report::create_private;
use crate::report::xlsx::{add_sheet, save_private, MAX_ROWS};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Error writing the export file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot write the export: {reason}")]
pub struct SinkError {
    /// The output file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

impl SinkError {
    fn new(path: &Path, reason: impl std::fmt::Display) -> SinkError {
        SinkError {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

/// A destination for exported rows.
pub trait ExportSink {
    /// Writes one row (cells parallel to the header).
    fn write_row(&mut self, cells: &[String]) -> Result<(), SinkError>;
    /// Flushes and closes the file.
    fn finish(self: Box<Self>) -> Result<(), SinkError>;
}

/// Output format, from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    /// `.csv`
    Csv,
    /// `.xlsx`
    Xlsx,
    /// `.jsonl` / `.ndjson`
    Jsonl,
}

impl OutFormat {
    /// The format for `path`, or `None` for an unknown extension.
    pub fn of(path: &Path) -> Option<OutFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(OutFormat::Csv),
            "xlsx" => Some(OutFormat::Xlsx),
            "jsonl" | "ndjson" => Some(OutFormat::Jsonl),
            _ => None,
        }
    }
}

/// Opens a `format` writer at `path`. `bom` adds a UTF-8 byte-order mark to CSV so Excel reads
/// it as UTF-8.
pub fn open(
    path: &Path,
    format: OutFormat,
    header: &[String],
    kinds: &[ColumnKind],
    bom: bool,
) -> Result<Box<dyn ExportSink>, SinkError> {
    match format {
        OutFormat::Csv => Ok(Box::new(CsvSink::create(path, header, bom)?)),
        OutFormat::Xlsx => Ok(Box::new(XlsxSink::create(path, header, kinds)?)),
        OutFormat::Jsonl => Ok(Box::new(JsonlSink::create(path, header)?)),
    }
}

/// CSV writer.
pub struct CsvSink {
    path: PathBuf,
    out: csv::Writer<std::io::BufWriter<std::fs::File>>,
}

impl CsvSink {
    /// Creates the file and writes the header.
    pub fn create(path: &Path, header: &[String], bom: bool) -> Result<CsvSink, SinkError> {
        let file = create_private(path).map_err(|e| SinkError::new(path, e))?;
        let mut buf = std::io::BufWriter::new(file);
        if bom {
            buf.write_all("\u{feff}".as_bytes())
                .map_err(|e| SinkError::new(path, e))?;
        }
        let mut out = csv::Writer::from_writer(buf);
        out.write_record(header.iter().map(|h| neutralise(h).into_owned()))
            .map_err(|e| SinkError::new(path, e))?;
        Ok(CsvSink {
            path: path.to_path_buf(),
            out,
        })
    }
}

impl ExportSink for CsvSink {
    fn write_row(&mut self, cells: &[String]) -> Result<(), SinkError> {
        self.out
            .write_record(cells.iter().map(|c| neutralise(c).into_owned()))
            .map_err(|e| SinkError::new(&self.path, e))
    }

    fn finish(mut self: Box<Self>) -> Result<(), SinkError> {
        self.out.flush().map_err(|e| SinkError::new(&self.path, e))
    }
}

/// JSON Lines writer: one object per row, header → cell, empty cells left out.
pub struct JsonlSink {
    path: PathBuf,
    header: Vec<String>,
    out: std::io::BufWriter<std::fs::File>,
}

impl JsonlSink {
    /// Creates the file.
    pub fn create(path: &Path, header: &[String]) -> Result<JsonlSink, SinkError> {
        let file = create_private(path).map_err(|e| SinkError::new(path, e))?;
        Ok(JsonlSink {
            path: path.to_path_buf(),
            header: header.to_vec(),
            out: std::io::BufWriter::new(file),
        })
    }
}

impl ExportSink for JsonlSink {
    fn write_row(&mut self, cells: &[String]) -> Result<(), SinkError> {
        let obj: serde_json::Map<String, serde_json::Value> = self
            .header
            .iter()
            .zip(cells)
            .filter(|(_, c)| !c.is_empty())
            .map(|(h, c)| (h.clone(), serde_json::Value::String(c.clone())))
            .collect();
        serde_json::to_writer(&mut self.out, &obj)
            .map_err(std::io::Error::from)
            .and_then(|_| self.out.write_all(b"\n"))
            .map_err(|e| SinkError::new(&self.path, e))
    }

    fn finish(mut self: Box<Self>) -> Result<(), SinkError> {
        self.out.flush().map_err(|e| SinkError::new(&self.path, e))
    }
}

/// XLSX writer.
pub struct XlsxSink {
    path: PathBuf,
    header: Vec<String>,
    kinds: Vec<ColumnKind>,
    widths: Vec<f64>,
    workbook: Workbook,
    sheet: usize,
    row: u32,
    date: Format,
    datetime: Format,
}

/// A readable column width for a header and kind.
fn width(name: &str, kind: ColumnKind) -> f64 {
    let lower = name.to_ascii_lowercase();
    let base: f64 = match kind {
        ColumnKind::Date => 12.0,
        ColumnKind::Bool => 8.0,
        ColumnKind::Id if lower == "id" || lower.ends_with(".id") => 38.0,
        ColumnKind::Id => 18.0,
        ColumnKind::Text if lower.contains("email") => 30.0,
        ColumnKind::Text if lower.contains("address") || lower.contains("line") => 28.0,
        ColumnKind::Text => 16.0,
    };
    // Wide enough for the header (bold, plus the autofilter button), within reason.
    base.max((name.chars().count() as f64 * 1.1 + 3.0).min(45.0))
}

/// A date or date-time cell value, when `text` is one (`YYYY-MM-DD`, or an ISO date-time whose
/// offset, if any, is UTC as exports write them). The flag tells whether there is a time part.
fn excel_date(text: &str) -> Option<(ExcelDateTime, bool)> {
    use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
    let s = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let dt = ExcelDateTime::from_ymd(
            u16::try_from(d.year()).ok()?,
            d.month() as u8,
            d.day() as u8,
        )
        .ok()?;
        return Some((dt, false));
    }
    let utc = chrono::DateTime::parse_from_rfc3339(s)
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|d| d.naive_utc())
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok())?;
    let dt = ExcelDateTime::from_ymd(
        u16::try_from(utc.year()).ok()?,
        utc.month() as u8,
        utc.day() as u8,
    )
    .ok()?
    .and_hms(
        utc.hour() as u16,
        utc.minute() as u8,
        f64::from(utc.second()) + f64::from(utc.nanosecond() / 1_000_000) / 1000.0,
    )
    .ok()?;
    Some((dt, true))
}

impl XlsxSink {
    /// Starts a workbook with one sheet "patrons" and its header.
    pub fn create(
        path: &Path,
        header: &[String],
        kinds: &[ColumnKind],
    ) -> Result<XlsxSink, SinkError> {
        // Fail early if the destination is not writable.
        create_private(path).map_err(|e| SinkError::new(path, e))?;
        let widths: Vec<f64> = header
            .iter()
            .zip(kinds.iter().chain(std::iter::repeat(&ColumnKind::Text)))
            .map(|(h, k)| width(h, *k))
            .collect();
        let mut sink = XlsxSink {
            path: path.to_path_buf(),
            header: header.to_vec(),
            kinds: kinds.to_vec(),
            widths,
            workbook: Workbook::new(),
            sheet: 0,
            row: 0,
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        };
        sink.new_sheet()?;
        Ok(sink)
    }

    fn new_sheet(&mut self) -> Result<(), SinkError> {
        let name = if self.sheet == 0 {
            "patrons".to_string()
        } else {
            format!("patrons-{}", self.sheet + 1)
        };
        let cols: Vec<(&str, f64)> = self
            .header
            .iter()
            .zip(&self.widths)
            .map(|(h, w)| (h.as_str(), *w))
            .collect();
        add_sheet(&mut self.workbook, &name, &cols).map_err(|e| SinkError::new(&self.path, e))
    }

    fn close_sheet(&mut self) -> Result<(), SinkError> {
        let last_col = self.header.len().saturating_sub(1) as u16;
        let row = self.row;
        let ws = self
            .workbook
            .worksheet_from_index(self.sheet)
            .map_err(|e| SinkError::new(&self.path, e))?;
        ws.autofilter(0, 0, row, last_col)
            .map_err(|e| SinkError::new(&self.path, e))?;
        Ok(())
    }
}

impl ExportSink for XlsxSink {
    fn write_row(&mut self, cells: &[String]) -> Result<(), SinkError> {
        if self.row >= MAX_ROWS {
            self.close_sheet()?;
            self.sheet += 1;
            self.row = 0;
            self.new_sheet()?;
        }
        self.row += 1;
        let row = self.row;
        let ws = self
            .workbook
            .worksheet_from_index(self.sheet)
            .map_err(|e| SinkError::new(&self.path, e))?;
        for (i, text) in cells.iter().enumerate() {
            if text.is_empty() {
                continue;
            }
            let col = i as u16;
            let kind = self.kinds.get(i).copied().unwrap_or(ColumnKind::Text);
            let res = match (kind, excel_date(text)) {
                (ColumnKind::Date, Some((dt, false))) => {
                    ws.write_datetime_with_format(row, col, &dt, &self.date)
                }
                (ColumnKind::Date, Some((dt, true))) => {
                    ws.write_datetime_with_format(row, col, &dt, &self.datetime)
                }
                // A string cell is never evaluated: the text goes in exactly, no guard.
                _ => ws.write_string(row, col, text),
            };
            res.map_err(|e| SinkError::new(&self.path, e))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), SinkError> {
        self.close_sheet()?;
        save_private(&mut self.workbook, &self.path).map_err(|e| SinkError::new(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension() {
        assert_eq!(OutFormat::of(Path::new("a.CSV")), Some(OutFormat::Csv));
        assert_eq!(OutFormat::of(Path::new("a.xlsx")), Some(OutFormat::Xlsx));
        assert_eq!(OutFormat::of(Path::new("a.jsonl")), Some(OutFormat::Jsonl));
        assert_eq!(OutFormat::of(Path::new("a.json")), None);
    }

    #[test]
    fn date_cells() {
        assert!(matches!(excel_date("2027-06-30"), Some((_, false))));
        assert!(matches!(
            excel_date("2020-10-07T04:00:00.000+00:00"),
            Some((_, true))
        ));
        assert!(excel_date("06/30/2027").is_none());
    }
}
