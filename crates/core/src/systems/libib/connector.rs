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

#[async_trait::async_trait]
impl WriteSide for LibibWrites {
    async fn connect(
        &self,
        target: &crate::target::Target,
        purpose: crate::systems::connector::Purpose,
    ) -> anyhow::Result<Box<dyn crate::systems::connector::TargetSession>> {
        Ok(Box::new(super::session::connect(target, purpose).await?))
    }

    fn product_name(&self) -> &'static str {
        "Libib"
    }

    /// `barcode`, the patron's identifier for `GET/POST /patrons/{id}`
    /// (seeds/libib-patrons-client-docs.txt, "Update a Patron": "Pass the patron's barcode or
    /// email as the id").
    fn restore_key(&self) -> &'static str {
        "barcode"
    }

    /// A field blank in the backup but set now is put back to blank.
    fn restore_clear(&self, record: &serde_json::Value) -> Vec<String> {
        record
            .as_object()
            .map(|obj| {
                obj.iter()
                    .filter(|(_, v)| super::plan::param_text("", v).is_none())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

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
