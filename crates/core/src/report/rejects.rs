//! The rejects file: every row that did not go through, in the input's own format — `line`,
//! `reason`, then every original cell in order (a malformed row's extra cells too, after the
//! header's columns) — ready to fix and re-run. `rejects.xlsx` looks like the XLSX report: bold
//! frozen header, autofilter, column widths.

use super::{cell::neutralise, create_private, ReportError};
use crate::read::InputFormat;
use rust_xlsxwriter::{Format, Workbook};
use std::path::{Path, PathBuf};

enum Inner {
    Csv(Box<::csv::Writer<std::io::BufWriter<std::fs::File>>>),
    Xlsx {
        workbook: Box<Workbook>,
        row: u32,
        /// The widest row written (cells), for the header of extra cells and the autofilter.
        widest: usize,
    },
}

/// Writes rejected rows of one input file.
pub struct RejectsFile {
    path: PathBuf,
    inner: Inner,
    width: usize,
    /// Rows written.
    pub rows: u64,
}

impl RejectsFile {
    /// Creates `<dir>/<stem>` with `.csv` or `.xlsx` following the input's format.
    pub fn create(
        dir: &Path,
        stem: &str,
        format: InputFormat,
        header: &[String],
    ) -> Result<RejectsFile, ReportError> {
        let spreadsheet = !matches!(format, InputFormat::Csv);
        let path = dir.join(format!(
            "{stem}.{}",
            if spreadsheet { "xlsx" } else { "csv" }
        ));
        let mut cols: Vec<String> = vec!["line".into(), "reason".into()];
        cols.extend(header.iter().cloned());
        let inner = if spreadsheet {
            let mut workbook = Workbook::new();
            let bold = Format::new().set_bold();
            let ws = workbook.add_worksheet();
            let ok = ws
                .set_name("rejects")
                .and_then(|ws| ws.set_freeze_panes(1, 0));
            ok.map_err(|e| ReportError::new(&path, e))?;
            for (i, c) in cols.iter().enumerate() {
                let width = match i {
                    0 => 9.0,
                    1 => 70.0,
                    _ => 16.0,
                };
                ws.set_column_width(i as u16, width)
                    .and_then(|ws| ws.write_string_with_format(0, i as u16, c, &bold))
                    .map_err(|e| ReportError::new(&path, e))?;
            }
            Inner::Xlsx {
                workbook: Box::new(workbook),
                row: 0,
                widest: cols.len(),
            }
        } else {
            let f = create_private(&path).map_err(|e| ReportError::new(&path, e))?;
            // Flexible: a malformed row keeps its extra cells after the header's columns.
            let mut w = ::csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(std::io::BufWriter::new(f));
            // The header's cells come from the input too (`=HDR()+1`): neutralised like any cell.
            let safe: Vec<String> = cols.iter().map(|c| neutralise(c).into_owned()).collect();
            w.write_record(&safe)
                .map_err(|e| ReportError::new(&path, e))?;
            Inner::Csv(Box::new(w))
        };
        Ok(RejectsFile {
            path,
            inner,
            width: header.len(),
            rows: 0,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one rejected row: its line, its reason, then its cells (padded to the header's
    /// width; cells beyond it are kept too).
    pub fn write(&mut self, line: u64, cells: &[String], reason: &str) -> Result<(), ReportError> {
        let mut row: Vec<String> = Vec::with_capacity(cells.len().max(self.width) + 2);
        row.push(line.to_string());
        row.push(reason.to_string());
        row.extend(cells.iter().cloned());
        row.resize(row.len().max(self.width + 2), String::new());
        self.rows += 1;
        match &mut self.inner {
            Inner::Csv(w) => {
                let safe: Vec<String> = row.iter().map(|c| neutralise(c).into_owned()).collect();
                w.write_record(&safe)
                    .map_err(|e| ReportError::new(&self.path, e))
            }
            Inner::Xlsx {
                workbook,
                row: r,
                widest,
            } => {
                *r += 1;
                *widest = (*widest).max(row.len());
                let ws = workbook
                    .worksheet_from_index(0)
                    .map_err(|e| ReportError::new(&self.path, e))?;
                ws.write_number(*r, 0, line as f64)
                    .map_err(|e| ReportError::new(&self.path, e))?;
                for (i, c) in row.iter().enumerate().skip(1) {
                    ws.write_string(*r, i as u16, c.as_str())
                        .map_err(|e| ReportError::new(&self.path, e))?;
                }
                Ok(())
            }
        }
    }

    /// Finishes the file.
    pub fn finish(self) -> Result<PathBuf, ReportError> {
        match self.inner {
            Inner::Csv(mut w) => w.flush().map_err(|e| ReportError::new(&self.path, e))?,
            Inner::Xlsx {
                mut workbook,
                row,
                widest,
            } => {
                let ws = workbook
                    .worksheet_from_index(0)
                    .map_err(|e| ReportError::new(&self.path, e))?;
                let bold = Format::new().set_bold();
                // Cells past the header (malformed rows) get a header of their own.
                for i in self.width + 2..widest {
                    let name = format!("extra {}", i - self.width - 1);
                    ws.write_string_with_format(0, i as u16, &name, &bold)
                        .map_err(|e| ReportError::new(&self.path, e))?;
                }
                ws.autofilter(0, 0, row, widest.saturating_sub(1) as u16)
                    .map_err(|e| ReportError::new(&self.path, e))?;
                workbook
                    .save(&self.path)
                    .map_err(|e| ReportError::new(&self.path, e))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(
                        &self.path,
                        std::fs::Permissions::from_mode(0o600),
                    );
                }
            }
        }
        Ok(self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::Reader;

    #[test]
    fn xlsx_keeps_line_reason_every_cell_and_names_extra_columns() {
        let dir = tempfile::tempdir().unwrap();
        let header = vec!["ID".to_string(), "Last".to_string()];
        let mut r = RejectsFile::create(dir.path(), "rejects", InputFormat::Xlsx, &header).unwrap();
        r.write(3, &["1".into(), "Doe".into()], "bad").unwrap();
        r.write(
            7,
            &["2".into(), "Roe".into(), "x".into(), "y".into()],
            "too many",
        )
        .unwrap();
        let path = r.finish().unwrap();
        let mut wb = calamine::open_workbook_auto(&path).unwrap();
        let range = wb.worksheet_range("rejects").unwrap();
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(
            rows[0],
            ["line", "reason", "ID", "Last", "extra 1", "extra 2"]
        );
        assert_eq!(rows[1][..4], ["3", "bad", "1", "Doe"]);
        assert_eq!(rows[2], ["7", "too many", "2", "Roe", "x", "y"]);
    }

    #[test]
    fn header_cells_are_neutralised_like_the_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let header = vec!["=HDR()+1".to_string(), "Name".to_string()];
        let mut r =
            RejectsFile::create(dir.path(), "rejects", InputFormat::Csv, &header).expect("create");
        r.write(4, &["@cmd".into(), "x".into()], "bad")
            .expect("write");
        let p = r.finish().expect("finish");
        let text = std::fs::read_to_string(p).expect("read");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("line,reason,'=HDR()+1,Name"));
        assert_eq!(lines.next(), Some("4,bad,'@cmd,x"));
    }
}
