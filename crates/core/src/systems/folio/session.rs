//! FOLIO as a [`TargetSession`]: the logged-in client and the reference data, behind the
//! planner, the writer, the `--missing` scope query and restore's planning.

use crate::exit::{TargetError, UsageError};
use crate::export::native;
use crate::http::Governed;
use crate::mapping::Scope;
use crate::outcome::{AbsentPatron, Outcome};
use crate::plan::{differences, Action, Candidate, Change, Planned};
use crate::sync::{MissingPlan, MissingPolicy};
use crate::systems::connector::{NameCheck, PlanRules, Purpose, TargetSession};
use crate::systems::folio::client::FolioClient;
use crate::systems::folio::cql;
use crate::systems::folio::custom::CustomFields;
use crate::systems::folio::plan::{no_offset_reason, FolioPlanner};
use crate::systems::folio::refdata::RefData;
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
    /// The tenant's user custom fields, read on the first chunk that maps one (two GETs), so
    /// a mapping without custom fields costs no request for them.
    custom: tokio::sync::OnceCell<CustomFields>,
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
                custom: tokio::sync::OnceCell::new(),
            })
        }
        Purpose::Restore => Ok(FolioSession {
            client: super::connect::folio(target, http).await?,
            refdata: RefData::default(),
            custom: tokio::sync::OnceCell::new(),
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
            expiry: rules.expiry,
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
        let existing = self
            .client
            .find_users(&cql::any_of("id", &ids), ids.len())
            .await
            .map_err(TargetError::into_run_error)?;
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
                        let now = native::without_server_set(System::Folio, current);
                        let changes = differences(&now, &row.record);
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
        }
        .apply(planned)
        .await
    }

    /// Patron groups, address types and departments (loaded at connect) and the tenant's
    /// custom fields: the planner's own resolution, on a copy of the record.
    async fn name_check(
        &self,
        expiry: crate::mapping::ExpiryRule,
    ) -> anyhow::Result<Option<NameCheck>> {
        let custom = self
            .custom
            .get_or_try_init(|| CustomFields::fetch(&self.client, false))
            .await
            .map_err(TargetError::into_run_error)?
            .clone();
        let refdata = self.refdata.clone();
        Ok(Some(NameCheck(std::sync::Arc::new(
            move |record: &Value| {
                let mut r = record.clone();
                let mut problems = refdata.resolve(&mut r);
                problems.extend(custom.resolve(&mut r));
                // The planner's group_offset rule, for a row that names its group (a row
                // without one takes the stored user's, which only the preview looks up).
                let group = r.get("patronGroup").and_then(Value::as_str);
                if let (true, Some(id)) = (expiry.group_offset && problems.is_empty(), group) {
                    if !refdata.group_offsets.contains_key(id) {
                        problems.push(no_offset_reason(refdata.groups.name(id).unwrap_or(id)));
                    }
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
