//! Pacing beyond the fixed governor quota. [`Window`]: never more than the rate in any second.
//! [`Pacer`], an adaptive pacer: one request per interval, measured from the previous request's start; a
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
        wait_for(|now| self.claim(now)).await
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

/// Asks `claim` until it grants a start (`None`), sleeping as long as it says in between;
/// `false` when the run was stopped meanwhile.
async fn wait_for(claim: impl Fn(Instant) -> Option<Duration>) -> bool {
    loop {
        match claim(Instant::now()) {
            None => return true,
            Some(wait) => {
                if !crate::journal::interrupt::sleep(wait).await {
                    return false;
                }
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

/// The window is this much longer than `n / rate` (see [`Window::new`]).
const WINDOW_MARGIN: f64 = 1.01;

/// The last `n` request starts of a target, so that no window of `n / rate` seconds (one second
/// for a whole `rate`) ever holds more than `n` of them, however the starts are spaced: a burst
/// allowance in the even pacing (catching up a late wake-up) can never add up to more than
/// the rate over any such window.
#[derive(Debug)]
pub struct Window {
    n: usize,
    window: Duration,
    starts: Mutex<std::collections::VecDeque<Instant>>,
}

impl Window {
    /// The window of `rate` requests per second: `n = max(1, floor(rate))` starts per `n / rate`
    /// plus 1 % (starts are counted here, arrivals at the server: the margin covers the jitter
    /// between the two, so a server counting `rate` per second never sees one more).
    pub fn new(rate: f64) -> Window {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        let n = (rate.floor() as usize).max(1);
        Window {
            n,
            window: Duration::from_secs_f64(n as f64 / rate * WINDOW_MARGIN),
            starts: Mutex::new(std::collections::VecDeque::with_capacity(n)),
        }
    }

    /// Claims a start at `now` (`None`), or says how long to wait before asking again.
    pub fn claim(&self, now: Instant) -> Option<Duration> {
        let Ok(mut s) = self.starts.lock() else {
            return Some(self.window);
        };
        if s.len() >= self.n {
            if let Some(oldest) = s.front() {
                let free = *oldest + self.window;
                if free > now {
                    return Some(free - now);
                }
            }
            s.pop_front();
        }
        s.push_back(now);
        None
    }

    /// Waits until a start is claimed; `false` when the run was stopped meanwhile.
    pub async fn ready(&self) -> bool {
        wait_for(|now| self.claim(now)).await
    }
}

#[cfg(test)]
mod window_tests {
    use super::*;

    #[test]
    fn never_more_than_the_rate_in_any_second() {
        let w = Window::new(3.0);
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(w.claim(t0), None);
        assert_eq!(w.claim(t0 + ms(10)), None);
        assert_eq!(w.claim(t0 + ms(20)), None);
        // A fourth start waits until the first is a second (plus 1 %) old.
        assert_eq!(w.claim(t0 + ms(500)), Some(ms(510)));
        assert_eq!(w.claim(t0 + ms(1010)), None);
        assert_eq!(w.claim(t0 + ms(1015)), Some(ms(5)));
        // Below one request a second: one start per 1 / rate.
        let slow = Window::new(0.5);
        assert_eq!(slow.claim(t0), None);
        assert_eq!(slow.claim(t0 + ms(1500)), Some(ms(520)));
        assert_eq!(slow.claim(t0 + ms(2020)), None);
    }
}
