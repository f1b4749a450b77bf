//! Libib writer: `POST /patrons?…` for creates (the barcode Libib assigns goes into the
//! outcome's `target_id`) and `POST /patrons/{barcode}?…` with only the changed fields for
//! updates, one request at a time under the shared pacer. A 429 is waited out and the row kept;
//! 5xx, timeouts and dropped connections are retried, and after an ambiguous failure on a create
//! the patron is looked up (by e-mail or barcode) before creating again: no duplicates, ever.

use super::folio::preview_outcome;
use super::retry::{confirmed, judge_failure, send_with_retries, Attempt, RetryPolicy};
use crate::http::Reply;
use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use crate::plan::{Action, Planned};
use crate::systems::libib::client::{error_message, field, is_taken, LibibClient};
use serde_json::{Map, Value};

/// Applies planned Libib actions.
pub struct LibibWriter<'a> {
    /// Connected client (its pacer spaces every request).
    pub client: &'a LibibClient,
    /// Retry policy for failures other than 429 (which are waited out by the client).
    pub policy: RetryPolicy,
}

fn pairs(params: &Value) -> Vec<(String, String)> {
    params
        .as_object()
        .map(|m: &Map<String, Value>| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

impl LibibWriter<'_> {
    /// Applies one planned row and says what happened.
    pub async fn apply(&self, p: Planned) -> Outcome {
        let mut o = p.row.outcome(OutcomeKind::Failed);
        match p.action {
            Action::Create(params) => self.create(&params, &mut o).await,
            Action::Update {
                id,
                record,
                changes,
                ..
            } => {
                super::note_update(&mut o, &id, &changes);
                self.update(&id, &record, &mut o).await;
            }
            other => return preview_outcome(o, other, false),
        }
        o
    }

    /// The barcode of the patron a create would have made, if it exists now.
    async fn find_created(&self, params: &Value) -> Option<String> {
        for f in ["email", "barcode"] {
            let Some(v) = field(params, f) else { continue };
            match self.client.get(v).await {
                Ok(Some(p)) => {
                    let same = field(&p, f).is_some_and(|x| x.eq_ignore_ascii_case(v));
                    if same {
                        return field(&p, "barcode").map(str::to_string);
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("lookup after an interrupted create failed: {e}"),
            }
        }
        None
    }

    async fn create(&self, params: &Value, o: &mut Outcome) {
        let query = pairs(params);
        let attempt = async |o: &mut Outcome, maybe_applied: bool| {
            let res = self
                .client
                .call_paced(reqwest::Method::POST, &["patrons"], &query)
                .await;
            match res {
                Ok(r) if r.ok() => {
                    o.http_status = Some(r.status);
                    o.outcome = OutcomeKind::Created;
                    o.clear_reason();
                    let body = r.json().map(|v| v.get("patron").cloned().unwrap_or(v));
                    o.target_id = match body.as_ref().and_then(|v| field(v, "barcode")) {
                        Some(b) => Some(b.to_string()),
                        None => self.find_created(params).await,
                    };
                    if o.target_id.is_none() {
                        o.set_reason(
                            ReasonCode::IdNotReturned,
                            "created, but Libib did not say which barcode it assigned",
                        );
                    }
                    Attempt::Done
                }
                Ok(r) if is_taken(&r) => {
                    o.http_status = Some(r.status);
                    // Our own earlier attempt may be what took it.
                    let ours = if maybe_applied {
                        self.find_created(params).await
                    } else {
                        None
                    };
                    match ours {
                        Some(b) => confirmed(o, b),
                        None => taken(o, &r),
                    }
                    Attempt::Done
                }
                other => judge_failure(other, o, error_message),
            }
        };
        let applied = async || self.find_created(params).await;
        send_with_retries(&self.policy, o, "create", attempt, applied).await;
    }

    async fn update(&self, barcode: &str, params: &Value, o: &mut Outcome) {
        let query = pairs(params);
        let attempt = async |o: &mut Outcome, _maybe_applied: bool| {
            let res = self
                .client
                .call_paced(reqwest::Method::POST, &["patrons", barcode], &query)
                .await;
            match res {
                Ok(r) if r.ok() => {
                    o.outcome = OutcomeKind::Updated;
                    o.http_status = Some(r.status);
                    o.clear_reason();
                    Attempt::Done
                }
                Ok(r) if is_taken(&r) => {
                    o.http_status = Some(r.status);
                    taken(o, &r);
                    Attempt::Done
                }
                other => judge_failure(other, o, error_message),
            }
        };
        // An update sends only the changed fields' new values: sending it again is safe.
        send_with_retries(&self.policy, o, "update", attempt, async || None).await;
    }
}

/// A barcode or e-mail another patron already has: `conflict`.
fn taken(o: &mut Outcome, r: &Reply) {
    o.outcome = OutcomeKind::Conflict;
    o.set_reason(ReasonCode::Conflict, error_message(r));
}
