//! Reading patrons out of a target, a page at a time, as [`SourceRow`]s under a fixed header —
//! the export's source, and the first half of a migration.
//!
//! - FOLIO: pages by id (`cql.allRecords=1 sortBy id`, then `id>"<last>" … sortBy id`), stops on
//!   a short page; ids of patron groups, departments and address types become names.
//! - Libib: `GET /patrons?page=N` (50 a page) at the target's pace (one request per 2.5 s by
//!   default), stopping when `page >= pages`, a page is empty or short, or at the ceiling
//!   `ceil(total/50) + 1`; rows are de-duplicated by barcode (pages shift when patrons are added
//!   or restored during the export) and a count that differs from `total` is logged.
//! - ILLiad: the API cannot list users, so the caller gives ids: each is looked up as a user name
//!   (`GET Users/{id}`), then as an external id (`GET Users/ExternalUserId/{id}`); ids found by
//!   neither are kept in [`SourceStats::not_found`].
//!
//! Invariants: every request goes through the target's [`Governed`] client (rate and
//! concurrency); memory is one page plus, for Libib, the set of barcodes seen; secrets and Libib
//! URLs never appear in errors.

use super::columns::{ColumnKind, Layout, Uncovered};
use super::filter::Filter;
use crate::exit::{TargetError, UsageError};
use crate::http::Governed;
use crate::mapping::Mapping;
use crate::read::SourceRow;
use crate::systems::folio::client::FolioClient;
use crate::systems::folio::refdata::RefData;
use crate::systems::illiad::client::{IlliadClient, IlliadError, Lookup};
use crate::systems::libib::client::{LibibClient, Page};
use crate::systems::System;
use crate::target::Target;
use futures::StreamExt;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

/// Users per FOLIO page.
pub const FOLIO_PAGE: usize = 500;
/// Libib's fixed page size.
pub const LIBIB_PAGE: usize = 50;
/// ILLiad ids looked up per page.
pub const ILLIAD_PAGE: usize = 50;

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

enum Backend {
    Folio {
        client: Box<FolioClient>,
        last_id: Option<String>,
        /// The CQL the export pages through (`cql.allRecords=1`, or the filter's).
        query: String,
    },
    Libib {
        client: LibibClient,
        /// Page 1, fetched by the connection check and not yet handed out.
        first: Option<Page>,
        page: u64,
        ceiling: Option<u64>,
        seen: HashSet<String>,
    },
    Illiad {
        client: IlliadClient,
        ids: std::vec::IntoIter<String>,
    },
}

