//! Libib patrons API as a [`Connector`]: the one place the stages reach Libib through.

use super::{config, init, schema};
use crate::exit::UsageError;
use crate::export::filter::Filter;
use crate::http::Governed;
use crate::init::{Concept, StarterColumn, StarterExtras};
use crate::systems::connector::Paged;
use crate::systems::connector::{
    Capabilities, Connector, ReadSide, SchemaSide, TargetSecret, WriteSide,
};
use crate::systems::schema::{FieldDef, Violation};
use crate::systems::System;
use crate::target::Target;
use crate::target::{SystemConfig, TargetEntry};
use crate::undo::UndoTarget;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Libib patrons API.
pub struct LibibConnector;

/// Libib's schema side (catalogue, validation, mapping rules, `init` data, target config).
pub struct LibibSchema;
/// Libib's write side (connect, plan, write, scope query, restore).
pub struct LibibWrites;
/// Libib's read side (pager, undo).
pub struct LibibReads;

impl SchemaSide for LibibSchema {
    fn label(&self) -> &'static str {
        "Libib"
    }

    fn catalogue(&self) -> &'static [FieldDef] {
        schema::FIELDS
    }

    fn match_fields(&self) -> &'static [&'static str] {
        &["email", "barcode"]
    }

    fn validate(&self, record: &Map<String, Value>) -> Vec<Violation> {
        schema::validate(record)
    }

    fn unique_fields(&self) -> &'static [&'static str] {
        // Libib's unique-ish keys: e-mail and barcode (its lookups) and patron_id, which "does
        // not need to be unique" to Libib (../shared/reference/illiad-libib-api.md:67), so a
        // repeat in the file would silently make a second patron with the same id.
        &["email", "barcode", "patron_id"]
    }

    fn starter_lines(&self, concept: Concept, column: &StarterColumn) -> Option<Vec<String>> {
        init::lines(concept, column)
    }

    fn starter_match(&self) -> &'static [(Concept, &'static str)] {
        init::MATCH
    }

    fn starter_extras(&self, columns: &[StarterColumn], out_name: &str) -> StarterExtras {
        init::extras(columns, out_name)
    }

    fn default_pacing(&self) -> (f64, usize) {
        // Libib allows one request per 2 s per account (reference/illiad-libib-api.md §1.1,
        // line 39): one per 2.05 s (the published interval plus `PACING_MARGIN`), never
        // concurrent.
        (super::default_rate(), 1)
    }

    fn target_config(&self, entry: &TargetEntry) -> Arc<dyn SystemConfig> {
        config::from_entry(entry)
    }

    fn target_secret(&self) -> TargetSecret {
        // `x-api-key` with `x-api-user` (reference/seeds/libib-patrons-client-docs.txt).
        TargetSecret::ApiKey
    }
}

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

impl Connector for LibibConnector {
    fn system(&self) -> System {
        System::Libib
    }

    /// The built-in Libib, paced like real Libib unless `PATRON_ETL_SANDBOX_LIBIB_INTERVAL_MS`
    /// shortens its interval (then one request per 1.25 × that interval).
    fn sandbox_target(
        &self,
        sandbox: &crate::sandbox::SandboxHandle,
    ) -> anyhow::Result<Option<crate::builtin::SandboxAccess>> {
        let c = sandbox.credentials();
        let rate =
            crate::builtin::libib_interval_override()?.map(|i| 1.0 / (i.as_secs_f64() * 1.25));
        Ok(Some(crate::builtin::SandboxAccess {
            entry: crate::target::TargetEntry {
                system: self.system().name().to_string(),
                url: sandbox.libib_url(),
                api_user: Some(c.libib_api_user.clone()),
                ..Default::default()
            },
            password: None,
            api_key: Some(crate::secret::Secret::new(c.libib_api_key.clone())),
            rate,
        }))
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

#[async_trait::async_trait]
impl ReadSide for LibibReads {
    /// Libib has no search (reference/illiad-libib-api.md §1.2: `GET /patrons?page=N`, no
    /// filter): `--active-only` and `--tag` are applied to each page as it arrives.
    fn check_filter(&self, filter: &Filter) -> Result<(), UsageError> {
        filter.refuse_search(System::Libib)
    }

    async fn pager(
        &self,
        target: &Target,
        http: Governed,
        _ids: Vec<String>,
        filter: &Filter,
    ) -> anyhow::Result<Paged> {
        let (client, first) = super::connect::libib(target, http).await?;
        Ok(Paged {
            pager: Box::new(super::export::LibibPager::new(
                client,
                first,
                filter.clone(),
            )),
            fields: Arc::new(super::export::LibibFields),
        })
    }

    fn name_fields(&self) -> &'static [&'static str] {
        &["last_name", "first_name", "email", "barcode"]
    }

    /// `password` is a create/update field (seeds/libib-patrons-client-docs.txt, "Supported
    /// Update Fields", line 138); not in its patron JSON today, dropped should it appear.
    fn secret_fields(&self) -> &'static [&'static str] {
        &["password"]
    }

    fn server_set(&self) -> &'static [&'static str] {
        &[]
    }

    async fn undo(&self, target: &Target) -> anyhow::Result<Box<dyn UndoTarget>> {
        Ok(Box::new(super::undo::LibibUndo::connect(target).await?))
    }
}
