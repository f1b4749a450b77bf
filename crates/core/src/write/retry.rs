//! How a write is retried without ever creating a record twice ([`send_with_retries`], every
//! writer's way to send a write): the waiting and counting are the shared [`crate::http::retry::run`]
//! with the target's [`RetryPolicy`]; what is decided here is which answers are final, when a write
//! that may have been applied is looked up, and what a lookup decides.
//!
//! Trust nothing it is told: a write counts as applied only on the system's own success shape
//! (each writer cites it) or when a lookup finds the very record this row sent ([`Found::Ours`]:
//! its match key and every field sent agree, see [`disagreement`]). Any other answer — a 2xx
//! maintenance page, a body that is not the record — is [`Attempt::Unclear`]: looked up once,
//! never sent again, and `failed` (confirmed absent) or `conflict` (someone else's record) with
//! the reason.

use crate::http::retry::{self, GaveUp, Verdict};
use crate::http::{Reply, TransportError};
use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use serde_json::Value;
use std::time::Duration;

/// The shared retry policy (re-exported for the writers: it lives with the one retry loop).
pub use crate::http::retry::RetryPolicy;

/// What a lookup after a write that may have been applied found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The record this row sent (its key and every field sent agree): its id.
    Ours(String),
    /// A record with this row's key that is not what the row sent: why.
    Other(String),
    /// No record with this row's key.
    Absent,
    /// The lookup itself failed.
    Unknown,
}

/// Where `sent` and `found` disagree (the first field path), or `None` when every field sent is
/// in `found` with the same value. Texts compare trimmed and case-insensitively, a date matches
/// the same date with a time (`2026-08-31` and `2026-08-31T00:00:00.000+00:00`), a scalar
/// matches its text (`true` and `"true"`); a blank value sent matches a missing one; arrays
/// compare element by element. Keys match case-insensitively (ILLiad's casing varies).
pub fn disagreement(sent: &Value, found: &Value) -> Option<String> {
    fn blank(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        }
    }
    fn same_text(a: &str, b: &str) -> bool {
        let (a, b) = (a.trim(), b.trim());
        let date = |x: &str, y: &str| {
            x.len() == 10 && y.starts_with(x) && y.get(10..).is_some_and(|r| r.starts_with('T'))
        };
        a.eq_ignore_ascii_case(b)
            || a.to_lowercase() == b.to_lowercase()
            || date(a, b)
            || date(b, a)
    }
    fn walk(sent: &Value, found: &Value, path: &str) -> Option<String> {
        match (sent, found) {
            (Value::Object(s), Value::Object(f)) => {
                for (k, v) in s {
                    // Write-only: Libib's `password` "is never returned in result set"
                    // (shared/reference/illiad-libib-api.md §1.2); ILLiad's likewise.
                    if k.eq_ignore_ascii_case("password") {
                        continue;
                    }
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    let fv = f.get(k).or_else(|| {
                        f.iter()
                            .find(|(fk, _)| fk.eq_ignore_ascii_case(k))
                            .map(|(_, v)| v)
                    });
                    match fv {
                        None if blank(v) => {}
                        None => return Some(p),
                        Some(fv) => {
                            if let Some(d) = walk(v, fv, &p) {
                                return Some(d);
                            }
                        }
                    }
                }
                None
            }
            (Value::Array(s), Value::Array(f)) => {
                if s.len() != f.len() {
                    return Some(path.to_string());
                }
                s.iter()
                    .zip(f)
                    .enumerate()
                    .find_map(|(i, (a, b))| walk(a, b, &format!("{path}[{i}]")))
            }
            (Value::String(a), Value::String(b)) => (!same_text(a, b)).then(|| path.to_string()),
            (a, b) if a == b => None,
            (Value::String(a), b @ (Value::Bool(_) | Value::Number(_)))
            | (b @ (Value::Bool(_) | Value::Number(_)), Value::String(a)) => {
                (!same_text(a, &b.to_string())).then(|| path.to_string())
            }
            (a, Value::Null) if blank(a) => None,
            _ => Some(path.to_string()),
        }
    }
    walk(sent, found, "")
}

/// Judges a record found by a lookup against what the row sent: [`Found::Ours`] with `id`, or
/// [`Found::Other`] naming the first field that differs.
pub fn judge_found(sent: &Value, found: &Value, id: String) -> Found {
    match disagreement(sent, found) {
        None => Found::Ours(id),
        Some(field) => Found::Other(format!(
            "the record found ({id}) is not what this row sent ({field} differs)"
        )),
    }
}

/// How one attempt at a write ended, as the writer judged the answer.
#[derive(Debug)]
pub enum Attempt {
    /// The row's outcome is decided, and set on the outcome.
    Done,
    /// An answer that is neither the system's success shape nor a refusal (a 2xx page that is
    /// not the record, a body over the size limit): the write may or may not have been applied.
    /// It is looked up once and not sent again.
    Unclear {
        /// What the answer was, for the reason.
        why: String,
    },
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
        Err(t) => transport(t),
    }
}

