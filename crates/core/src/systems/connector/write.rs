//! [`WriteSide`]: see the module docs of [`super`].
//!
//! A stage connects through [`WriteSide::connect`] and gets a [`TargetSession`]: the system's
//! logged-in client together with what the run loaded up front (FOLIO's reference data, Libib's
//! snapshot of every patron, ILLiad's default NVTGC). Every method takes `&self`, so a session can
//! be shared by tasks that plan and write at the same time.
//!
//! The session's futures are not required to be `Send` (`async_trait(?Send)`): the writers'
//! retry closures borrow across awaits in a way rustc cannot yet prove `Send` for every lifetime;
//! stages await them on the run's own task, and a pipeline can still run them concurrently
//! there (`buffer_unordered`).
//!
//! Invariant: a session never writes on its own; only [`TargetSession::write`] sends a write, and
//! stages call it only for `--commit` runs, after the journal recorded the intent.

use crate::http::Governed;
use crate::mapping::Scope;
use crate::outcome::{AbsentPatron, Outcome};
use crate::plan::{Candidate, Change, Planned};
use crate::sync::{MissingPlan, MissingPolicy};
use crate::target::Target;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// What a session is opened for: it decides what is loaded before the first row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An import, migrate or roster sync.
    Import {
        /// Rows the run will process, if known (Libib: page through every patron once, or look
        /// rows up one by one, whichever costs fewer requests).
        expected_rows: Option<u64>,
        /// Load every patron even if per-row lookups would cost less (`--missing` needs them).
        full_listing: bool,
    },
    /// A restore from a native backup: records are matched on their ids, so no reference data
    /// is loaded; a system whose lookups need a listing always loads it.
    Restore,
}

/// A check of a mapped record against names a target holds, with no request: one reason per
/// unknown name (listing the valid ones). Runs on `check`'s worker threads.
#[derive(Clone)]
pub struct NameCheck(pub std::sync::Arc<NameCheckFn>);

/// The function behind a [`NameCheck`]: a mapped record → one reason (with its code, as the
/// planner would reject the row) per unknown name.
pub type NameCheckFn = dyn Fn(&Value) -> Vec<crate::plan::Rejection> + Send + Sync;

impl std::fmt::Debug for NameCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameCheck")
    }
}

/// The mapping's rules a planner applies.
#[derive(Debug, Clone, Copy)]
pub struct PlanRules<'a> {
    /// The mapping's match field.
    pub match_field: &'a str,
    /// Fields an update never changes.
    pub protect: &'a [String],
    /// List fields merged (stored items kept) on update.
    pub merge: &'a [String],
    /// Fields whose unknown names are created in the target (`create_missing`).
    pub create_missing: &'a [String],
    /// The mapping's `[defaults] external_user_id_field` (ILLiad), if any.
    pub external_field: Option<&'a str>,
    /// The mapping's expiry rules (FOLIO `expirationDate`: `group_offset`, `extend_only`).
    pub expiry: crate::mapping::ExpiryRule,
    /// The mapping itself, so a planner's reasons name the source column of the field they
    /// concern as the mapping stage's do ([`crate::mapping::Mapping::name_column`]).
    pub mapping: Option<&'a crate::mapping::Mapping>,
}

/// The write side of a system (see [`super::Connector`]).
#[async_trait::async_trait]
pub trait WriteSide: Send + Sync + 'static {
    /// Checks the target's credentials and loads what `purpose` needs (exit 3 when the target
    /// cannot be reached or refuses them, a usage error when the configuration lacks one).
    async fn connect(
        &self,
        target: &Target,
        purpose: Purpose,
    ) -> anyhow::Result<Box<dyn TargetSession>>;

    /// The system's name as its users know it (`FOLIO`, `ILLiad`), for messages.
    fn product_name(&self) -> &'static str;

    /// The field a native backup's records are matched on when restored.
    fn restore_key(&self) -> &'static str;

    /// A backup record without the fields the API cannot set, each such field that held a value
    /// counted in `dropped` (nothing silent). Default: the record as it is.
    fn restorable(&self, record: Value, _dropped: &mut BTreeMap<String, u64>) -> Value {
        record
    }

    /// Fields a restore puts back to blank (blank in the backup, perhaps set now). Default: none.
    fn restore_clear(&self, _record: &Value) -> Vec<String> {
        Vec::new()
    }
}

/// A connected target, ready to plan and write (see the module docs).
#[async_trait::async_trait(?Send)]
pub trait TargetSession: Send + Sync {
    /// The target's governor (pacing, in-flight limit, request counters).
    fn http(&self) -> &Governed;

    /// Candidates per planning chunk: [`crate::plan::CHUNK`] unless the system gains nothing
    /// from batching.
    fn chunk_rows(&self) -> usize {
        crate::plan::CHUNK
    }

    /// Writes in flight at once.
    fn write_concurrency(&self) -> usize {
        self.http().concurrency()
    }

    /// Plans one chunk of an import against what the target holds (run-fatal errors are target
    /// errors, exit 3).
    async fn plan(
        &self,
        chunk: Vec<Candidate>,
        rules: &PlanRules<'_>,
    ) -> anyhow::Result<Vec<Planned>>;

    /// Plans one chunk of a restore (candidates keyed on [`WriteSide::restore_key`]).
    async fn plan_restore(
        &self,
        chunk: Vec<Candidate>,
        external_field: Option<&str>,
    ) -> anyhow::Result<Vec<Planned>>;

    /// Applies one planned row (`match_field`: what an unclear create is looked up by) and says
    /// what happened.
    async fn write(&self, planned: Planned, match_field: &str) -> Outcome;

    /// A problem that halts the whole run rather than failing one row (FOLIO: a missing
    /// permission), once it has happened.
    fn halt_error(&self) -> Option<anyhow::Error> {
        None
    }

    /// For `check --to`: what the target names (FOLIO: patron groups, address types,
    /// departments — unless `create_missing` —, custom fields and their options when the
    /// mapping maps one, service points, and with `expiry.group_offset` the groups' expiry
    /// offsets), loaded once, as a check of a mapped record that sends nothing; `None`: the
    /// system has no such names to check.
    async fn name_check(
        &self,
        _mapping: &crate::mapping::Mapping,
    ) -> anyhow::Result<Option<NameCheck>> {
        Ok(None)
    }

    /// The in-scope patrons whose `match_field` value is not among `roster_keys` (folded with
    /// [`crate::dedupe::fold`]). Only called when [`super::Capabilities::list`] is set.
    async fn missing(
        &self,
        scope: &Scope,
        match_field: &str,
        roster_keys: &HashSet<String>,
    ) -> anyhow::Result<MissingPlan>;

    /// The record to send for an absent patron (`policy` is deactivate or expire), with the
    /// changes the report shows.
    fn deactivated(
        &self,
        record: &Value,
        policy: MissingPolicy,
        today: &str,
    ) -> (Value, Vec<Change>);

    /// How the report describes a patron absent from the roster.
    fn absent_patron(&self, record: &Value) -> AbsentPatron;
}
