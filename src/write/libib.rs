//! Libib writer: `POST /patrons?…` for creates (the barcode Libib assigns goes into the
//! outcome's `target_id`) and `POST /patrons/{barcode}?…` with only the changed fields for
//! updates, one request at a time under the shared pacer. A 429 is waited out and the row kept;
//! 5xx, timeouts and dropped connections are retried, and after an ambiguous failure on a create
//! the patron is looked up (by e-mail or barcode) before creating again: no duplicates, ever.

use super::folio::preview_outcome;
use super::retry::RetryPolicy;
use crate::outcome::{Outcome, OutcomeKind};
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
        let mut o = Outcome::new(
            &p.row.file,
            p.row.line,
            Some(p.row.key.clone()),
            OutcomeKind::Failed,
        );
        match p.action {
            Action::Create(params) => self.create(&params, &mut o).await,
            Action::Update {
                id,
                record,
                changes,
                ..
            } => {
                o.changed_fields = changes.iter().map(ToString::to_string).collect();
                o.target_id = Some(id.clone());
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
        let confirmed = |o: &mut Outcome, barcode: String| {
            o.outcome = OutcomeKind::Created;
            o.target_id = Some(barcode);
            o.reason = Some("confirmed by lookup after an interrupted create".into());
        };
        let mut ambiguous = false;
        loop {
            if ambiguous {
                if let Some(b) = self.find_created(params).await {
                    confirmed(o, b);
                    return;
                }
            }
            let res = self
                .client
                .call_paced(reqwest::Method::POST, &["patrons"], &query)
                .await;
            let (retry_after, why) = match res {
                Ok(r) if r.ok() => {
                    o.http_status = Some(r.status);
                    o.outcome = OutcomeKind::Created;
                    o.reason = None;
                    let body = r.json().map(|v| v.get("patron").cloned().unwrap_or(v));
                    o.target_id = match body.as_ref().and_then(|v| field(v, "barcode")) {
                        Some(b) => Some(b.to_string()),
                        None => self.find_created(params).await,
                    };
                    if o.target_id.is_none() {
                        o.reason =
                            Some("created, but Libib did not say which barcode it assigned".into());
                    }
                    return;
                }
                Ok(r) if is_taken(&r) => {
                    o.http_status = Some(r.status);
                    if ambiguous {
                        if let Some(b) = self.find_created(params).await {
                            confirmed(o, b);
                            return;
                        }
                    }
                    o.outcome = OutcomeKind::Conflict;
                    o.reason = Some(error_message(&r));
                    return;
                }
                Ok(r) if RetryPolicy::retryable_status(r.status) => {
                    o.http_status = Some(r.status);
                    ambiguous |= r.status != 429;
                    (r.retry_after(), error_message(&r))
                }
                Ok(r) => {
                    o.http_status = Some(r.status);
                    o.outcome = OutcomeKind::Failed;
                    o.reason = Some(error_message(&r));
                    return;
                }
                Err(t) => {
                    ambiguous |= t.ambiguous;
                    (None, t.message)
                }
            };
            if o.retries >= self.policy.max_retries {
                o.outcome = OutcomeKind::Failed;
                o.reason = Some(format!("gave up after {} retries: {why}", o.retries));
                if ambiguous {
                    if let Some(b) = self.find_created(params).await {
                        confirmed(o, b);
                    }
                }
                return;
            }
            o.retries += 1;
            tracing::debug!(line = o.line, retry = o.retries, reason = %why, "retrying create");
            tokio::time::sleep(self.policy.delay(o.retries, retry_after)).await;
        }
    }

    async fn update(&self, barcode: &str, params: &Value, o: &mut Outcome) {
        let query = pairs(params);
        loop {
            let res = self
                .client
                .call_paced(reqwest::Method::POST, &["patrons", barcode], &query)
                .await;
            let (retry_after, why) = match res {
                Ok(r) if r.ok() => {
                    o.outcome = OutcomeKind::Updated;
                    o.http_status = Some(r.status);
                    o.reason = None;
                    return;
                }
                Ok(r) if RetryPolicy::retryable_status(r.status) => {
                    o.http_status = Some(r.status);
                    (r.retry_after(), error_message(&r))
                }
                Ok(r) => {
                    o.http_status = Some(r.status);
                    o.outcome = if is_taken(&r) {
                        OutcomeKind::Conflict
                    } else {
                        OutcomeKind::Failed
                    };
                    o.reason = Some(error_message(&r));
                    return;
                }
                Err(t) => (None, t.message),
            };
            if o.retries >= self.policy.max_retries {
                o.outcome = OutcomeKind::Failed;
                o.reason = Some(format!("gave up after {} retries: {why}", o.retries));
                return;
            }
            o.retries += 1;
            tokio::time::sleep(self.policy.delay(o.retries, retry_after)).await;
        }
    }
}
