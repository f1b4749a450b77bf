//! [`Change`]: one field that differs between what a target holds and what a run would send,
//! shown in the preview and the report (`field: old → new`), and [`differences`], the
//! system-neutral field-by-field diff of two records (restore).

use serde_json::Value;

/// One changed field.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Field name as written in mapping files.
    pub field: String,
    /// Value before (None: absent).
    pub old: Option<Value>,
    /// Value after (None: cleared).
    pub new: Option<Value>,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<Value>| match v {
            None => "(none)".to_string(),
            Some(Value::String(s)) => format!("\"{s}\""),
            Some(other) => other.to_string(),
        };
        write!(
            f,
            "{}: {} → {}",
            self.field,
            show(&self.old),
            show(&self.new)
        )
    }
}

/// The fields that differ between two records, by path (`personal.lastName`,
/// `customFields.sierraCode`): objects are compared key by key, anything else as a whole.
pub fn differences(old: &Value, new: &Value) -> Vec<Change> {
    fn walk(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<Change>) {
        match (old, new) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&p, a.get(k), b.get(k), out);
                }
            }
            (a, b) if a == b => {}
            (a, b) => out.push(Change {
                field: path.to_string(),
                old: a.cloned(),
                new: b.cloned(),
            }),
        }
    }
    let mut out = Vec::new();
    walk("", Some(old), Some(new), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_nested_fields() {
        let old = json!({"active": true, "personal": {"lastName": "Lee", "phone": "1"},
            "customFields": {"a": "x"}});
        let new = json!({"active": false, "personal": {"lastName": "Lee"},
            "customFields": {"a": "y", "b": "z"}});
        let d: Vec<String> = differences(&old, &new)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            d,
            vec![
                "active: true → false",
                "customFields.a: \"x\" → \"y\"",
                "customFields.b: (none) → \"z\"",
                "personal.phone: \"1\" → (none)",
            ]
        );
        assert!(differences(&old, &old).is_empty());
    }
}
