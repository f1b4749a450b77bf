//! Libib planner: finds each row's patron by e-mail or barcode — in a snapshot of every patron
//! when paging through them all costs fewer requests than one lookup per row (Libib allows one
//! request per 2 s), else with `GET /patrons/{id}` — then decides create, update (only the
//! changed fields, addressed by barcode so a changed e-mail can be updated), unchanged, or
//! conflict (the e-mail, barcode or — with a snapshot — `patron_id` belongs to another patron;
//! Libib does not keep `patron_id` unique itself, so a repeat would make a second patron).

use crate::plan::Change;
use crate::plan::{Action, Candidate, Planned};
use crate::systems::libib::client::{field, LibibClient, LibibError};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Fields Libib refuses to blank.
const NEVER_EMPTY: [&str; 4] = ["first_name", "last_name", "country", "barcode"];

/// Every patron, indexed by folded e-mail, by barcode and by `patron_id`.
#[derive(Debug, Default)]
pub struct Snapshot {
    patrons: Vec<Value>,
    by_email: HashMap<String, usize>,
    by_barcode: HashMap<String, usize>,
    by_patron_id: HashMap<String, usize>,
}

impl Snapshot {
    /// Indexes a full patron list.
    pub fn new(patrons: Vec<Value>) -> Snapshot {
        let mut s = Snapshot::default();
        for (i, p) in patrons.iter().enumerate() {
            if let Some(e) = field(p, "email") {
                s.by_email.entry(e.to_lowercase()).or_insert(i);
            }
            if let Some(b) = field(p, "barcode") {
                s.by_barcode.entry(b.to_string()).or_insert(i);
            }
            if let Some(id) = field(p, "patron_id") {
                s.by_patron_id.entry(id.trim().to_string()).or_insert(i);
            }
        }
        s.patrons = patrons;
        s
    }

    /// Every patron it holds.
    pub fn patrons(&self) -> &[Value] {
        &self.patrons
    }

    /// How many patrons it holds.
    pub fn len(&self) -> usize {
        self.patrons.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.patrons.is_empty()
    }

    /// The patron whose `field` (`email`, `barcode` or `patron_id`) is `value`.
    pub fn find(&self, field: &str, value: &str) -> Option<&Value> {
        let i = match field {
            "email" => self.by_email.get(&value.trim().to_lowercase()),
            "patron_id" => self.by_patron_id.get(value.trim()),
            _ => self.by_barcode.get(value.trim()),
        }?;
        self.patrons.get(*i)
    }
}

/// A mapped value as the text Libib takes in a query parameter (lists joined with commas,
/// `freeze` as `1` or empty); `None` for blank.
pub fn param_text(name: &str, v: &Value) -> Option<String> {
    let s = match v {
        Value::Null => return None,
        Value::String(s) => s.trim().to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| param_text(name, i))
            .collect::<Vec<_>>()
            .join(","),
        Value::Bool(b) if name == "freeze" => {
            if *b {
                "1".into()
            } else {
                String::new()
            }
        }
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(_) => v.to_string(),
    };
    (!s.is_empty()).then_some(s)
}

/// A value in comparable form: e-mail and country case-folded, lists as sorted items, `freeze`
/// as `1` or nothing.
pub fn comparable(name: &str, v: Option<&Value>) -> Option<String> {
    let t = param_text(name, v?)?;
    Some(match name {
        "email" | "country" => t.to_lowercase(),
        "tags" | "notification_emails" => {
            let mut items: Vec<String> = t
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            items.sort();
            items.join(",")
        }
        "freeze" if t == "0" => return None,
        _ => t,
    })
}

/// The query parameters for a create: every non-blank mapped field.
pub fn create_params(record: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(obj) = record.as_object() {
        for (k, v) in obj {
            if let Some(t) = param_text(k, v) {
                out.insert(k.clone(), Value::String(t));
            }
        }
    }
    out
}

