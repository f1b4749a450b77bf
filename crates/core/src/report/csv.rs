//! CSV report sink (UTF-8, one header row, formula-neutralised cells).

use super::{cell::neutralise, create_private, Column, ReportError, ReportSink};
use crate::outcome::Outcome;
use std::path::{Path, PathBuf};

/// Streams outcomes to a CSV file.
pub struct CsvReport {
    path: PathBuf,
    columns: Vec<Column>,
    out: ::csv::Writer<std::io::BufWriter<std::fs::File>>,
}

impl CsvReport {
    /// Creates the file and writes the header.
    pub fn create(path: &Path, columns: &[Column]) -> Result<CsvReport, ReportError> {
        let file = create_private(path).map_err(|e| ReportError::new(path, e))?;
        let mut out = ::csv::Writer::from_writer(std::io::BufWriter::new(file));
        out.write_record(columns.iter().map(|c| c.header()))
            .map_err(|e| ReportError::new(path, e))?;
        Ok(CsvReport {
            path: path.to_path_buf(),
            columns: columns.to_vec(),
            out,
        })
    }
}

impl ReportSink for CsvReport {
    fn write(&mut self, outcome: &Outcome) -> Result<(), ReportError> {
        let cells: Vec<String> = self
            .columns
            .iter()
            .map(|c| neutralise(&c.value(outcome)).into_owned())
            .collect();
        self.out
            .write_record(&cells)
            .map_err(|e| ReportError::new(&self.path, e))
    }

    fn finish(mut self: Box<Self>) -> Result<(), ReportError> {
        self.out
            .flush()
            .map_err(|e| ReportError::new(&self.path, e))
    }
}
