//! XLSX report sink: a "Summary" sheet first (counts per outcome, reasons by code with their
//! messages and lines), then "Rows": bold frozen header, autofilter, a fill colour per outcome,
//! written in rust_xlsxwriter's constant-memory mode so million-row reports don't grow the
//! process (the small Summary sheet is filled in memory at the end).

use super::summary::{lines_text, Summary};
use super::{Column, ReportError, ReportSink};
use crate::outcome::{Outcome, OutcomeKind};
use rust_xlsxwriter::{Color, Format, Workbook};
use std::path::{Path, PathBuf};

/// The largest number of data rows a worksheet holds (Excel's limit less the header).
pub(crate) const MAX_ROWS: u32 = 1_048_575;

/// Adds a constant-memory worksheet `name` with a bold, frozen header row of `(text, width)`
/// columns (shared by reports and exports).
pub(crate) fn add_sheet(
    workbook: &mut Workbook,
    name: &str,
    columns: &[(&str, f64)],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let bold = Format::new().set_bold();
    let ws = workbook.add_worksheet_with_constant_memory()?;
    ws.set_name(name)?;
    ws.set_freeze_panes(1, 0)?;
    for (i, (text, width)) in columns.iter().enumerate() {
        ws.set_column_width(i as u16, *width)?;
        ws.write_string_with_format(0, i as u16, *text, &bold)?;
    }
    Ok(())
}