/// Patrons read out of a target as rows under a fixed header.
pub struct PatronRows {
    label: Arc<str>,
    layout: Layout,
    backend: Backend,
    line: u64,
    done: bool,
    stats: SourceStats,
    filter: Filter,
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
        let http = Governed::new(target.rate, target.concurrency, target.timeout)?
            .with_retry(target.retry);
        let (backend, names) = match target.system {
            System::Folio => {
                let (client, names) =
                    crate::systems::folio::connect::folio_with_names(target, http).await?;
                let client = Box::new(client);
                let query = filter.folio_query(&names)?;
                (
                    Backend::Folio {
                        client,
                        last_id: None,
                        query,
                    },
                    names,
                )
            }
            System::Libib => {
                let (client, first) = crate::systems::libib::connect::libib(target, http).await?;
                (
                    Backend::Libib {
                        client,
                        first: Some(first),
                        page: 0,
                        ceiling: None,
                        seen: HashSet::new(),
                    },
                    RefData::default(),
                )
            }
            System::Illiad => {
                let ids = ids.ok_or_else(|| {
                    UsageError(
                        "ILLiad's API cannot list users: give the user names or external ids \
                         to export with --ids FILE (one per line)"
                            .into(),
                    )
                })?;
                // Asked for before connecting: a usage error needs no network.
                let client = crate::systems::illiad::connect::illiad(target, http).await?;
                (
                    Backend::Illiad {
                        client,
                        ids: ids.into_iter(),
                    },
                    RefData::default(),
                )
            }
        };
        let layout = Layout::default_for(target.system, names);
        Ok(PatronRows {
            label: Arc::from(target.name.as_str()),
            layout,
            backend,
            line: 1,
            done: false,
            stats: SourceStats::default(),
            remaining: filter.limit,
            filter,
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
        let layout = Layout::from_mapping(mapping, self.layout.names().clone());
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
        let http = match &self.backend {
            Backend::Folio { client, .. } => client.http(),
            Backend::Libib { client, .. } => client.http(),
            Backend::Illiad { client, .. } => client.http(),
        };
        http.counters
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
            let mut records = self.fetch().await?;
            match self.backend {
                Backend::Libib { .. } => records.retain(|p| self.filter.keeps_libib(p)),
                Backend::Folio { .. } => records.retain(|u| self.filter.keeps_folio(u)),
                _ => {}
            }
            if let Some(left) = &mut self.remaining {
                records.truncate(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= records.len() as u64;
            }
            if !records.is_empty() {
                return Ok(Some(records));
            }
        }
    }

    /// Fetches the next batch of records (possibly empty while not done).
    async fn fetch(&mut self) -> anyhow::Result<Vec<Value>> {
        match &mut self.backend {
            Backend::Folio {
                client,
                last_id,
                query,
            } => {
                let page = client
                    .users_after(query, last_id.as_deref(), FOLIO_PAGE, "user export")
                    .await
                    .map_err(TargetError::into_run_error)?;
                if last_id.is_none() {
                    self.stats.expected = page.total;
                }
                let users = page.users;
                if users.len() < FOLIO_PAGE {
                    self.done = true;
                }
                match users
                    .last()
                    .and_then(|u| u.get("id"))
                    .and_then(Value::as_str)
                {
                    Some(id) => *last_id = Some(id.to_string()),
                    None => self.done = true,
                }
                Ok(users)
            }
            Backend::Libib {
                client,
                first,
                page,
                ceiling,
                seen,
            } => {
                *page += 1;
                let fetched = match first.take() {
                    Some(p) if *page == 1 => p,
                    _ => client
                        .page(*page)
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
                if *page == 1 {
                    self.stats.expected = Some(total);
                    *ceiling = Some(total.div_ceil(per_page) + 1);
                }
                if patrons.is_empty()
                    || (patrons.len() as u64) < per_page
                    || *page >= pages
                    || ceiling.is_some_and(|c| *page >= c)
                {
                    self.done = true;
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
                    if !barcode.is_empty() && !seen.insert(barcode) {
                        self.stats.duplicates += 1;
                        continue;
                    }
                    out.push(p);
                }
                if self.done {
                    if let Some(t) = self.stats.expected {
                        let got = seen.len() as u64;
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
                Ok(out)
            }
            Backend::Illiad { client, ids } => {
                let batch: Vec<String> = ids.by_ref().take(ILLIAD_PAGE).collect();
                if batch.len() < ILLIAD_PAGE {
                    self.done = true;
                }
                let client: &IlliadClient = client;
                let found: Vec<Result<Lookup, IlliadError>> =
                    futures::stream::iter(batch.iter().map(|id| illiad_lookup(client, id)))
                        .buffered(client.http().concurrency())
                        .collect()
                        .await;
                let mut out = Vec::with_capacity(batch.len());
                for (id, res) in batch.iter().zip(found) {
                    match res.map_err(TargetError::into_run_error)? {
                        Lookup::Found(u) => out.push(u),
                        Lookup::NotFound => self.stats.not_found.push(id.clone()),
                        Lookup::NotUnique(_) => self.stats.ambiguous.push(id.clone()),
                    }
                }
                Ok(out)
            }
        }
    }
}

/// Looks one id up as a user name, then as an external id.
async fn illiad_lookup(client: &IlliadClient, id: &str) -> Result<Lookup, IlliadError> {
    match client.by_username(id).await? {
        Lookup::NotFound => client.by_external_id(id).await,
        found => Ok(found),
    }
}
