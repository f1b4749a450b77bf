//! Which patrons an export (or a native backup) takes: `--limit N`, `--active-only`,
//! `--group NAME` and `--query CQL` (FOLIO), `--tag NAME`.
//!
//! How a filter is applied is the system's (its connector's [`ReadSide`]): FOLIO sends one CQL
//! query with the export's keyset paging (so only matching users cross the wire); Libib has no
//! search, so its pages are filtered as they arrive; ILLiad's id list is the filter there, and
//! only `--limit` applies. The summary states the filter.
//!
//! [`ReadSide`]: crate::systems::connector::ReadSide

use crate::exit::UsageError;
use crate::systems::registry;
use crate::systems::System;

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
        registry::connector(system).reads().check_filter(self)?;
        if let Some(q) = &self.query {
            if q.to_ascii_lowercase().contains("sortby") {
                return Err(UsageError(
                    "--query: leave out sortBy (the export pages in id order)".into(),
                ));
            }
        }
        Ok(())
    }

    /// Refuses `--group` and `--query` for a system without FOLIO's search.
    pub fn refuse_search(&self, system: System) -> Result<(), UsageError> {
        let folio_only = [
            ("--group", self.group.is_some()),
            ("--query", self.query.is_some()),
        ];
        for (flag, set) in folio_only {
            if set {
                return Err(UsageError(format!(
                    "{flag} filters FOLIO users; {system} has no such search"
                )));
            }
        }
        Ok(())
    }
}
