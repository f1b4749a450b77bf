//! ILLiad's read side of an export: the API cannot list users, so the caller gives ids; each is
//! looked up as a user name (`GET Users/{id}`), then as an external id
//! (`GET Users/ExternalUserId/{id}`); ids found by neither are kept in
//! [`SourceStats::not_found`], ids several users hold in [`SourceStats::ambiguous`].
//!
//! Invariant: at most [`ILLIAD_PAGE`] lookups a page, as many in flight as the target allows.

use super::client::{IlliadClient, IlliadError, Lookup};
use crate::exit::TargetError;
use crate::export::columns::{texts, top_level_leaves};
use crate::export::source::SourceStats;
use crate::http::Governed;
use crate::systems::connector::{Batch, Pager, RecordFields};
use crate::systems::schema;
use crate::systems::System;
use futures::StreamExt;
use serde_json::Value;
use std::borrow::Cow;

/// ILLiad ids looked up per page.
pub const ILLIAD_PAGE: usize = 50;

/// Users of an id list, [`ILLIAD_PAGE`] ids a page.
pub struct IlliadPager {
    client: IlliadClient,
    ids: std::vec::IntoIter<String>,
}

impl IlliadPager {
    /// A pager looking up `ids` in order.
    pub fn new(client: IlliadClient, ids: Vec<String>) -> IlliadPager {
        IlliadPager {
            client,
            ids: ids.into_iter(),
        }
    }
}

#[async_trait::async_trait]
impl Pager for IlliadPager {
    async fn next(&mut self, stats: &mut SourceStats) -> anyhow::Result<Batch> {
        let batch: Vec<String> = self.ids.by_ref().take(ILLIAD_PAGE).collect();
        let last = batch.len() < ILLIAD_PAGE;
        let client = &self.client;
        // Owned ids: a closure over `&String` makes the future not `Send` (a higher-ranked
        // lifetime the compiler cannot prove), which the boxed trait future needs.
        let lookups: Vec<_> = batch
            .iter()
            .cloned()
            .map(|id| async move { illiad_lookup(client, &id).await })
            .collect();
        let found: Vec<Result<Lookup, IlliadError>> = futures::stream::iter(lookups)
            .buffered(client.http().concurrency())
            .collect()
            .await;
        let mut out = Vec::with_capacity(batch.len());
        for (id, res) in batch.iter().zip(found) {
            match res.map_err(TargetError::into_run_error)? {
                Lookup::Found(u) => out.push(u),
                Lookup::NotFound => stats.not_found.push(id.clone()),
                Lookup::NotUnique(_) => stats.ambiguous.push(id.clone()),
            }
        }
        Ok(Batch { records: out, last })
    }

    fn http(&self) -> &Governed {
        self.client.http()
    }
}

/// Looks one id up as a user name, then as an external id.
async fn illiad_lookup(client: &IlliadClient, id: &str) -> Result<Lookup, IlliadError> {
    match client.by_username(id).await? {
        Lookup::NotFound => client.by_external_id(id).await,
        found => Ok(found),
    }
}

/// ILLiad user records as columns: field names compared case-insensitively (ILLiad's JSON
/// binding ignores case).
#[derive(Debug, Clone, Copy, Default)]
pub struct IlliadFields;

impl RecordFields for IlliadFields {
    fn default_fields(&self) -> Vec<String> {
        schema::field_names(System::Illiad)
    }

    fn extract(&self, field: &str, record: &Value) -> Option<Vec<String>> {
        let obj = record.as_object()?;
        let (_, v) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(field))?;
        texts(v)
    }

    /// Top-level fields; `LastChangedDate` is set by ILLiad itself
    /// (seeds/illiad-webplatform-users-api.txt, the example user, line 57).
    fn leaves(&self, record: &Value) -> Vec<String> {
        top_level_leaves(record, &["LastChangedDate"])
    }

    fn field_key<'a>(&self, field: &'a str) -> Cow<'a, str> {
        Cow::Owned(field.to_ascii_lowercase())
    }
}
