//! FOLIO mod-users as a [`Connector`]: the one place the stages reach Folio through.

use crate::systems::connector::{Capabilities, Connector, ReadSide, SchemaSide, WriteSide};
use crate::systems::System;

/// FOLIO mod-users.
pub struct FolioConnector;

/// Folio's schema side (catalogue, validation, mapping rules, `init` data, target config).
pub struct FolioSchema;
/// Folio's write side (connect, plan, write, scope query, restore).
pub struct FolioWrites;
/// Folio's read side (pager, undo).
pub struct FolioReads;

impl SchemaSide for FolioSchema {}
impl WriteSide for FolioWrites {}
impl ReadSide for FolioReads {}

impl Connector for FolioConnector {
    fn system(&self) -> System {
        System::Folio
    }

    fn capabilities(&self) -> Capabilities {
        // Source: folio-org/mod-users ramls/users.raml — `GET /users` (CQL `query`, `limit`),
        // `PUT /users/{userId}`, `DELETE /users/{userId}`; a CQL `id==(a or b …)` looks up many at once.
        Capabilities {
            list: true,
            update: true,
            delete: true,
            batch_lookup: true,
        }
    }

    fn schema(&self) -> &'static dyn SchemaSide {
        &FolioSchema
    }

    fn writes(&self) -> &'static dyn WriteSide {
        &FolioWrites
    }

    fn reads(&self) -> &'static dyn ReadSide {
        &FolioReads
    }
}
