//! FOLIO as a [`TargetSession`]: the logged-in client and the reference data, behind the
//! planner, the writer, the `--missing` scope query and restore's planning.

use crate::exit::{TargetError, UsageError};
use crate::export::native;
use crate::http::Governed;
use crate::mapping::Scope;
use crate::outcome::ReasonCode;
use crate::outcome::{AbsentPatron, Outcome};
use crate::plan::{differences, Action, Candidate, Change, Planned, Rejection};
use crate::sync::{MissingPlan, MissingPolicy};
use crate::systems::connector::{NameCheck, PlanRules, Purpose, TargetSession};
use crate::systems::folio::client::FolioClient;
use crate::systems::folio::cql;
use crate::systems::folio::custom::CustomFields;
use crate::systems::folio::linked::{self, departments::DepartmentMaker};
use crate::systems::folio::plan::{no_offset_reason, FolioPlanner};
use crate::systems::folio::refdata::{Names, RefData};
use crate::systems::folio::write::FolioWriter;
use crate::systems::System;
use crate::target::Target;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// A logged-in FOLIO target.
pub struct FolioSession {
    client: FolioClient,
    /// Names ↔ ids (empty for a restore, which sends ids as they were).
    refdata: RefData,
    /// Service points by code or name, read on the first chunk whose rows name one (a mapping
    /// without service points costs no request, and needs no permission, for them).
    service_points: tokio::sync::OnceCell<Names>,
    /// Departments this run creates (`create_missing`).
    departments: DepartmentMaker,
    /// The tenant's user custom fields, read on the first chunk that maps one (two GETs), so
    /// a mapping without custom fields costs no request for them.
    custom: tokio::sync::OnceCell<CustomFields>,
    /// The day `group_offset` counts from: the run's first day, read once when it connects,
    /// so every row of a run that crosses midnight gets its expiry from the same day.
    today: chrono::NaiveDate,
}

/// Logs in; an import also loads the reference data.
pub async fn connect(target: &Target, purpose: Purpose) -> anyhow::Result<FolioSession> {
    let http =
        Governed::new(target.rate, target.concurrency, target.timeout)?.with_retry(target.retry);
    match purpose {
        Purpose::Import { .. } => {
            let (client, refdata) = super::connect::folio_with_names(target, http).await?;
            tracing::info!(
                groups = refdata.groups.names().len(),
                address_types = refdata.address_types.names().len(),
                "FOLIO reference data loaded"
            );
            Ok(FolioSession {
                client,
                refdata,
                service_points: tokio::sync::OnceCell::new(),
                departments: DepartmentMaker::default(),
                custom: tokio::sync::OnceCell::new(),
                today: chrono::Local::now().date_naive(),
            })
        }
        Purpose::Restore => Ok(FolioSession {
            client: super::connect::folio(target, http).await?,
            refdata: RefData::default(),
            service_points: tokio::sync::OnceCell::new(),
            departments: DepartmentMaker::default(),
            custom: tokio::sync::OnceCell::new(),
            today: chrono::Local::now().date_naive(),
        }),
    }
}

#[async_trait::async_trait(?Send)]
impl TargetSession for FolioSession {
    fn http(&self) -> &Governed {
        self.client.http()
    }

    async fn plan(
        &self,
        chunk: Vec<Candidate>,
        rules: &PlanRules<'_>,
    ) -> anyhow::Result<Vec<Planned>> {
        let no_names = Names::default();
        let service_points = if chunk.iter().any(|c| linked::names_service_point(&c.record)) {
            self.service_points
                .get_or_try_init(|| linked::fetch_service_points(&self.client))
                .await
                .map_err(TargetError::into_run_error)?
        } else {
            self.service_points.get().unwrap_or(&no_names)
        };
        let empty = CustomFields::default();
        let maps_custom = |c: &Candidate| {
            c.record.get("customFields").is_some()
                || c.clear.iter().any(|f| f.starts_with("customFields."))
        };
        let custom = if chunk.iter().any(maps_custom) {
            self.custom
                .get_or_try_init(|| CustomFields::fetch(&self.client, false))
                .await
                .map_err(TargetError::into_run_error)?
        } else {
            &empty
        };
        FolioPlanner {
            client: &self.client,
            refdata: &self.refdata,
            custom,
            match_field: rules.match_field,
            protect: rules.protect,
            merge: rules.merge,
            service_points,
            create_missing: rules.create_missing,
            expiry: rules.expiry,
            mapping: rules.mapping,
            today: self.today,
        }
        .plan(chunk)
        .await
        .map_err(TargetError::into_run_error)
    }

