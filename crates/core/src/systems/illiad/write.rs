//! ILLiad writer: `POST Users` for creates (the only write the API has), retried on 429, 5xx,
//! timeouts and dropped connections. After an ambiguous failure the user is looked up by
//! `UserName` before creating again, so a patron is never created twice; a create that races
//! into "Username … already exists" is reported as `exists`.
//!
//! Success shape: "Success is 200 with the full user record. Callers check `UserName` in the
//! body" (shared/reference/illiad-libib-api.md §2.3). Any other 2xx is unclear: the user is
//! looked up and adopted only if it is the one this row sent.

use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use crate::plan::{Action, Planned};
use crate::systems::illiad::client::{
    error_message, get_ci, is_already_exists, IlliadClient, Lookup,
};
use crate::write::preview_outcome;
use crate::write::retry::{
    judge_failure, judge_found, send_with_retries, unexpected_answer, Attempt, Found, RetryPolicy,
    Write,
};
use serde_json::Value;

/// Applies planned ILLiad actions.
pub struct IlliadWriter<'a> {
    /// Connected client (its governor paces every request).
    pub client: &'a IlliadClient,
    /// Retry policy.
    pub policy: RetryPolicy,
}

fn username(record: &Value) -> Option<String> {
    get_ci(record, "UserName")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
}

impl IlliadWriter<'_> {
    /// Applies one planned row and says what happened.
    pub async fn apply(&self, p: Planned) -> Outcome {
        let mut o = p.row.outcome(OutcomeKind::Failed);
        match p.action {
            Action::Create(record) => self.create(&record, &mut o).await,
            other => return preview_outcome(o, other, false),
        }
        o
    }

    /// The user `name` as it now exists (after an ambiguous answer), judged against `sent`.
    async fn find(&self, name: &str, sent: &Value) -> Found {
        match self.client.by_username(name).await {
            Ok(Lookup::Found(u)) => {
                // GET shows `"Web": "Yes"` for the boolean sent and never returns the write-only
                // fields (seeds/illiad-webplatform-users-api.txt lines 41-91 and 276).
                let mut u = u;
                if let Some(w) = u.get_mut("Web") {
                    match w.as_str().map(str::to_ascii_lowercase).as_deref() {
                        Some("yes") => *w = Value::Bool(true),
                        Some("no") => *w = Value::Bool(false),
                        _ => {}
                    }
                }
                let mut sent = sent.clone();
                if let Some(m) = sent.as_object_mut() {
                    m.retain(|k, _| {
                        !k.eq_ignore_ascii_case("PlainTextPassword")
                            && !k.eq_ignore_ascii_case("NotificationPreferences")
                    });
                }
                judge_found(&sent, &u, name.to_string())
            }
            Ok(Lookup::NotFound) => Found::Absent,
            Ok(Lookup::NotUnique(why)) => Found::Other(why),
            Err(e) => {
                tracing::warn!("lookup after an interrupted create failed: {e}");
                Found::Unknown
            }
        }
    }

    async fn create(&self, record: &Value, o: &mut Outcome) {
        let Some(name) = username(record) else {
            o.outcome = OutcomeKind::Rejected;
            o.set_reason(ReasonCode::RequiredBlank, "UserName is missing");
            return;
        };
        let attempt = async |o: &mut Outcome, maybe_applied: bool| match self
            .client
            .create(record)
            .await
        {
            Ok(r) if r.ok() => {
                o.http_status = Some(r.status);
                let returned = (r.status == 200).then(|| r.json()).flatten();
                match returned.as_ref().and_then(username) {
                    Some(u) if u.eq_ignore_ascii_case(&name) => {
                        o.outcome = OutcomeKind::Created;
                        o.target_id = Some(u);
                        o.clear_reason();
                        Attempt::Done
                    }
                    _ => unexpected_answer(&r, "200 with the user it created"),
                }
            }
            Ok(r) if is_already_exists(&r) => {
                o.http_status = Some(r.status);
                if maybe_applied {
                    // Perhaps our own earlier attempt created it: adopted only if it is ours.
                    match self.find(&name, record).await {
                        Found::Ours(id) => crate::write::retry::confirmed(o, id),
                        Found::Other(why) => {
                            o.outcome = OutcomeKind::Conflict;
                            o.set_reason(ReasonCode::Conflict, format!("{why}: left alone"));
                        }
                        Found::Absent | Found::Unknown => {
                            o.outcome = OutcomeKind::Failed;
                            o.set_reason(
                                ReasonCode::GaveUp,
                                format!(
                                    "ILLiad says the user exists ({}) but a lookup did not find it",
                                    error_message(&r)
                                ),
                            );
                        }
                    }
                } else {
                    o.outcome = OutcomeKind::Exists;
                    o.target_id = Some(name.clone());
                    o.set_reason(
                        ReasonCode::ExistsNoUpdate,
                        format!(
                            "created by someone else after the lookup ({}); the API cannot update users",
                            error_message(&r)
                        ),
                    );
                }
                Attempt::Done
            }
            other => judge_failure(other, o, error_message),
        };
        let lookup = async || self.find(&name, record).await;
        send_with_retries(&self.policy, o, Write::CREATE, attempt, lookup).await;
    }
}
