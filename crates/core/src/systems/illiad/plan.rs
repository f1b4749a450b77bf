//! ILLiad planner: one lookup per row (`GET Users/{UserName}` or `Users/ExternalUserId/{id}`;
//! the API has no batch search), then create, `exists` with the differences listed (the API
//! cannot update users), or `conflict` when ILLiad reports the external id as not unique.
//!
//! Before anything is sent, each record gets its NVTGC (the mapping's, else the target's), is
//! validated against the API's enumerations, and has `ExternalUserId` made consistent with the
//! field the API key maps it to (ILLiad lets `ExternalUserId` overwrite that field, and erases it
//! when `ExternalUserId` is absent: see the mapping's `[defaults] external_user_id_field`).

use crate::outcome::ReasonCode;
use crate::plan::Change;
use crate::plan::{Action, Candidate, Planned, Rejection};
use crate::systems::illiad::client::{get_ci, IlliadClient, IlliadError, Lookup};
use crate::systems::schema;
use crate::systems::System;
use crate::text;
use futures::StreamExt;
use serde_json::Value;

/// What the ILLiad planner needs besides the rows.
pub struct IlliadPlanner<'a> {
    /// Connected client.
    pub client: &'a IlliadClient,
    /// The mapping's match field: `UserName` or `ExternalUserId`.
    pub match_field: &'a str,
    /// The target's NVTGC, used when the mapping gives none.
    pub nvtgc: Option<&'a str>,
    /// The field the API key's ExternalUserIDMapping names (mapping `[defaults]
    /// external_user_id_field`), if the mapping says.
    pub external_field: Option<&'a str>,
}

