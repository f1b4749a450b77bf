//! Reading patrons out of a target, a page at a time, as [`SourceRow`]s under a fixed header —
//! the export's source, and the first half of a migration.
//!
//! Each system's pager and the way its records read as columns come from its connector's
//! [`ReadSide`] (`systems/<system>/export.rs`): FOLIO pages by id and names ids of reference
//! data, Libib pages at its pace and drops repeated barcodes, ILLiad (which cannot list,
//! [`Capabilities::list`]) looks up the ids the caller gives; ids found by no user are kept in
//! [`SourceStats::not_found`].
//!
//! Invariants: every request goes through the target's [`Governed`] client (rate and
//! concurrency); memory is one page plus, for Libib, the set of barcodes seen; secrets and Libib
//! URLs never appear in errors.
//!
//! [`ReadSide`]: crate::systems::connector::ReadSide
//! [`Capabilities::list`]: crate::systems::connector::Capabilities::list

use super::columns::{ColumnKind, Layout, Uncovered};
use super::filter::Filter;
use crate::exit::UsageError;
use crate::http::Governed;
use crate::mapping::Mapping;
use crate::read::SourceRow;
use crate::systems::connector::{Paged, Pager};
use crate::systems::registry;
use crate::systems::System;
use crate::target::Target;
use serde_json::Value;
use std::sync::Arc;

/// What a source has seen so far.
#[derive(Debug, Default, Clone)]
pub struct SourceStats {
    /// Records yielded.
    pub rows: u64,
    /// Records dropped because their barcode was already yielded (Libib).
    pub duplicates: u64,
    /// Ids that matched no user (ILLiad).
    pub not_found: Vec<String>,
    /// Ids that matched more than one user by external id (ILLiad).
    pub ambiguous: Vec<String>,
    /// The number of records the server announced, if it did.
    pub expected: Option<u64>,
    /// Fields the layout leaves out, with how many records had them.
    pub uncovered: Uncovered,
}

/// Patrons read out of a target as rows under a fixed header.
pub struct PatronRows {
    label: Arc<str>,
    layout: Layout,
    pager: Box<dyn Pager>,
    line: u64,
    done: bool,
    stats: SourceStats,
    /// Records still to hand out under `--limit`.
    remaining: Option<u64>,
}

impl PatronRows {
    /// Connects to `target` (logs in, loads FOLIO reference data, checks the ILLiad key).
    /// ILLiad needs `ids` (user names or external ids); the other systems ignore them.
    pub async fn connect(target: &Target, ids: Option<Vec<String>>) -> anyhow::Result<PatronRows> {
        PatronRows::connect_with(target, ids, Filter::default()).await
    }

    /// [`PatronRows::connect`] with a filter (checked against the system before connecting).
    pub async fn connect_with(
        target: &Target,
        ids: Option<Vec<String>>,
        filter: Filter,
    ) -> anyhow::Result<PatronRows> {
        filter.check(target.system)?;
        let connector = registry::connector(target.system);
        let http = Governed::new(target.rate, target.concurrency, target.timeout)?
            .with_retry(target.retry);
        let ids = match ids {
            Some(ids) => ids,
            None if connector.capabilities().list => Vec::new(),
            // Asked for before connecting: a usage error needs no network.
            None => {
                return Err(UsageError(format!(
                    "{}'s API cannot list users: give the user names or external ids \
                     to export with --ids FILE (one per line)",
                    connector.writes().product_name()
                ))
                .into())
            }
        };
        let Paged { pager, fields } = connector.reads().pager(target, http, ids, &filter).await?;
        let layout = Layout::default_for(target.system, fields);
        Ok(PatronRows {
            label: Arc::from(target.name.as_str()),
            layout,
            pager,
            line: 1,
            done: false,
            stats: SourceStats::default(),
            remaining: filter.limit,
        })
    }

    /// Switches to the columns an export mapping chooses (before the first page).
    pub fn use_mapping(&mut self, mapping: &Mapping) -> Result<(), UsageError> {
        if mapping.system != self.layout.system {
            return Err(UsageError(format!(
                "{} is a {} mapping but {} is {}",
                mapping.path.display(),
                mapping.system,
                self.label,
                self.layout.system
            )));
        }
        let layout = Layout::from_mapping(mapping, self.layout.fields().clone());
        if layout.columns.is_empty() {
            return Err(UsageError(format!(
                "{} names no columns to export (only constants or multi-column templates)",
                mapping.path.display()
            )));
        }
        self.layout = layout;
        Ok(())
    }

    /// The system the rows come from.
    pub fn system(&self) -> System {
        self.layout.system
    }

    /// Header names (fixed for the whole export).
    pub fn header(&self) -> Vec<String> {
        self.layout.header()
    }

    /// The system field of each column, parallel to [`PatronRows::header`].
    pub fn fields(&self) -> Vec<String> {
        self.layout
            .columns
            .iter()
            .map(|c| c.field.clone())
            .collect()
    }

    /// Column kinds, parallel to [`PatronRows::header`].
    pub fn kinds(&self) -> Vec<ColumnKind> {
        self.layout.kinds()
    }

    /// What has been seen so far.
    pub fn stats(&self) -> &SourceStats {
        &self.stats
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.pager
            .http()
            .counters
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The next page of rows; `None` when there are no more. Run-fatal problems (auth,
    /// unreachable, an answer that is not a page) are `Err`.
    pub async fn next_page(&mut self) -> anyhow::Result<Option<Vec<SourceRow>>> {
        let Some(records) = self.next_records().await? else {
            return Ok(None);
        };
        let mut rows = Vec::with_capacity(records.len());
        for r in &records {
            self.stats.uncovered.add(self.layout.uncovered(r));
            self.line += 1;
            rows.push(SourceRow {
                file: self.label.clone(),
                sheet: None,
                line: self.line,
                cells: self.layout.row(r),
            });
        }
        self.stats.rows += rows.len() as u64;
        Ok(Some(rows))
    }

    /// The next page of records exactly as the system returned them (the native backup's
    /// source); `None` when there are no more. Not counted in [`SourceStats::rows`].
    pub async fn next_records(&mut self) -> anyhow::Result<Option<Vec<Value>>> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.remaining == Some(0) {
                self.done = true;
                return Ok(None);
            }
            let batch = self.pager.next(&mut self.stats).await?;
            self.done = batch.last;
            let mut records = batch.records;
            if let Some(left) = &mut self.remaining {
                records.truncate(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= records.len() as u64;
            }
            if !records.is_empty() {
                return Ok(Some(records));
            }
        }
    }
}
