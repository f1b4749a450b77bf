//! FOLIO mod-users as a [`Connector`]: the one place the stages reach Folio through.

use super::{config, init, schema};
use crate::exit::UsageError;
use crate::export::filter::Filter;
use crate::http::Governed;
use crate::init::{Concept, StarterColumn, StarterExtras};
use crate::systems::connector::Paged;
use crate::systems::connector::{
    Capabilities, Connector, ReadSide, SchemaSide, TargetSecret, WriteSide,
};
use crate::systems::schema::{FieldDef, FieldSpec, Violation};
use crate::systems::System;
use crate::target::Target;
use crate::target::{SystemConfig, TargetEntry};
use crate::undo::UndoTarget;
use serde_json::{Map, Value};
use std::sync::Arc;

/// FOLIO mod-users.
pub struct FolioConnector;

/// Folio's schema side (catalogue, validation, mapping rules, `init` data, target config).
pub struct FolioSchema;
/// Folio's write side (connect, plan, write, scope query, restore).
pub struct FolioWrites;
/// Folio's read side (pager, undo).
pub struct FolioReads;

impl SchemaSide for FolioSchema {
    fn label(&self) -> &'static str {
        "FOLIO"
    }

    fn lookup_field(&self, name: &str) -> Option<FieldSpec> {
        schema::lookup(name)
    }

    fn catalogue(&self) -> &'static [FieldDef] {
        schema::FIELDS
    }

    fn field_patterns(&self) -> &'static [&'static str] {
        schema::PATTERNS
    }

    fn match_fields(&self) -> &'static [&'static str] {
        &["externalSystemId", "username", "barcode", "id"]
    }

    fn validate(&self, record: &Map<String, Value>) -> Vec<Violation> {
        schema::validate(record)
    }

    fn unique_fields(&self) -> &'static [&'static str] {
        // mod-users keeps these unique (its unique indexes on username, barcode and
        // externalSystemId: reference/folio-api.md §1.2).
        &["externalSystemId", "username", "barcode"]
    }

    fn ordering_columns(&self) -> &'static [&'static str] {
        &[schema::ADDRESS_ORDER]
    }

    fn left_out_key(&self, column: &str) -> Option<String> {
        schema::left_out_key(column)
    }

    fn date_time_value(&self, text: &str) -> Option<String> {
        schema::time_of_day(text)
    }

    fn out_path(&self, name: &str) -> crate::mapping::OutPath {
        schema::out_path(name)
    }

    fn scope_by_patron_group(&self) -> bool {
        true
    }

    /// Departments: `POST /departments` (mod-users `ramls/departments.raml`; `name` and `code`
    /// required, `ramls/department.json`), as mod-user-import creates the missing ones
    /// (`DepartmentsManager.java`, `createDepartment`).
    fn creatable(&self, field: &str) -> bool {
        field == "departments"
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
        // FOLIO publishes no limit: ≈10 req/s, 4 in flight is conservative.
        (10.0, 4)
    }

    fn target_config(&self, entry: &TargetEntry) -> Arc<dyn SystemConfig> {
        config::from_entry(entry)
    }

    fn target_secret(&self) -> TargetSecret {
        // Okapi login: POST /authn/login with username and password (reference/folio-api.md §1.1).
        TargetSecret::Password
    }
}

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

impl Connector for FolioConnector {
    fn system(&self) -> System {
        System::Folio
    }

    fn sandbox_target(
        &self,
        sandbox: &crate::sandbox::SandboxHandle,
    ) -> anyhow::Result<Option<crate::builtin::SandboxAccess>> {
        let c = sandbox.credentials();
        Ok(Some(crate::builtin::SandboxAccess {
            entry: crate::target::TargetEntry {
                system: self.system().name().to_string(),
                url: sandbox.folio_url(),
                tenant: Some(c.folio_tenant.clone()),
                username: Some(c.folio_username.clone()),
                ..Default::default()
            },
            password: Some(crate::secret::Secret::new(c.folio_password.clone())),
            api_key: None,
            rate: None,
        }))
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

#[async_trait::async_trait]
impl ReadSide for FolioReads {
    /// FOLIO applies every filter (CQL, [`super::export::folio_query`]).
    fn check_filter(&self, _filter: &Filter) -> Result<(), UsageError> {
        Ok(())
    }

    async fn pager(
        &self,
        target: &Target,
        http: Governed,
        _ids: Vec<String>,
        filter: &Filter,
    ) -> anyhow::Result<Paged> {
        let (client, names) = super::connect::folio_with_names(target, http).await?;
        let linked = super::linked::kinds_held(&client)
            .await
            .map_err(crate::exit::TargetError::into_run_error)?;
        // Service points name the linked records' ids: read only when there are some.
        let service_points = if linked.is_empty() {
            super::refdata::Names::default()
        } else {
            super::linked::export_service_points(&client)
                .await
                .map_err(crate::exit::TargetError::into_run_error)?
        };
        let query = super::export::folio_query(filter, &names)?;
        // Custom fields read by display name and option label; without the definitions (no
        // permission, no mod-users module) they are exported by refId and option id.
        let custom = match super::custom::CustomFields::fetch(&client, true).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(
                    "FOLIO custom-field definitions could not be read ({e}); custom fields are \
                     exported by refId and option id"
                );
                super::custom::CustomFields::default()
            }
        };
        Ok(Paged {
            pager: Box::new(
                super::export::FolioPager::new(client, query, filter.clone()).with_linked(linked),
            ),
            fields: Arc::new(
                super::export::FolioFields::new(names)
                    .with_custom(custom)
                    .with_service_points(service_points),
            ),
        })
    }

    fn name_fields(&self) -> &'static [&'static str] {
        &[
            "personal.lastName",
            "personal.firstName",
            "personal.middleName",
            "username",
            "barcode",
            "id",
        ]
    }

    /// Passwords live in mod-login, never in the user record
    /// (/work/shared/reference/folio-api.md, `/authn/login-with-expiry`); nothing to drop.
    fn secret_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// `metadata` (RMB's `metadata.schema`, set on every write), and the user's `createdDate` /
    /// `updatedDate` (mod-users `ramls/userdata.json`, "Deprecated… set by the server"),
    /// /work/shared/reference/folio/mod-users.
    fn server_set(&self) -> &'static [&'static str] {
        &["metadata", "createdDate", "updatedDate"]
    }

    async fn undo(&self, target: &Target) -> anyhow::Result<Box<dyn UndoTarget>> {
        Ok(Box::new(super::undo::FolioUndo::connect(target).await?))
    }
}
