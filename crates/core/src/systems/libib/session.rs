//! Libib as a [`TargetSession`]: the client and, when paging through every patron costs fewer
//! requests than one lookup per row, a [`Snapshot`] of them all — behind the planner, the
//! writer, the `--missing` scope query and restore's planning.

use crate::exit::TargetError;
use crate::http::Governed;
use crate::mapping::Scope;
use crate::outcome::{AbsentPatron, Outcome};
use crate::plan::{Candidate, Change, Planned};
use crate::sync::{MissingPlan, MissingPolicy};
use crate::systems::connector::{PlanRules, Purpose, TargetSession};
use crate::systems::libib::client::LibibClient;
use crate::systems::libib::plan::{LibibPlanner, Snapshot};
use crate::systems::libib::write::LibibWriter;
use crate::target::Target;
use serde_json::Value;
use std::collections::HashSet;

/// A connected Libib target.
pub struct LibibSession {
    client: LibibClient,
    /// Every patron, when the run took a snapshot (always for a restore).
    snapshot: Option<Snapshot>,
}

/// Checks the credentials (the first page of patrons) and takes a snapshot when it pays.
pub async fn connect(target: &Target, purpose: Purpose) -> anyhow::Result<LibibSession> {
    // One global pacer, never concurrent: Libib allows one request per 2 s per account
    // (shared/reference/illiad-libib-api.md line 39, "you may hit the API once every 2 seconds").
    let http = Governed::new(target.rate, 1, target.timeout)?.with_retry(target.retry);
    let (client, first) = super::connect::libib(target, http).await?;
    let snapshot = match purpose {
        Purpose::Import {
            expected_rows,
            full_listing,
        } => {
            // Paging costs (pages - 1) more requests; per-row lookups cost one per row.
            let more_pages = first.pages.saturating_sub(1);
            let snapshot = full_listing
                || match expected_rows {
                    Some(rows) => more_pages <= rows,
                    None => more_pages <= 20,
                };
            tracing::info!(
                patrons = first.total,
                pages = first.pages,
                snapshot,
                "Libib reached"
            );
            if snapshot {
                match client.all_patrons(first).await {
                    Ok(all) => Some(Snapshot::new(all)),
                    // Interrupted during the scan: no row will be planned, each is `skipped`.
                    Err(_) if crate::journal::interrupt::stopped() => None,
                    Err(e) => return Err(e.into_run_error()),
                }
            } else {
                None
            }
        }
        Purpose::Restore => Some(Snapshot::new(
            client
                .all_patrons(first)
                .await
                .map_err(TargetError::into_run_error)?,
        )),
    };
    Ok(LibibSession { client, snapshot })
}

#[async_trait::async_trait(?Send)]
impl TargetSession for LibibSession {
    fn http(&self) -> &Governed {
        self.client.http()
    }

    /// Libib is paced at one request every 2 s and written one row at a time: a chunk of one
    /// row reports (and shows progress) as each row is done, and batches nothing worth keeping.
    fn chunk_rows(&self) -> usize {
        1
    }

    /// One at a time: Libib is paced per account and never written concurrently.
    fn write_concurrency(&self) -> usize {
        1
    }

    async fn plan(
        &self,
        chunk: Vec<Candidate>,
        rules: &PlanRules<'_>,
    ) -> anyhow::Result<Vec<Planned>> {
        LibibPlanner {
            client: &self.client,
            match_field: rules.match_field,
            protect: rules.protect,
            merge: rules.merge,
            snapshot: self.snapshot.as_ref(),
        }
        .plan(chunk)
        .await
        .map_err(TargetError::into_run_error)
    }

    /// Import's planner keyed on `barcode`, the patron's identifier for `GET/POST
    /// /patrons/{id}` (seeds/libib-patrons-client-docs.txt, "Update a Patron").
    async fn plan_restore(
        &self,
        chunk: Vec<Candidate>,
        _external_field: Option<&str>,
    ) -> anyhow::Result<Vec<Planned>> {
        LibibPlanner {
            client: &self.client,
            match_field: "barcode",
            protect: &[],
            // A restore puts the backup's tags back as they were, not merged.
            merge: &[],
            snapshot: self.snapshot.as_ref(),
        }
        .plan(chunk)
        .await
        .map_err(TargetError::into_run_error)
    }

    async fn write(&self, planned: Planned, _match_field: &str) -> Outcome {
        LibibWriter {
            client: &self.client,
            policy: self.client.http().retry(),
        }
        .apply(planned)
        .await
    }

    async fn missing(
        &self,
        scope: &Scope,
        match_field: &str,
        roster_keys: &HashSet<String>,
    ) -> anyhow::Result<MissingPlan> {
        let all = self
            .snapshot
            .as_ref()
            .map(|s| s.patrons())
            .unwrap_or_default();
        Ok(super::sync::libib_missing(
            all,
            scope,
            match_field,
            roster_keys,
        ))
    }

    /// Libib has no active flag: an absent patron is frozen (`freeze=1`).
    fn deactivated(
        &self,
        record: &Value,
        _policy: MissingPolicy,
        _today: &str,
    ) -> (Value, Vec<Change>) {
        (
            serde_json::json!({"freeze": "1"}),
            vec![Change {
                field: "freeze".into(),
                old: record.get("freeze").cloned(),
                new: Some(Value::from("1")),
            }],
        )
    }

    /// Libib has no user name or group, so its `tags` stand for the group.
    fn absent_patron(&self, record: &Value) -> AbsentPatron {
        AbsentPatron {
            username: None,
            // Libib's tags are one comma-separated text (see sync::libib_missing).
            group: match record.get("tags") {
                Some(Value::Array(a)) => Some(
                    a.iter()
                        .filter_map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                _ => record
                    .get("tags")
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            }
            .filter(|s| !s.is_empty()),
            expires: None,
        }
    }
}
