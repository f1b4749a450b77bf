//! Printing to stdout that survives a closed pipe: `patron-etl runs | head -1` must not panic
//! ("failed printing to stdout: Broken pipe") as `println!` does. Once the reader has gone, the
//! rest of the output is dropped quietly — as ripgrep does — and the command goes on (a run still
//! finishes its report files and journal) and exits with its usual code.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout; a broken pipe silences the rest of the output, any other error is
/// logged once per call.
pub fn print(text: &str) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            tracing::warn!("cannot write to stdout: {e}");
        }
    }
}

/// `print!` through [`print`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::print(&format!($($arg)*)) };
}

/// `println!` through [`print`].
#[macro_export]
macro_rules! outln {
    () => { $crate::output::print("\n") };
    ($($arg:tt)*) => { $crate::output::print(&format!("{}\n", format_args!($($arg)*))) };
}
