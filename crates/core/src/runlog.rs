//! The run log: log lines also go to `run.log` in the run folder once a run has one.
//! Installed as a tracing writer by `main`; [`attach`] points it at a file.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

static FILE: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Starts copying log lines to `path` (created owner-only).
pub fn attach(path: &Path) -> std::io::Result<()> {
    let f = crate::report::create_private(path)?;
    if let Ok(mut g) = FILE.lock() {
        *g = Some(f);
    }
    Ok(())
}

/// Stops copying log lines (flushing the file).
pub fn detach() {
    if let Ok(mut g) = FILE.lock() {
        if let Some(mut f) = g.take() {
            let _ = f.flush();
        }
    }
}

/// A `tracing_subscriber` writer that appends to the attached file, or discards.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunLogWriter;

impl Write for RunLogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut g) = FILE.lock() {
            if let Some(f) = g.as_mut() {
                f.write_all(buf)?;
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if let Ok(mut g) = FILE.lock() {
            if let Some(f) = g.as_mut() {
                f.flush()?;
            }
        }
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RunLogWriter {
    type Writer = RunLogWriter;
    fn make_writer(&'a self) -> Self::Writer {
        RunLogWriter
    }
}