/// The changed fields only (protected fields that already have a value are left alone; fields
/// in `clear` are sent empty, which Libib takes as "remove"), and the changes.
pub fn update_params(
    record: &Value,
    current: &Value,
    protect: &[String],
    clear: &[String],
) -> (Map<String, Value>, Vec<Change>) {
    let mut params = Map::new();
    let mut changes = Vec::new();
    let has_value = |k: &str| comparable(k, current.get(k)).is_some();
    let protected = |k: &str| protect.iter().any(|p| p == k) && has_value(k);
    if let Some(obj) = record.as_object() {
        for (k, v) in obj {
            if protected(k) || comparable(k, Some(v)) == comparable(k, current.get(k)) {
                continue;
            }
            let Some(t) = param_text(k, v) else { continue };
            params.insert(k.clone(), Value::String(t.clone()));
            changes.push(Change {
                field: k.clone(),
                old: current.get(k).filter(|o| !o.is_null()).cloned(),
                new: Some(Value::String(t)),
            });
        }
    }
    for k in clear {
        if NEVER_EMPTY.contains(&k.as_str()) || protected(k) || !has_value(k) {
            continue;
        }
        params.insert(k.clone(), Value::String(String::new()));
        changes.push(Change {
            field: k.clone(),
            old: current.get(k).cloned(),
            new: None,
        });
    }
    (params, changes)
}

/// What the Libib planner needs besides the rows.
pub struct LibibPlanner<'a> {
    /// Connected client.
    pub client: &'a LibibClient,
    /// The mapping's match field: `email` or `barcode`.
    pub match_field: &'a str,
    /// Protected fields.
    pub protect: &'a [String],
    /// List fields merged on update (only `tags` applies).
    pub merge: &'a [String],
    /// Every patron, when the run took a snapshot; else rows are looked up one by one.
    pub snapshot: Option<&'a Snapshot>,
}

