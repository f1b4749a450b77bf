//! FOLIO undo: `GET /users/{id}` to read the record now, `DELETE /users/{id}` for records the run
//! created, `PUT /users/{id}` with the before-image for records it updated. Retried like the
//! writer (429, 5xx, timeouts); a DELETE answered 404 on a retry counts as done.
//!
//! Linked records (`linked/`): a user is read with its request preference and service points
//! (`null` when it has none), so a before-image puts them back too; a linked key the run did
//! not touch (absent from what it sent) is neither compared nor restored, and a user the run
//! created is deleted with its linked records.

use crate::http::retry::{self, RetryPolicy, Verdict};
use crate::http::Governed;
use crate::systems::folio::client::{error_message, CallFailure, FolioClient};
use crate::systems::folio::cql;
use crate::systems::folio::linked::departments;
use crate::systems::folio::linked::{self, write::LinkWriter, KINDS};
use crate::target::Target;
use crate::undo::compare::differences;
use crate::undo::{Extra, UndoKind, UndoTarget};
use reqwest::Method;
use serde_json::Value;

/// The reason a department still held is left alone.
fn held(n: usize) -> String {
    format!("{n} user(s) hold this department now; left alone")
}

/// Fields FOLIO maintains itself; never a sign that someone changed the record.
const SERVER_MANAGED: [&str; 3] = ["metadata", "createdDate", "updatedDate"];

/// A logged-in FOLIO client for undo.
pub struct FolioUndo {
    client: FolioClient,
    policy: RetryPolicy,
    /// Departments by name (a run sends new departments by name, `create_missing`).
    departments: crate::systems::folio::refdata::Names,
}

impl FolioUndo {
    /// Judges one department a run listed to create: gone already, not created by the run
    /// (it existed when its row was written: someone else's), still held (a conflict), or to
    /// delete.
    async fn department_extra(&self, name: &str, created: &[String]) -> Extra {
        let mut e = Extra {
            key: format!("department {}", Value::String(name.to_string())),
            target_id: None,
            current: None,
            kind: UndoKind::Failed,
            reason: None,
        };
        let found = match departments::find(&self.client, name).await {
            Ok(f) => f,
            Err(why) => {
                e.reason = Some(why);
                return e;
            }
        };
        let Some(d) = found else {
            e.kind = UndoKind::AlreadyUndone;
            return e;
        };
        let Some(id) = d.get("id").and_then(Value::as_str).map(str::to_string) else {
            e.reason = Some("the department has no id".into());
            return e;
        };
        e.target_id = Some(id.clone());
        if !created
            .iter()
            .any(|c| c.to_lowercase() == name.to_lowercase())
        {
            e.kind = UndoKind::Conflict;
            e.reason = Some(
                "the run's journal does not record creating it (it existed when its row was \
                 written, or the run was killed before the row's outcome was recorded); left alone"
                    .into(),
            );
            return e;
        }
        match self.holders(&id).await {
            Ok(0) => {
                e.kind = UndoKind::WouldDelete;
                e.current = Some(d);
            }
            Ok(n) => {
                e.kind = UndoKind::Conflict;
                e.reason = Some(held(n));
            }
            Err(why) => e.reason = Some(why),
        }
        e
    }

    /// How many users hold department `id` (at most 1 is looked for).
    async fn holders(&self, id: &str) -> Result<usize, String> {
        // `=` finds an item of a list (`==` compares the list's JSON text in real FOLIO:
        // raml-module-builder CQL2PgJSON, as export.rs `folio_query` says for tags).
        self.client
            .find_users(&format!("departments={}", cql::quote(id)), 1)
            .await
            .map(|u| u.len())
            .map_err(|e| e.to_string())
    }

