//! The fake's connector: its three sides over a [`Store`].

use super::store::Store;
use crate::exit::UsageError;
use crate::export::filter::Filter;
use crate::export::source::SourceStats;
use crate::http::Governed;
use crate::init::{Concept, StarterColumn, StarterExtras};
use crate::mapping::Scope;
use crate::outcome::{AbsentPatron, Outcome, OutcomeKind, ReasonCode};
use crate::plan::{differences, Action, Candidate, Change, Planned};
use crate::sync::{Absent, MissingPlan, MissingPolicy};
use crate::systems::connector::{
    Batch, Capabilities, Connector, Paged, Pager, PlanRules, Purpose, ReadSide, RecordFields,
    SchemaSide, TargetSecret, TargetSession, WriteSide,
};
use crate::systems::schema::{FieldDef, FieldKind, Violation};
use crate::systems::System;
use crate::target::{SystemConfig, Target, TargetEntry};
use crate::undo::UndoTarget;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// The test-only fake.
pub struct MemoryConnector;
/// Its schema side.
pub struct MemorySchema;
/// Its write side.
pub struct MemoryWrites;
/// Its read side.
pub struct MemoryReads;

/// The fake's fields: `key` identifies a patron, `email` is unique.
static CATALOGUE: [FieldDef; 5] = [
    FieldDef::text("key").id(),
    FieldDef::text("name"),
    FieldDef::text("email"),
    FieldDef::text("group"),
    FieldDef::of("active", FieldKind::Bool),
];

impl Connector for MemoryConnector {
    fn system(&self) -> System {
        System::Memory
    }

    /// Its own rules (not a model of any API): it can do everything, one record at a time.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list: true,
            update: true,
            delete: true,
            batch_lookup: false,
        }
    }

    fn schema(&self) -> &'static dyn SchemaSide {
        &MemorySchema
    }

    fn writes(&self) -> &'static dyn WriteSide {
        &MemoryWrites
    }

    fn reads(&self) -> &'static dyn ReadSide {
        &MemoryReads
    }

    fn test_only(&self) -> bool {
        true
    }
}

/// The fake needs no settings of its own.
#[derive(Debug)]
struct MemoryConfig;

impl SystemConfig for MemoryConfig {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl SchemaSide for MemorySchema {
    fn label(&self) -> &'static str {
        "Memory"
    }

    fn catalogue(&self) -> &'static [FieldDef] {
        &CATALOGUE
    }

    fn match_fields(&self) -> &'static [&'static str] {
        &["key", "email"]
    }

    fn validate(&self, record: &Map<String, Value>) -> Vec<Violation> {
        let blank = |f: &str| {
            record
                .get(f)
                .and_then(Value::as_str)
                .is_none_or(|s| s.trim().is_empty())
        };
        let mut out = Vec::new();
        if blank("key") {
            out.push(Violation::field("key", "required").code(ReasonCode::RequiredBlank));
        }
        if let Some(e) = record.get("email").and_then(Value::as_str) {
            if !e.contains('@') {
                out.push(
                    Violation::field("email", "not an e-mail address").code(ReasonCode::BadEmail),
                );
            }
        }
        out
    }

    fn unique_fields(&self) -> &'static [&'static str] {
        &["email"]
    }

    fn starter_lines(&self, concept: Concept, column: &StarterColumn) -> Option<Vec<String>> {
        let field = match concept {
            Concept::ExternalId | Concept::Username | Concept::Barcode => "key",
            Concept::FullName => "name",
            Concept::Email => "email",
            Concept::Group => "group",
            _ => return None,
        };
        Some(vec![column.line(field, "")])
    }

    fn starter_match(&self) -> &'static [(Concept, &'static str)] {
        &[(Concept::ExternalId, "key"), (Concept::Email, "email")]
    }

    fn starter_extras(&self, _columns: &[StarterColumn], _out_name: &str) -> StarterExtras {
        StarterExtras::default()
    }

    fn default_pacing(&self) -> (f64, usize) {
        (1000.0, 1)
    }

    fn target_config(&self, _entry: &TargetEntry) -> Arc<dyn SystemConfig> {
        Arc::new(MemoryConfig)
    }

    fn target_secret(&self) -> TargetSecret {
        TargetSecret::ApiKey
    }
}

/// A connected store.
struct MemorySession {
    store: Store,
    http: Governed,
}

