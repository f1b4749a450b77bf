//! Roster sync: patrons in the mapping's `[scope]` who are absent from the roster.
//!
//! A semester roster is the whole population of its scope, so an in-scope patron whose match key
//! appears on no row has left: `--missing deactivate` sets FOLIO `active = false`,
//! `--missing expire` also sets `expirationDate` to today (never later than it was); Libib patrons
//! are frozen. Before anything is written the share of in-scope patrons that would change is
//! checked against `--max-missing`, so a truncated file cannot deactivate the campus.

use crate::dedupe::fold;
use crate::mapping::Scope;
use crate::systems::folio::client::FolioClient;
use crate::systems::folio::client::FolioError;
use crate::systems::folio::cql;
use crate::systems::folio::refdata::RefData;
use clap::ValueEnum;
use serde_json::Value;
use std::collections::HashSet;

/// The file name absent patrons are reported under (their report lines number them 1, 2, …).
pub const ABSENT_FILE: &str = "(absent from roster)";

/// `--max-missing` when not given: 10 % of the in-scope patrons (the CLI's default).
pub const DEFAULT_MAX_MISSING: f64 = 0.10;

/// What happens to in-scope patrons absent from the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum MissingPolicy {
    /// Leave them alone (the default).
    #[default]
    Ignore,
    /// Deactivate them (FOLIO `active = false`; Libib freeze).
    Deactivate,
    /// Deactivate them and set their expiration date to today (FOLIO).
    Expire,
}

/// An in-scope patron whose key is on no roster row.
#[derive(Debug, Clone)]
pub struct Absent {
    /// Their match-key value (may be empty when the record has none).
    pub key: String,
    /// Target id (FOLIO UUID, Libib barcode).
    pub id: String,
    /// The record as the target holds it.
    pub record: Value,
}

/// The in-scope population and who of it is absent.
#[derive(Debug, Default)]
pub struct MissingPlan {
    /// In-scope patrons found in the target.
    pub in_scope: usize,
    /// Those absent from the roster, in the target's order.
    pub absent: Vec<Absent>,
}

impl MissingPlan {
    /// The share of the in-scope population that would change (0 when the scope is empty).
    pub fn share(&self) -> f64 {
        if self.in_scope == 0 {
            0.0
        } else {
            self.absent.len() as f64 / self.in_scope as f64
        }
    }

    /// `Err(reason)` when more than `max_share` of the scope would change and `force` is off.
    pub fn check_threshold(&self, max_share: f64, force: bool) -> Result<(), String> {
        if force || self.share() <= max_share {
            return Ok(());
        }
        Err(format!(
            "refusing to deactivate {} of {} in-scope patrons ({:.1}%), more than --max-missing {:.1}%; \
             check that the roster is complete, or pass --force; nothing was written",
            self.absent.len(),
            self.in_scope,
            self.share() * 100.0,
            max_share * 100.0
        ))
    }
}

/// Reads a JSON value at a dotted path (`personal.email`).
pub fn at_path<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(record, |v, k| v.get(k))
}

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
    fn threshold_refuses_above_share_unless_forced() {
        let plan = MissingPlan {
            in_scope: 100,
            absent: (0..11)
                .map(|i| Absent {
                    key: i.to_string(),
                    id: i.to_string(),
                    record: Value::Null,
                })
                .collect(),
        };
        let e = plan.check_threshold(0.10, false).unwrap_err();
        assert!(e.contains("11 of 100"), "{e}");
        assert!(plan.check_threshold(0.10, true).is_ok());
        assert!(plan.check_threshold(0.11, false).is_ok());
        assert!(MissingPlan::default().check_threshold(0.0, false).is_ok());
    }

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

    #[test]
    fn dotted_paths() {
        let r = json!({"personal": {"email": "a@b.c"}});
        assert_eq!(at_path(&r, "personal.email"), Some(&json!("a@b.c")));
        assert_eq!(at_path(&r, "personal.phone"), None);
    }
}
