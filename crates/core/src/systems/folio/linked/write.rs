//! Writing linked records after their user: `POST` a new one (`201`), `PUT {id}` a stored one
//! (`204`), `DELETE {id}` for undo (`204`; `404` counts as gone). Retried like every FOLIO
//! write (429, 5xx, dropped connections); a `POST` refused as a duplicate after an attempt that
//! may have been applied is looked up by `userId` and adopted when it is the one sent.
//!
//! Success shapes: RMB's `collection` / `collection-item` resource types, which
//! `ramls/request-preference-storage.raml` (mod-circulation-storage, lines 22-23) and
//! mod-inventory-storage `ramls/service-points-user.raml` (lines 22-23, 25-54) use:
//! folio-org/raml `rtypes/collection.raml` lines 37-46 (`post` 201) and
//! `rtypes/item-collection.raml` lines 28-32 (`delete` 204) and 52-62 (`put` 204).

use super::{comparable, lookup, Kind};
use crate::http::retry::{self, RetryPolicy, Verdict};
use crate::systems::folio::client::{error_message, CallFailure, FolioClient};
use reqwest::Method;
use serde_json::Value;

/// Sends linked records with retries.
pub struct LinkWriter<'a> {
    /// Logged-in client.
    pub client: &'a FolioClient,
    /// Retry policy.
    pub policy: RetryPolicy,
}

/// The body to send: `after` without server fields, tied to `user_id`, with `id` kept.
fn body(after: &Value, user_id: &str, id: Option<&str>) -> Value {
    let mut b = comparable(after);
    if let Some(o) = b.as_object_mut() {
        o.insert("userId".into(), Value::String(user_id.to_string()));
        if let Some(id) = id {
            o.insert("id".into(), Value::String(id.to_string()));
        }
    }
    b
}

impl LinkWriter<'_> {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, String), String> {
        let res = retry::run(&self.policy, |_| {
            let method = method.clone();
            async move {
                match self.client.call(method, path, &[], body).await {
                    Ok(r) if RetryPolicy::retryable_status(r.status) => Verdict::Again {
                        retry_after: r.retry_after(),
                        failure: format!("HTTP {}: {}", r.status, error_message(&r)),
                    },
                    Ok(r) => Verdict::Done(Ok((r.status, error_message(&r)))),
                    Err(CallFailure::Transport(t)) => Verdict::again(t.message),
                    Err(CallFailure::Fatal(e)) => Verdict::Done(Err(e.to_string())),
                }
            }
        })
        .await;
        res.unwrap_or_else(|g| Err(format!("gave up after {} retries: {}", g.retries, g.last)))
    }

    /// Leaves `after` as the user's record of `kind`: a `PUT` over `stored` (the record FOLIO
    /// holds, `Null` or `None` when there is none), else a `POST`. `Err` is the reason.
    pub async fn put(
        &self,
        kind: Kind,
        user_id: &str,
        after: &Value,
        stored: Option<&Value>,
    ) -> Result<(), String> {
        let stored_id = stored
            .and_then(|s| s.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let refused = |status: u16, msg: String| {
            format!("the {} was refused: HTTP {status}: {msg}", kind.what)
        };
        if let Some(id) = stored_id {
            let path = format!("{}/{id}", kind.path);
            let b = body(after, user_id, Some(&id));
            return match self.send(Method::PUT, &path, Some(&b)).await? {
                (204, _) => Ok(()),
                (s, m) => Err(refused(s, m)),
            };
        }
        let own_id = after.get("id").and_then(Value::as_str);
        let b = body(after, user_id, own_id);
        match self.send(Method::POST, kind.path, Some(&b)).await? {
            (201, _) => Ok(()),
            (s @ (400 | 422), m) => {
                // An earlier attempt may have been applied: one per user, so look it up.
                let found = lookup(self.client, kind, &[user_id])
                    .await
                    .map_err(|e| e.to_string())?;
                match found.get(user_id) {
                    Some(rec) if comparable(rec) == comparable(&b) => Ok(()),
                    _ => Err(refused(s, m)),
                }
            }
            (s, m) => Err(refused(s, m)),
        }
    }

    /// Deletes record `id` of `kind` (undo); gone already is done.
    pub async fn delete(&self, kind: Kind, id: &str) -> Result<(), String> {
        match self
            .send(Method::DELETE, &format!("{}/{id}", kind.path), None)
            .await?
        {
            (204 | 404, _) => Ok(()),
            (s, m) => Err(format!("deleting the {} failed: HTTP {s}: {m}", kind.what)),
        }
    }
}
