//! ILLiad as a [`TargetSession`]: the connected client and the target's default NVTGC, behind
//! the planner, the writer and restore's planning. The API cannot list users, so it has no
//! `--missing` scope query (its [`Capabilities::list`](crate::systems::connector::Capabilities)
//! is off, and stages check that first).

use crate::exit::{TargetError, UsageError};
use crate::http::Governed;
use crate::mapping::Scope;
use crate::outcome::{AbsentPatron, Outcome};
use crate::plan::{Candidate, Change, Planned};
use crate::sync::{MissingPlan, MissingPolicy};
use crate::systems::connector::{PlanRules, Purpose, TargetSession};
use crate::systems::illiad::client::IlliadClient;
use crate::systems::illiad::plan::IlliadPlanner;
use crate::systems::illiad::write::IlliadWriter;
use crate::systems::System;
use crate::target::Target;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// A connected ILLiad target.
pub struct IlliadSession {
    client: IlliadClient,
    /// The target's NVTGC, used when the mapping gives none (not for a restore: the backup's
    /// records carry their own).
    nvtgc: Option<String>,
}

/// Checks the URL and key.
pub async fn connect(target: &Target, purpose: Purpose) -> anyhow::Result<IlliadSession> {
    let http =
        Governed::new(target.rate, target.concurrency, target.timeout)?.with_retry(target.retry);
    let client = super::connect::illiad(target, http).await?;
    let nvtgc = match purpose {
        Purpose::Import { .. } => {
            tracing::info!(version = %client.version, "ILLiad Web Platform reached");
            target
                .config::<super::config::IlliadConfig>()?
                .nvtgc
                .clone()
        }
        Purpose::Restore => None,
    };
    Ok(IlliadSession { client, nvtgc })
}

#[async_trait::async_trait(?Send)]
impl TargetSession for IlliadSession {
    fn http(&self) -> &Governed {
        self.client.http()
    }

    async fn plan(
        &self,
        chunk: Vec<Candidate>,
        rules: &PlanRules<'_>,
    ) -> anyhow::Result<Vec<Planned>> {
        IlliadPlanner {
            client: &self.client,
            match_field: rules.match_field,
            nvtgc: self.nvtgc.as_deref(),
            external_field: rules.external_field,
        }
        .plan(chunk)
        .await
        .map_err(TargetError::into_run_error)
    }

    /// Import's planner keyed on `UserName` (the key of `GET Users/{username}`).
    async fn plan_restore(
        &self,
        chunk: Vec<Candidate>,
        external_field: Option<&str>,
    ) -> anyhow::Result<Vec<Planned>> {
        IlliadPlanner {
            client: &self.client,
            match_field: "UserName",
            nvtgc: None,
            external_field,
        }
        .plan(chunk)
        .await
        .map_err(TargetError::into_run_error)
    }

    async fn write(&self, planned: Planned, _match_field: &str) -> Outcome {
        IlliadWriter {
            client: &self.client,
            policy: self.client.http().retry(),
        }
        .apply(planned)
        .await
    }

    async fn missing(
        &self,
        _scope: &Scope,
        _match_field: &str,
        _roster_keys: &HashSet<String>,
    ) -> anyhow::Result<MissingPlan> {
        Err(
            UsageError("--missing is not available for ILLiad: its API cannot list users".into())
                .into(),
        )
    }

    /// Never called (the API cannot list users, so no one is found absent); the record as it is.
    fn deactivated(
        &self,
        record: &Value,
        _policy: MissingPolicy,
        _today: &str,
    ) -> (Value, Vec<Change>) {
        (record.clone(), Vec::new())
    }

    fn absent_patron(&self, _record: &Value) -> AbsentPatron {
        AbsentPatron {
            username: None,
            group: None,
            expires: None,
        }
    }
}

/// The record without the fields the target's API cannot set, counting those that had a value
/// (nothing silent). ILLiad's `GET Users` returns fields (e.g. `RSSID`, `LastChangedDate`) that
/// its Create User parameter table does not list (seeds/illiad-webplatform-users-api.txt, the
/// catalogue in [`crate::systems::schema`]).
pub fn restorable(record: Value, dropped: &mut BTreeMap<String, u64>) -> Value {
    let system = System::Illiad;
    let Value::Object(obj) = &record else {
        return record;
    };
    let server_set = crate::export::native::server_set(system);
    let mut kept = serde_json::Map::new();
    for (k, v) in obj {
        if crate::systems::schema::lookup_field(system, k).is_some() {
            // The create body takes `Web` as a boolean, GET answers `"Web":"Yes"`
            // (seeds/illiad-webplatform-users-api.txt lines 60 and 276): the same value.
            let v = match (k.eq_ignore_ascii_case("Web"), v.as_str()) {
                (true, Some(w)) if w.eq_ignore_ascii_case("yes") => Value::Bool(true),
                (true, Some(w)) if w.eq_ignore_ascii_case("no") => Value::Bool(false),
                _ => v.clone(),
            };
            kept.insert(k.clone(), v);
        } else {
            let blank = v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty());
            if blank || server_set.contains(&k.as_str()) {
                continue;
            }
            *dropped.entry(k.clone()).or_default() += 1;
        }
    }
    Value::Object(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn illiad_fields_create_cannot_take_are_counted_when_they_hold_a_value() {
        let mut dropped = BTreeMap::new();
        let rec = json!({"UserName": "a", "RSSID": "r1", "Organization": null,
            "LastChangedDate": "2026-01-01T00:00:00", "SomethingNew": ""});
        let kept = restorable(rec, &mut dropped);
        assert_eq!(kept, json!({"UserName": "a", "Organization": null}));
        assert_eq!(
            dropped.into_iter().collect::<Vec<_>>(),
            [("RSSID".to_string(), 1)]
        );
    }
}
