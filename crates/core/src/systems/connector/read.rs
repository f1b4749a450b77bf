//! [`ReadSide`]: what a system gives back — the pager that export, migrate and native backups
//! read through, how its records become export cells ([`RecordFields`]), which filters it can
//! apply, the native backup's secret and server-set fields, and undo. See the module docs of
//! [`super`].
//!
//! Invariants: a pager sends every request through the [`Governed`] client it is given (rate and
//! concurrency of the target); a system that cannot list ([`super::Capabilities::list`] false) is
//! given the ids to read, and the stage refuses to start without them; a system that cannot delete
//! or update is never asked to undo.

use crate::exit::UsageError;
use crate::export::filter::Filter;
use crate::export::source::SourceStats;
use crate::http::Governed;
use crate::target::Target;
use crate::undo::UndoTarget;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// The read side of a system (see [`super::Connector`]).
#[async_trait::async_trait]
pub trait ReadSide: Send + Sync + 'static {
    /// Refuses the parts of `filter` this system cannot apply (before anything is sent).
    fn check_filter(&self, filter: &Filter) -> Result<(), UsageError>;

    /// Connects to `target` (logs in, loads what names its ids) and returns a pager over its
    /// patrons that applies `filter` (not its `limit`: the stage counts). `ids` are the user
    /// names or external ids to read when the system cannot list (empty otherwise).
    async fn pager(
        &self,
        target: &Target,
        http: Governed,
        ids: Vec<String>,
        filter: &Filter,
    ) -> anyhow::Result<Paged>;

    /// Fields naming the person, in the order a human export sorts rows by.
    fn name_fields(&self) -> &'static [&'static str];

    /// Fields of a record that hold secrets and are never exported.
    fn secret_fields(&self) -> &'static [&'static str];

    /// Fields the server sets itself: a backup keeps them, `restore` neither compares nor sends
    /// them.
    fn server_set(&self) -> &'static [&'static str];

    /// Connects to `target` for undo (only asked when the system can update and delete).
    async fn undo(&self, target: &Target) -> anyhow::Result<Box<dyn UndoTarget>>;
}

/// A connected pager and how its records become cells.
pub struct Paged {
    /// The patrons, a page at a time.
    pub pager: Box<dyn Pager>,
    /// Column fields and cell texts of this system's records (FOLIO: with the server's names
    /// for ids).
    pub fields: Arc<dyn RecordFields>,
}

/// Patrons of a target, a page at a time, as the system returns them.
#[async_trait::async_trait]
pub trait Pager: Send {
    /// The next batch of records that pass the filter (possibly empty while more may come).
    /// Run-fatal problems (auth, unreachable, an answer that is not a page) are `Err`. Records
    /// what it sees in `stats` (announced total, repeats, ids not found). Not called again once
    /// a batch said it was the [`Batch::last`].
    async fn next(&mut self, stats: &mut SourceStats) -> anyhow::Result<Batch>;

    /// The governed client the pager sends through (its request counters).
    fn http(&self) -> &Governed;
}

/// One batch of a [`Pager`].
#[derive(Debug, Default)]
pub struct Batch {
    /// The records that pass the filter.
    pub records: Vec<Value>,
    /// No more after these.
    pub last: bool,
}

/// How a system's records read as export columns.
pub trait RecordFields: Send + Sync + std::fmt::Debug {
    /// The default export columns, in order (every catalogue field; FOLIO adds one group of
    /// address columns per address type known to the server).
    fn default_fields(&self) -> Vec<String>;

    /// The value(s) of `field` in `record` as texts (ids turned into names); `None` when absent.
    fn extract(&self, field: &str, record: &Value) -> Option<Vec<String>>;

    /// The non-empty fields of `record` as column field names (server-managed ones left out).
    fn leaves(&self, record: &Value) -> Vec<String>;

    /// The form in which two field names compare equal (ILLiad: case-insensitively).
    fn field_key<'a>(&self, field: &'a str) -> Cow<'a, str> {
        Cow::Borrowed(field)
    }
}
