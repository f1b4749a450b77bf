//! The one retry primitive: [`run`] sends (through the caller's `attempt`) until the answer is
//! final or the [`RetryPolicy`] gives up, waiting between attempts with exponential backoff and
//! full jitter, or for the server's `Retry-After`. Every retry in the crate — the clients' reads
//! and logins, the writers' [`crate::write::retry::send_with_retries`], undo — goes through it.
//!
//! Invariants: at most `max_retries` retries follow the first attempt; a wait is never longer than
//! `cap` (or the server's `Retry-After`, at most an hour, see [`super::Reply::retry_after`]) plus
//! 100 ms of jitter; inside a run ([`crate::journal::interrupt::Stop::scope`]) no retry starts once
//! the run is stopped, and a stop ends a backoff at once ([`GaveUp::stopped`]). What is worth
//! retrying is the caller's judgement ([`Verdict`]); [`RetryPolicy::retryable_status`] says it for
//! HTTP statuses.
//!
//! The policy comes from the target (`retries`, `retry_base_ms`, `retry_cap_ms` in its
//! `[targets.NAME]` table, see [`crate::target`]), else from `PATRON_ETL_RETRY`, else
//! 6 retries from 200 ms up to 20 s; [`super::Governed::retry`] carries it to the clients.

use super::{Reply, TransportError};
use crate::journal::interrupt;
use rand::Rng;
use std::future::Future;
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff ceiling.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub cap: Duration,
}

/// The environment variable that overrides the shared retry policy (see [`RetryPolicy::parse`]).
pub const RETRY_ENV: &str = "PATRON_ETL_RETRY";

impl RetryPolicy {
    /// 6 retries, backoff from 200 ms up to 20 s.
    pub const STANDARD: RetryPolicy = RetryPolicy {
        max_retries: 6,
        base: Duration::from_millis(200),
        cap: Duration::from_secs(20),
    };
}

impl Default for RetryPolicy {
    /// [`RetryPolicy::STANDARD`] — unless `PATRON_ETL_RETRY` says otherwise (a cron job that must
    /// give up sooner, or a test of a dying target).
    fn default() -> Self {
        match std::env::var(RETRY_ENV) {
            Ok(v) => RetryPolicy::parse(&v).unwrap_or_else(|| {
                tracing::warn!("{RETRY_ENV}={v:?} is not RETRIES,BASE_MS,CAP_MS; ignored");
                RetryPolicy::STANDARD
            }),
            Err(_) => RetryPolicy::STANDARD,
        }
    }
}

impl RetryPolicy {
    /// `RETRIES,BASE_MS,CAP_MS`, e.g. `6,200,20000` (the default).
    pub fn parse(s: &str) -> Option<RetryPolicy> {
        let mut it = s.split(',').map(|p| p.trim().parse::<u64>().ok());
        let (Some(Some(n)), Some(Some(base)), Some(Some(cap)), None) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return None;
        };
        Some(RetryPolicy {
            max_retries: u32::try_from(n).ok()?,
            base: Duration::from_millis(base),
            cap: Duration::from_millis(cap.max(base)),
        })
    }

    /// Whether an HTTP status is transient (429 or 5xx other than 501).
    pub fn retryable_status(status: u16) -> bool {
        status == 429 || (500..600).contains(&status) && status != 501
    }

    /// The wait before retry number `attempt` (1-based): the server's `Retry-After` if given
    /// (plus a little jitter), otherwise a uniformly random delay up to `min(cap, base * 2^(attempt-1))`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let mut rng = rand::thread_rng();
        if let Some(ra) = retry_after {
            return ra + Duration::from_millis(rng.gen_range(0..=100));
        }
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let ceiling = exp.min(self.cap);
        let ms = ceiling.as_millis().max(1) as u64;
        Duration::from_millis(rng.gen_range(0..=ms))
    }
}

/// How one attempt ended, as the caller judged it.
#[derive(Debug)]
pub enum Verdict<T, F> {
    /// Final: success or a failure that retrying cannot help.
    Done(T),
    /// Transient: worth another attempt.
    Again {
        /// What went wrong (returned in [`GaveUp::last`] if no retry follows).
        failure: F,
        /// The server's `Retry-After`, if it sent one: waited instead of the backoff.
        retry_after: Option<Duration>,
    },
}

impl<T, F> Verdict<T, F> {
    /// A transient failure without a `Retry-After`.
    pub fn again(failure: F) -> Self {
        Verdict::Again {
            failure,
            retry_after: None,
        }
    }
}

/// Why [`run`] stopped retrying without a final answer.
#[derive(Debug)]
pub struct GaveUp<F> {
    /// Retries made (or, when stopped during a backoff, begun) after the first attempt.
    pub retries: u32,
    /// The last transient failure.
    pub last: F,
    /// The run was stopped (Ctrl-C, or the target was given up on): not out of retries.
    pub stopped: bool,
}

