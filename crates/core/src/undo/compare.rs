//! Comparing a record as a run left it with the record as the target holds it now, to tell
//! whether anyone changed it since (then undo reports `conflict` instead of overwriting).

use serde_json::Value;

fn walk(path: &str, expected: Option<&Value>, current: Option<&Value>, out: &mut Vec<String>) {
    match (expected, current) {
        (None, None) => {}
        // An empty value and an absent one are the same record.
        (Some(v), None) | (None, Some(v)) if is_empty(v) => {}
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
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (Some(a), Some(b))
            if crate::text::date_normalised(a) == crate::text::date_normalised(b) => {}
        _ => out.push(path.to_string()),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The dotted paths where `current` differs from `expected`, ignoring the top-level fields in
/// `ignore` (server-managed metadata). Empty: the record is as expected.
pub fn differences(expected: &Value, current: &Value, ignore: &[&str]) -> Vec<String> {
    let strip = |v: &Value| match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !ignore.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    let mut out = Vec::new();
    walk("", Some(&strip(expected)), Some(&strip(current)), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_and_date_forms_are_not_changes() {
        let a = json!({"id": "1", "personal": {"lastName": "A"}, "expirationDate": "2027-06-30",
                       "metadata": {"updatedDate": "x"}, "tags": []});
        let b = json!({"id": "1", "personal": {"lastName": "A"},
                       "expirationDate": "2027-06-30T00:00:00.000+00:00",
                       "metadata": {"updatedDate": "y"}});
        assert!(differences(&a, &b, &["metadata"]).is_empty());
        let c = json!({"id": "1", "personal": {"lastName": "B"}, "expirationDate": "2027-06-30"});
        assert_eq!(
            differences(&a, &c, &["metadata"]),
            vec!["personal.lastName"]
        );
        let d = json!({"id": "1", "personal": {"lastName": "A", "phone": "5"},
                       "expirationDate": "2027-06-30"});
        assert_eq!(differences(&a, &d, &["metadata"]), vec!["personal.phone"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        #[test]
        fn diff_never_panics_and_a_record_equals_itself(
            a in crate::text::arb::json(),
            b in crate::text::arb::json(),
        ) {
            let _ = differences(&a, &b, &["metadata"]);
            proptest::prop_assert!(differences(&a, &a, &[]).is_empty());
        }
    }
}
