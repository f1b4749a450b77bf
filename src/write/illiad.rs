//! ILLiad writer: `POST Users` for creates (the only write the API has), retried on 429, 5xx,
//! timeouts and dropped connections. After an ambiguous failure the user is looked up by
//! `UserName` before creating again, so a patron is never created twice; a create that races
//! into "Username … already exists" is reported as `exists`.

use super::folio::preview_outcome;
use super::retry::{confirmed, judge_failure, send_with_retries, Attempt, RetryPolicy};
use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use crate::plan::{Action, Planned};
use crate::systems::illiad::client::{
    error_message, get_ci, is_already_exists, IlliadClient, Lookup,
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

    /// Whether the user now exists (after an ambiguous failure); `None` if the lookup failed.
    async fn exists(&self, name: &str) -> Option<bool> {
        match self.client.by_username(name).await {
            Ok(Lookup::Found(_)) => Some(true),
            Ok(_) => Some(false),
            Err(e) => {
                tracing::warn!("lookup after an interrupted create failed: {e}");
                None
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
                o.outcome = OutcomeKind::Created;
                o.http_status = Some(r.status);
                o.target_id = r
                    .json()
                    .and_then(|v| username(&v))
                    .or_else(|| Some(name.clone()));
                o.clear_reason();
                Attempt::Done
            }
            Ok(r) if is_already_exists(&r) => {
                o.http_status = Some(r.status);
                if maybe_applied {
                    // Our own earlier attempt created it.
                    confirmed(o, name.clone());
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
        let applied = async || (self.exists(&name).await == Some(true)).then(|| name.clone());
        send_with_retries(&self.policy, o, "create", attempt, applied).await;
    }
}