fn text<'v>(record: &'v Value, field: &str) -> Option<&'v str> {
    get_ci(record, field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Fields ILLiad matches or stores without regard to case (keys, e-mail, enumerations).
const CASELESS: [&str; 8] = [
    "UserName",
    "EMailAddress",
    "NVTGC",
    "Cleared",
    "NotificationMethod",
    "DeliveryMethod",
    "LoanDeliveryMethod",
    "AuthType",
];

/// A value as comparable text: trimmed strings, numbers and booleans as text, ISO date-times
/// at midnight as their date; case-folded for the [`CASELESS`] fields.
fn comparable(field: &str, v: &Value) -> Option<String> {
    let s = match v {
        Value::Null => return None,
        Value::String(s) => s.trim().to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    };
    if s.is_empty() {
        return None;
    }
    if let Some(date) = text::midnight_date(&s).filter(|d| schema::parse_iso_date(d).is_some()) {
        return Some(date.to_string());
    }
    // The create body takes `Web` as a boolean, GET answers `"Web":"Yes"`
    // (seeds/illiad-webplatform-users-api.txt lines 60 and 276): the same value.
    if field.eq_ignore_ascii_case("Web") {
        match s.to_ascii_lowercase().as_str() {
            "yes" | "true" => return Some("true".into()),
            "no" | "false" => return Some("false".into()),
            _ => {}
        }
    }
    if CASELESS.iter().any(|c| c.eq_ignore_ascii_case(field)) {
        Some(s.to_lowercase())
    } else {
        Some(s)
    }
}

/// Fields a create takes that GET never returns (the seed's "Create User" body vs its "Users"
/// response): nothing to compare them with, so they are not reported as differences.
const WRITE_ONLY: [&str; 2] = ["PlainTextPassword", "NotificationPreferences"];

/// The differences between what the roster says and what ILLiad holds.
pub fn differences(record: &Value, current: &Value) -> Vec<Change> {
    let Some(obj) = record.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in obj {
        if WRITE_ONLY.iter().any(|w| w.eq_ignore_ascii_case(k)) {
            continue;
        }
        let old = get_ci(current, k);
        let same = match old {
            Some(o) => comparable(k, o) == comparable(k, v),
            None => comparable(k, v).is_none(),
        };
        if !same {
            out.push(Change {
                field: k.clone(),
                old: old.filter(|o| !o.is_null()).cloned(),
                new: Some(v.clone()),
            });
        }
    }
    out
}

/// NVTGC, enumeration and ExternalUserId checks; the record to send, or why not.
/// `nvtgc`: the target's default site; `external_field`: what the API key maps ExternalUserId to.
pub fn prepare(
    record: &Value,
    nvtgc: Option<&str>,
    external_field: Option<&str>,
) -> Result<Value, String> {
    let mut rec = record.as_object().cloned().unwrap_or_default();
    if text(record, "NVTGC").is_none() {
        match nvtgc {
                Some(n) if !n.trim().is_empty() => {
                    rec.retain(|k, _| !k.eq_ignore_ascii_case("NVTGC"));
                    rec.insert("NVTGC".into(), Value::String(n.trim().to_string()));
                }
                _ => {
                    return Err("NVTGC is missing: ILLiad refuses a create without it; set [defaults] nvtgc in the mapping or nvtgc in the target".into())
                }
            }
    }
    let ext = text(record, "ExternalUserId").map(str::to_string);
    match external_field {
        Some(f) if !f.eq_ignore_ascii_case("ExternalUserId") => {
            match (text(record, f), ext.as_deref()) {
                    (Some(v), None) => {
                        // Sent consistently, so ILLiad does not erase the mapped field.
                        rec.insert("ExternalUserId".into(), Value::String(v.to_string()));
                    }
                    (Some(v), Some(e)) if v != e => {
                        return Err(format!(
                            "{f} is \"{v}\" but ExternalUserId is \"{e}\": this API key maps ExternalUserId to {f}, and ILLiad lets ExternalUserId overwrite it; map both to the same column or drop {f}"
                        ))
                    }
                    _ => {}
                }
        }
        Some(_) => {}
        None => {
            // The vendor's default ExternalUserIDMapping is UserName ("The default mapping is
            // set to the Username field", seeds/illiad-webplatform-users-api.txt line 137), and
            // ExternalUserId wins over the mapped field: a different ExternalUserId would become
            // the user's UserName.
            if let (Some(e), Some(u)) = (ext.as_deref(), text(record, "UserName")) {
                if !e.eq_ignore_ascii_case(u) {
                    return Err(format!(
                        "ExternalUserId \"{e}\" differs from UserName \"{u}\": on an API key with ILLiad's default ExternalUserIDMapping (UserName) ILLiad would store \"{e}\" as the user name; set [defaults] external_user_id_field in the mapping to the field your key maps (e.g. \"SSN\")"
                    ));
                }
            }
            if text(record, "SSN").is_some() && ext.is_none() {
                return Err("SSN is mapped without ExternalUserId: when the API key maps ExternalUserId to SSN (a common setup), ILLiad erases SSN on create; set [defaults] external_user_id_field in the mapping to the field your key maps (e.g. \"SSN\" or \"UserName\")".into());
            }
        }
    }
    let rec = Value::Object(rec);
    let problems: Vec<String> = schema::validate(System::Illiad, &rec)
        .into_iter()
        .map(|v| match v.field {
            Some(f) => format!("{f}: {}", v.reason),
            None => v.reason,
        })
        .collect();
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    Ok(rec)
}

impl IlliadPlanner<'_> {
    async fn decide(&self, row: &Candidate) -> Result<Action, IlliadError> {
        let record = match prepare(&row.record, self.nvtgc, self.external_field) {
            Ok(r) => r,
            // Every refusal of `prepare` is a rule of ILLiad's record shape.
            Err(why) => {
                return Ok(Action::Reject(Rejection::new(
                    ReasonCode::InvalidRecord,
                    why,
                )))
            }
        };
        let by_external = self.match_field.eq_ignore_ascii_case("ExternalUserId");
        let key = text(&record, self.match_field).unwrap_or(row.key.as_str());
        let found = if by_external {
            self.client.by_external_id(key).await?
        } else {
            self.client.by_username(key).await?
        };
        match found {
            Lookup::Found(u) => {
                let id = text(&u, "UserName").unwrap_or(key).to_string();
                Ok(Action::Exists {
                    id,
                    changes: differences(&record, &u),
                })
            }
            Lookup::NotUnique(msg) => Ok(Action::Conflict(format!(
                "{msg} (several ILLiad users share this ExternalUserId; fix them in ILLiad)"
            ))),
            Lookup::NotFound => {
                if by_external {
                    // The create would collide on UserName if another user already has it.
                    if let Some(name) = text(&record, "UserName") {
                        if let Lookup::Found(u) = self.client.by_username(name).await? {
                            let theirs = text(&u, "ExternalUserId").unwrap_or("(none)");
                            return Ok(Action::Conflict(format!(
                                "UserName \"{name}\" already belongs to an ILLiad user whose ExternalUserId is \"{theirs}\""
                            )));
                        }
                    }
                }
                Ok(Action::Create(record))
            }
        }
    }

    /// Plans one chunk: lookups run up to the client's concurrency, under its governor.
    pub async fn plan(&self, chunk: Vec<Candidate>) -> Result<Vec<Planned>, IlliadError> {
        let concurrency = self.client.http().concurrency();
        let results: Vec<(Candidate, Result<Action, IlliadError>)> =
            futures::stream::iter(chunk.into_iter().map(|row| async move {
                let a = self.decide(&row).await;
                (row, a)
            }))
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut out = Vec::with_capacity(results.len());
        for (row, action) in results {
            out.push(Planned {
                row,
                action: action?,
            });
        }
        out.sort_by_key(|p| p.row.line);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_ignore_case_of_keys_dates_and_spacing() {
        let rec = json!({"UserName": "jdoe", "ExpirationDate": "2027-05-31T00:00:00", "Web": true, "Cleared": "Yes", "Phone": "1"});
        let cur = json!({"username": "JDoe", "ExpirationDate": "2027-05-31T00:00:00.000", "Web": true, "Cleared": "yes", "Phone": "2"});
        let d = differences(&rec, &cur);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].to_string(), "Phone: \"2\" → \"1\"");
        let d = differences(&json!({"LastName": "Núñez"}), &json!({"LastName": "núñez"}));
        assert_eq!(d.len(), 1, "a case-only name change is a difference");
    }

    #[test]
    fn nvtgc_enumerations_and_external_id_are_checked_before_sending() {
        let base = json!({"UserName": "jdoe", "LastName": "Doe"});
        let r = prepare(&base, Some("ILL"), None).unwrap();
        assert_eq!(r["NVTGC"], "ILL");
        assert!(prepare(&base, None, None).unwrap_err().contains("NVTGC"));
        let bad = json!({"UserName": "jdoe", "NVTGC": "ILL", "Cleared": "Maybe"});
        assert!(prepare(&bad, None, None).unwrap_err().contains("Cleared"));
        // SSN without ExternalUserId would be erased when the key maps ExternalUserId to SSN.
        let ssn = json!({"UserName": "jdoe", "NVTGC": "ILL", "SSN": "123"});
        assert!(prepare(&ssn, None, None)
            .unwrap_err()
            .contains("erases SSN"));
        let sent = prepare(&ssn, None, Some("SSN")).unwrap();
        assert_eq!(sent["ExternalUserId"], "123");
        let clash =
            json!({"UserName": "jdoe", "NVTGC": "ILL", "SSN": "123", "ExternalUserId": "9"});
        assert!(prepare(&clash, None, Some("SSN")).is_err());
        // ExternalUserId would overwrite UserName under the vendor-default mapping.
        assert!(prepare(&clash, None, Some("UserName")).is_err());
        assert!(prepare(&clash, None, Some("UserInfo1")).is_ok());
        // Unsaid mapping: the vendor default (UserName) would take a different ExternalUserId.
        let other = json!({"UserName": "jdoe", "NVTGC": "ILL", "ExternalUserId": "9"});
        assert!(prepare(&other, None, None)
            .unwrap_err()
            .contains("default ExternalUserIDMapping"));
        let same = json!({"UserName": "jdoe", "NVTGC": "ILL", "ExternalUserId": "JDOE"});
        assert!(prepare(&same, None, None).is_ok());
    }

    /// The vendor's GET shape (seeds/illiad-webplatform-users-api.txt lines 41-91): `"Web":
    /// "Yes"`, `Password`, `PasswordHint`; the roster's `Web = true` and a write-only
    /// `PlainTextPassword` are no differences.
    #[test]
    fn vendor_shaped_get_is_no_spurious_change() {
        let rec = json!({"UserName": "msmith", "Web": true, "PlainTextPassword": "pw",
            "NotificationPreferences": [], "SSN": "987654321"});
        let cur = json!({"UserName": "msmith", "Web": "Yes", "Password": "10471281899082626783",
            "PasswordHint": null, "SSN": 987654321});
        assert!(
            differences(&rec, &cur).is_empty(),
            "{:?}",
            differences(&rec, &cur)
        );
        let d = differences(&json!({"Web": false}), &cur);
        assert_eq!(d.len(), 1, "No is a real change");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        #[test]
        fn illiad_diff_never_panics(
            a in crate::text::arb::json(),
            b in crate::text::arb::json(),
        ) {
            let _ = differences(&a, &b);
            proptest::prop_assert!(differences(&a, &a).is_empty());
        }
    }
}
