//! Progress: a bar with rate and ETA on a terminal; plain lines every few seconds otherwise.
//! For a paced target (Libib: one request per 2.5 s) the ETA comes from the pacing — remaining
//! rows × requests per row so far ÷ the allowed rate — rather than from early, fast rows.

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
    pace: Option<(f64, Arc<Counters>)>,
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
            eprintln!(
                "{}: {t} rows at one request every {every}: about {} if every row needs one request (rows that need no write are faster)",
                self.label,
                human_duration(t as f64 / rate)
            );
        }
        if let Some(b) = &self.bar {
            if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} rows") {
                b.set_style(style.progress_chars("=> "));
            }
        }
        self.pace = Some((rate, counters));
    }

    /// Seconds left, from the pacing when set, else from the observed row rate.
    fn eta(&self) -> Option<f64> {
        let t = self.total?;
        let left = t.saturating_sub(self.done) as f64;
        if let Some((rate, c)) = &self.pace {
            let requests = c.requests.load(Ordering::Relaxed) as f64;
            let per_row = if self.done > 0 {
                requests / self.done as f64
            } else {
                1.0
            };
            return Some(left * per_row / rate);
        }
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.done as f64 / secs;
        (rate > 0.0 && t > self.done).then(|| left / rate)
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
        if self.last_line.elapsed() >= Duration::from_secs(5) {
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
        assert_eq!(human_duration(450.0), "7m 30s");
        assert_eq!(human_duration(3725.0), "1h 02m");
    }
}
