//! Fault injection: latency, 500s, 429 with `Retry-After`, dropped connections (with or without the
//! write applied) and a global requests-per-second limit. Decisions come from one RNG seeded with
//! `--seed`, so a sequential client sees the same faults on every run.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Which faults to inject, and how often (rates are probabilities in 0..=1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// The answering time: every API answer leaves no sooner than this after its request
    /// arrived (the sandbox's own work included).
    pub latency_ms: u64,
    /// Probability of a 500 (the request is not applied).
    pub fail_rate: f64,
    /// Probability of a 429 with `Retry-After: 1` (not applied).
    pub throttle_rate: f64,
    /// Probability that the connection is closed without a response (not applied).
    pub drop_rate: f64,
    /// Probability (writes only) that the write is applied and then the connection is closed.
    pub apply_then_drop_rate: f64,
    /// Requests per second across the whole server; beyond it, 429.
    pub rate_limit: Option<u32>,
    /// The first N requests have their connection closed, not applied — deterministic, so a
    /// test can drop exactly the login (issue 20: a dropped connection at login is retried).
    pub drop_first: u32,
    /// `Retry-After` seconds of a 429 (`None`: 1).
    pub throttle_retry_after: Option<u64>,
}

impl FaultConfig {
    /// Whether any fault is configured.
    pub fn is_active(&self) -> bool {
        *self != FaultConfig::default()
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Handle normally.
    Pass,
    /// Answer 500.
    Fail,
    /// Answer 429 with `Retry-After` seconds.
    Throttle(u64),
    /// Close the connection, not applying the request.
    Drop,
    /// Apply the request, then close the connection.
    ApplyThenDrop,
}

/// The seeded decision maker plus the rate-limit window.
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    rng: StdRng,
    window_start: Instant,
    window_count: u32,
    dropped_first: u32,
}

impl Faults {
    /// A decision maker for `config`, seeded with `seed`.
    pub fn new(config: FaultConfig, seed: u64) -> Faults {
        Faults {
            config,
            rng: StdRng::seed_from_u64(seed),
            window_start: Instant::now(),
            window_count: 0,
            dropped_first: 0,
        }
    }

    /// The configured latency.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.config.latency_ms)
    }

    /// Decides the fate of one request; `is_write` enables apply-then-drop.
    pub fn decide(&mut self, is_write: bool) -> Decision {
        if self.dropped_first < self.config.drop_first {
            self.dropped_first += 1;
            return Decision::Drop;
        }
        if let Some(limit) = self.config.rate_limit {
            let now = Instant::now();
            if now.duration_since(self.window_start) >= Duration::from_secs(1) {
                self.window_start = now;
                self.window_count = 0;
            }
            if self.window_count >= limit {
                return Decision::Throttle(self.config.throttle_retry_after.unwrap_or(1));
            }
            self.window_count += 1;
        }
        // Always draw the same number of values per request, so one fault kind does not shift
        // the sequence of another.
        let draws: [f64; 4] = [
            self.rng.gen(),
            self.rng.gen(),
            self.rng.gen(),
            self.rng.gen(),
        ];
        if draws[0] < self.config.drop_rate {
            Decision::Drop
        } else if draws[1] < self.config.fail_rate {
            Decision::Fail
        } else if draws[2] < self.config.throttle_rate {
            Decision::Throttle(self.config.throttle_retry_after.unwrap_or(1))
        } else if is_write && draws[3] < self.config.apply_then_drop_rate {
            Decision::ApplyThenDrop
        } else {
            Decision::Pass
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_decisions() {
        let cfg = FaultConfig {
            fail_rate: 0.3,
            drop_rate: 0.2,
            ..FaultConfig::default()
        };
        let mut a = Faults::new(cfg.clone(), 7);
        let mut b = Faults::new(cfg, 7);
        let da: Vec<_> = (0..50).map(|_| a.decide(true)).collect();
        let db: Vec<_> = (0..50).map(|_| b.decide(true)).collect();
        assert_eq!(da, db);
        assert!(
            da.contains(&Decision::Fail)
                && da.contains(&Decision::Drop)
                && da.contains(&Decision::Pass)
        );
    }

    #[test]
    fn the_first_requests_are_dropped_then_all_pass() {
        let mut f = Faults::new(
            FaultConfig {
                drop_first: 2,
                ..FaultConfig::default()
            },
            1,
        );
        let d: Vec<_> = (0..4).map(|_| f.decide(true)).collect();
        assert_eq!(
            d,
            [
                Decision::Drop,
                Decision::Drop,
                Decision::Pass,
                Decision::Pass
            ]
        );
    }

    #[test]
    fn rate_limit_throttles_beyond_n() {
        let mut f = Faults::new(
            FaultConfig {
                rate_limit: Some(3),
                ..FaultConfig::default()
            },
            1,
        );
        let d: Vec<_> = (0..5).map(|_| f.decide(false)).collect();
        assert_eq!(&d[..3], &[Decision::Pass; 3]);
        assert_eq!(d[3], Decision::Throttle(1));
    }
}
