//! The rejects file: every row that did not go through, in the input's own format (its original
//! columns plus `reason`), ready to fix and re-run.

use super::{cell::neutralise, create_private, ReportError};
use crate::read::InputFormat;
use rust_xlsxwriter::{Format, Workbook};
use std::path::{Path, PathBuf};

enum Inner {
    Csv(Box<::csv::Writer<std::io::BufWriter<std::fs::File>>>),
    Xlsx { workbook: Box<Workbook>, row: u32 },
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
        let mut cols: Vec<String> = header.to_vec();
        cols.push("reason".into());
        let inner = if spreadsheet {
            let mut workbook = Workbook::new();
            let bold = Format::new().set_bold();
            let ws = workbook.add_worksheet();
            ws.set_name("rejects")
                .map_err(|e| ReportError::new(&path, e))?;
            for (i, c) in cols.iter().enumerate() {
                ws.write_string_with_format(0, i as u16, c, &bold)
                    .map_err(|e| ReportError::new(&path, e))?;
            }
            Inner::Xlsx {
                workbook: Box::new(workbook),
                row: 0,
            }
        } else {
            let f = create_private(&path).map_err(|e| ReportError::new(&path, e))?;
            let mut w = ::csv::Writer::from_writer(std::io::BufWriter::new(f));
            w.write_record(&cols)
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

    /// Writes one rejected row (cells padded or cut to the header's width) and its reason.
    pub fn write(&mut self, cells: &[String], reason: &str) -> Result<(), ReportError> {
        let mut row: Vec<String> = (0..self.width)
            .map(|i| cells.get(i).cloned().unwrap_or_default())
            .collect();
        row.push(reason.to_string());
        self.rows += 1;
        match &mut self.inner {
            Inner::Csv(w) => {
                let safe: Vec<String> = row.iter().map(|c| neutralise(c).into_owned()).collect();
                w.write_record(&safe)
                    .map_err(|e| ReportError::new(&self.path, e))
            }
            Inner::Xlsx { workbook, row: r } => {
                *r += 1;
                let ws = workbook
                    .worksheet_from_index(0)
                    .map_err(|e| ReportError::new(&self.path, e))?;
                for (i, c) in row.iter().enumerate() {
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
            Inner::Xlsx { mut workbook, .. } => {
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