/// A request that got no usable answer: retried, unless retrying cannot help (then unclear).
pub fn transport(t: TransportError) -> Attempt {
    if t.permanent {
        return Attempt::Unclear { why: t.message };
    }
    Attempt::Again {
        retry_after: None,
        why: t.message,
        maybe_applied: t.ambiguous,
    }
}

/// A 2xx answer that is not the system's success shape, described for the reason.
pub fn unexpected_answer(r: &Reply, expected: &str) -> Attempt {
    let kind = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "no content type".into());
    Attempt::Unclear {
        why: format!(
            "the server answered HTTP {} ({kind}, {} bytes), not {expected}",
            r.status,
            r.body.len()
        ),
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

/// What a write is, for judging lookups.
#[derive(Debug, Clone, Copy)]
pub struct Write {
    /// `create` or `update`, for the log.
    pub what: &'static str,
    /// The outcome when a lookup finds the record sent (`created` or `updated`).
    pub applied: OutcomeKind,
    /// Sending again is safe (updates): no lookup before a resend or when giving up.
    pub idempotent: bool,
}

impl Write {
    /// A create: looked up before it is sent again.
    pub const CREATE: Write = Write {
        what: "create",
        applied: OutcomeKind::Created,
        idempotent: false,
    };
    /// An update: sent again freely.
    pub const UPDATE: Write = Write {
        what: "update",
        applied: OutcomeKind::Updated,
        idempotent: true,
    };
}

/// Sets the outcome a lookup decides; `false` when it decides nothing (absent or unknown).
fn settle(o: &mut Outcome, w: Write, found: Found, context: &str) -> bool {
    match found {
        Found::Ours(id) => {
            o.outcome = w.applied;
            o.target_id = Some(id);
            o.set_reason(
                ReasonCode::ConfirmedByLookup,
                format!("confirmed by lookup after {context}"),
            );
            true
        }
        // A create whose key another record holds: someone else's record, left alone.
        Found::Other(why) if w.applied == OutcomeKind::Created => {
            o.outcome = OutcomeKind::Conflict;
            o.set_reason(
                ReasonCode::Conflict,
                format!("{context}; {why}: left alone"),
            );
            true
        }
        // An update whose record does not hold the values sent was not applied.
        Found::Other(why) => {
            o.outcome = OutcomeKind::Failed;
            o.set_reason(ReasonCode::GaveUp, format!("{context}; {why}: not updated"));
            true
        }
        Found::Absent | Found::Unknown => false,
    }
}

/// Sends a write until it is done or `policy` gives up (the row then fails with `gave up after N
/// retries: <last reason>`), counting retries on `o`. When the run is stopped (Ctrl-C, or the
/// target was given up on) no further attempt is made and the row is `skipped`.
///
/// `attempt` sends once and judges the answer; it is told whether an earlier attempt may have been
/// applied. After such an attempt (of a create) `lookup` looks the record up — before sending
/// again, and when giving up: the record this row sent is adopted ([`Found::Ours`]: the row is
/// `created`, nothing is sent again); a different record with the key is a `conflict`. After an
/// [`Attempt::Unclear`] answer the lookup decides the row, and nothing is sent again.
pub async fn send_with_retries<A, L>(
    policy: &RetryPolicy,
    o: &mut Outcome,
    w: Write,
    mut attempt: A,
    mut lookup: L,
) where
    A: AsyncFnMut(&mut Outcome, bool) -> Attempt,
    L: AsyncFnMut() -> Found,
{
    let what = w.what;
    // What the attempts share: the row's outcome, the writer's two calls, whether an attempt may
    // have been applied, and the last transient failure (for the log).
    struct Shared<'a, A, L> {
        o: &'a mut Outcome,
        attempt: &'a mut A,
        lookup: &'a mut L,
        maybe_applied: bool,
        last_why: String,
    }
    let state = Shared {
        o,
        attempt: &mut attempt,
        lookup: &mut lookup,
        maybe_applied: false,
        last_why: String::new(),
    };
    let (s, res) = retry::run_with(policy, state, |mut s, retries| async move {
        if retries > 0 {
            s.o.retries = retries;
            tracing::debug!(line = s.o.line, retry = retries, reason = %s.last_why, "retrying {what}");
        }
        if s.maybe_applied && !w.idempotent {
            let found = (s.lookup)().await;
            if settle(s.o, w, found, &format!("an interrupted {what}")) {
                return (s, Verdict::Done(()));
            }
        }
        let verdict = match (s.attempt)(s.o, s.maybe_applied).await {
            Attempt::Done => Verdict::Done(()),
            Attempt::Unclear { why } => {
                let found = (s.lookup)().await;
                if !settle(s.o, w, found.clone(), &why) {
                    s.o.outcome = OutcomeKind::Failed;
                    // Never answered usefully: the code of a write that did not go through.
                    s.o.set_reason(
                        ReasonCode::GaveUp,
                        match found {
                            Found::Absent => format!(
                                "{why}; a lookup found no such record: not {}",
                                w.applied.name()
                            ),
                            _ => format!(
                            "{why}; the lookup failed too: check the target before running again"
                        ),
                        },
                    );
                }
                Verdict::Done(())
            }
            Attempt::Again {
                retry_after,
                why,
                maybe_applied: maybe,
            } => {
                s.maybe_applied |= maybe;
                s.last_why.clone_from(&why);
                Verdict::Again {
                    failure: why,
                    retry_after,
                }
            }
        };
        (s, verdict)
    })
    .await;
    let Err(GaveUp {
        retries,
        last: why,
        stopped,
    }) = res
    else {
        return;
    };
    let o = s.o;
    o.retries = retries;
    if stopped {
        halted(o, s.maybe_applied);
        return;
    }
    o.outcome = OutcomeKind::Failed;
    o.set_reason(
        ReasonCode::GaveUp,
        format!("gave up after {retries} retries: {why}"),
    );
    if s.maybe_applied && !w.idempotent {
        let found = (s.lookup)().await;
        settle(o, w, found, &format!("an interrupted {what}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Write::CREATE,
            attempt,
            async || Found::Absent,
        ))
        .await;
        assert_eq!(sent, 1);
        assert_eq!(o.outcome, OutcomeKind::Skipped);
        assert_eq!(
            o.reason.as_deref(),
            Some("not written: the run was interrupted")
        );
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
            Found::Ours("id-1".to_string())
        };
        send_with_retries(&quick(), &mut o, Write::CREATE, attempt, applied).await;
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
            Found::Absent
        };
        send_with_retries(&quick(), &mut o, Write::CREATE, attempt, applied).await;
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
        send_with_retries(&quick(), &mut o, Write::UPDATE, attempt, async || {
            Found::Unknown
        })
        .await;
        assert_eq!(o.outcome, OutcomeKind::Updated);
        assert_eq!(o.retries, 1);
    }

    #[tokio::test]
    async fn an_unclear_answer_is_looked_up_once_and_never_sent_again() {
        for (found, kind, says) in [
            (Found::Absent, OutcomeKind::Failed, "not created"),
            (Found::Ours("u1".into()), OutcomeKind::Created, "confirmed"),
            (
                Found::Other("someone else's".into()),
                OutcomeKind::Conflict,
                "someone else's",
            ),
            (Found::Unknown, OutcomeKind::Failed, "lookup failed"),
        ] {
            let (mut sent, mut lookups) = (0, 0);
            let mut o = outcome();
            let attempt = async |_: &mut Outcome, _: bool| {
                sent += 1;
                Attempt::Unclear {
                    why: "HTML 200".into(),
                }
            };
            let lookup = async || {
                lookups += 1;
                found.clone()
            };
            send_with_retries(&quick(), &mut o, Write::CREATE, attempt, lookup).await;
            assert_eq!((sent, lookups), (1, 1));
            assert_eq!(o.outcome, kind);
            let reason = o.reason.unwrap_or_default();
            assert!(
                reason.contains(says) && reason.contains("HTML 200"),
                "{reason}"
            );
        }
    }

    #[tokio::test]
    async fn an_unclear_update_whose_record_lacks_the_values_sent_is_failed_not_conflict() {
        let mut o = outcome();
        let attempt = async |_: &mut Outcome, _: bool| Attempt::Unclear {
            why: "HTML 200".into(),
        };
        let lookup =
            async || Found::Other("the record found (u1) is not what this row sent".into());
        send_with_retries(&quick(), &mut o, Write::UPDATE, attempt, lookup).await;
        assert_eq!(o.outcome, OutcomeKind::Failed);
        assert!(o.reason.unwrap_or_default().ends_with("not updated"));
    }

    #[test]
    fn only_the_record_sent_is_ours() {
        let sent = serde_json::json!({"username": "jdoe", "active": true,
            "personal": {"lastName": "Doe", "email": "J@X.org"}, "expirationDate": "2026-08-31",
            "addresses": [{"city": "Ames"}]});
        let same = serde_json::json!({"id": "u1", "username": "jdoe", "active": "true",
            "personal": {"lastName": "Doe", "email": "j@x.org", "phone": "1"},
            "expirationDate": "2026-08-31T00:00:00.000+00:00",
            "addresses": [{"city": "Ames", "id": "a"}], "metadata": {}});
        assert_eq!(disagreement(&sent, &same), None);
        let other = serde_json::json!({"username": "jdoe", "active": true,
            "personal": {"lastName": "Dough", "email": "j@x.org"},
            "expirationDate": "2026-08-31", "addresses": [{"city": "Ames"}]});
        assert_eq!(
            disagreement(&sent, &other).as_deref(),
            Some("personal.lastName")
        );
        let fewer = serde_json::json!({"username": "jdoe", "active": true,
            "personal": {"lastName": "Doe", "email": "j@x.org"}, "expirationDate": "2026-08-31",
            "addresses": []});
        assert_eq!(disagreement(&sent, &fewer).as_deref(), Some("addresses"));
        assert!(
            matches!(judge_found(&sent, &other, "u2".into()), Found::Other(r) if r.contains("u2"))
        );
    }
}
