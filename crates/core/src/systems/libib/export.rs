//! Libib's read side of an export: `GET /patrons?page=N` (50 a page) at the target's pace (one
//! request per 2.05 s by default), stopping when `page >= pages`, a page is empty or short, or at
//! the ceiling `ceil(total/50) + 1`; patrons are de-duplicated by barcode (pages shift when
//! patrons are added or restored during the export) and a count that differs from `total` is
//! logged. Libib has no search: filters apply to each page as it arrives ([`keeps`]).
//!
//! Invariant: memory is one page plus the set of barcodes seen.

use super::client::{LibibClient, Page};
use crate::exit::TargetError;
use crate::export::columns::{texts, top_level_leaves};
use crate::export::filter::Filter;
use crate::export::source::SourceStats;
use crate::http::Governed;
use crate::systems::connector::{Batch, Pager, RecordFields};
use crate::systems::schema;
use crate::systems::System;
use serde_json::Value;
use std::collections::HashSet;

/// Libib's fixed page size.
pub const LIBIB_PAGE: usize = 50;

/// Whether a Libib patron passes: not frozen with `--active-only` (Libib's `freeze` field,
/// seeds/libib-patrons-client-docs.txt "Supported Update Fields"), carrying the tag among its
/// comma-separated `tags` with `--tag` (case-insensitively, as roster sync's scope).
pub fn keeps(filter: &Filter, p: &Value) -> bool {
    let text = |f: &str| match p.get(f) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => if *b { "1" } else { "" }.to_string(),
        _ => String::new(),
    };
    if filter.active_only && !matches!(text("freeze").as_str(), "" | "0" | "false") {
        return false;
    }
    if let Some(tag) = &filter.tag {
        let tags = text("tags");
        if !tags.split(',').any(|t| t.trim().eq_ignore_ascii_case(tag)) {
            return false;
        }
    }
    true
}

/// Libib patrons a page at a time.
pub struct LibibPager {
    client: LibibClient,
    /// Page 1, fetched by the connection check and not yet handed out.
    first: Option<Page>,
    page: u64,
    ceiling: Option<u64>,
    seen: HashSet<String>,
    filter: Filter,
}

impl LibibPager {
    /// A pager starting with `first` (page 1, fetched when connecting), kept by `filter`.
    pub fn new(client: LibibClient, first: Page, filter: Filter) -> LibibPager {
        LibibPager {
            client,
            first: Some(first),
            page: 0,
            ceiling: None,
            seen: HashSet::new(),
            filter,
        }
    }
}

#[async_trait::async_trait]
impl Pager for LibibPager {
    async fn next(&mut self, stats: &mut SourceStats) -> anyhow::Result<Batch> {
        let mut last = false;
        self.page += 1;
        let fetched = match self.first.take() {
            Some(p) if self.page == 1 => p,
            _ => self
                .client
                .page(self.page)
                .await
                .map_err(TargetError::into_run_error)?,
        };
        let Page {
            total,
            pages,
            max_per_page,
            patrons,
        } = fetched;
        let per_page = max_per_page.max(1);
        if self.page == 1 {
            stats.expected = Some(total);
            self.ceiling = Some(total.div_ceil(per_page) + 1);
        }
        if patrons.is_empty()
            || (patrons.len() as u64) < per_page
            || self.page >= pages
            || self.ceiling.is_some_and(|c| self.page >= c)
        {
            last = true;
        }
        let mut out = Vec::with_capacity(patrons.len());
        for p in patrons {
            let barcode = p
                .get("barcode")
                .map(|b| match b {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            if !barcode.is_empty() && !self.seen.insert(barcode) {
                stats.duplicates += 1;
                continue;
            }
            out.push(p);
        }
        if last {
            if let Some(t) = stats.expected {
                let got = self.seen.len() as u64;
                if got != t {
                    tracing::warn!(
                        announced = t,
                        exported = got,
                        "Libib announced a different number of patrons than were \
                         exported (patrons added or removed during the export?)"
                    );
                }
            }
        }
        out.retain(|p| keeps(&self.filter, p));
        Ok(Batch { records: out, last })
    }

    fn http(&self) -> &Governed {
        self.client.http()
    }
}

/// Libib patron records as columns (flat snake_case fields).
#[derive(Debug, Clone, Copy, Default)]
pub struct LibibFields;

impl RecordFields for LibibFields {
    fn default_fields(&self) -> Vec<String> {
        schema::field_names(System::Libib)
    }

    fn extract(&self, field: &str, record: &Value) -> Option<Vec<String>> {
        texts(record.get(field)?)
    }

    fn leaves(&self, record: &Value) -> Vec<String> {
        top_level_leaves(record, &[])
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
        assert!(keeps(&f, &json!({"tags": "grad, staff", "freeze": null})));
        assert!(!keeps(&f, &json!({"tags": "grad,staff", "freeze": 1})));
        assert!(!keeps(&f, &json!({"tags": "grad"})));
        assert_eq!(f.describe().as_deref(), Some("active only; tag Staff"));
        assert!(Filter::default().describe().is_none());
        assert!(f.check(System::Illiad).is_err());
    }
}