/// Saves `workbook` to `path` and makes the file owner-only.
pub(crate) fn save_private(
    workbook: &mut Workbook,
    path: &Path,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    workbook.save(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

/// Fills the Summary sheet: rows per outcome (coloured like the rows), then one line per reason
/// message with its code, rows and lines.
fn write_summary(
    ws: &mut rust_xlsxwriter::Worksheet,
    summary: &Summary,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let bold = Format::new().set_bold();
    ws.set_column_width(0, 22.0)?;
    ws.set_column_width(1, 10.0)?;
    ws.set_column_width(2, 90.0)?;
    ws.set_column_width(3, 50.0)?;
    ws.write_string_with_format(0, 0, "outcome", &bold)?;
    ws.write_string_with_format(0, 1, "rows", &bold)?;
    let mut r = 1;
    for (kind, n) in &summary.by_outcome {
        match fill(*kind) {
            Some(c) => ws.write_string_with_format(
                r,
                0,
                kind.name(),
                &Format::new().set_background_color(c),
            )?,
            None => ws.write_string(r, 0, kind.name())?,
        };
        ws.write_number(r, 1, *n as f64)?;
        r += 1;
    }
    ws.write_string_with_format(r, 0, "rows read", &bold)?;
    ws.write_number_with_format(r, 1, summary.rows as f64, &bold)?;
    r += 2;
    if summary.by_reason.is_empty() {
        return Ok(());
    }
    for (i, h) in ["reason code", "rows", "message", "lines"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(r, i as u16, *h, &bold)?;
    }
    let many = summary.many_files();
    for (code, g) in summary.reasons() {
        for m in &g.messages {
            r += 1;
            ws.write_string(r, 0, code)?;
            ws.write_number(r, 1, m.rows as f64)?;
            ws.write_string(r, 2, &m.text)?;
            ws.write_string(r, 3, lines_text(&m.lines, m.rows, many))?;
        }
        if g.other_rows > 0 {
            r += 1;
            ws.write_string(r, 0, code)?;
            ws.write_number(r, 1, g.other_rows as f64)?;
            ws.write_string(r, 2, "(other messages: see the Rows sheet)")?;
        }
    }
    Ok(())
}

/// Streams outcomes to an XLSX workbook.
pub struct XlsxReport {
    path: PathBuf,
    columns: Vec<Column>,
    workbook: Workbook,
    row: u32,
    overflow: u64,
    summary: Summary,
}

/// The sheet the rows go to (after "Summary").
const ROWS_SHEET: usize = 1;

/// The fill colour for an outcome (None = no fill).
pub(crate) fn fill(kind: OutcomeKind) -> Option<Color> {
    match kind {
        OutcomeKind::Ok | OutcomeKind::Created => Some(Color::RGB(0xC6EFCE)),
        OutcomeKind::WouldCreate | OutcomeKind::WouldUpdate | OutcomeKind::WouldDeactivate => {
            Some(Color::RGB(0xDDEBF7))
        }
        OutcomeKind::Deactivated => Some(Color::RGB(0xFCE4D6)),
        OutcomeKind::Updated => Some(Color::RGB(0xBDD7EE)),
        OutcomeKind::Unchanged | OutcomeKind::Skipped => Some(Color::RGB(0xEDEDED)),
        OutcomeKind::Exists => Some(Color::RGB(0xFFF2CC)),
        OutcomeKind::Conflict => Some(Color::RGB(0xF8CBAD)),
        OutcomeKind::Rejected | OutcomeKind::Failed => Some(Color::RGB(0xFFC7CE)),
    }
}

impl XlsxReport {
    /// Starts a workbook with a "Summary" sheet (filled by `finish`) and a "Rows" sheet with its
    /// header row.
    pub fn create(path: &Path, columns: &[Column]) -> Result<XlsxReport, ReportError> {
        // Fail early if the destination is not writable.
        super::create_private(path).map_err(|e| ReportError::new(path, e))?;
        let mut workbook = Workbook::new();
        let header: Vec<(&str, f64)> = columns
            .iter()
            .map(|c| {
                let width = match c {
                    Column::File => 22.0,
                    Column::Line | Column::HttpStatus | Column::Retries => 9.0,
                    Column::Key | Column::TargetId => 38.0,
                    Column::Name => 28.0,
                    Column::Outcome => 14.0,
                    Column::Reason | Column::ChangedFields => 70.0,
                };
                (c.header(), width)
            })
            .collect();
        workbook
            .add_worksheet()
            .set_name("Summary")
            .map_err(|e| ReportError::new(path, e))?;
        add_sheet(&mut workbook, "Rows", &header).map_err(|e| ReportError::new(path, e))?;
        Ok(XlsxReport {
            path: path.to_path_buf(),
            columns: columns.to_vec(),
            workbook,
            row: 0,
            overflow: 0,
            summary: Summary::default(),
        })
    }
}

impl ReportSink for XlsxReport {
    fn write(&mut self, outcome: &Outcome) -> Result<(), ReportError> {
        self.summary.add(outcome);
        if self.row >= MAX_ROWS {
            self.overflow += 1;
            return Ok(());
        }
        self.row += 1;
        let format = fill(outcome.outcome).map(|c| Format::new().set_background_color(c));
        let ws = self
            .workbook
            .worksheet_from_index(ROWS_SHEET)
            .map_err(|e| ReportError::new(&self.path, e))?;
        for (i, c) in self.columns.iter().enumerate() {
            let col = i as u16;
            let res = match (c, &format) {
                // A patron absent from the roster has no input line: the cell stays empty.
                (Column::Line, f) if outcome.absent.is_some() => match f {
                    Some(f) => ws.write_blank(self.row, col, f).map(|_| ()),
                    None => Ok(()),
                },
                (Column::Line | Column::Retries, f) => {
                    let n = match c {
                        Column::Line => outcome.line as f64,
                        _ => f64::from(outcome.retries),
                    };
                    match f {
                        Some(f) => ws.write_number_with_format(self.row, col, n, f).map(|_| ()),
                        None => ws.write_number(self.row, col, n).map(|_| ()),
                    }
                }
                (_, f) => {
                    // A string cell is never evaluated as a formula, so it is written exactly:
                    // no `'` guard (that is for CSV, see `report::cell`).
                    let text = c.value(outcome);
                    match f {
                        Some(f) => ws
                            .write_string_with_format(self.row, col, &*text, f)
                            .map(|_| ()),
                        None => ws.write_string(self.row, col, &*text).map(|_| ()),
                    }
                }
            };
            res.map_err(|e| ReportError::new(&self.path, e))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), ReportError> {
        let last_col = self.columns.len().saturating_sub(1) as u16;
        let row = self.row;
        let overflow = self.overflow;
        let ws = self
            .workbook
            .worksheet_from_index(ROWS_SHEET)
            .map_err(|e| ReportError::new(&self.path, e))?;
        ws.autofilter(0, 0, row, last_col)
            .map_err(|e| ReportError::new(&self.path, e))?;
        let summary = std::mem::take(&mut self.summary);
        let ws = self
            .workbook
            .worksheet_from_index(0)
            .map_err(|e| ReportError::new(&self.path, e))?;
        write_summary(ws, &summary).map_err(|e| ReportError::new(&self.path, e))?;
        if overflow > 0 {
            tracing::warn!(
                rows = overflow,
                "report has more rows than one XLSX sheet holds; use a .csv or .json report"
            );
        }
        save_private(&mut self.workbook, &self.path).map_err(|e| ReportError::new(&self.path, e))
    }
}
