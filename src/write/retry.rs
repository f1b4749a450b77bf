//! Retry policy: which failures are worth retrying and how long to wait (exponential backoff with
//! full jitter, honouring `Retry-After`); and the loop every writer sends a write through
//! ([`send_with_retries`]), which never creates a record twice.

use crate::http::{Reply, TransportError};
use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use rand::Rng;
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
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

impl Default for RetryPolicy {
    /// 6 retries, backoff from 200 ms up to 20 s — unless `PATRON_ETL_RETRY` says otherwise
    /// (a cron job that must give up sooner, or a test of a dying target).
    fn default() -> Self {
        let standard = RetryPolicy {
            max_retries: 6,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(20),
        };
        match std::env::var(RETRY_ENV) {
            Ok(v) => RetryPolicy::parse(&v).unwrap_or_else(|| {
                tracing::warn!("{RETRY_ENV}={v:?} is not RETRIES,BASE_MS,CAP_MS; ignored");
                standard
            }),
            Err(_) => standard,
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

/// How one attempt at a write ended, as the writer judged the answer.
#[derive(Debug)]
pub enum Attempt {
    /// The row's outcome is decided, and set on the outcome.
    Done,
    /// A transient failure, worth another try.
    Again {
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
        /// Why, for the log and (when the retries run out) the report.
        why: String,
        /// The server may have applied the write anyway (a 5xx, a timeout, a dropped
        /// connection); a 429 was not applied.
        maybe_applied: bool,
    },
}

/// Judges an answer that is neither a success nor a refusal the writer handles itself: 429 and
/// 5xx are retried (a 5xx may have been applied), a transport failure is retried (it may have been
/// applied if the request went out), anything else is `failed` with the server's message, as
/// `message` renders it.
pub fn judge_failure(
    res: Result<Reply, TransportError>,
    o: &mut Outcome,
    message: fn(&Reply) -> String,
) -> Attempt {
    match res {
        Ok(r) if RetryPolicy::retryable_status(r.status) => {
            o.http_status = Some(r.status);
            Attempt::Again {
                retry_after: r.retry_after(),
                why: message(&r),
                maybe_applied: r.status != 429,
            }
        }
        Ok(r) => {
            o.http_status = Some(r.status);
            o.outcome = OutcomeKind::Failed;
            o.set_reason(ReasonCode::ServerRejected, message(&r));
            Attempt::Done
        }
        Err(t) => Attempt::Again {
            retry_after: None,
            why: t.message,
            maybe_applied: t.ambiguous,
        },
    }
}

/// Marks `o` created: a write that may have been applied was, as a lookup showed.
pub fn confirmed(o: &mut Outcome, id: String) {
    o.outcome = OutcomeKind::Created;
    o.target_id = Some(id);
    o.set_reason(
        ReasonCode::ConfirmedByLookup,
        "confirmed by lookup after an interrupted create",
    );
}

/// Marks `o` skipped because the run stopped (Ctrl-C, or the target was given up on) before its
/// write was known to be applied; `maybe_applied` says an attempt may have reached the server.
/// A skipped row is planned again by `resume`, whose lookup finds a record that did arrive.
fn halted(o: &mut Outcome, maybe_applied: bool) {
    let (code, why) = match crate::journal::interrupt::Stop::current().and_then(|s| s.halt()) {
        Some(crate::journal::interrupt::Halt::Unreachable(why)) => {
            (ReasonCode::TargetUnreachable, why)
        }
        _ => (
            ReasonCode::Interrupted,
            "the run was interrupted".to_string(),
        ),
    };
    o.outcome = OutcomeKind::Skipped;
    let reason = if maybe_applied {
        format!("not confirmed: {why}; the write may have arrived, resume looks it up")
    } else {
        format!("not written: {why}")
    };
    o.set_reason(code, reason);
}

/// Sends a write until it is done or `policy` gives up (the row then fails with `gave up after N
/// retries: <last reason>`), counting retries on `o`. When the run is stopped (Ctrl-C, or the
/// target was given up on) no further attempt is made and the row is `skipped`.
///
/// `attempt` sends once and judges the answer; it is told whether an earlier attempt may have been
/// applied. After such an attempt `applied` looks the record up — before sending again, and when
/// giving up — and returns its id if it exists: the row is then `created` ([`confirmed`]) and
/// nothing is sent again. Updates, which are idempotent, pass a lookup that finds nothing.
pub async fn send_with_retries<A, L>(
    policy: &RetryPolicy,
    o: &mut Outcome,
    what: &str,
    mut attempt: A,
    mut applied: L,
) where
    A: AsyncFnMut(&mut Outcome, bool) -> Attempt,
    L: AsyncFnMut() -> Option<String>,
{
    let mut maybe_applied = false;
    loop {
        if maybe_applied {
            if let Some(id) = applied().await {
                confirmed(o, id);
                return;
            }
        }
        let (retry_after, why) = match attempt(o, maybe_applied).await {
            Attempt::Done => return,
            Attempt::Again {
                retry_after,
                why,
                maybe_applied: maybe,
            } => {
                maybe_applied |= maybe;
                (retry_after, why)
            }
        };
        if crate::journal::interrupt::stopped() {
            halted(o, maybe_applied);
            return;
        }
        if o.retries >= policy.max_retries {
            o.outcome = OutcomeKind::Failed;
            o.set_reason(
                ReasonCode::GaveUp,
                format!("gave up after {} retries: {why}", o.retries),
            );
            if maybe_applied {
                if let Some(id) = applied().await {
                    confirmed(o, id);
                }
            }
            return;
        }
        o.retries += 1;
        tracing::debug!(line = o.line, retry = o.retries, reason = %why, "retrying {what}");
        if !crate::journal::interrupt::sleep(policy.delay(o.retries, retry_after)).await {
            halted(o, maybe_applied);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[tokio::test]
    async fn a_stopped_run_sends_no_retry_and_skips_the_row() {
        let stop = crate::journal::interrupt::Stop::default();
        let mut o = outcome();
        let mut sent = 0;
        let attempt = async |_: &mut Outcome, _: bool| {
            sent += 1;
            stop.set();
            again(false)
        };
        stop.scope(send_with_retries(
            &quick(),
            &mut o,
            "create",
            attempt,
            async || None,
        ))
        .await;
        assert_eq!(sent, 1);
        assert_eq!(o.outcome, OutcomeKind::Skipped);
        assert_eq!(
            o.reason.as_deref(),
            Some("not written: the run was interrupted")
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
        let p = RetryPolicy::default();
        for attempt in 1..20 {
            assert!(p.delay(attempt, None) <= p.cap);
        }
        assert!(p.delay(1, None) <= Duration::from_millis(200));
        let d = p.delay(3, Some(Duration::from_secs(2)));
        assert!(d >= Duration::from_secs(2) && d <= Duration::from_millis(2100));
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(1),
        }
    }

    fn outcome() -> Outcome {
        Outcome::new("f.csv", 2, Some("k".into()), OutcomeKind::Failed)
    }

    fn again(maybe_applied: bool) -> Attempt {
        Attempt::Again {
            retry_after: None,
            why: "HTTP 503".into(),
            maybe_applied,
        }
    }

    #[tokio::test]
    async fn an_ambiguous_create_is_looked_up_before_it_is_sent_again() {
        let mut sent = 0;
        let mut lookups = 0;
        let mut o = outcome();
        let attempt = async |_: &mut Outcome, _: bool| {
            sent += 1;
            again(true)
        };
        let applied = async || {
            lookups += 1;
            Some("id-1".to_string())
        };
        send_with_retries(&quick(), &mut o, "create", attempt, applied).await;
        assert_eq!((sent, lookups), (1, 1), "sent once, then found");
        assert_eq!(o.outcome, OutcomeKind::Created);
        assert_eq!(o.target_id.as_deref(), Some("id-1"));
        assert_eq!(o.retries, 1);
    }

    #[tokio::test]
    async fn retries_run_out_with_the_last_reason_and_a_429_is_never_looked_up() {
        let mut sent = 0;
        let mut lookups = 0;
        let mut o = outcome();
        let attempt = async |_: &mut Outcome, maybe: bool| {
            assert!(!maybe, "a 429 was not applied");
            sent += 1;
            again(false)
        };
        let applied = async || {
            lookups += 1;
            None
        };
        send_with_retries(&quick(), &mut o, "create", attempt, applied).await;
        assert_eq!((sent, lookups), (4, 0));
        assert_eq!(o.outcome, OutcomeKind::Failed);
        assert_eq!(
            o.reason.as_deref(),
            Some("gave up after 3 retries: HTTP 503")
        );
    }

    #[tokio::test]
    async fn a_success_after_a_transient_failure_counts_one_retry() {
        let mut o = outcome();
        let mut n = 0;
        let attempt = async |o: &mut Outcome, _: bool| {
            n += 1;
            if n == 1 {
                return again(true);
            }
            o.outcome = OutcomeKind::Updated;
            Attempt::Done
        };
        send_with_retries(&quick(), &mut o, "update", attempt, async || None).await;
        assert_eq!(o.outcome, OutcomeKind::Updated);
        assert_eq!(o.retries, 1);
    }
}
