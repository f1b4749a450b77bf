//! Where a field's value goes in the output record: FOLIO's nested shape (dotted paths, the
//! `personal.addresses` array keyed by address-type name, `tags.tagList`) or a flat object
//! (ILLiad, Libib).
//!
//! Invariant: insertion never panics, whatever the record already holds; a non-object in the way
//! is replaced by an object.

use crate::systems::System;
use serde_json::{Map, Value};

/// The compiled output location of one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutPath {
    /// A top-level key.
    Flat(String),
    /// Nested objects: `personal.lastName` → `["personal", "lastName"]`.
    Nested(Vec<String>),
    /// `personal.addresses.<Type>.<part>`: an element of the `personal.addresses` array.
    Address {
        /// The address-type name (resolved to its id later).
        type_name: String,
        /// The address property (`city`, `addressLine1`, …).
        part: String,
    },
    /// FOLIO `tags` → `{"tags": {"tagList": [...]}}`.
    Tags,
    /// FOLIO `personal.addresses` (a list of address-type names): the order of the addresses
    /// array. Compiled mappings apply it after every address field.
    AddressOrder,
}

impl OutPath {
    /// The path of field `name` in `system`'s record shape.
    pub(crate) fn for_field(system: System, name: &str) -> OutPath {
        crate::systems::registry::schema(system).out_path(name)
    }

    /// The top-level record key this path writes under.
    pub(crate) fn top_key(&self) -> &str {
        match self {
            OutPath::Flat(k) => k,
            OutPath::Nested(parts) => parts.first().map(String::as_str).unwrap_or(""),
            OutPath::Address { .. } | OutPath::AddressOrder => "personal",
            OutPath::Tags => "tags",
        }
    }

    /// Inserts `value` into `record` (an object) at this path.
    pub(crate) fn insert(&self, record: &mut Map<String, Value>, value: Value) {
        match self {
            OutPath::Flat(k) => {
                record.insert(k.clone(), value);
            }
            OutPath::Nested(parts) => {
                let Some((last, parents)) = parts.split_last() else {
                    return;
                };
                let mut obj = record;
                for p in parents {
                    obj = child_object(obj, p);
                }
                obj.insert(last.clone(), value);
            }
            OutPath::Address { type_name, part } => {
                let personal = child_object(record, "personal");
                let list = personal
                    .entry("addresses")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !list.is_array() {
                    *list = Value::Array(Vec::new());
                }
                let Value::Array(items) = list else { return };
                let pos = items.iter().position(|a| {
                    a.get("addressTypeId").and_then(Value::as_str) == Some(type_name.as_str())
                });
                let idx = match pos {
                    Some(i) => i,
                    None => {
                        let mut a = Map::new();
                        a.insert("addressTypeId".into(), Value::String(type_name.clone()));
                        items.push(Value::Object(a));
                        items.len() - 1
                    }
                };
                if let Some(Value::Object(a)) = items.get_mut(idx) {
                    a.insert(part.clone(), value);
                }
            }
            OutPath::AddressOrder => {
                let order: Vec<&str> = match &value {
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    Value::String(s) => vec![s.as_str()],
                    _ => Vec::new(),
                };
                let Some(Value::Array(items)) = record
                    .get_mut("personal")
                    .and_then(|p| p.get_mut("addresses"))
                else {
                    return;
                };
                // Listed types in the listed order, then any others as they were (stable).
                items.sort_by_key(|a| {
                    let ty = a.get("addressTypeId").and_then(Value::as_str).unwrap_or("");
                    order.iter().position(|o| *o == ty).unwrap_or(order.len())
                });
            }
            OutPath::Tags => {
                let list = match value {
                    Value::Array(a) => Value::Array(a),
                    other => Value::Array(vec![other]),
                };
                child_object(record, "tags").insert("tagList".into(), list);
            }
        }
    }
}

/// The object under `key`, created (or replacing a non-object) as needed.
fn child_object<'a>(obj: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    // Look up first: allocating the key on every row would be wasted work once it exists.
    if !matches!(obj.get(key), Some(Value::Object(_))) {
        obj.insert(key.to_string(), Value::Object(Map::new()));
    }
    match obj.get_mut(key) {
        Some(Value::Object(m)) => m,
        _ => unreachable!("an object was just inserted under this key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(system: System, pairs: &[(&str, Value)]) -> Value {
        let mut rec = Map::new();
        for (name, v) in pairs {
            OutPath::for_field(system, name).insert(&mut rec, v.clone());
        }
        Value::Object(rec)
    }

    #[test]
    fn folio_nested_addresses_custom_fields_and_tags() {
        let rec = build(
            System::Folio,
            &[
                ("username", json!("jdoe")),
                ("personal.lastName", json!("Doe")),
                ("personal.addresses.Home.addressLine1", json!("1 Main St")),
                ("personal.addresses.Work.city", json!("Springfield")),
                ("personal.addresses.Home.city", json!("Shelbyville")),
                ("customFields.studentLevel", json!("UG")),
                ("tags", json!(["a", "b"])),
            ],
        );
        assert_eq!(
            rec,
            json!({
                "username": "jdoe",
                "personal": {
                    "lastName": "Doe",
                    "addresses": [
                        {"addressTypeId": "Home", "addressLine1": "1 Main St", "city": "Shelbyville"},
                        {"addressTypeId": "Work", "city": "Springfield"}
                    ]
                },
                "customFields": {"studentLevel": "UG"},
                "tags": {"tagList": ["a", "b"]}
            })
        );
    }

    #[test]
    fn flat_for_illiad_and_libib() {
        let rec = build(
            System::Illiad,
            &[("UserName", json!("jdoe")), ("NVTGC", json!("ILL"))],
        );
        assert_eq!(rec, json!({"UserName": "jdoe", "NVTGC": "ILL"}));
        assert_eq!(
            OutPath::for_field(System::Libib, "first_name"),
            OutPath::Flat("first_name".into())
        );
    }

    #[test]
    fn address_order_sorts_the_addresses_it_names() {
        let rec = build(
            System::Folio,
            &[
                ("personal.addresses.Claim.city", json!("C")),
                ("personal.addresses.Home.city", json!("H")),
                ("personal.addresses.Work.city", json!("W")),
                ("personal.addresses", json!(["Work", "Home"])),
            ],
        );
        let types: Vec<&str> = rec["personal"]["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["addressTypeId"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["Work", "Home", "Claim"]);
        // Nothing to order: nothing happens.
        assert_eq!(
            build(System::Folio, &[("personal.addresses", json!(["Work"]))]),
            json!({})
        );
    }

    #[test]
    fn tags_string_becomes_one_item_list() {
        let rec = build(System::Folio, &[("tags", json!("vip"))]);
        assert_eq!(rec, json!({"tags": {"tagList": ["vip"]}}));
    }
}
