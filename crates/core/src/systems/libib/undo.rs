//! Libib undo: `GET /patrons/{barcode}` to read the patron now, `DELETE /patrons/{barcode}` for
//! patrons the run created, `POST /patrons/{barcode}?…` with the fields whose before-image
//! differs from the patron now for patrons it updated (including roster-sync freezes, which
//! undo to unfrozen). Everything goes through [`LibibClient`]: one paced request at a time, 429s
//! waited out, query strings never in errors. Libib refuses to delete a patron with active
//! checkouts (400): that comes back as the row's failure reason.

use crate::http::retry::{self, RetryPolicy, Verdict};
use crate::http::Governed;
use crate::systems::libib::client::{error_message, field, LibibClient};
use crate::systems::libib::plan::{comparable, param_text};
use crate::systems::libib::EDITABLE_FIELDS as FIELDS;
use crate::target::Target;
use crate::undo::UndoTarget;
use reqwest::Method;
use serde_json::Value;

/// Fields Libib refuses to blank.
const NEVER_EMPTY: [&str; 3] = ["first_name", "last_name", "country"];

/// Written but never returned by Libib: never compared.
const WRITE_ONLY: [&str; 1] = ["password"];

/// A connected Libib client for undo.
pub struct LibibUndo {
    client: LibibClient,
    policy: RetryPolicy,
}

impl LibibUndo {
    /// Connects to the target (one request: the first page of patrons).
    pub async fn connect(target: &Target) -> anyhow::Result<LibibUndo> {
        let http = Governed::new(target.rate, 1, target.timeout)?.with_retry(target.retry);
        let policy = http.retry();
        let (client, _) = crate::systems::libib::connect::libib(target, http).await?;
        Ok(LibibUndo { client, policy })
    }

    /// Sends one write, retrying 5xx and transport failures (429s are waited out by the
    /// client); `Ok` carries the final status. Errors name the status and Libib's message only.
    async fn write(
        &self,
        method: Method,
        barcode: &str,
        query: &[(String, String)],
    ) -> Result<u16, String> {
        let res = retry::run(&self.policy, |_| {
            let method = method.clone();
            async move {
                let res = self
                    .client
                    .call_paced(method, &["patrons", barcode], query)
                    .await;
                match res {
                    Ok(r) if r.ok() || r.status == 404 => Verdict::Done(Ok(r.status)),
                    Ok(r) if RetryPolicy::retryable_status(r.status) => Verdict::Again {
                        retry_after: r.retry_after(),
                        failure: error_message(&r),
                    },
                    Ok(r) => Verdict::Done(Err(error_message(&r))),
                    Err(t) => Verdict::again(t.message),
                }
            }
        })
        .await;
        res.unwrap_or_else(|g| Err(format!("gave up after {} retries: {}", g.retries, g.last)))
    }
}

/// The query parameters that put `before`'s values back where `current` differs (a blank
/// before-value is sent empty, which Libib takes as "remove"; fields Libib refuses to blank are
/// left as they are).
pub fn restore_params(before: &Value, current: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for k in FIELDS {
        if comparable(k, before.get(k)) == comparable(k, current.get(k)) {
            continue;
        }
        match before.get(k).and_then(|v| param_text(k, v)) {
            Some(t) => out.push((k.to_string(), t)),
            None if NEVER_EMPTY.contains(k) => {}
            None => out.push((k.to_string(), String::new())),
        }
    }
    out
}

/// The fields where `current` differs from `expected` (compared as Libib stores them: e-mail and
/// country case-folded, lists as sets, `freeze` 1 or nothing). The known patron fields are always
/// compared (a field absent from `expected` must be blank); `created`: the barcode is Libib's and
/// an unsent country is Libib's default `US`.
pub fn differences(expected: &Value, current: &Value, created: bool) -> Vec<String> {
    let mut names: Vec<&str> = FIELDS.to_vec();
    if let Some(m) = expected.as_object() {
        for k in m.keys() {
            if !names.contains(&k.as_str()) && !WRITE_ONLY.contains(&k.as_str()) {
                names.push(k);
            }
        }
    }
    let mut out = Vec::new();
    for k in names {
        if created && k == "barcode" {
            continue;
        }
        let mut want = comparable(k, expected.get(k));
        if created && k == "country" && want.is_none() {
            want = Some("us".into());
        }
        if want != comparable(k, current.get(k)) {
            out.push(k.to_string());
        }
    }
    out
}