    /// The writer of linked records, with this undo's client and retries.
    fn links(&self) -> LinkWriter<'_> {
        LinkWriter {
            client: &self.client,
            policy: self.policy,
        }
    }

    /// Logs in to the target.
    pub async fn connect(target: &Target) -> anyhow::Result<FolioUndo> {
        let http = Governed::new(target.rate, target.concurrency, target.timeout)?
            .with_retry(target.retry);
        let policy = http.retry();
        let client = crate::systems::folio::connect::folio(target, http).await?;
        let q = [("limit", "1000"), ("query", "cql.allRecords=1 sortBy id")];
        let depts = client
            .get_json("/departments", &q, "departments")
            .await
            .map_err(crate::exit::TargetError::into_run_error)?;
        let departments = crate::systems::folio::refdata::Names::new(
            depts
                .get("departments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|d| {
                    Some((
                        d.get("name")?.as_str()?.to_string(),
                        d.get("id")?.as_str()?.to_string(),
                    ))
                }),
        );
        Ok(FolioUndo {
            client,
            policy,
            departments,
        })
    }

    /// Sends one request with retries; `Ok` carries the final reply's status and JSON body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Option<Value>), String> {
        let res = retry::run(&self.policy, |_| {
            let method = method.clone();
            async move {
                match self.client.call(method, path, &[], body).await {
                    Ok(r) if !RetryPolicy::retryable_status(r.status) => {
                        Verdict::Done(if r.ok() || r.status == 404 {
                            Ok((r.status, r.json()))
                        } else {
                            Err(format!("HTTP {}: {}", r.status, error_message(&r)))
                        })
                    }
                    Ok(r) => Verdict::Again {
                        retry_after: r.retry_after(),
                        failure: format!("HTTP {}: {}", r.status, error_message(&r)),
                    },
                    Err(CallFailure::Transport(t)) => Verdict::again(t.message),
                    Err(CallFailure::Fatal(e)) => Verdict::Done(Err(e.to_string())),
                }
            }
        })
        .await;
        res.unwrap_or_else(|g| Err(format!("gave up after {} retries: {}", g.retries, g.last)))
    }
}

