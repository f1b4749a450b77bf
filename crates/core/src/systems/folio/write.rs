//! FOLIO writer: `POST /users` for creates, `PUT /users/{id}` for updates, retried on 429, 5xx,
//! timeouts and dropped connections. After an ambiguous failure on a create (the request may have
//! been applied), the key is looked up before creating again: no duplicates, ever.
//!
//! Success shapes (shared/reference/folio-api.md §1.1; mod-users `ramls/users.raml`, `post`
//! `201` and `put` `204`, shared/reference/folio/mod-users/users.raml lines 94 and 149): a create
//! is `created` only on 201 with a JSON user carrying its `id`, an update `updated` only on 204.
//! Any other 2xx is unclear: the record is looked up and adopted only if it is the one sent.

use crate::http::Reply;
use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use crate::plan::{Action, Planned};
use crate::systems::folio::client::{error_message, CallFailure, FolioClient};
use crate::systems::folio::cql;
use crate::systems::folio::linked::departments::{self, DepartmentMaker};
use crate::systems::folio::linked::{self, write::LinkWriter};
use crate::write::preview_outcome;
use crate::write::retry::{
    judge_found, send_with_retries, transport, unexpected_answer, Attempt, Found, RetryPolicy,
    Write,
};
use serde_json::Value;

/// Applies planned FOLIO actions.
pub struct FolioWriter<'a> {
    /// Logged-in client (its governor paces every request).
    pub client: &'a FolioClient,
    /// Retry policy.
    pub policy: RetryPolicy,
    /// The mapping's match field (for reconciliation lookups).
    pub match_field: &'a str,
    /// Departments the run creates (`create_missing`).
    pub departments: &'a DepartmentMaker,
}

/// Whether a refusal is about uniqueness (reported as `conflict`, not `failed`).
fn is_uniqueness(message: &str) -> bool {
    let m = message.to_lowercase();
    m.contains("already exists") || m.contains("already been taken") || m.contains("unique")
}