fn open(target: &Target) -> anyhow::Result<MemorySession> {
    Ok(MemorySession {
        store: Store::open(&target.url)?,
        http: Governed::new(target.rate, 1, target.timeout)?,
    })
}

#[async_trait::async_trait]
impl WriteSide for MemoryWrites {
    async fn connect(
        &self,
        target: &Target,
        _purpose: Purpose,
    ) -> anyhow::Result<Box<dyn TargetSession>> {
        Ok(Box::new(open(target)?))
    }

    fn product_name(&self) -> &'static str {
        "Memory"
    }

    fn restore_key(&self) -> &'static str {
        "key"
    }
}

/// Text of a field, if any.
fn text<'a>(record: &'a Value, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

impl MemorySession {
    fn decide(&self, row: &Candidate, match_field: &str, protect: &[String]) -> Action {
        let Some(key) = text(&row.record, match_field) else {
            return Action::Reject(crate::plan::Rejection::new(
                crate::outcome::ReasonCode::RequiredBlank,
                format!("{match_field}: required"),
            ));
        };
        let found = self.store.find(match_field, key);
        let stored = match found.as_slice() {
            [] => return Action::Create(row.record.clone()),
            [one] => one.clone(),
            _ => {
                return Action::Conflict(format!(
                    "{} patrons have {match_field} {key}",
                    found.len()
                ))
            }
        };
        let id = text(&stored, "id").unwrap_or_default().to_string();
        let mut merged = stored.clone();
        if let (Some(m), Some(new)) = (merged.as_object_mut(), row.record.as_object()) {
            for (k, v) in new {
                let held = m.get(k).is_some_and(|v| !v.is_null() && v != "");
                if !(protect.contains(k) && held) {
                    m.insert(k.clone(), v.clone());
                }
            }
            for k in &row.clear {
                m.remove(k);
            }
        }
        let changes: Vec<Change> = differences(&stored, &merged);
        if changes.is_empty() {
            Action::Unchanged { id }
        } else {
            Action::Update {
                id,
                record: merged,
                changes,
                before: stored,
            }
        }
    }
}

#[async_trait::async_trait(?Send)]
impl TargetSession for MemorySession {
    fn http(&self) -> &Governed {
        &self.http
    }

    async fn plan(
        &self,
        chunk: Vec<Candidate>,
        rules: &PlanRules<'_>,
    ) -> anyhow::Result<Vec<Planned>> {
        Ok(chunk
            .into_iter()
            .map(|row| Planned {
                action: self.decide(&row, rules.match_field, rules.protect),
                row,
            })
            .collect())
    }

    async fn plan_restore(
        &self,
        chunk: Vec<Candidate>,
        _external_field: Option<&str>,
    ) -> anyhow::Result<Vec<Planned>> {
        Ok(chunk
            .into_iter()
            .map(|row| Planned {
                action: self.decide(&row, "key", &[]),
                row,
            })
            .collect())
    }

    async fn write(&self, planned: Planned, _match_field: &str) -> Outcome {
        let mut o = planned.row.outcome(OutcomeKind::Failed);
        let result = match planned.action {
            Action::Create(record) => self.store.create(&record).map(|id| {
                o.outcome = OutcomeKind::Created;
                o.target_id = Some(id);
            }),
            Action::Update {
                id,
                record,
                changes,
                ..
            } => self.store.replace(&id, &record).map(|found| {
                o.outcome = if found {
                    OutcomeKind::Updated
                } else {
                    OutcomeKind::Failed
                };
                if !found {
                    o.set_reason(ReasonCode::NotFound, format!("{id}: no such patron"));
                }
                o.target_id = Some(id);
                o.changed_fields = changes.iter().map(ToString::to_string).collect();
            }),
            other => return crate::write::preview_outcome(o, other, false),
        };
        if let Err(e) = result {
            o.outcome = OutcomeKind::Failed;
            o.set_reason(ReasonCode::ServerRejected, format!("{e:#}"));
        }
        o
    }

    async fn missing(
        &self,
        _scope: &Scope,
        match_field: &str,
        roster_keys: &HashSet<String>,
    ) -> anyhow::Result<MissingPlan> {
        let all = self.store.all();
        let mut plan = MissingPlan {
            in_scope: all.len(),
            ..MissingPlan::default()
        };
        for record in all {
            let key = text(&record, match_field).unwrap_or_default().to_string();
            if !roster_keys.contains(&crate::dedupe::fold(&key)) {
                plan.absent.push(Absent {
                    id: text(&record, "id").unwrap_or_default().to_string(),
                    key,
                    record,
                });
            }
        }
        Ok(plan)
    }

