//! Libib writer: `POST /patrons?…` for creates (the barcode Libib assigns goes into the
//! outcome's `target_id`) and `POST /patrons/{barcode}?…` with only the changed fields for
//! updates, one request at a time under the shared pacer. A 429 is waited out and the row kept;
//! 5xx, timeouts and dropped connections are retried, and after an ambiguous failure on a create
//! the patron is looked up (by e-mail or barcode) before creating again: no duplicates, ever.
//!
//! Success shape: create and update return "the patron object, including the newly assigned
//! `barcode`" ("Valid responses are always in JSON"; shared/reference/illiad-libib-api.md §1.1,
//! §1.2). A 2xx without a JSON patron carrying a barcode is unclear: the patron is looked up and
//! adopted only if it is the one this row sent.

use crate::http::Reply;
use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use crate::plan::{Action, Planned};
use crate::systems::libib::client::{error_message, field, LibibClient};
use crate::write::preview_outcome;
use crate::write::retry::{
    judge_failure, judge_found, send_with_retries, unexpected_answer, Attempt, Found, RetryPolicy,
    Write,
};
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
                crate::write::note_update(&mut o, &id, &changes);
                self.update(&id, &record, &mut o).await;
            }
            other => return preview_outcome(o, other, false),
        }
        o
    }

    /// The patron a create would have made (by e-mail, else barcode), judged against what the
    /// row sent. Without either, a created patron cannot be found: [`Found::Unknown`].
    async fn find_created(&self, params: &Value) -> Found {
        let mut looked = false;
        for f in ["email", "barcode"] {
            let Some(v) = field(params, f) else { continue };
            looked = true;
            match self.client.get(v).await {
                Ok(Some(p)) => {
                    if field(&p, f).is_some_and(|x| x.eq_ignore_ascii_case(v)) {
                        let barcode = field(&p, "barcode").unwrap_or_default().to_string();
                        return judge_found(params, &p, barcode);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!("lookup after an interrupted create failed: {e}");
                    return Found::Unknown;
                }
            }
        }
        if looked {
            Found::Absent
        } else {
            Found::Unknown
        }
    }

    /// The patron `barcode` as it is now, judged against the update sent.
    async fn find_updated(&self, barcode: &str, params: &Value) -> Found {
        match self.client.get(barcode).await {
            Ok(Some(p)) => judge_found(params, &p, barcode.to_string()),
            Ok(None) => Found::Absent,
            Err(e) => {
                tracing::warn!("lookup after an unclear update failed: {e}");
                Found::Unknown
            }
        }
    }

    /// Who else holds the e-mail or barcode of `params`, found by lookup (`GET /patrons/{id}`
    /// takes either): Libib documents only that e-mail "must be unique" (illiad-libib-api.md,
    /// "Duplicate email on create": status and message [SILENT]), so a refusal is not
    /// recognised by its wording. `own`: the barcode being updated (not a clash with itself).
    async fn holder(&self, params: &Value, own: Option<&str>) -> Option<String> {
        for f in ["email", "barcode"] {
            let Some(v) = field(params, f) else { continue };
            if let Ok(Some(p)) = self.client.get(v).await {
                let Some(b) = field(&p, "barcode") else {
                    continue;
                };
                let same_value = field(&p, f).is_some_and(|x| x.eq_ignore_ascii_case(v));
                if same_value && Some(b) != own {
                    return Some(format!(
                        "{f} \"{v}\" already belongs to the patron with barcode {b}"
                    ));
                }
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
                    match patron_barcode(&r) {
                        Some(b) => {
                            o.outcome = OutcomeKind::Created;
                            o.clear_reason();
                            o.target_id = Some(b);
                            Attempt::Done
                        }
                        None => {
                            unexpected_answer(&r, "the patron it created (JSON with a barcode)")
                        }
                    }
                }
                Ok(r) if is_refusal(&r) => {
                    // Our own earlier attempt may be what took it: adopted only if it is ours.
                    let found = if maybe_applied {
                        self.find_created(params).await
                    } else {
                        Found::Absent
                    };
                    if let Found::Ours(b) = found {
                        o.http_status = Some(r.status);
                        crate::write::retry::confirmed(o, b);
                        return Attempt::Done;
                    }
                    match self.holder(params, None).await {
                        Some(who) => {
                            o.http_status = Some(r.status);
                            taken(o, &r, &who);
                            Attempt::Done
                        }
                        None => judge_failure(Ok(r), o, error_message),
                    }
                }
                other => judge_failure(other, o, error_message),
            }
        };
        let lookup = async || self.find_created(params).await;
        send_with_retries(&self.policy, o, Write::CREATE, attempt, lookup).await;
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
                    o.http_status = Some(r.status);
                    if patron_barcode(&r).is_none() {
                        return unexpected_answer(
                            &r,
                            "the patron it updated (JSON with a barcode)",
                        );
                    }
                    o.outcome = OutcomeKind::Updated;
                    o.clear_reason();
                    Attempt::Done
                }
                Ok(r) if is_refusal(&r) => match self.holder(params, Some(barcode)).await {
                    Some(who) => {
                        o.http_status = Some(r.status);
                        taken(o, &r, &who);
                        Attempt::Done
                    }
                    None => judge_failure(Ok(r), o, error_message),
                },
                other => judge_failure(other, o, error_message),
            }
        };
        // An update sends only the changed fields' new values: sending it again is safe.
        send_with_retries(&self.policy, o, Write::UPDATE, attempt, async || {
            self.find_updated(barcode, params).await
        })
        .await;
    }
}

/// The barcode of the patron a 2xx answer returns (a bare patron object, or one under `patron`).
fn patron_barcode(r: &Reply) -> Option<String> {
    let v = r.json()?;
    let p = v.get("patron").cloned().unwrap_or(v);
    field(&p, "barcode").map(str::to_string)
}

/// A refusal that is the request's fault (4xx other than 429 and the auth answers): the
/// moment to check, by lookup, whether the e-mail or barcode belongs to someone else.
fn is_refusal(r: &Reply) -> bool {
    (400..500).contains(&r.status) && !matches!(r.status, 401 | 403 | 429)
}

/// A barcode or e-mail another patron already has (found by lookup): `conflict`.
fn taken(o: &mut Outcome, r: &Reply, who: &str) {
    o.outcome = OutcomeKind::Conflict;
    o.set_reason(
        ReasonCode::Conflict,
        format!("{who} (Libib: {})", error_message(r)),
    );
}
