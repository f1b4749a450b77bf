//! The one seam per system: a [`Connector`] that each system implements in its own folder
//! (`systems/<system>/`), listed once in [`crate::systems::registry`]. Stages call the trait; no
//! stage matches on the system.
//!
//! The trait is split by side so each stage sees only what it needs:
//! - [`SchemaSide`] (`schema.rs`): field catalogue, offline validation, mapping rules, `init`'s
//!   starter-mapping data, per-system target configuration — everything that needs no network.
//! - [`WriteSide`] (`write.rs`): connect, plan, write, the `--missing` scope query, restore.
//! - [`ReadSide`] (`read.rs`): the pager (export, roster sync) and undo.
//!
//! Invariant: a stage never names a system; what differs between systems is either a
//! [`Capabilities`] flag or a trait method.

mod read;
mod schema;
mod write;

pub use read::{Batch, Paged, Pager, ReadSide, RecordFields};
pub use schema::{SchemaSide, TargetSecret};
pub use write::{NameCheck, PlanRules, Purpose, TargetSession, WriteSide};

use super::System;

/// What a system's API can do at all (not what a given target permits). Each flag carries its
/// source in the connector that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The API can list every patron (export, `--missing`, `[scope]`, snapshot lookups).
    pub list: bool,
    /// The API can update an existing patron.
    pub update: bool,
    /// The API can delete a patron (undo of a create).
    pub delete: bool,
    /// Several patrons can be looked up in one request.
    pub batch_lookup: bool,
}

/// One target system: a name, what its API can do, and its three sides.
pub trait Connector: Send + Sync + 'static {
    /// The system this connector serves.
    fn system(&self) -> System;
    /// What the system's API can do.
    fn capabilities(&self) -> Capabilities;
    /// The built-in sandbox's emulator of this system (`sandbox:<system>`), or `None` when the
    /// sandbox has none (or the sandbox cannot say how to reach it: `Err`).
    fn sandbox_target(
        &self,
        _sandbox: &crate::sandbox::SandboxHandle,
    ) -> anyhow::Result<Option<crate::builtin::SandboxAccess>> {
        Ok(None)
    }
    /// A connector for the tests only (hidden unless `PATRON_ETL_TEST_CONNECTORS` is set).
    fn test_only(&self) -> bool {
        false
    }
    /// Catalogue, validation, mapping rules, `init` data, target configuration.
    fn schema(&self) -> &'static dyn SchemaSide;
    /// Connect, plan, write, scope query, restore.
    fn writes(&self) -> &'static dyn WriteSide;
    /// Pager (export, roster sync) and undo.
    fn reads(&self) -> &'static dyn ReadSide;
}
