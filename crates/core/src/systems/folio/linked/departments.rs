//! Departments a run creates (`departments = { …, create_missing = true }`), as mod-user-import
//! creates the missing ones (folio-org/mod-user-import
//! `src/main/java/org/folio/rest/util/DepartmentsManager.java`, `createDepartment`, which also
//! makes up a `code` when none is given: `generateCode`).
//!
//! The planner leaves an unknown name in the record and lists it under
//! [`crate::plan::ALSO_CREATES`]; the writer asks [`DepartmentMaker::ensure`] for its id right
//! before sending the user. One maker per run, behind one lock: a name is looked up
//! (`name=="…"`) and, when absent, created once (`POST /departments`, mod-users
//! `ramls/departments.raml` lines 24-39: `post` 201 by the `collection` resource type;
//! `ramls/department.json`: `name` and `code` required, both unique), however many rows need it.
//! The writer notes each department it did create ([`created_note`], in the row's changed
//! fields, journaled with its outcome). Undo deletes only departments a run listed *and* noted
//! (one that existed when its row was written is someone else's), each delete journaled as an
//! undo intent and done only if no user holds it right before ([`super::super::undo`]).

use crate::http::retry::{self, RetryPolicy, Verdict};
use crate::systems::folio::client::{error_message, CallFailure, FolioClient};
use crate::systems::folio::cql;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The [`crate::plan::ALSO_CREATES`] `what` of a department.
pub const WHAT: &str = "department";

/// A code for a new department: its name upper-cased, each run of other characters than
/// letters and digits one `_` (mod-user-import upper-cases with underscores too).
pub fn code_for(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// The note the writer adds to a row's changed fields when it created department `name`; the
/// journal keeps it with the row's outcome, and undo deletes only departments so noted
/// ([`created_in`]).
pub fn created_note(name: &str) -> String {
    format!("created department {}", Value::String(name.to_string()))
}

/// The department a [`created_note`] names.
pub fn created_in(note: &str) -> Option<String> {
    serde_json::from_str(note.strip_prefix("created department ")?).ok()
}

/// The names a record lists to be created, as `what`.
pub fn listed(record: &Value, what: &str) -> Vec<String> {
    record
        .get(crate::plan::ALSO_CREATES)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| e.get("what").and_then(Value::as_str) == Some(what))
        .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// Finds or creates departments by name, each once per run.
#[derive(Default)]
pub struct DepartmentMaker {
    /// Lower-cased name → id, of the departments this run has found or made.
    known: tokio::sync::Mutex<HashMap<String, String>>,
}

/// A department by name: its id, or `None`.
pub async fn find(client: &FolioClient, name: &str) -> Result<Option<Value>, String> {
    let q = format!("name=={}", cql::quote(name));
    let v = client
        .get_json(
            "/departments",
            &[("query", &q), ("limit", "2")],
            "departments",
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(v.get("departments")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .cloned())
}

impl DepartmentMaker {
    /// The id of department `name`, creating it when FOLIO has none: `(id, created)`.
    pub async fn ensure(
        &self,
        client: &FolioClient,
        policy: &RetryPolicy,
        name: &str,
    ) -> Result<(String, bool), String> {
        let mut known = self.known.lock().await;
        let key = name.to_lowercase();
        if let Some(id) = known.get(&key) {
            return Ok((id.clone(), false));
        }
        let id_of = |d: &Value| d.get("id").and_then(Value::as_str).map(str::to_string);
        if let Some(id) = find(client, name).await?.as_ref().and_then(id_of) {
            known.insert(key, id.clone());
            return Ok((id, false));
        }
        let body = json!({"name": name, "code": code_for(name)});
        let res = retry::run(policy, |_| {
            let body = &body;
            async move {
                match client
                    .call(reqwest::Method::POST, "/departments", &[], Some(body))
                    .await
                {
                    Ok(r) if RetryPolicy::retryable_status(r.status) => Verdict::Again {
                        retry_after: r.retry_after(),
                        failure: format!("HTTP {}: {}", r.status, error_message(&r)),
                    },
                    Ok(r) if r.status == 201 => Verdict::Done(Ok(r.json())),
                    Ok(r) => {
                        Verdict::Done(Err(format!("HTTP {}: {}", r.status, error_message(&r))))
                    }
                    Err(CallFailure::Transport(t)) => Verdict::again(t.message),
                    Err(CallFailure::Fatal(e)) => Verdict::Done(Err(e.to_string())),
                }
            }
        })
        .await
        .unwrap_or_else(|g| Err(format!("gave up after {} retries: {}", g.retries, g.last)));
        match res {
            Ok(Some(d)) if id_of(&d).is_some() => {
                let id = id_of(&d).unwrap_or_default();
                known.insert(key, id.clone());
                Ok((id, true))
            }
            other => {
                // An attempt that was applied before its answer was lost: it is there now.
                if let Some(id) = find(client, name).await?.as_ref().and_then(id_of) {
                    known.insert(key, id.clone());
                    return Ok((id, true));
                }
                Err(format!(
                    "department \"{name}\" could not be created: {}",
                    match other {
                        Err(e) => e,
                        Ok(_) => "the answer carries no id".into(),
                    }
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_note_names_its_department() {
        let n = created_note("Rare \"Books\" & Maps");
        assert_eq!(n, "created department \"Rare \\\"Books\\\" & Maps\"");
        assert_eq!(created_in(&n).as_deref(), Some("Rare \"Books\" & Maps"));
        assert_eq!(created_in("would_create department \"X\""), None);
    }

    #[test]
    fn codes_are_upper_case_with_underscores() {
        assert_eq!(code_for("Computer Science"), "COMPUTER_SCIENCE");
        assert_eq!(code_for("  Art & Design "), "ART_DESIGN");
        assert_eq!(code_for("Økonomi"), "ØKONOMI");
    }

    proptest::proptest! {
        #[test]
        fn a_code_never_panics_and_has_no_edge_underscores(name in crate::text::arb::text()) {
            let c = code_for(&name);
            proptest::prop_assert!(!c.starts_with('_') && !c.ends_with('_'));
        }

        #[test]
        fn a_created_note_reads_back_any_name(name in crate::text::arb::text()) {
            proptest::prop_assert_eq!(created_in(&created_note(&name)), Some(name));
        }
    }
}
