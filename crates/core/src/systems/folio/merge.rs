//! Merging a mapped record into the record FOLIO holds, and describing the difference.
//!
//! `PUT /users/{id}` is a full replacement, so an update sends the existing record with only the
//! mapped fields changed: protected fields never change (once they have a value), addresses are
//! merged by address type, and blank sources clear a field only when its `on_blank` is `clear`.

use super::refdata::RefData;
use serde_json::{Map, Value};

// `Change` is the planners' neutral type (`crate::plan::Change`); re-exported so FOLIO code
// that names it here keeps working.
pub use crate::plan::Change;

/// Whether two values are the same for FOLIO's purposes (a date-time at midnight UTC equals its
/// date: FOLIO stores dates as date-times).
pub fn same(a: &Value, b: &Value) -> bool {
    crate::text::date_normalised(a) == crate::text::date_normalised(b)
}

/// Merge context.
pub struct Merger<'a> {
    /// Protected field names.
    pub protect: &'a [String],
    /// Reference data, to name address types in change lists.
    pub refdata: &'a RefData,
}

fn is_blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    }
}

impl Merger<'_> {
    fn protected(&self, field: &str, existing: Option<&Value>) -> bool {
        !is_blank(existing) && self.protect.iter().any(|p| p == field)
    }

    fn set(
        &self,
        target: &mut Map<String, Value>,
        key: &str,
        field: &str,
        new: &Value,
        changes: &mut Vec<Change>,
    ) {
        let old = target.get(key);
        if old.is_some_and(|o| same(o, new)) || self.protected(field, old) {
            return;
        }
        changes.push(Change {
            field: field.to_string(),
            old: old.cloned(),
            new: Some(new.clone()),
        });
        target.insert(key.to_string(), new.clone());
    }

    /// Merges `desired` (mapped, names resolved) into `existing`; `clear` lists fields to remove.
    /// Returns the full record to PUT and the changes (empty: unchanged).
    pub fn merge(
        &self,
        existing: &Value,
        desired: &Value,
        clear: &[String],
    ) -> (Value, Vec<Change>) {
        let mut merged = existing.as_object().cloned().unwrap_or_default();
        let mut changes = Vec::new();
        let Some(want) = desired.as_object() else {
            return (Value::Object(merged), changes);
        };
        for (k, v) in want {
            match k.as_str() {
                "personal" => {
                    let mut personal = merged
                        .get("personal")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    if let Some(p) = v.as_object() {
                        for (pk, pv) in p {
                            if pk == "addresses" {
                                self.merge_addresses(&mut personal, pv, &mut changes);
                            } else {
                                self.set(
                                    &mut personal,
                                    pk,
                                    &format!("personal.{pk}"),
                                    pv,
                                    &mut changes,
                                );
                            }
                        }
                    }
                    merged.insert("personal".into(), Value::Object(personal));
                }
                "customFields" => {
                    let mut cf = merged
                        .get("customFields")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    if let Some(c) = v.as_object() {
                        for (ck, cv) in c {
                            self.set(&mut cf, ck, &format!("customFields.{ck}"), cv, &mut changes);
                        }
                    }
                    merged.insert("customFields".into(), Value::Object(cf));
                }
                "tags" => self.set(&mut merged, "tags", "tags", v, &mut changes),
                _ => self.set(&mut merged, k, k, v, &mut changes),
            }
        }
        for field in clear {
            self.clear_field(&mut merged, field, &mut changes);
        }
        (Value::Object(merged), changes)
    }

    fn clear_field(&self, merged: &mut Map<String, Value>, field: &str, changes: &mut Vec<Change>) {
        let parts: Vec<&str> = field.split('.').collect();
        let removed = match parts.as_slice() {
            [k] => {
                if self.protected(field, merged.get(*k)) {
                    None
                } else {
                    merged.remove(*k)
                }
            }
            ["personal", k] | ["customFields", k] => {
                let parent = parts[0];
                let existing = merged.get(parent).and_then(|p| p.get(*k)).cloned();
                if self.protected(field, existing.as_ref()) {
                    None
                } else {
                    merged
                        .get_mut(parent)
                        .and_then(Value::as_object_mut)
                        .and_then(|p| p.remove(*k))
                }
            }
            ["personal", "addresses", ty, part] => {
                let id = self.refdata.address_types.id(ty).map(str::to_string);
                let mut out = None;
                if let (Some(id), false) = (id, self.protect.iter().any(|p| p == field)) {
                    if let Some(Value::Array(addrs)) = merged
                        .get_mut("personal")
                        .and_then(|p| p.get_mut("addresses"))
                    {
                        for a in addrs.iter_mut() {
                            if a.get("addressTypeId").and_then(Value::as_str) == Some(id.as_str()) {
                                out = a.as_object_mut().and_then(|o| o.remove(*part));
                            }
                        }
                    }
                }
                out
            }
            _ => None,
        };
        if let Some(old) = removed {
            if !is_blank(Some(&old)) {
                changes.push(Change {
                    field: field.to_string(),
                    old: Some(old),
                    new: None,
                });
            }
        }
    }

    fn merge_addresses(
        &self,
        personal: &mut Map<String, Value>,
        want: &Value,
        changes: &mut Vec<Change>,
    ) {
        let mut addrs = personal
            .get("addresses")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for w in want.as_array().into_iter().flatten() {
            let Some(wo) = w.as_object() else { continue };
            let ty = wo
                .get("addressTypeId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let ty_name = self
                .refdata
                .address_types
                .name(ty)
                .unwrap_or(ty)
                .to_string();
            let pos = addrs
                .iter()
                .position(|a| a.get("addressTypeId").and_then(Value::as_str) == Some(ty));
            let idx = match pos {
                Some(i) => i,
                None => {
                    addrs.push(serde_json::json!({"addressTypeId": ty}));
                    addrs.len() - 1
                }
            };
            if let Some(target) = addrs[idx].as_object_mut() {
                for (k, v) in wo {
                    if k == "addressTypeId" {
                        continue;
                    }
                    self.set(
                        target,
                        k,
                        &format!("personal.addresses.{ty_name}.{k}"),
                        v,
                        changes,
                    );
                }
            }
        }
        personal.insert("addresses".into(), Value::Array(addrs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::systems::folio::refdata::Names;
    use serde_json::json;

    fn rd() -> RefData {
        RefData {
            address_types: Names::new([("Home".into(), "h".into()), ("Work".into(), "w".into())]),
            ..RefData::default()
        }
    }

    #[test]
    fn unchanged_when_dates_differ_only_in_form() {
        let rd = rd();
        let m = Merger {
            protect: &[],
            refdata: &rd,
        };
        let existing = json!({"id": "1", "expirationDate": "2027-06-30T00:00:00.000+00:00",
            "personal": {"lastName": "Doe", "addresses": [{"addressTypeId": "h", "city": "X", "id": "a"}]}});
        let desired = json!({"expirationDate": "2027-06-30",
            "personal": {"lastName": "Doe", "addresses": [{"addressTypeId": "h", "city": "X"}]}});
        let (_, ch) = m.merge(&existing, &desired, &[]);
        assert!(ch.is_empty(), "{ch:?}");
    }

    #[test]
    fn only_mapped_fields_change_protected_never_addresses_by_type() {
        let rd = rd();
        let protect = vec!["personal.email".to_string()];
        let m = Merger {
            protect: &protect,
            refdata: &rd,
        };
        let existing = json!({"id": "1", "barcode": "b1", "customFields": {"x": 1},
            "personal": {"lastName": "Doe", "email": "keep@x.edu", "phone": "1",
              "addresses": [{"addressTypeId": "h", "city": "Old", "id": "a"}, {"addressTypeId": "w", "city": "W"}]}});
        let desired = json!({"personal": {"lastName": "Doe", "email": "new@x.edu",
            "addresses": [{"addressTypeId": "h", "city": "New"}]}});
        let (merged, ch) = m.merge(&existing, &desired, &["personal.phone".into()]);
        let names: Vec<String> = ch.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            names,
            vec![
                "personal.addresses.Home.city: \"Old\" → \"New\"".to_string(),
                "personal.phone: \"1\" → (none)".to_string()
            ]
        );
        assert_eq!(merged["personal"]["email"], "keep@x.edu");
        assert_eq!(merged["barcode"], "b1");
        assert_eq!(merged["customFields"]["x"], 1);
        assert_eq!(merged["personal"]["addresses"][0]["id"], "a");
        assert_eq!(merged["personal"]["addresses"][1]["city"], "W");
        assert!(merged["personal"].get("phone").is_none());
    }

    #[test]
    fn protected_field_is_filled_when_empty() {
        let rd = rd();
        let protect = vec!["personal.email".to_string()];
        let m = Merger {
            protect: &protect,
            refdata: &rd,
        };
        let (merged, ch) = m.merge(
            &json!({"id": "1", "personal": {"lastName": "D"}}),
            &json!({"personal": {"email": "a@b.cd"}}),
            &[],
        );
        assert_eq!(ch.len(), 1);
        assert_eq!(merged["personal"]["email"], "a@b.cd");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        #[test]
        fn merge_never_panics_and_a_record_merged_with_itself_is_unchanged(
            existing in crate::text::arb::json(),
            desired in crate::text::arb::json(),
            clear in proptest::collection::vec(crate::text::arb::text(), 0..3),
        ) {
            let rd = rd();
            let protect = vec!["personal.email".to_string()];
            let m = Merger { protect: &protect, refdata: &rd };
            let _ = m.merge(&existing, &desired, &clear);
            proptest::prop_assert!(same(&existing, &existing));
        }
    }
}