/// Calls `attempt` (given the number of retries so far: 0 for the first attempt) until it returns
/// [`Verdict::Done`], waiting [`RetryPolicy::delay`] between attempts. Gives up after
/// `policy.max_retries` retries, or at once when the current run is stopped — after an attempt or
/// during a wait (the wait ends as soon as the stop is requested).
pub async fn run<T, F, A, Fut>(policy: &RetryPolicy, mut attempt: A) -> Result<T, GaveUp<F>>
where
    A: FnMut(u32) -> Fut,
    Fut: Future<Output = Verdict<T, F>>,
{
    let ((), res) = run_with(policy, (), |(), n| {
        let fut = attempt(n);
        async move { ((), fut.await) }
    })
    .await;
    res
}

/// [`run`] for an attempt that needs mutable state across attempts (counters, the row's
/// outcome): `state` is handed to each attempt and back, and returned at the end.
pub async fn run_with<S, T, F, A, Fut>(
    policy: &RetryPolicy,
    mut state: S,
    mut attempt: A,
) -> (S, Result<T, GaveUp<F>>)
where
    A: FnMut(S, u32) -> Fut,
    Fut: Future<Output = (S, Verdict<T, F>)>,
{
    let mut retries = 0;
    loop {
        let (back, verdict) = attempt(state, retries).await;
        state = back;
        let (last, retry_after) = match verdict {
            Verdict::Done(t) => return (state, Ok(t)),
            Verdict::Again {
                failure,
                retry_after,
            } => (failure, retry_after),
        };
        let gave_up = |last, retries, stopped| GaveUp {
            retries,
            last,
            stopped,
        };
        if interrupt::stopped() {
            return (state, Err(gave_up(last, retries, true)));
        }
        if retries >= policy.max_retries {
            return (state, Err(gave_up(last, retries, false)));
        }
        retries += 1;
        tracing::debug!(retry = retries, "transient failure; retrying");
        if !interrupt::sleep(policy.delay(retries, retry_after)).await {
            return (state, Err(gave_up(last, retries, true)));
        }
    }
}

/// A login or connection check: `send` (given the retries so far) until its answer is final, as
/// [`login_verdict`] judges it; out of retries or stopped, the last answer.
pub async fn login<A, Fut>(policy: &RetryPolicy, mut send: A) -> Answer
where
    A: FnMut(u32) -> Fut,
    Fut: Future<Output = Answer>,
{
    run(policy, |n| {
        let fut = send(n);
        async move { login_verdict(fut.await) }
    })
    .await
    .unwrap_or_else(|g| g.last)
}

/// What a request got: a reply, or no HTTP answer.
pub type Answer = Result<Reply, TransportError>;