/// The patron as an update left it: Libib updates send only the changed fields, so this is the
/// before-image with those fields replaced (a create's payload is returned as it is).
pub fn overlay(before: Option<&Value>, after: &Value) -> Value {
    match (before, after) {
        (Some(Value::Object(b)), Value::Object(a)) => {
            let mut m = b.clone();
            for (k, v) in a {
                m.insert(k.clone(), v.clone());
            }
            Value::Object(m)
        }
        _ => after.clone(),
    }
}

#[async_trait::async_trait]
impl UndoTarget for LibibUndo {
    fn system(&self) -> &'static str {
        "libib"
    }

    async fn fetch(&self, id: &str) -> Result<Option<Value>, String> {
        let found = self.client.get(id).await.map_err(|e| e.to_string())?;
        // `GET /patrons/{id}` also answers e-mails: make sure it is this barcode.
        Ok(found.filter(|p| field(p, "barcode") == Some(id)))
    }

    async fn find(&self, field_name: &str, key: &str) -> Result<Option<String>, String> {
        let found = self.client.get(key).await.map_err(|e| e.to_string())?;
        Ok(found.and_then(|p| {
            let hit = field(&p, field_name).is_some_and(|v| {
                if field_name == "email" {
                    v.eq_ignore_ascii_case(key.trim())
                } else {
                    v == key.trim()
                }
            });
            hit.then(|| field(&p, "barcode").map(str::to_string))
                .flatten()
        }))
    }

    async fn delete(&self, id: &str) -> Result<(), String> {
        // 404 (also on a retry after an ambiguous failure): already gone.
        self.write(Method::DELETE, id, &[]).await.map_err(|e| {
            if e.to_lowercase().contains("checkout") {
                format!("Libib refused to delete the patron (active checkouts): {e}")
            } else {
                format!("Libib refused to delete the patron: {e}")
            }
        })?;
        Ok(())
    }

    async fn restore(&self, id: &str, before: &Value, current: &Value) -> Result<(), String> {
        let query = restore_params(before, current);
        if query.is_empty() {
            return Ok(());
        }
        match self.write(Method::POST, id, &query).await? {
            404 => Err("deleted while undoing".into()),
            _ => Ok(()),
        }
    }

    fn left_by_run(&self, before: Option<&Value>, after: &Value) -> Value {
        overlay(before, after)
    }

    fn changed_since(&self, expected: &Value, current: &Value, created: bool) -> Vec<String> {
        differences(expected, current, created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patron(city: &str, freeze: Value) -> Value {
        json!({"barcode": "2020000000013", "first_name": "Ann", "last_name": "Lee",
            "email": "ann@x.edu", "notification_emails": null, "tags": "b,a", "patron_id": "7",
            "phone": null, "address1": "1 Main", "address2": null, "city": city, "state": "WI",
            "country": "US", "zip": "53703", "freeze": freeze})
    }

    #[test]
    fn restore_sends_only_the_fields_that_differ_and_unfreezes() {
        let before = patron("Madison", Value::Null);
        let now = patron("Verona", json!(1));
        assert_eq!(
            restore_params(&before, &now),
            vec![
                ("city".to_string(), "Madison".to_string()),
                ("freeze".to_string(), String::new())
            ]
        );
        assert!(restore_params(&before, &before).is_empty());
        let mut added = before.clone();
        added["phone"] = json!("555");
        assert_eq!(
            restore_params(&before, &added),
            vec![("phone".to_string(), String::new())]
        );
    }

    #[test]
    fn changes_are_judged_as_libib_stores_them() {
        let left = patron("Madison", Value::Null);
        let mut now = left.clone();
        now["email"] = json!("ANN@x.edu");
        now["tags"] = json!("a,b");
        now["freeze"] = json!("0");
        assert!(differences(&left, &now, false).is_empty());
        now["phone"] = json!("555");
        assert_eq!(differences(&left, &now, false), vec!["phone"]);
        // A create payload: barcode and the default country are Libib's.
        let sent = json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@x.edu",
            "tags": "a,b", "patron_id": "7", "address1": "1 Main", "city": "Madison",
            "state": "WI", "zip": "53703", "password": "secret"});
        assert!(differences(&sent, &left, true).is_empty());
        assert_eq!(differences(&sent, &now, true), vec!["phone"]);
    }

    #[test]
    fn an_update_is_judged_against_the_before_image_with_what_was_sent() {
        let before = patron("Madison", Value::Null);
        let merged = overlay(Some(&before), &json!({"city": "Verona"}));
        assert!(differences(&merged, &patron("Verona", Value::Null), false).is_empty());
        assert_eq!(
            differences(&merged, &patron("Verona", json!(1)), false),
            vec!["freeze"]
        );
    }
}
