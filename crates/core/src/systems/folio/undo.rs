//! FOLIO undo: `GET /users/{id}` to read the record now, `DELETE /users/{id}` for records the run
//! created, `PUT /users/{id}` with the before-image for records it updated. Retried like the
//! writer (429, 5xx, timeouts); a DELETE answered 404 on a retry counts as done.

use crate::http::retry::{self, RetryPolicy, Verdict};
use crate::http::Governed;
use crate::systems::folio::client::{error_message, CallFailure, FolioClient};
use crate::systems::folio::cql;
use crate::target::Target;
use crate::undo::compare::differences;
use crate::undo::UndoTarget;
use reqwest::Method;
use serde_json::Value;

/// Fields FOLIO maintains itself; never a sign that someone changed the record.
const SERVER_MANAGED: [&str; 3] = ["metadata", "createdDate", "updatedDate"];

/// A logged-in FOLIO client for undo.
pub struct FolioUndo {
    client: FolioClient,
    policy: RetryPolicy,
}

impl FolioUndo {
    /// Logs in to the target.
    pub async fn connect(target: &Target) -> anyhow::Result<FolioUndo> {
        let http = Governed::new(target.rate, target.concurrency, target.timeout)?
            .with_retry(target.retry);
        let policy = http.retry();
        let client = crate::systems::folio::connect::folio(target, http).await?;
        Ok(FolioUndo { client, policy })
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
            (_, Some(v)) => Ok(Some(v)),
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
        self.send(Method::DELETE, &format!("/users/{id}"), None)
            .await
            .map(|_| ())
    }

    async fn restore(&self, id: &str, before: &Value, _current: &Value) -> Result<(), String> {
        match self
            .send(Method::PUT, &format!("/users/{id}"), Some(before))
            .await?
        {
            (404, _) => Err("deleted while undoing".into()),
            _ => Ok(()),
        }
    }

    fn changed_since(&self, expected: &Value, current: &Value, created: bool) -> Vec<String> {
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
