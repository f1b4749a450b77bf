//! ILLiad Web Platform as a [`Connector`]: the one place the stages reach Illiad through.

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
use std::collections::BTreeMap;
use std::sync::Arc;

/// ILLiad Web Platform.
pub struct IlliadConnector;

/// Illiad's schema side (catalogue, validation, mapping rules, `init` data, target config).
pub struct IlliadSchema;
/// Illiad's write side (connect, plan, write, scope query, restore).
pub struct IlliadWrites;
/// Illiad's read side (pager, undo).
pub struct IlliadReads;

impl SchemaSide for IlliadSchema {
    fn label(&self) -> &'static str {
        "ILLiad"
    }

    fn catalogue(&self) -> &'static [FieldDef] {
        schema::FIELDS
    }

    fn field_def(&self, name: &str) -> Option<&'static FieldDef> {
        // Case-insensitive, as ILLiad binds JSON keys (see schema.rs).
        schema::def(name)
    }

    fn match_fields(&self) -> &'static [&'static str] {
        // The Users API looks a user up by user name or external id only
        // (reference/seeds/illiad-webplatform-users-api.txt).
        &["UserName", "ExternalUserId"]
    }

    fn validate(&self, record: &Map<String, Value>) -> Vec<Violation> {
        schema::validate(record)
    }

    fn unique_fields(&self) -> &'static [&'static str] {
        &["UserName"]
    }

    fn date_format(&self) -> &'static str {
        // ILLiad writes dates as date-times at midnight (reference/illiad-libib-api.md §2).
        "%Y-%m-%dT00:00:00"
    }

    fn complete_record(
        &self,
        defaults: &BTreeMap<String, String>,
        record: &mut Map<String, Value>,
    ) {
        schema::complete_nvtgc(defaults, record);
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
        (5.0, 2)
    }

    fn target_config(&self, entry: &TargetEntry) -> Arc<dyn SystemConfig> {
        config::from_entry(entry)
    }

    fn target_secret(&self) -> TargetSecret {
        // `ApiKey` header (reference/seeds/illiad-webplatform-users-api.txt).
        TargetSecret::ApiKey
    }
}

#[async_trait::async_trait]
impl WriteSide for IlliadWrites {
    async fn connect(
        &self,
        target: &crate::target::Target,
        purpose: crate::systems::connector::Purpose,
    ) -> anyhow::Result<Box<dyn crate::systems::connector::TargetSession>> {
        Ok(Box::new(super::session::connect(target, purpose).await?))
    }

    fn product_name(&self) -> &'static str {
        "ILLiad"
    }

    /// `UserName`, the key of `GET Users/{username}` (seeds/illiad-webplatform-users-api.txt).
    fn restore_key(&self) -> &'static str {
        "UserName"
    }

    fn restorable(
        &self,
        record: serde_json::Value,
        dropped: &mut std::collections::BTreeMap<String, u64>,
    ) -> serde_json::Value {
        super::session::restorable(record, dropped)
    }
}

impl Connector for IlliadConnector {
    fn system(&self) -> System {
        System::Illiad
    }

    fn sandbox_target(
        &self,
        sandbox: &crate::sandbox::SandboxHandle,
    ) -> anyhow::Result<Option<crate::builtin::SandboxAccess>> {
        let c = sandbox.credentials();
        Ok(Some(crate::builtin::SandboxAccess {
            entry: crate::target::TargetEntry {
                system: self.system().name().to_string(),
                url: sandbox.illiad_url(),
                ..Default::default()
            },
            password: None,
            api_key: Some(crate::secret::Secret::new(c.illiad_api_key.clone())),
            rate: None,
        }))
    }

    fn capabilities(&self) -> Capabilities {
        // Source: reference/seeds/illiad-webplatform-users-api.txt (the Users endpoints: GET by
        // username or external id, POST create) and reference/illiad-libib-api.md §2.2 and §2.4: no
        // list or search, no PUT/PATCH, no DELETE; one user per GET.
        Capabilities {
            list: false,
            update: false,
            delete: false,
            batch_lookup: false,
        }
    }

    fn schema(&self) -> &'static dyn SchemaSide {
        &IlliadSchema
    }

    fn writes(&self) -> &'static dyn WriteSide {
        &IlliadWrites
    }

    fn reads(&self) -> &'static dyn ReadSide {
        &IlliadReads
    }
}

#[async_trait::async_trait]
impl ReadSide for IlliadReads {
    /// No search in the API (reference/illiad-libib-api.md §2.2): the `--ids` list is the
    /// filter, and only `--limit` applies.
    fn check_filter(&self, filter: &Filter) -> Result<(), UsageError> {
        filter.refuse_search(System::Illiad)?;
        if filter.active_only || filter.tag.is_some() {
            return Err(UsageError(
                "--active-only and --tag do not apply to ILLiad: its export is the --ids list"
                    .into(),
            ));
        }
        Ok(())
    }

    async fn pager(
        &self,
        target: &Target,
        http: Governed,
        ids: Vec<String>,
        _filter: &Filter,
    ) -> anyhow::Result<Paged> {
        let client = super::connect::illiad(target, http).await?;
        Ok(Paged {
            pager: Box::new(super::export::IlliadPager::new(client, ids)),
            fields: Arc::new(super::export::IlliadFields),
        })
    }

    fn name_fields(&self) -> &'static [&'static str] {
        &["LastName", "FirstName", "UserName"]
    }

    /// `GET Users/{username}` answers with `Password` and `PasswordHint`
    /// (/work/shared/reference/seeds/illiad-webplatform-users-api.txt, the example user, lines
    /// 53 and 81); `PlainTextPassword` is the create body's write-only password (same document).
    fn secret_fields(&self) -> &'static [&'static str] {
        &["Password", "PasswordHint", "PlainTextPassword"]
    }

    /// `LastChangedDate` is set by the platform on every write
    /// (seeds/illiad-webplatform-users-api.txt, the example user, line 57).
    fn server_set(&self) -> &'static [&'static str] {
        &["LastChangedDate"]
    }

    /// Never asked: the API cannot update or delete users ([`Capabilities`] above).
    async fn undo(&self, _target: &Target) -> anyhow::Result<Box<dyn UndoTarget>> {
        Err(UsageError("undo for illiad runs is not supported yet".into()).into())
    }
}
