//! Roster sync for Libib ([`crate::sync`]): the unfrozen in-scope patrons of a full listing.

use crate::dedupe::fold;
use crate::mapping::Scope;
use crate::sync::{Absent, MissingPlan};
use serde_json::Value;
use std::collections::HashSet;

/// The unfrozen in-scope Libib patrons (from a full listing) whose `match_field` value is not in
/// `roster_keys`. Scope: `tag` among the patron's comma-separated tags, `external_id_prefix` on
/// `patron_id`.
pub fn libib_missing(
    patrons: &[Value],
    scope: &Scope,
    match_field: &str,
    roster_keys: &HashSet<String>,
) -> MissingPlan {
    let text = |p: &Value, f: &str| -> String {
        match p.get(f) {
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => if *b { "1" } else { "" }.to_string(),
            _ => String::new(),
        }
    };
    let mut plan = MissingPlan::default();
    for p in patrons {
        let frozen = !matches!(text(p, "freeze").as_str(), "" | "0" | "false");
        if frozen {
            continue;
        }
        if let Some(tag) = &scope.tag {
            let tags = text(p, "tags");
            if !tags.split(',').any(|t| t.trim().eq_ignore_ascii_case(tag)) {
                continue;
            }
        }
        if let Some(prefix) = &scope.external_id_prefix {
            if !text(p, "patron_id").starts_with(prefix.as_str()) {
                continue;
            }
        }
        let barcode = text(p, "barcode");
        if barcode.is_empty() {
            continue;
        }
        plan.in_scope += 1;
        let key = text(p, match_field);
        if key.is_empty() || !roster_keys.contains(&fold(&key)) {
            plan.absent.push(Absent {
                key,
                id: barcode,
                record: p.clone(),
            });
        }
    }
    plan
}
