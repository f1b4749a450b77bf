//! ILLiad Web Platform as a [`Connector`]: the one place the stages reach Illiad through.

use crate::systems::connector::{Capabilities, Connector, ReadSide, SchemaSide, WriteSide};
use crate::systems::System;

/// ILLiad Web Platform.
pub struct IlliadConnector;

/// Illiad's schema side (catalogue, validation, mapping rules, `init` data, target config).
pub struct IlliadSchema;
/// Illiad's write side (connect, plan, write, scope query, restore).
pub struct IlliadWrites;
/// Illiad's read side (pager, undo).
pub struct IlliadReads;

impl SchemaSide for IlliadSchema {}

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

impl ReadSide for IlliadReads {}

impl Connector for IlliadConnector {
    fn system(&self) -> System {
        System::Illiad
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