    /// One lookup by id for the chunk; missing → create (with its id), different → the
    /// backup's record sent whole (a PUT replaces the user), equal → unchanged.
    async fn plan_restore(
        &self,
        chunk: Vec<Candidate>,
        _external_field: Option<&str>,
    ) -> anyhow::Result<Vec<Planned>> {
        let ids: Vec<&str> = chunk.iter().map(|c| c.key.as_str()).collect();
        let mut existing = self
            .client
            .find_users(&cql::any_of("id", &ids), ids.len())
            .await
            .map_err(TargetError::into_run_error)?;
        // A backup carries the linked records the user had (export's pager): compare them too.
        let kinds: Vec<linked::Kind> = linked::KINDS
            .into_iter()
            .filter(|k| chunk.iter().any(|c| c.record.get(k.key).is_some()))
            .collect();
        if !kinds.is_empty() {
            linked::attach(&self.client, &mut existing, &kinds, true)
                .await
                .map_err(TargetError::into_run_error)?;
        }
        let by_id: HashMap<&str, &Value> = existing
            .iter()
            .filter_map(|u| Some((u.get("id")?.as_str()?, u)))
            .collect();
        Ok(chunk
            .into_iter()
            .map(|row| {
                let action = match by_id.get(row.key.as_str()) {
                    None => Action::Create(row.record.clone()),
                    Some(current) => {
                        let mut now = native::without_server_set(System::Folio, current);
                        // Linked records the backup does not list are left alone.
                        if let Some(o) = now.as_object_mut() {
                            for k in linked::KINDS {
                                if row.record.get(k.key).is_none() {
                                    o.remove(k.key);
                                } else if let Some(v) = o.get_mut(k.key) {
                                    *v = linked::comparable(v);
                                }
                            }
                        }
                        let mut wanted = row.record.clone();
                        if let Some(o) = wanted.as_object_mut() {
                            for k in linked::KINDS {
                                if let Some(v) = o.get_mut(k.key) {
                                    *v = linked::comparable(v);
                                }
                            }
                        }
                        let changes = differences(&now, &wanted);
                        if changes.is_empty() {
                            Action::Unchanged {
                                id: row.key.clone(),
                            }
                        } else {
                            Action::Update {
                                id: row.key.clone(),
                                record: row.record.clone(),
                                changes,
                                before: (*current).clone(),
                            }
                        }
                    }
                };
                Planned { row, action }
            })
            .collect())
    }

    async fn write(&self, planned: Planned, match_field: &str) -> Outcome {
        FolioWriter {
            client: &self.client,
            policy: self.client.http().retry(),
            match_field,
            departments: &self.departments,
        }
        .apply(planned)
        .await
    }

