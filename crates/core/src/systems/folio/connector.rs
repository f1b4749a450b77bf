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

#[async_trait::async_trait]
impl WriteSide for FolioWrites {
    async fn connect(
        &self,
        target: &crate::target::Target,
        purpose: crate::systems::connector::Purpose,
    ) -> anyhow::Result<Box<dyn crate::systems::connector::TargetSession>> {
        Ok(Box::new(super::session::connect(target, purpose).await?))
    }

    fn product_name(&self) -> &'static str {
        "FOLIO"
    }

    /// `id`, the user's UUID, which `POST /users` keeps when given (mod-users
    /// `ramls/userdata.json`: `id`, "A globally unique (UUID) identifier for the user").
    fn restore_key(&self) -> &'static str {
        "id"
    }
}

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
