//! JSON report sink: `{"rows": [ {…}, … ]}`, streamed one row at a time.

use super::{create_private, ReportError, ReportSink};
use crate::outcome::Outcome;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Streams outcomes to a JSON file.
pub struct JsonReport {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    first: bool,
}

impl JsonReport {
    /// Creates the file and writes the opening bracket.
    pub fn create(path: &Path) -> Result<JsonReport, ReportError> {
        let file = create_private(path).map_err(|e| ReportError::new(path, e))?;
        let mut out = std::io::BufWriter::new(file);
        out.write_all(b"{\"rows\": [")
            .map_err(|e| ReportError::new(path, e))?;
        Ok(JsonReport {
            path: path.to_path_buf(),
            out,
            first: true,
        })
    }
}

impl ReportSink for JsonReport {
    fn write(&mut self, outcome: &Outcome) -> Result<(), ReportError> {
        let sep: &[u8] = if self.first { b"\n  " } else { b",\n  " };
        self.first = false;
        self.out
            .write_all(sep)
            .and_then(|_| serde_json::to_writer(&mut self.out, outcome).map_err(Into::into))
            .map_err(|e| ReportError::new(&self.path, e))
    }

    fn finish(mut self: Box<Self>) -> Result<(), ReportError> {
        self.out
            .write_all(b"\n]}\n")
            .and_then(|_| self.out.flush())
            .map_err(|e| ReportError::new(&self.path, e))
    }
}