#[async_trait::async_trait]
impl UndoTarget for FolioUndo {
    fn system(&self) -> &'static str {
        "folio"
    }

    async fn fetch(&self, id: &str) -> Result<Option<Value>, String> {
        match self
            .send(Method::GET, &format!("/users/{id}"), None)
            .await?
        {
            (404, _) => Ok(None),
            (_, Some(v)) => {
                let mut users = [v];
                linked::attach(&self.client, &mut users, &KINDS, true)
                    .await
                    .map_err(|e| e.to_string())?;
                let [v] = users;
                Ok(Some(v))
            }
            (s, None) => Err(format!("HTTP {s}: the user record is not JSON")),
        }
    }

    async fn find(&self, field: &str, key: &str) -> Result<Option<String>, String> {
        let q = format!("{field}=={}", cql::quote(key));
        let found = self
            .client
            .find_users(&q, 2)
            .await
            .map_err(|e| e.to_string())?;
        Ok(match found.as_slice() {
            [one] => one.get("id").and_then(Value::as_str).map(str::to_string),
            _ => None,
        })
    }

    async fn delete(&self, id: &str) -> Result<(), String> {
        let links = self.links();
        for kind in KINDS {
            let found = linked::lookup(&self.client, kind, &[id])
                .await
                .map_err(|e| e.to_string())?;
            if let Some(rid) = found
                .get(id)
                .and_then(|r| r.get("id"))
                .and_then(Value::as_str)
            {
                links.delete(kind, rid).await?;
            }
        }
        self.send(Method::DELETE, &format!("/users/{id}"), None)
            .await
            .map(|_| ())
    }

    async fn restore(&self, id: &str, before: &Value, current: &Value) -> Result<(), String> {
        let (user, parts) = linked::split(before);
        let (_, now) = linked::split(current);
        if let (404, _) = self
            .send(Method::PUT, &format!("/users/{id}"), Some(&user))
            .await?
        {
            return Err("deleted while undoing".into());
        }
        let links = self.links();
        for (i, kind) in KINDS.iter().enumerate() {
            let now_id = now[i]
                .as_ref()
                .and_then(|n| n.get("id"))
                .and_then(Value::as_str);
            match &parts[i] {
                // Not touched by the run.
                None => {}
                // It had none: the run created it.
                Some(Value::Null) => {
                    if let Some(rid) = now_id {
                        links.delete(*kind, rid).await?;
                    }
                }
                Some(was) => {
                    let same = now[i]
                        .as_ref()
                        .is_some_and(|n| linked::comparable(n) == linked::comparable(was));
                    if !same {
                        let stored = now[i].as_ref().filter(|n| n.is_object());
                        links.put(*kind, id, was, stored).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Departments the run created (`create_missing`): listed in what it sent and recorded
    /// as created by the writer (`departments::created_note` among the outcomes' changed
    /// fields); each is deleted once no user holds it (mod-users `ramls/departments.raml`,
    /// `DELETE /departments/{id}` 204), one still held is left alone as a conflict.
    async fn extras(&self, afters: &[Value], notes: &[String]) -> Vec<Extra> {
        let mut names: Vec<String> = Vec::new();
        for a in afters {
            for n in departments::listed(a, departments::WHAT) {
                if !names.iter().any(|m| m.to_lowercase() == n.to_lowercase()) {
                    names.push(n);
                }
            }
        }
        let created: Vec<String> = notes
            .iter()
            .filter_map(|n| departments::created_in(n))
            .collect();
        let mut out = Vec::new();
        for name in names {
            out.push(self.department_extra(&name, &created).await);
        }
        out
    }

    /// Deletes a department after checking, right before, that no user holds it now (a user
    /// given it since the undo judged it keeps it: a conflict).
    async fn delete_extra(&self, extra: &Extra) -> Result<(), (UndoKind, String)> {
        let failed = |e: String| (UndoKind::Failed, e);
        let id = extra
            .target_id
            .as_deref()
            .ok_or_else(|| failed("no department id".into()))?;
        match self.holders(id).await.map_err(failed)? {
            0 => {}
            n => return Err((UndoKind::Conflict, held(n))),
        }
        self.send(Method::DELETE, &format!("/departments/{id}"), None)
            .await
            .map(|_| ())
            .map_err(failed)
    }

    fn changed_since(&self, expected: &Value, current: &Value, created: bool) -> Vec<String> {
        // Linked records: compared without their server fields, and only those the run sent.
        let mut current = current.clone();
        let mut expected = expected.clone();
        for kind in KINDS {
            let sent = expected.get(kind.key).map(linked::comparable);
            match (sent, current.as_object_mut(), expected.as_object_mut()) {
                (Some(e), Some(c), Some(x)) => {
                    let now = c.get(kind.key).map(linked::comparable);
                    c.insert(kind.key.into(), now.unwrap_or(Value::Null));
                    x.insert(kind.key.into(), e);
                }
                (None, Some(c), _) => {
                    c.remove(kind.key);
                }
                _ => {}
            }
        }
        // Departments the run created were sent by name (`create_missing`).
        if let Some(o) = expected.as_object_mut() {
            o.remove(crate::plan::ALSO_CREATES);
            if let Some(Value::Array(ds)) = o.get_mut("departments") {
                for d in ds.iter_mut() {
                    if let Some(id) = d.as_str().and_then(|n| self.departments.id(n.trim())) {
                        *d = Value::String(id.to_string());
                    }
                }
            }
        }
        let (expected, current) = (&expected, &current);
        if created {
            // The create payload carries no id; FOLIO assigned one.
            let mut ignore = SERVER_MANAGED.to_vec();
            ignore.push("id");
            differences(expected, current, &ignore)
        } else {
            differences(expected, current, &SERVER_MANAGED)
        }
    }
}
