//! An adaptive pacer: one request per interval, measured from the previous request's start; a
//! 429 widens the interval, a clean stretch narrows it back towards the base. Used instead of
//! the fixed governor quota by a target whose limit is one request per interval per account
//! (Libib), so a run goes at the published pace and still slows down when the server says so.
//!
//! Invariants: two request starts are never closer than the current interval; the interval
//! stays within `[base, widest]`; only an answer (a 429 or not) moves it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the interval adapts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adapt {
    /// The interval in a clean stretch (the published limit plus a margin).
    pub base: Duration,
    /// The widest the interval gets after 429s.
    pub widest: Duration,
    /// Each 429 multiplies the interval by this (> 1).
    pub widen: f64,
    /// Answers in a row without a 429 before the interval narrows one step (divided by
    /// `widen`, never below `base`).
    pub clean_stretch: u32,
}

#[derive(Debug)]
struct State {
    interval: Duration,
    next: Option<Instant>,
    clean: u32,
}

/// The pacer of one target.
#[derive(Debug)]
pub struct Pacer {
    adapt: Adapt,
    state: Mutex<State>,
}

impl Pacer {
    /// A pacer starting at `adapt.base`.
    pub fn new(adapt: Adapt) -> Pacer {
        let widest = adapt.widest.max(adapt.base);
        let adapt = Adapt {
            widest,
            widen: if adapt.widen.is_finite() && adapt.widen > 1.0 {
                adapt.widen
            } else {
                1.5
            },
            clean_stretch: adapt.clean_stretch.max(1),
            ..adapt
        };
        Pacer {
            state: Mutex::new(State {
                interval: adapt.base,
                next: None,
                clean: 0,
            }),
            adapt,
        }
    }

    /// The current interval.
    pub fn interval(&self) -> Duration {
        self.state
            .lock()
            .map(|s| s.interval)
            .unwrap_or(self.adapt.widest)
    }

    /// Claims the next start if it is due at `now` (`None`: claimed, send now), else says how
    /// long to wait before asking again.
    pub fn claim(&self, now: Instant) -> Option<Duration> {
        let Ok(mut s) = self.state.lock() else {
            return Some(self.adapt.widest);
        };
        match s.next {
            Some(next) if next > now => Some(next - now),
            _ => {
                s.next = Some(now + s.interval);
                None
            }
        }
    }

    /// Waits until a start is claimed; `false` when the run was stopped meanwhile.
    pub async fn ready(&self) -> bool {
        loop {
            match self.claim(Instant::now()) {
                None => return true,
                Some(wait) => {
                    if !crate::journal::interrupt::sleep(wait).await {
                        return false;
                    }
                }
            }
        }
    }

    /// Records an answer: a 429 widens the interval (and pushes the next start out by the
    /// difference), `clean_stretch` other answers in a row narrow it one step.
    pub fn answered(&self, throttled: bool) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        let a = self.adapt;
        if throttled {
            let wider = s.interval.mul_f64(a.widen).min(a.widest);
            if let Some(next) = s.next {
                s.next = Some(next + (wider - s.interval));
            }
            s.interval = wider;
            s.clean = 0;
        } else {
            s.clean += 1;
            if s.clean >= a.clean_stretch && s.interval > a.base {
                s.interval = s.interval.div_f64(a.widen).max(a.base);
                s.clean = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacer() -> Pacer {
        Pacer::new(Adapt {
            base: Duration::from_millis(2050),
            widest: Duration::from_millis(4100),
            widen: 1.5,
            clean_stretch: 3,
        })
    }

    #[test]
    fn starts_are_an_interval_apart_from_the_previous_start() {
        let p = pacer();
        let t0 = Instant::now();
        assert_eq!(p.claim(t0), None, "the first request goes at once");
        let wait = p.claim(t0 + Duration::from_millis(500));
        assert_eq!(wait, Some(Duration::from_millis(1550)));
        assert_eq!(p.claim(t0 + Duration::from_millis(2050)), None);
        // A request that started late: the next is measured from its start.
        assert_eq!(p.claim(t0 + Duration::from_millis(5000)), None);
        assert_eq!(
            p.claim(t0 + Duration::from_millis(6000)),
            Some(Duration::from_millis(1050))
        );
    }

    #[test]
    fn a_429_widens_up_to_the_widest_and_a_clean_stretch_narrows_back_to_the_base() {
        let p = pacer();
        p.answered(true);
        assert_eq!(p.interval(), Duration::from_millis(3075));
        p.answered(true);
        p.answered(true);
        assert_eq!(p.interval(), Duration::from_millis(4100), "never wider");
        for _ in 0..2 {
            p.answered(false);
        }
        assert_eq!(
            p.interval(),
            Duration::from_millis(4100),
            "not before a clean stretch"
        );
        p.answered(false);
        assert!(p.interval() < Duration::from_millis(4100));
        for _ in 0..30 {
            p.answered(false);
        }
        assert_eq!(
            p.interval(),
            Duration::from_millis(2050),
            "never narrower than the base"
        );
    }

    #[test]
    fn a_429_pushes_the_next_start_out() {
        let p = pacer();
        let t0 = Instant::now();
        assert_eq!(p.claim(t0), None);
        p.answered(true);
        // Next start: t0 + 3075 ms.
        assert_eq!(
            p.claim(t0 + Duration::from_millis(2050)),
            Some(Duration::from_millis(1025))
        );
    }
}