    fn deactivated(
        &self,
        record: &Value,
        _policy: MissingPolicy,
        _today: &str,
    ) -> (Value, Vec<Change>) {
        let mut new = record.clone();
        if let Some(m) = new.as_object_mut() {
            m.insert("active".into(), Value::Bool(false));
        }
        let changes = differences(record, &new);
        (new, changes)
    }

    fn absent_patron(&self, record: &Value) -> AbsentPatron {
        AbsentPatron {
            username: text(record, "key").map(str::to_string),
            group: text(record, "group").map(str::to_string),
            expires: None,
        }
    }
}

/// Every patron in one batch.
struct MemoryPager {
    session: MemorySession,
    filter: Filter,
    done: bool,
}

#[async_trait::async_trait]
impl Pager for MemoryPager {
    async fn next(&mut self, _stats: &mut SourceStats) -> anyhow::Result<Batch> {
        let records = if self.done {
            Vec::new()
        } else {
            self.session
                .store
                .all()
                .into_iter()
                .filter(|r| {
                    !self.filter.active_only || r.get("active") != Some(&Value::Bool(false))
                })
                .collect()
        };
        self.done = true;
        Ok(Batch {
            records,
            last: true,
        })
    }

    fn http(&self) -> &Governed {
        &self.session.http
    }
}

/// The fake's records are flat: each field is a column.
#[derive(Debug)]
struct MemoryFields;

impl RecordFields for MemoryFields {
    fn default_fields(&self) -> Vec<String> {
        CATALOGUE.iter().map(|d| d.name.to_string()).collect()
    }

    fn extract(&self, field: &str, record: &Value) -> Option<Vec<String>> {
        crate::export::columns::texts(record.get(field)?)
    }

    fn leaves(&self, record: &Value) -> Vec<String> {
        crate::export::columns::top_level_leaves(record, &["id"])
    }
}

#[async_trait::async_trait]
impl ReadSide for MemoryReads {
    fn check_filter(&self, filter: &Filter) -> Result<(), UsageError> {
        filter.refuse_search(System::Memory)?;
        if filter.tag.is_some() {
            return Err(UsageError("--tag: the memory store has no tags".into()));
        }
        Ok(())
    }

    async fn pager(
        &self,
        target: &Target,
        _http: Governed,
        _ids: Vec<String>,
        filter: &Filter,
    ) -> anyhow::Result<Paged> {
        Ok(Paged {
            pager: Box::new(MemoryPager {
                session: open(target)?,
                filter: filter.clone(),
                done: false,
            }),
            fields: Arc::new(MemoryFields),
        })
    }

    fn name_fields(&self) -> &'static [&'static str] {
        &["name", "key"]
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &[]
    }

    fn server_set(&self) -> &'static [&'static str] {
        &["id"]
    }

    async fn undo(&self, target: &Target) -> anyhow::Result<Box<dyn UndoTarget>> {
        Ok(Box::new(open(target)?))
    }
}

#[async_trait::async_trait]
impl UndoTarget for MemorySession {
    fn system(&self) -> &'static str {
        System::Memory.name()
    }

    async fn fetch(&self, id: &str) -> Result<Option<Value>, String> {
        Ok(self.store.get(id))
    }

    async fn find(&self, field: &str, key: &str) -> Result<Option<String>, String> {
        let found = self.store.find(field, key);
        Ok(match found.as_slice() {
            [one] => text(one, "id").map(str::to_string),
            _ => None,
        })
    }

    async fn delete(&self, id: &str) -> Result<(), String> {
        match self.store.delete(id) {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!("{id}: no such patron")),
            Err(e) => Err(format!("{e:#}")),
        }
    }

    async fn restore(&self, id: &str, before: &Value, _current: &Value) -> Result<(), String> {
        match self.store.replace(id, before) {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!("{id}: no such patron")),
            Err(e) => Err(format!("{e:#}")),
        }
    }

    fn changed_since(&self, expected: &Value, current: &Value, created: bool) -> Vec<String> {
        differences(expected, current)
            .into_iter()
            .map(|c| c.field)
            .filter(|f| !(created && f == "id"))
            .collect()
    }
}