/// An answer as a login or connection check judges it: a 429 or 5xx, a dropped connection and a
/// timeout are transient; a refused connection (nothing listening: a wrong URL or a server that is
/// down) and every other answer — success, a refusal of the credentials (4xx) — are final.
pub fn login_verdict(res: Answer) -> Verdict<Answer, Answer> {
    let transient = match &res {
        Ok(r) => RetryPolicy::retryable_status(r.status),
        Err(t) => !t.connect,
    };
    if !transient {
        return Verdict::Done(res);
    }
    let retry_after = res.as_ref().ok().and_then(Reply::retry_after);
    Verdict::Again {
        failure: res,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::interrupt::Stop;
    use std::future::ready;
    use std::time::Instant;

    fn quick(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        }
    }

    #[test]
    fn the_policy_can_be_set_as_retries_base_and_cap() {
        let p = RetryPolicy::parse("2, 10, 50").expect("parses");
        assert_eq!(p.max_retries, 2);
        assert_eq!(
            (p.base, p.cap),
            (Duration::from_millis(10), Duration::from_millis(50))
        );
        assert!(RetryPolicy::parse("2,10").is_none());
        assert!(RetryPolicy::parse("2,10,50,1").is_none());
        assert!(RetryPolicy::parse("x,10,50").is_none());
        // A cap below the base is raised to it.
        assert_eq!(
            RetryPolicy::parse("1,30,5").map(|p| p.cap),
            Some(Duration::from_millis(30))
        );
    }

    #[test]
    fn classification() {
        assert!(RetryPolicy::retryable_status(429));
        assert!(RetryPolicy::retryable_status(503));
        assert!(!RetryPolicy::retryable_status(501));
        assert!(!RetryPolicy::retryable_status(422));
        assert!(!RetryPolicy::retryable_status(400));
    }

    #[test]
    fn delays_are_bounded_and_honour_retry_after() {
        let p = RetryPolicy::STANDARD;
        for attempt in 1..40 {
            assert!(p.delay(attempt, None) <= p.cap);
        }
        assert!(p.delay(1, None) <= Duration::from_millis(200));
        assert!(p.delay(2, None) <= Duration::from_millis(400));
        let d = p.delay(3, Some(Duration::from_secs(2)));
        assert!(d >= Duration::from_secs(2) && d <= Duration::from_millis(2100));
    }

    #[tokio::test]
    async fn a_final_answer_ends_at_once_and_transient_ones_are_retried_up_to_the_budget() {
        let mut calls = Vec::new();
        let out: Result<&str, GaveUp<String>> = run(&quick(5), |n| {
            ready({
                calls.push(n);
                if n < 2 {
                    Verdict::again(format!("HTTP 503 #{n}"))
                } else {
                    Verdict::Done("ok")
                }
            })
        })
        .await;
        assert_eq!(out.ok(), Some("ok"));
        assert_eq!(calls, [0, 1, 2], "each attempt is told the retries so far");

        let mut sent = 0;
        let out: Result<(), GaveUp<String>> = run(&quick(3), |n| {
            ready({
                sent += 1;
                Verdict::again(format!("HTTP 503 #{n}"))
            })
        })
        .await;
        let g = out.expect_err("gives up");
        assert_eq!(sent, 4, "the first attempt and 3 retries");
        assert_eq!(
            (g.retries, g.last.as_str(), g.stopped),
            (3, "HTTP 503 #3", false)
        );

        let mut sent = 0;
        let out: Result<(), GaveUp<&str>> = run(&quick(0), |_| {
            ready({
                sent += 1;
                Verdict::again("HTTP 500")
            })
        })
        .await;
        assert_eq!((sent, out.map_err(|g| g.retries).err()), (1, Some(0)));
    }

    #[test]
    fn a_login_retries_what_may_pass_and_never_a_refusal() {
        let reply = |status| Ok(Reply::new(status, Default::default(), String::new()));
        let no_answer = |connect: bool| {
            Err(TransportError {
                ambiguous: !connect,
                connect,
                message: "x".into(),
                permanent: false,
            })
        };
        let again = |v: &Verdict<Answer, Answer>| matches!(v, Verdict::Again { .. });
        assert!(again(&login_verdict(reply(503))));
        assert!(again(&login_verdict(reply(429))));
        assert!(
            again(&login_verdict(no_answer(false))),
            "a timeout or dropped connection"
        );
        assert!(!again(&login_verdict(reply(201))));
        assert!(
            !again(&login_verdict(reply(401))),
            "wrong credentials end the run"
        );
        assert!(!again(&login_verdict(no_answer(true))), "nothing listening");
    }

    #[tokio::test]
    async fn backoff_waits_stop_growing_at_the_cap() {
        // 16 retries from 1 ms: uncapped, the last waits alone would be up to 16 s and 33 s;
        // capped at 2 ms, the whole run waits at most 32 ms (plus scheduling).
        let p = RetryPolicy {
            max_retries: 16,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        };
        let t = Instant::now();
        let mut sent = 0;
        let out: Result<(), GaveUp<()>> = run(&p, |_| {
            ready({
                sent += 1;
                Verdict::again(())
            })
        })
        .await;
        assert_eq!((sent, out.map_err(|g| g.retries).err()), (17, Some(16)));
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[tokio::test]
    async fn retry_after_is_waited_instead_of_the_backoff() {
        // A backoff of at most 1 ms, but the server asks for 150 ms.
        let t = Instant::now();
        let mut sent = 0;
        let out: Result<u16, GaveUp<u16>> = run(&quick(3), |n| {
            ready({
                sent += 1;
                if n == 0 {
                    Verdict::Again {
                        failure: 429,
                        retry_after: Some(Duration::from_millis(150)),
                    }
                } else {
                    Verdict::Done(200)
                }
            })
        })
        .await;
        assert_eq!((out.ok(), sent), (Some(200), 2));
        assert!(
            t.elapsed() >= Duration::from_millis(150),
            "{:?}",
            t.elapsed()
        );
    }

    #[tokio::test]
    async fn a_stop_ends_the_backoff_at_once_and_no_retry_is_sent() {
        // Stopped during a 30 s Retry-After: returns within moments, without a second attempt.
        let stop = Stop::default();
        let s2 = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            s2.set();
        });
        let t = Instant::now();
        let mut sent = 0;
        let out: Result<(), GaveUp<&str>> = stop
            .scope(run(&RetryPolicy::STANDARD, |_| {
                ready({
                    sent += 1;
                    Verdict::Again {
                        failure: "HTTP 429",
                        retry_after: Some(Duration::from_secs(30)),
                    }
                })
            }))
            .await;
        let g = out.expect_err("stopped");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert_eq!(sent, 1);
        assert_eq!((g.retries, g.last, g.stopped), (1, "HTTP 429", true));

        // Already stopped: the transient failure is returned without any wait or retry.
        let mut sent = 0;
        let out: Result<(), GaveUp<&str>> = stop
            .scope(run(&RetryPolicy::STANDARD, |_| {
                ready({
                    sent += 1;
                    Verdict::again("HTTP 503")
                })
            }))
            .await;
        let g = out.expect_err("stopped");
        assert_eq!((sent, g.retries, g.stopped), (1, 0, true));
    }
}
