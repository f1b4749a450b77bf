//! XLSX report sink: bold frozen header, autofilter, a fill colour per outcome, written in
//! rust_xlsxwriter's constant-memory mode so million-row reports don't grow the process.

use super::{cell::neutralise, Column, ReportError, ReportSink};
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

/// Streams outcomes to an XLSX workbook.
pub struct XlsxReport {
    path: PathBuf,
    columns: Vec<Column>,
    workbook: Workbook,
    row: u32,
    overflow: u64,
}

/// The fill colour for an outcome (None = no fill).
fn fill(kind: OutcomeKind) -> Option<Color> {
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
    /// Starts a workbook with one sheet "report" and its header row.
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
                    Column::Outcome => 14.0,
                    Column::Reason | Column::ChangedFields => 70.0,
                };
                (c.header(), width)
            })
            .collect();
        add_sheet(&mut workbook, "report", &header).map_err(|e| ReportError::new(path, e))?;
        Ok(XlsxReport {
            path: path.to_path_buf(),
            columns: columns.to_vec(),
            workbook,
            row: 0,
            overflow: 0,
        })
    }
}

impl ReportSink for XlsxReport {
    fn write(&mut self, outcome: &Outcome) -> Result<(), ReportError> {
        if self.row >= MAX_ROWS {
            self.overflow += 1;
            return Ok(());
        }
        self.row += 1;
        let format = fill(outcome.outcome).map(|c| Format::new().set_background_color(c));
        let ws = self
            .workbook
            .worksheet_from_index(0)
            .map_err(|e| ReportError::new(&self.path, e))?;
        for (i, c) in self.columns.iter().enumerate() {
            let col = i as u16;
            let res = match (c, &format) {
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
                    let text = c.value(outcome);
                    let text = neutralise(&text);
                    match f {
                        Some(f) => ws
                            .write_string_with_format(self.row, col, text.as_ref(), f)
                            .map(|_| ()),
                        None => ws.write_string(self.row, col, text.as_ref()).map(|_| ()),
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
            .worksheet_from_index(0)
            .map_err(|e| ReportError::new(&self.path, e))?;
        ws.autofilter(0, 0, row, last_col)
            .map_err(|e| ReportError::new(&self.path, e))?;
        if overflow > 0 {
            tracing::warn!(
                rows = overflow,
                "report has more rows than one XLSX sheet holds; use a .csv or .json report"
            );
        }
        save_private(&mut self.workbook, &self.path).map_err(|e| ReportError::new(&self.path, e))
    }
}