impl FolioWriter<'_> {
    /// The user with this row's key, judged against what the row sent.
    async fn find_by_key(&self, key: &str, sent: &Value) -> Found {
        let q = format!("{}=={}", self.match_field, cql::quote(key));
        let found = match self.client.find_users(&q, 2).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("lookup after an unclear create failed: {e}");
                return Found::Unknown;
            }
        };
        match found.as_slice() {
            [] => Found::Absent,
            [u] => match u.get("id").and_then(Value::as_str) {
                Some(id) => judge_found(sent, u, id.to_string()),
                None => Found::Unknown,
            },
            _ => Found::Other(format!(
                "{} users have this {}",
                found.len(),
                self.match_field
            )),
        }
    }

    /// The user `id`, judged against the update sent.
    async fn find_by_id(&self, id: &str, sent: &Value) -> Found {
        let path = format!("/users/{id}");
        match self.client.get_json(&path, &[], "user lookup").await {
            Ok(u) => judge_found(sent, &u, id.to_string()),
            Err(e) => {
                tracing::warn!("lookup after an unclear update failed: {e}");
                Found::Unknown
            }
        }
    }

    /// Applies one planned row and says what happened. A composite (a user with linked
    /// records, `linked/`) is written user first, then each linked record that changes; a
    /// linked write refused after the user's was applied keeps the user's outcome and says
    /// what was refused.
    pub async fn apply(&self, p: Planned) -> Outcome {
        let mut o = p.row.outcome(OutcomeKind::Failed);
        match p.action {
            Action::Create(record) => {
                let (mut user, parts) = linked::split(&record);
                if !self.departments_for(&mut user, &mut o).await {
                    return o;
                }
                self.create(&p.row.key, &user, &mut o).await;
                if o.outcome == OutcomeKind::Created {
                    if let Some(id) = o.target_id.clone() {
                        let none: [Option<Value>; 2] = [None, None];
                        self.write_links(&id, &parts, &none, None, &mut o).await;
                    }
                }
            }
            Action::Update {
                id,
                record,
                changes,
                before,
            } => {
                crate::write::note_update(&mut o, &id, &changes);
                let (mut user, parts) = linked::split(&record);
                if !self.departments_for(&mut user, &mut o).await {
                    return o;
                }
                let (_, stored) = linked::split(&before);
                if changes.iter().any(|c| !linked::is_linked(&c.field)) {
                    self.update(&id, &user, &mut o).await;
                    if o.outcome != OutcomeKind::Updated {
                        return o;
                    }
                }
                self.write_links(&id, &parts, &stored, Some(&changes), &mut o)
                    .await;
            }
            other => return preview_outcome(o, other, false),
        }
        o
    }

    /// Turns the department names the planner listed to create (`create_missing`) into ids,
    /// creating each department once per run; `false` (the row failed, with the reason) when
    /// one cannot be created.
    async fn departments_for(&self, user: &mut Value, o: &mut Outcome) -> bool {
        let names = departments::listed(user, departments::WHAT);
        if let Some(u) = user.as_object_mut() {
            u.remove(crate::plan::ALSO_CREATES);
        }
        for name in names {
            match self
                .departments
                .ensure(self.client, &self.policy, &name)
                .await
            {
                Ok((id, created)) => {
                    if let Some(Value::Array(ds)) = user.get_mut("departments") {
                        for d in ds.iter_mut() {
                            if d.as_str()
                                .is_some_and(|n| n.trim().to_lowercase() == name.to_lowercase())
                            {
                                *d = Value::String(id.clone());
                            }
                        }
                    }
                    if created {
                        o.changed_fields.push(departments::created_note(&name));
                    }
                }
                Err(e) => {
                    o.outcome = OutcomeKind::Failed;
                    o.set_reason(ReasonCode::ServerRejected, e);
                    return false;
                }
            }
        }
        true
    }

    /// Writes the linked parts of user `id` (those whose fields change, or all of a create's);
    /// `stored`: the records FOLIO held. The outcome is `created`/`updated` when anything was
    /// applied, else `failed`; a refusal is its reason either way.
    async fn write_links(
        &self,
        id: &str,
        parts: &[Option<Value>; 2],
        stored: &[Option<Value>; 2],
        changes: Option<&[crate::plan::Change]>,
        o: &mut Outcome,
    ) {
        let writer = LinkWriter {
            client: self.client,
            policy: self.policy,
        };
        let mut applied = matches!(o.outcome, OutcomeKind::Created | OutcomeKind::Updated);
        let mut refused = Vec::new();
        for (i, kind) in linked::KINDS.iter().enumerate() {
            let Some(after) = parts[i].as_ref().filter(|a| a.is_object()) else {
                continue;
            };
            if let Some(ch) = changes {
                if !ch.iter().any(|c| linked::kind_of(&c.field) == Some(*kind)) {
                    continue;
                }
            }
            match writer.put(*kind, id, after, stored[i].as_ref()).await {
                Ok(()) => applied = true,
                Err(e) => {
                    refused.push(e);
                    o.unsent.push(kind.key.to_string());
                }
            }
        }
        if applied && o.outcome != OutcomeKind::Created {
            o.outcome = OutcomeKind::Updated;
            o.target_id = Some(id.to_string());
            o.clear_reason();
        }
        if !refused.is_empty() {
            if !applied {
                o.outcome = OutcomeKind::Failed;
                o.set_reason(ReasonCode::ServerRejected, refused.join("; "));
            } else {
                // The row keeps its outcome (the user was written: undo and resume must see
                // it), marked partial: it counts as failed in the summary and the exit code.
                tracing::warn!(
                    user = id,
                    "linked record refused after its user was written: {}",
                    refused.join("; ")
                );
                o.set_reason(
                    ReasonCode::LinkedFailed,
                    format!("user written, but {}", refused.join("; ")),
                );
            }
        } else if !applied {
            // Nothing needed sending (a restore listing a linked record the backup lacks).
            o.outcome = OutcomeKind::Unchanged;
            o.clear_reason();
        }
    }

    async fn create(&self, key: &str, record: &Value, o: &mut Outcome) {
        let attempt = async |o: &mut Outcome, _maybe_applied: bool| {
            let res = self
                .client
                .call(reqwest::Method::POST, "/users", &[], Some(record))
                .await;
            match res {
                Ok(r) if r.ok() => {
                    o.http_status = Some(r.status);
                    let id = (r.status == 201)
                        .then(|| r.json())
                        .flatten()
                        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
                        .filter(|id| !id.trim().is_empty());
                    match id {
                        Some(id) => {
                            o.outcome = OutcomeKind::Created;
                            o.target_id = Some(id);
                            o.clear_reason();
                            Attempt::Done
                        }
                        None => unexpected_answer(&r, "201 with the user it created"),
                    }
                }
                other => judge_failure(other, o),
            }
        };
        send_with_retries(&self.policy, o, Write::CREATE, attempt, async || {
            self.find_by_key(key, record).await
        })
        .await;
    }

    async fn update(&self, id: &str, record: &Value, o: &mut Outcome) {
        let path = format!("/users/{id}");
        let attempt = async |o: &mut Outcome, _maybe_applied: bool| {
            let res = self
                .client
                .call(reqwest::Method::PUT, &path, &[], Some(record))
                .await;
            match res {
                Ok(r) if r.status == 204 => {
                    o.outcome = OutcomeKind::Updated;
                    o.http_status = Some(r.status);
                    o.clear_reason();
                    Attempt::Done
                }
                Ok(r) if r.ok() => {
                    o.http_status = Some(r.status);
                    unexpected_answer(&r, "204")
                }
                other => judge_failure(other, o),
            }
        };
        // A PUT of the whole record is idempotent: sending it again is safe.
        send_with_retries(&self.policy, o, Write::UPDATE, attempt, async || {
            self.find_by_id(id, record).await
        })
        .await;
    }
}

