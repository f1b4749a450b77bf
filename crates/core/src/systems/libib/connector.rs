//! Libib patrons API as a [`Connector`]: the one place the stages reach Libib through.

use crate::systems::connector::{Capabilities, Connector, ReadSide, SchemaSide, WriteSide};
use crate::systems::System;

/// Libib patrons API.
pub struct LibibConnector;

/// Libib's schema side (catalogue, validation, mapping rules, `init` data, target config).
pub struct LibibSchema;
/// Libib's write side (connect, plan, write, scope query, restore).
pub struct LibibWrites;
/// Libib's read side (pager, undo).
pub struct LibibReads;

impl SchemaSide for LibibSchema {}
impl WriteSide for LibibWrites {}
impl ReadSide for LibibReads {}

impl Connector for LibibConnector {
    fn system(&self) -> System {
        System::Libib
    }

    fn capabilities(&self) -> Capabilities {
        // Source: reference/seeds/libib-patrons-client-docs.txt and reference/illiad-libib-api.md
        // §1.2: `GET /patrons?page=N` (50 a page, no filter), `POST /patrons/{id}` updates,
        // `DELETE /patrons/{id}` (204), one patron per `GET /patrons/{id}`.
        Capabilities {
            list: true,
            update: true,
            delete: true,
            batch_lookup: false,
        }
    }

    fn schema(&self) -> &'static dyn SchemaSide {
        &LibibSchema
    }

    fn writes(&self) -> &'static dyn WriteSide {
        &LibibWrites
    }

    fn reads(&self) -> &'static dyn ReadSide {
        &LibibReads
    }
}
