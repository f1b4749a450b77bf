//! Progress: a bar with rate and ETA on a terminal; plain lines every few seconds otherwise
//! (every `PATRON_ETL_PROGRESS_SECS` seconds, default 5).
//!
//! The ETA of a paced run comes from the governor's pacing and the planned requests — remaining
//! rows × requests per row (one before any row is done; the requests sent for rows so far after,
//! not counting the connection check and scan) ÷ the allowed rate — so early, fast rows cannot
//! make it lie. After a warm-up (10 rows and 5 s) the measured row rate refines it: the run can
//! be slower than its pacing (a slow server), never faster.

use crate::http::Counters;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Progress of a run over a known (or unknown) number of rows.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: Option<u64>,
    done: u64,
    started: Instant,
    last_line: Instant,
    label: &'static str,
    pace: Option<Pace>,
    every: Duration,
    /// Rows not yet done whose requests are already sent (a pipelined import's writes in
    /// flight or answered, their chunk not yet reported): counted in the requests-per-row of
    /// the ETA, not shown as done.
    ahead: u64,
}

/// The pacing an ETA is computed from.
struct Pace {
    rate: f64,
    counters: Arc<Counters>,
    /// Requests sent before the first row (login, reference data, a snapshot scan).
    before: u64,
    since: Instant,
}

/// Rows and seconds after which the measured rate refines the paced ETA.
const WARM_ROWS: u64 = 10;
const WARM_SECS: f64 = 5.0;

/// The plain-line interval: `PATRON_ETL_PROGRESS_SECS`, default 5 s.
fn line_interval() -> Duration {
    std::env::var("PATRON_ETL_PROGRESS_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(5), Duration::from_secs_f64)
}

/// `1h 02m`, `3m 05s`, `42s`.
pub fn human_duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

impl Progress {
    /// Starts; a bar only when stderr is a terminal.
    pub fn new(label: &'static str, total: Option<u64>) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = match total {
                Some(t) => ProgressBar::new(t),
                None => ProgressBar::new_spinner(),
            };
            b.set_draw_target(ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{msg} [{bar:30}] {pos}/{len} rows · {per_sec} · ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            b.set_style(style);
            b.set_message(label);
            b
        });
        let now = Instant::now();
        Progress {
            bar,
            total,
            done: 0,
            started: now,
            last_line: now,
            label,
            pace: None,
            every: line_interval(),
            ahead: 0,
        }
    }

    /// Bases the ETA on a pacing of `rate` requests per second, with requests counted by
    /// `counters`; prints the up-front estimate (one request per row) when the total is known.
    pub fn pace(&mut self, rate: f64, counters: Arc<Counters>) {
        if !(rate > 0.0 && rate.is_finite()) {
            return;
        }
        if let Some(t) = self.total {
            let every = if rate > 1.0 {
                format!("{:.0} ms", 1000.0 / rate)
            } else {
                format!("{:.1} s", 1.0 / rate)
            };
            let left = t.saturating_sub(self.done);
            eprintln!(
                "{}: {left} rows at one request every {every}: about {} if every row needs one request (rows that need no write are faster)",
                self.label,
                human_duration(left as f64 / rate)
            );
        }
        if let Some(b) = &self.bar {
            if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} rows") {
                b.set_style(style.progress_chars("=> "));
            }
        }
        let before = counters.requests.load(Ordering::Relaxed);
        self.pace = Some(Pace {
            rate,
            counters,
            before,
            since: Instant::now(),
        });
    }

    /// Seconds left: from the pacing when set (refined by the measured rate once warm), else
    /// from the observed row rate.
    fn eta(&self) -> Option<f64> {
        let t = self.total?;
        let left = t.saturating_sub(self.done) as f64;
        if let Some(p) = &self.pace {
            let requests = p.counters.requests.load(Ordering::Relaxed);
            let per_row = if self.done > 0 {
                requests.saturating_sub(p.before) as f64 / (self.done + self.ahead) as f64
            } else {
                1.0
            };
            let paced = left * per_row / p.rate;
            let secs = p.since.elapsed().as_secs_f64();
            if self.done >= WARM_ROWS && secs >= WARM_SECS {
                let measured = left * secs / self.done as f64;
                return Some(paced.max(measured));
            }
            return Some(paced);
        }
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.done as f64 / secs;
        (rate > 0.0 && t > self.done).then(|| left / rate)
    }

    /// Sets how many rows not yet done already had their requests sent (see the field).
    pub fn set_ahead(&mut self, rows: u64) {
        self.ahead = rows;
    }

    /// Records `n` more rows done.
    pub fn inc(&mut self, n: u64) {
        self.done += n;
        if let Some(b) = &self.bar {
            b.inc(n);
            if self.pace.is_some() {
                let eta = self.eta().map(human_duration).unwrap_or_default();
                b.set_message(format!("{} · ETA {eta}", self.label));
            }
            return;
        }
        if self.last_line.elapsed() >= self.every {
            self.last_line = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            let rate = self.done as f64 / secs;
            let eta = match self.eta() {
                Some(e) if self.total.is_some_and(|t| t > self.done) => {
                    format!(", ETA {}", human_duration(e))
                }
                _ => String::new(),
            };
            let of = self.total.map(|t| format!("/{t}")).unwrap_or_default();
            eprintln!(
                "{}: {}{of} rows, {rate:.1} rows/s{eta}",
                self.label, self.done
            );
        }
    }

    /// Clears the bar.
    pub fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_eta_follows_the_request_rate() {
        let c = Arc::new(Counters::default());
        let mut p = Progress::new("t", Some(100));
        p.bar = None;
        p.pace(0.4, c.clone());
        c.requests.store(20, Ordering::Relaxed);
        p.done = 10;
        // 90 rows left × 2 requests a row ÷ 0.4 requests/s = 450 s.
        assert_eq!(p.eta().map(|e| e.round()), Some(450.0));
        // 10 more rows already had their requests sent: 20 requests for 20 rows, 1 a row.
        p.set_ahead(10);
        assert_eq!(p.eta().map(|e| e.round()), Some(225.0));
        p.set_ahead(0);
        // Before any row: one request a row, whatever the connection check cost.
        let c = Arc::new(Counters::default());
        c.requests.store(600, Ordering::Relaxed);
        let mut p = Progress::new("t", Some(100));
        p.bar = None;
        p.pace(0.5, c.clone());
        assert_eq!(p.eta().map(|e| e.round()), Some(200.0));
        // The scan's 600 requests do not count against the rows.
        c.requests.store(610, Ordering::Relaxed);
        p.done = 10;
        assert_eq!(p.eta().map(|e| e.round()), Some(180.0));
        assert_eq!(human_duration(450.0), "7m 30s");
        assert_eq!(human_duration(3725.0), "1h 02m");
    }
}
