//! Which patrons an export (or a native backup) takes: `--limit N`, `--active-only`,
//! `--group NAME` and `--query CQL` (FOLIO), `--tag NAME`.
//!
//! FOLIO filters are one CQL query sent with the export's keyset paging (so only matching users
//! cross the wire); Libib has no search, so its pages are filtered as they arrive; ILLiad's id
//! list is the filter there, and only `--limit` applies. The summary states the filter.

use crate::exit::UsageError;
use crate::systems::folio::cql;
use crate::systems::folio::refdata::RefData;
use crate::systems::System;
use serde_json::Value;

/// An export's filter (all parts optional; together they must all hold).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// At most this many patrons.
    pub limit: Option<u64>,
    /// Active patrons only (FOLIO `active`, Libib not frozen).
    pub active_only: bool,
    /// FOLIO patron group, by name.
    pub group: Option<String>,
    /// A FOLIO CQL query (without `sortBy`).
    pub query: Option<String>,
    /// A tag the patrons carry (FOLIO `tags.tagList`, Libib `tags`).
    pub tag: Option<String>,
}

impl Filter {
    /// The filter in words for the summary; `None` when everything is exported.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.active_only {
            parts.push("active only".to_string());
        }
        if let Some(g) = &self.group {
            parts.push(format!("group {g}"));
        }
        if let Some(t) = &self.tag {
            parts.push(format!("tag {t}"));
        }
        if let Some(q) = &self.query {
            parts.push(format!("query {q}"));
        }
        if let Some(n) = self.limit {
            parts.push(format!("at most {n}"));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// Refuses what `system` cannot filter on (before anything is sent).
    pub fn check(&self, system: System) -> Result<(), UsageError> {
        let folio_only = [
            ("--group", self.group.is_some()),
            ("--query", self.query.is_some()),
        ];
        for (flag, set) in folio_only {
            if set && system != System::Folio {
                return Err(UsageError(format!(
                    "{flag} filters FOLIO users; {system} has no such search"
                )));
            }
        }
        if system == System::Illiad && (self.active_only || self.tag.is_some()) {
            return Err(UsageError(
                "--active-only and --tag do not apply to ILLiad: its export is the --ids list"
                    .into(),
            ));
        }
        if let Some(q) = &self.query {
            if q.to_ascii_lowercase().contains("sortby") {
                return Err(UsageError(
                    "--query: leave out sortBy (the export pages in id order)".into(),
                ));
            }
        }
        Ok(())
    }

    /// The FOLIO CQL selecting the filtered users.
    ///
    /// Fields: `active`, `patronGroup` (a group's id) and `tags.tagList` (mod-users
    /// `userdata.json`, /work/shared/reference/folio-api.md §users fields); CQL `==` and `and`
    /// (RMB README "CQL: Relations", folio-api.md §1.5).
    pub fn folio_query(&self, names: &RefData) -> Result<String, UsageError> {
        let mut parts = Vec::new();
        if let Some(q) = &self.query {
            parts.push(format!("({q})"));
        }
        if self.active_only {
            parts.push("active==true".into());
        }
        if let Some(g) = &self.group {
            let id = names.groups.id(g).ok_or_else(|| {
                UsageError(format!(
                    "--group \"{g}\" is not a patron group in FOLIO (known: {})",
                    names.groups.names().join(", ")
                ))
            })?;
            parts.push(cql::any_of("patronGroup", &[id]));
        }
        if let Some(t) = &self.tag {
            // `==` on an array compares its JSON text in real FOLIO and finds no one
            // (raml-module-builder CQL2PgJSON, as for roster sync's scope); `=` finds the tag
            // among the list's words, and [`Filter::keeps_folio`] keeps exactly that tag.
            parts.push(format!("tags.tagList={}", cql::quote(t)));
        }
        Ok(if parts.is_empty() {
            "cql.allRecords=1".into()
        } else {
            parts.join(" and ")
        })
    }

    /// Whether a FOLIO user passes what the query cannot say exactly: with `--tag`, the user
    /// holds that tag itself (the query's `=` also finds longer tags holding its words).
    pub fn keeps_folio(&self, u: &Value) -> bool {
        self.tag
            .as_ref()
            .is_none_or(|t| crate::systems::folio::sync::has_tag(u, t))
    }

    /// Whether a Libib patron passes: not frozen with `--active-only` (Libib's `freeze` field,
    /// seeds/libib-patrons-client-docs.txt "Supported Update Fields"), carrying the tag among its
    /// comma-separated `tags` with `--tag` (case-insensitively, as roster sync's scope).
    pub fn keeps_libib(&self, p: &Value) -> bool {
        let text = |f: &str| match p.get(f) {
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => if *b { "1" } else { "" }.to_string(),
            _ => String::new(),
        };
        if self.active_only && !matches!(text("freeze").as_str(), "" | "0" | "false") {
            return false;
        }
        if let Some(tag) = &self.tag {
            let tags = text("tags");
            if !tags.split(',').any(|t| t.trim().eq_ignore_ascii_case(tag)) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn libib_active_and_tag() {
        let f = Filter {
            active_only: true,
            tag: Some("Staff".into()),
            ..Filter::default()
        };
        assert!(f.keeps_libib(&json!({"tags": "grad, staff", "freeze": null})));
        assert!(!f.keeps_libib(&json!({"tags": "grad,staff", "freeze": 1})));
        assert!(!f.keeps_libib(&json!({"tags": "grad"})));
        assert_eq!(f.describe().as_deref(), Some("active only; tag Staff"));
        assert!(Filter::default().describe().is_none());
        assert!(f.check(System::Illiad).is_err());
    }
}