    /// Patron groups, address types and departments (loaded at connect) and, when the mapping
    /// maps one, the tenant's custom fields: the planner's own resolution, on a copy of the
    /// record.
    async fn name_check(
        &self,
        mapping: &crate::mapping::Mapping,
    ) -> anyhow::Result<Option<NameCheck>> {
        let expiry = mapping.expiry;
        // Custom-field definitions only when the mapping maps one, as the import reads them
        // (a login without their permission can check the rest).
        let custom_fields = mapping
            .fields()
            .any(|(name, _)| name.starts_with("customFields."));
        let custom = if custom_fields {
            self.custom
                .get_or_try_init(|| CustomFields::fetch(&self.client, false))
                .await
                .map_err(TargetError::into_run_error)?
                .clone()
        } else {
            CustomFields::default()
        };
        let refdata = self.refdata.clone();
        // Service points only when the mapping names one (linked/), as the planner reads them.
        let names_sp = mapping
            .fields()
            .any(|(f, _)| linked::SERVICE_POINT_FIELDS.contains(&f));
        let service_points = if names_sp {
            self.service_points
                .get_or_try_init(|| linked::fetch_service_points(&self.client))
                .await
                .map_err(TargetError::into_run_error)?
                .clone()
        } else {
            Names::default()
        };
        let create_departments = mapping.create_missing.iter().any(|f| f == "departments");
        let group_column = mapping.column_of("patronGroup").map(str::to_string);
        let mapping = mapping.clone();
        Ok(Some(NameCheck(std::sync::Arc::new(
            move |record: &Value| {
                let mut r = record.clone();
                let mut desired = linked::take(&mut r);
                if create_departments {
                    // Names the run would create are not errors.
                    if let Some(Value::Array(ds)) = r.get_mut("departments") {
                        ds.retain(|d| {
                            d.as_str()
                                .is_none_or(|n| refdata.departments.id(n.trim()).is_some())
                        });
                    }
                }
                let mut problems: Vec<Rejection> =
                    Rejection::each(ReasonCode::UnknownReference, refdata.resolve(&mut r))
                        .collect();
                problems.extend(custom.resolve(&mut r));
                problems.extend(Rejection::each(
                    ReasonCode::UnknownReference,
                    linked::LinkNames {
                        service_points: &service_points,
                        address_types: &refdata.address_types,
                    }
                    .resolve(&mut desired),
                ));
                // The planner's group_offset rule, for a row that names its group (a row
                // without one takes the stored user's, which only the preview looks up).
                let group = r.get("patronGroup").and_then(Value::as_str);
                if let (true, Some(id)) = (expiry.group_offset && problems.is_empty(), group) {
                    if !refdata.group_offsets.contains_key(id) {
                        problems.push(no_offset_reason(
                            refdata.groups.name(id).unwrap_or(id),
                            group_column.as_deref(),
                        ));
                    }
                }
                for p in &mut problems {
                    p.reason = mapping.name_column(&p.reason);
                }
                problems
            },
        ))))
    }

    fn halt_error(&self) -> Option<anyhow::Error> {
        // A 403 is remembered by the client and fails every later call the same way
        // (client.rs `call`).
        self.client.forbidden().map(TargetError::into_run_error)
    }

    async fn missing(
        &self,
        scope: &Scope,
        match_field: &str,
        roster_keys: &HashSet<String>,
    ) -> anyhow::Result<MissingPlan> {
        let query = super::sync::folio_scope_query(scope, &self.refdata).map_err(UsageError)?;
        super::sync::folio_missing(&self.client, &query, scope, match_field, roster_keys)
            .await
            .map_err(TargetError::into_run_error)
    }

    fn deactivated(
        &self,
        record: &Value,
        policy: MissingPolicy,
        today: &str,
    ) -> (Value, Vec<Change>) {
        let new = super::sync::folio_deactivated(record, policy, today);
        let changes = changes(record, &new);
        (new, changes)
    }

    /// FOLIO's `username`, patron group (by name) and `expirationDate` (its date).
    fn absent_patron(&self, record: &Value) -> AbsentPatron {
        let text = |f: &str| {
            record
                .get(f)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        AbsentPatron {
            username: text("username"),
            group: text("patronGroup").map(|id| {
                self.refdata
                    .groups
                    .name(&id)
                    .map(str::to_string)
                    .unwrap_or(id)
            }),
            expires: text("expirationDate").map(|d| d.chars().take(10).collect()),
        }
    }
}

/// The top-level fields that differ between two FOLIO records (for the report).
fn changes(old: &Value, new: &Value) -> Vec<Change> {
    ["active", "expirationDate"]
        .iter()
        .filter(|f| old.get(**f) != new.get(**f))
        .map(|f| Change {
            field: f.to_string(),
            old: old.get(*f).cloned(),
            new: new.get(*f).cloned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::systems::connector::WriteSide;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn restore_takes_folio_records_back_whole() {
        let folio = json!({"id": "x", "customFields": {"a": 1}});
        let mut none = BTreeMap::new();
        assert_eq!(
            super::super::connector::FolioWrites.restorable(folio.clone(), &mut none),
            folio
        );
        assert!(none.is_empty());
    }
}
