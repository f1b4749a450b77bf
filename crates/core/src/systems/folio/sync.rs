//! Roster sync for FOLIO ([`crate::sync`]): the CQL selecting the active in-scope users, paging
//! through them, and the record that deactivates (or expires) an absent one.

use crate::dedupe::fold;
use crate::mapping::Scope;
use crate::sync::{at_path, Absent, MissingPlan, MissingPolicy};
use crate::systems::folio::client::{FolioClient, FolioError};
use crate::systems::folio::cql;
use crate::systems::folio::refdata::RefData;
use serde_json::Value;
use std::collections::HashSet;

/// The CQL query selecting active in-scope FOLIO users, or an error naming an unknown group.
pub fn folio_scope_query(scope: &Scope, refdata: &RefData) -> Result<String, String> {
    let mut parts = vec!["active==true".to_string()];
    if !scope.patron_groups.is_empty() {
        let mut ids = Vec::new();
        for g in &scope.patron_groups {
            match refdata.groups.id(g) {
                Some(id) => ids.push(id.to_string()),
                None => {
                    return Err(format!(
                        "[scope] patron group \"{g}\" is not a group in FOLIO (known: {})",
                        refdata.groups.names().join(", ")
                    ))
                }
            }
        }
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        parts.push(cql::any_of("patronGroup", &refs));
    }
    if let Some(p) = &scope.external_id_prefix {
        // quote() escapes `*`; the trailing wildcard is added after quoting.
        let q = cql::quote(p);
        parts.push(format!("externalSystemId==\"{}*\"", &q[1..q.len() - 1]));
    }
    if let Some(t) = &scope.tag {
        // `tags.tagList` is an array: CQL2PgJSON compares `==` with the array's JSON text
        // (`jsonb->'tags'->>'tagList'`, dbschema SqlUtil.cqlNameAsSqlText), which matches no
        // one; `=` is a full-text phrase query over that text (CQL2PgJSON.queryByFt), which finds
        // the tag, and also longer tags containing its words: [`folio_missing`] keeps only the
        // patrons holding the tag itself.
        parts.push(format!("tags.tagList={}", cql::quote(t)));
    }
    Ok(parts.join(" and "))
}

/// Whether a FOLIO user holds `tag` in `tags.tagList` (compared folded, as FOLIO's query does).
pub(crate) fn has_tag(u: &Value, tag: &str) -> bool {
    let want = fold(tag);
    u.pointer("/tags/tagList")
        .and_then(Value::as_array)
        .is_some_and(|l| l.iter().filter_map(Value::as_str).any(|t| fold(t) == want))
}

/// Pages through the active in-scope FOLIO users (by id, so paging is stable) and returns those
/// whose `match_field` value is not in `roster_keys` (folded with [`fold`]). With a `[scope]`
/// tag, only users holding exactly that tag are in scope (the query's `=` also finds longer
/// tags).
pub async fn folio_missing(
    client: &FolioClient,
    query: &str,
    scope: &Scope,
    match_field: &str,
    roster_keys: &HashSet<String>,
) -> Result<MissingPlan, FolioError> {
    const PAGE: usize = 1000;
    let mut plan = MissingPlan::default();
    let mut last: Option<String> = None;
    loop {
        let users = client
            .users_after(query, last.as_deref(), PAGE, "in-scope users")
            .await?
            .users;
        let n = users.len();
        for u in users {
            let Some(id) = u.get("id").and_then(Value::as_str).map(str::to_string) else {
                continue;
            };
            last = Some(id.clone());
            if scope.tag.as_deref().is_some_and(|t| !has_tag(&u, t)) {
                continue;
            }
            plan.in_scope += 1;
            let key = at_path(&u, match_field)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if key.is_empty() || !roster_keys.contains(&fold(&key)) {
                plan.absent.push(Absent { key, id, record: u });
            }
        }
        if n < PAGE {
            return Ok(plan);
        }
    }
}

/// The FOLIO record to PUT for an absent user: inactive, and expired today with `expire` (an
/// earlier expiration date is kept).
pub fn folio_deactivated(record: &Value, policy: MissingPolicy, today: &str) -> Value {
    let mut r = record.clone();
    if let Some(obj) = r.as_object_mut() {
        obj.insert("active".into(), Value::Bool(false));
        if policy == MissingPolicy::Expire {
            let current = obj
                .get("expirationDate")
                .and_then(Value::as_str)
                .map(|s| s.get(..10).unwrap_or(s).to_string());
            if current.as_deref().is_none_or(|c| c > today) {
                obj.insert("expirationDate".into(), Value::String(today.to_string()));
            }
        }
        obj.remove("metadata");
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deactivation_keeps_earlier_expiry_and_drops_metadata() {
        let r = json!({"id": "u", "active": true, "expirationDate": "2030-01-01T00:00:00.000+00:00", "metadata": {"x": 1}});
        let d = folio_deactivated(&r, MissingPolicy::Expire, "2026-11-23");
        assert_eq!(d["active"], false);
        assert_eq!(d["expirationDate"], "2026-11-23");
        assert!(d.get("metadata").is_none());
        let r = json!({"id": "u", "active": true, "expirationDate": "2020-01-01"});
        let d = folio_deactivated(&r, MissingPolicy::Expire, "2026-11-23");
        assert_eq!(d["expirationDate"], "2020-01-01");
        let d = folio_deactivated(&r, MissingPolicy::Deactivate, "2026-11-23");
        assert_eq!(d["expirationDate"], "2020-01-01");
        assert_eq!(d["active"], false);
    }
}