impl LibibPlanner<'_> {
    async fn find(&self, name: &str, value: &str) -> Result<Option<Value>, LibibError> {
        match self.snapshot {
            Some(s) => Ok(s.find(name, value).cloned()),
            // `GET /patrons/{id}` takes a barcode or an e-mail, never a patron_id: "Looking up
            // by patron_id is not supported" (../shared/reference/illiad-libib-api.md:59); it
            // "can only be a secondary match, found by scanning a full list" (line 403).
            None if name == "patron_id" => Ok(None),
            None => self.client.get(value).await,
        }
    }

    async fn decide(&self, row: &Candidate) -> Result<Action, LibibError> {
        let record = &row.record;
        let key = field(record, self.match_field).unwrap_or(row.key.as_str());
        let current = self.find(self.match_field, key).await?;
        // Lookups by id accept either an e-mail or a barcode: make sure the hit is on our field.
        let current = current.filter(|p| {
            field(p, self.match_field).is_some_and(|v| {
                if self.match_field == "email" {
                    v.eq_ignore_ascii_case(key)
                } else {
                    v == key
                }
            })
        });
        // Matched by e-mail but not found: a row that carries the patron's barcode is the same
        // patron with a new e-mail, updated through the barcode.
        let current = match current {
            None if self.match_field == "email" => match field(record, "barcode") {
                Some(b) => self.find("barcode", b).await?,
                None => None,
            },
            c => c,
        };
        let current_barcode = current
            .as_ref()
            .and_then(|p| field(p, "barcode"))
            .map(str::to_string);
        for other in ["email", "barcode", "patron_id"] {
            if other == self.match_field {
                continue;
            }
            let Some(v) = field(record, other) else {
                continue;
            };
            if current.as_ref().is_some_and(|c| {
                comparable(other, c.get(other)) == comparable(other, record.get(other))
            }) {
                continue;
            }
            if let Some(holder) = self.find(other, v).await? {
                let hb = field(&holder, "barcode").unwrap_or("?");
                if current_barcode.as_deref() != Some(hb) {
                    return Ok(Action::Conflict(format!(
                        "{other} \"{v}\" already belongs to another Libib patron (barcode {hb})"
                    )));
                }
            }
        }
        let Some(current) = current else {
            return Ok(Action::Create(Value::Object(create_params(record))));
        };
        let Some(barcode) = current_barcode else {
            return Ok(Action::Conflict(
                "the matching Libib patron has no barcode".into(),
            ));
        };
        let mut record = record.clone();
        if self.merge.iter().any(|m| m == "tags") {
            let items = |v: Option<&Value>| -> Vec<String> {
                v.and_then(|v| param_text("tags", v))
                    .map(|t| t.split(',').map(str::to_string).collect())
                    .unwrap_or_default()
            };
            let (stored, mapped) = (items(current.get("tags")), items(record.get("tags")));
            if !mapped.is_empty() {
                record["tags"] = Value::Array(crate::plan::merged_list(
                    stored.iter().map(String::as_str),
                    mapped.iter().map(String::as_str),
                ));
            }
        }
        let (params, changes) = update_params(&record, &current, self.protect, &row.clear);
        Ok(if changes.is_empty() {
            Action::Unchanged { id: barcode }
        } else {
            Action::Update {
                id: barcode,
                record: Value::Object(params),
                changes,
                before: current.clone(),
            }
        })
    }

    /// Plans one chunk, one row at a time (Libib is never queried concurrently).
    pub async fn plan(&self, chunk: Vec<Candidate>) -> Result<Vec<Planned>, LibibError> {
        let mut out = Vec::with_capacity(chunk.len());
        for row in chunk {
            let action = self.decide(&row).await?;
            out.push(Planned { row, action });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn updates_carry_only_changed_unprotected_fields() {
        let current = json!({"barcode": "2020000000013", "first_name": "Ann", "last_name": "Lee",
            "email": "ann@x.edu", "phone": "555", "tags": "undergrad", "city": "Madison", "freeze": null});
        let record = json!({"first_name": "Ann", "last_name": "Lee-Smith", "email": "ANN@x.edu",
            "phone": "777", "tags": ["undergrad"], "city": "Madison"});
        let protect = vec!["phone".to_string()];
        let (params, changes) = update_params(&record, &current, &protect, &["city".into()]);
        assert_eq!(
            Value::Object(params),
            json!({"last_name": "Lee-Smith", "city": ""})
        );
        assert_eq!(changes.len(), 2);
        let (params, changes) = update_params(&current, &current, &[], &[]);
        assert!(params.is_empty() && changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn create_params_join_lists_and_freeze() {
        let p = create_params(
            &json!({"first_name": " A ", "tags": ["a", "b"], "freeze": true, "zip": ""}),
        );
        assert_eq!(
            Value::Object(p),
            json!({"first_name": "A", "tags": "a,b", "freeze": "1"})
        );
    }

    #[test]
    fn snapshot_finds_by_folded_email_and_barcode() {
        let s = Snapshot::new(vec![
            json!({"barcode": "2020000000013", "email": "A@x.edu"}),
        ]);
        assert!(s.find("email", "a@X.edu").is_some());
        assert!(s.find("barcode", "2020000000013").is_some());
        assert!(s.find("barcode", "2020000000020").is_none());
        let s = Snapshot::new(vec![
            json!({"barcode": "2020000000013", "email": "a@x.edu", "patron_id": "900100231"}),
        ]);
        assert!(s.find("patron_id", " 900100231").is_some());
        assert!(s.find("patron_id", "900100232").is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        #[test]
        fn libib_diff_never_panics(
            a in crate::text::arb::json(),
            b in crate::text::arb::json(),
        ) {
            let _ = update_params(&a, &b, &["phone".to_string()], &["city".to_string()]);
            let _ = create_params(&a);
            let (_, changes) = update_params(&a, &a, &[], &[]);
            proptest::prop_assert!(changes.is_empty());
        }
    }
}