/// Judges a FOLIO answer that is not a success: 429 and 5xx are retried (a 5xx may have been
/// applied), a uniqueness refusal is a `conflict`, anything else `failed`.
fn judge_failure(res: Result<Reply, CallFailure>, o: &mut Outcome) -> Attempt {
    match res {
        Ok(r) if RetryPolicy::retryable_status(r.status) => {
            o.http_status = Some(r.status);
            Attempt::Again {
                retry_after: r.retry_after(),
                why: format!("HTTP {}: {}", r.status, error_message(&r)),
                maybe_applied: r.status != 429,
            }
        }
        Ok(r) => {
            o.http_status = Some(r.status);
            let msg = error_message(&r);
            o.outcome = if is_uniqueness(&msg) {
                OutcomeKind::Conflict
            } else {
                OutcomeKind::Failed
            };
            let code = if o.outcome == OutcomeKind::Conflict {
                ReasonCode::Conflict
            } else {
                ReasonCode::ServerRejected
            };
            o.set_reason(code, msg);
            Attempt::Done
        }
        Err(CallFailure::Transport(t)) => transport(t),
        Err(CallFailure::Fatal(e)) if crate::exit::TargetError::is_connection(&e) => {
            // Authentication lost mid-run (the re-login was refused or could not be sent): the
            // run halts, this row and the rest are `skipped` and the run stays resumable.
            if let Some(stop) = crate::journal::interrupt::Stop::current() {
                // A 403 names the missing permission itself; anything else here is a login
                // that no longer works.
                let why = if matches!(
                    e,
                    crate::systems::folio::client::FolioError::Forbidden { .. }
                ) {
                    e.to_string()
                } else {
                    format!("authentication lost: {e}")
                };
                stop.set_unreachable(why);
            }
            Attempt::Again {
                retry_after: None,
                why: e.to_string(),
                maybe_applied: false,
            }
        }
        Err(CallFailure::Fatal(e)) => {
            o.outcome = OutcomeKind::Failed;
            o.set_reason(ReasonCode::ServerRejected, e.to_string());
            Attempt::Done
        }
    }
}
