//! `patron-etl restore BACKUP.jsonl --to TARGET`: puts a native backup ([`crate::export::native`])
//! back — creates the patrons that are missing, puts back the ones that differ (each changed
//! field in the report, old → new), leaves the equal ones alone. Preview unless `--commit`.
//!
//! Flow: backup reader (chunks of [`BATCH`] records) → plan (FOLIO: one `id==(…)` lookup a
//! chunk and a field-level diff here; Libib and ILLiad: import's own planners, keyed on barcode
//! and UserName) → import's journal session (intents with before-images, so `undo` reverses a
//! restore) → import's writers and retry loop → report, one outcome per backup record.
//!
//! Invariants: a backup from another system is refused before anything is sent (exit 2);
//! server-set fields ([`native::server_set`]) are neither compared nor sent; `--only-missing`
//! and ILLiad (whose API cannot update users) never change an existing patron — its
//! differences are listed as `exists`; without `--commit` no writer is built.

use crate::exit::{TargetError, UsageError};
use crate::export::native;
use crate::http::Governed;
use crate::import::{write_all, ImportOptions};
use crate::journal::interrupt::Halt;
use crate::journal::{JournalOptions, RunJournal};
use crate::outcome::{Outcome, OutcomeKind};
use crate::plan::folio::BATCH;
use crate::plan::illiad::IlliadPlanner;
use crate::plan::libib::{LibibPlanner, Snapshot};
use crate::plan::{Action, Candidate, Planned};
use crate::progress::Progress;
use crate::read::ReadOptions;
use crate::report::summary::Summary;
use crate::report::{self, Column, ReportSink};
use crate::runs::RunDir;
use crate::sync::MissingPolicy;
use crate::systems::folio::client::FolioClient;
use crate::systems::folio::cql;
use crate::systems::folio::merge::Change;
use crate::systems::illiad::client::IlliadClient;
use crate::systems::libib::client::LibibClient;
use crate::systems::System;
use crate::target::{self, Target, TargetRef};
use crate::write::folio::{preview_outcome, FolioWriter};
use crate::write::illiad::IlliadWriter;
use crate::write::libib::LibibWriter;
use crate::write::retry::RetryPolicy;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What a restore needs.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The native backup.
    pub backup: PathBuf,
    /// Target name (`sandbox:folio` or a config entry).
    pub to: String,
    /// Config file (default `patron-etl.toml`).
    pub config: Option<PathBuf>,
    /// Apply (otherwise preview).
    pub commit: bool,
    /// Only recreate missing patrons; existing ones are left as they are.
    pub only_missing: bool,
    /// ILLiad: the field the target key's ExternalUserIDMapping names (None: UserName).
    pub external_user_id_field: Option<String>,
    /// Extra report path.
    pub report: Option<PathBuf>,
    /// Requests per second override.
    pub rate: Option<f64>,
    /// In-flight override.
    pub concurrency: Option<usize>,
    /// The home directory.
    pub home: PathBuf,
}

/// What a restore did.
#[derive(Debug)]
pub struct RestoreResult {
    /// Counts, one outcome per backup record.
    pub summary: Summary,
    /// The run folder.
    pub run: RunDir,
    /// Requests sent.
    pub requests: u64,
    /// Write requests sent.
    pub writes: u64,
    /// The journal status.
    pub status: &'static str,
    /// Why the run stopped early, if it did.
    pub halt: Option<Halt>,
    /// Fields with a value in the backup that the target's API cannot set, with how many
    /// records had them (ILLiad: fields its GET returns but Create User does not take).
    pub not_restorable: Vec<(String, u64)>,
    /// Whether `undo` can reverse it (not ILLiad: its API cannot update or delete users).
    pub undoable: bool,
}

enum Backend {
    Folio(FolioClient),
    Libib {
        client: LibibClient,
        snapshot: Snapshot,
    },
    Illiad(IlliadClient),
}

impl Backend {
    fn http(&self) -> &Governed {
        match self {
            Backend::Folio(c) => c.http(),
            Backend::Libib { client, .. } => client.http(),
            Backend::Illiad(c) => c.http(),
        }
    }
}

/// The field a system's records are matched on.
///
/// - FOLIO: `id`, the user's UUID, which `POST /users` keeps when given (mod-users
///   `ramls/userdata.json`: `id`, "A globally unique (UUID) identifier for the user").
/// - Libib: `barcode`, the patron's identifier for `GET/POST /patrons/{id}`
///   (seeds/libib-patrons-client-docs.txt, "Update a Patron": "Pass the patron's barcode or
///   email as the id").
/// - ILLiad: `UserName`, the key of `GET Users/{username}`
///   (seeds/illiad-webplatform-users-api.txt).
fn key_field(system: System) -> &'static str {
    match system {
        System::Folio => "id",
        System::Libib => "barcode",
        System::Illiad => "UserName",
    }
}

/// Runs a restore on a fresh tokio runtime.
pub fn run(opts: &RestoreOptions) -> anyhow::Result<RestoreResult> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run_async(opts))
}

fn import_options(opts: &RestoreOptions) -> ImportOptions {
    ImportOptions {
        files: vec![opts.backup.clone()],
        mapping: opts.backup.clone(),
        read: ReadOptions::default(),
        to: opts.to.clone(),
        config: opts.config.clone(),
        commit: opts.commit,
        report: opts.report.clone(),
        rate: opts.rate,
        concurrency: opts.concurrency,
        max_errors: None,
        limit: None,
        home: opts.home.clone(),
        missing: MissingPolicy::Ignore,
        max_missing: 0.0,
        force: false,
        allow_incomplete_roster: false,
        source: None,
        journal: JournalOptions::default(),
    }
}

async fn connect(target: &Target) -> anyhow::Result<Backend> {
    // Libib: one global pacer, never concurrent (as import).
    let concurrency = if target.system == System::Libib {
        1
    } else {
        target.concurrency
    };
    let http = Governed::new(target.rate, concurrency, target.timeout)?;
    Ok(match target.system {
        System::Folio => Backend::Folio(crate::connect::folio(target, http).await?),
        System::Illiad => Backend::Illiad(crate::connect::illiad(target, http).await?),
        System::Libib => {
            let (client, first) = crate::connect::libib(target, http).await?;
            let all = client
                .all_patrons(first)
                .await
                .map_err(TargetError::into_run_error)?;
            Backend::Libib {
                client,
                snapshot: Snapshot::new(all),
            }
        }
    })
}

async fn run_async(opts: &RestoreOptions) -> anyhow::Result<RestoreResult> {
    let mut backup = native::read(&opts.backup)?;
    let tref = target::resolve(&opts.to, opts.config.as_deref())?;
    let target_system = match &tref {
        TargetRef::Sandbox(s) => *s,
        TargetRef::Configured(t) => t.system,
    };
    if target_system != backup.system {
        return Err(UsageError(format!(
            "{} is a {} backup (from {}) but {} is {}: a backup restores only into the system \
             it came from",
            opts.backup.display(),
            backup.system,
            backup.header.source,
            opts.to,
            target_system
        ))
        .into());
    }
    let total = count_records(&opts.backup);
    let iopts = import_options(opts);
    let system = backup.system;
    // One writing run per target, as for imports (journal/lease.rs): taken before the run is
    // recorded, so a refused restore leaves nothing behind.
    let lease = if opts.commit {
        let key = crate::journal::lease::key_of(&tref, &opts.to);
        Some(crate::journal::lease::Lease::acquire(
            &opts.home,
            &key,
            "(restore starting)",
        )?)
    } else {
        None
    };
    let (run, journal) =
        crate::journal::session::begin_as(&iopts, system, key_field(system), "restore")?;
    if let Some(l) = &lease {
        l.name_run(&run.id)?;
    }
    let (target, sandbox) =
        crate::builtin::open(tref, &opts.home, opts.rate, opts.concurrency).await?;
    if let Err(e) = crate::runlog::attach(&run.file("run.log")) {
        tracing::warn!("cannot write the run log: {e}");
    }
    tracing::info!(run = %run.id, target = %target.name, commit = opts.commit,
        backup = %opts.backup.display(), from = %backup.header.source,
        exported_at = %backup.header.exported_at, "restore started");
    let stop = journal.stop().clone();
    let work = async {
        let backend = connect(&target).await?;
        let mut reports: Vec<Box<dyn ReportSink>> =
            vec![report::open(&run.file("report.csv"), Column::IMPORT)?];
        if let Some(p) = &opts.report {
            reports.push(report::open(p, Column::IMPORT)?);
        }
        let mut summary = Summary::default();
        let mut progress = Progress::new(if opts.commit { "restore" } else { "preview" }, total);
        progress.pace(target.rate, backend.http().counters.clone());
        let file: Arc<str> = Arc::from(opts.backup.display().to_string());
        let mut dropped = BTreeMap::new();
        loop {
            let mut chunk = Vec::with_capacity(BATCH);
            let mut done = Vec::new();
            while chunk.len() < BATCH {
                let Some(item) = backup.next_record() else {
                    break;
                };
                let (line, record) = item?;
                let record = restorable(system, record, &mut dropped);
                candidate(&file, line, record, system, &mut chunk, &mut done);
            }
            if chunk.is_empty() && done.is_empty() {
                break;
            }
            let outcomes = if let Some(why) = journal.halt_reason() {
                chunk
                    .iter()
                    .map(|c| {
                        let mut o = c.outcome(OutcomeKind::Skipped);
                        o.reason = Some(why.clone());
                        o
                    })
                    .collect()
            } else {
                let planned = plan(
                    &backend,
                    chunk,
                    opts.only_missing,
                    opts.external_user_id_field.as_deref(),
                )
                .await?;
                apply(opts, &backend, &journal, planned).await?
            };
            done.extend(outcomes);
            done.sort_by_key(|o| o.line);
            journal.record_outcomes(done.iter().map(|o| (0usize, o)))?;
            for o in &done {
                summary.add(o);
                for r in &mut reports {
                    r.write(o)?;
                }
            }
            progress.inc(done.len() as u64);
        }
        progress.finish();
        for r in reports {
            r.finish()?;
        }
        let c = &backend.http().counters;
        Ok::<_, anyhow::Error>((
            summary,
            c.requests.load(Ordering::Relaxed),
            c.writes.load(Ordering::Relaxed),
            dropped,
        ))
    };
    let result = stop.scope(work).await;
    if let Some(h) = sandbox {
        h.shutdown().await;
    }
    let halt = stop.halt();
    let status = journal.finish(result.is_ok()).await;
    if let Some(l) = lease {
        l.release();
    }
    crate::runlog::detach();
    let (summary, requests, writes, dropped) = result?;
    for (field, n) in &dropped {
        tracing::warn!(field = %field, records = n, "not restored: the target's API cannot set this field");
    }
    let status = status?;
    let json = serde_json::json!({
        "run": run.id, "target": target.name, "commit": opts.commit,
        "backup": opts.backup.display().to_string(), "backup_source": backup.header.source,
        "exported_at": backup.header.exported_at, "only_missing": opts.only_missing,
        "rows": summary.rows,
        "outcomes": summary.by_outcome.iter().map(|(k, v)| (k.name().to_string(), Value::from(*v))).collect::<serde_json::Map<_, _>>(),
        "requests": requests, "writes": writes, "status": status,
        "not_restorable": dropped,
    });
    if let Ok(f) = report::create_private(&run.file("summary.json")) {
        let _ = serde_json::to_writer_pretty(f, &json);
    }
    Ok(RestoreResult {
        summary,
        run,
        requests,
        writes,
        status,
        halt,
        not_restorable: dropped.into_iter().collect(),
        undoable: system != System::Illiad,
    })
}

/// The record without the fields the target's API cannot set, counting those that had a value
/// (nothing silent). ILLiad's `GET Users` returns fields (e.g. `RSSID`, `LastChangedDate`) that
/// its Create User parameter table does not list (seeds/illiad-webplatform-users-api.txt, the
/// catalogue in [`crate::systems::schema`]); the other systems take back what they return.
fn restorable(system: System, record: Value, dropped: &mut BTreeMap<String, u64>) -> Value {
    let (System::Illiad, Value::Object(obj)) = (system, &record) else {
        return record;
    };
    let server_set = native::server_set(system);
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

/// Records in the backup (lines after the header that are not blank), for progress.
fn count_records(path: &std::path::Path) -> Option<u64> {
    use std::io::BufRead;
    let f = std::fs::File::open(path).ok()?;
    let n = std::io::BufReader::new(f)
        .lines()
        .skip(1)
        .map_while(Result::ok)
        .filter(|l| !l.trim().is_empty())
        .count();
    Some(n as u64)
}

/// Turns one backup record into a candidate keyed on the system's key field (server-set fields
/// removed), or a `rejected` outcome when it has no key.
fn candidate(
    file: &Arc<str>,
    line: u64,
    record: Value,
    system: System,
    chunk: &mut Vec<Candidate>,
    done: &mut Vec<Outcome>,
) {
    let field = key_field(system);
    let record = native::without_server_set(system, &record);
    let key = match record.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            let mut o = Outcome::new(file, line, None, OutcomeKind::Rejected);
            o.reason = Some(format!("the backup record has no {field}"));
            done.push(o);
            return;
        }
    };
    // Libib: a field blank in the backup but set now is put back to blank.
    let clear = match (system, record.as_object()) {
        (System::Libib, Some(obj)) => obj
            .iter()
            .filter(|(_, v)| crate::plan::libib::param_text("", v).is_none())
            .map(|(k, _)| k.clone())
            .collect(),
        _ => Vec::new(),
    };
    chunk.push(Candidate {
        file: file.clone(),
        line,
        key,
        record,
        clear,
    });
}

/// The fields that differ between two records, by path (`personal.lastName`,
/// `customFields.sierraCode`): objects are compared key by key, anything else as a whole.
pub fn differences(old: &Value, new: &Value) -> Vec<Change> {
    fn walk(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<Change>) {
        match (old, new) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&p, a.get(k), b.get(k), out);
                }
            }
            (a, b) if a == b => {}
            (a, b) => out.push(Change {
                field: path.to_string(),
                old: a.cloned(),
                new: b.cloned(),
            }),
        }
    }
    let mut out = Vec::new();
    walk("", Some(old), Some(new), &mut out);
    out
}

/// Plans one chunk against what the target holds now.
async fn plan(
    backend: &Backend,
    chunk: Vec<Candidate>,
    only_missing: bool,
    external_field: Option<&str>,
) -> anyhow::Result<Vec<Planned>> {
    if chunk.is_empty() {
        return Ok(Vec::new());
    }
    let mut planned = match backend {
        Backend::Folio(client) => plan_folio(client, chunk).await?,
        Backend::Libib { client, snapshot } => LibibPlanner {
            client,
            match_field: "barcode",
            protect: &[],
            // A restore puts the backup's tags back as they were, not merged.
            merge: &[],
            snapshot: Some(snapshot),
        }
        .plan(chunk)
        .await
        .map_err(TargetError::into_run_error)?,
        Backend::Illiad(client) => IlliadPlanner {
            client,
            match_field: "UserName",
            nvtgc: None,
            external_field,
        }
        .plan(chunk)
        .await
        .map_err(TargetError::into_run_error)?,
    };
    if only_missing {
        for p in &mut planned {
            if let Action::Update { id, changes, .. } = &p.action {
                p.action = Action::Exists {
                    id: id.clone(),
                    changes: changes.clone(),
                };
            }
        }
    }
    Ok(planned)
}

/// FOLIO: one lookup by id for the chunk; missing → create (with its id), different → the
/// backup's record sent whole (a PUT replaces the user), equal → unchanged.
async fn plan_folio(client: &FolioClient, chunk: Vec<Candidate>) -> anyhow::Result<Vec<Planned>> {
    let ids: Vec<&str> = chunk.iter().map(|c| c.key.as_str()).collect();
    let existing = client
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

/// Writes (with `--commit`, through the journal) or previews one planned chunk.
async fn apply(
    opts: &RestoreOptions,
    backend: &Backend,
    journal: &RunJournal,
    planned: Vec<Planned>,
) -> anyhow::Result<Vec<Outcome>> {
    let mut outcomes: Vec<Outcome> = if opts.commit {
        // journal hook: every intent (with before-images) is durable before any write is sent
        journal.record_intents(&planned).await?;
        let n = backend.http().concurrency();
        match backend {
            Backend::Folio(client) => {
                let writer = FolioWriter {
                    client,
                    policy: RetryPolicy::default(),
                    match_field: "id",
                };
                write_all(journal, planned, n, |p| writer.apply(p)).await
            }
            Backend::Libib { client, .. } => {
                let writer = LibibWriter {
                    client,
                    policy: RetryPolicy::default(),
                };
                write_all(journal, planned, 1, |p| writer.apply(p)).await
            }
            Backend::Illiad(client) => {
                let writer = IlliadWriter {
                    client,
                    policy: RetryPolicy::default(),
                };
                write_all(journal, planned, n, |p| writer.apply(p)).await
            }
        }
    } else {
        planned
            .into_iter()
            .map(|p| {
                let o = p.row.outcome(OutcomeKind::Failed);
                preview_outcome(o, p.action, true)
            })
            .collect()
    };
    for o in &mut outcomes {
        if o.outcome == OutcomeKind::Exists && !o.changed_fields.is_empty() {
            o.reason = Some(if matches!(backend, Backend::Illiad(_)) {
                "exists and differs from the backup; ILLiad's API cannot update users, so only \
                 missing users are restored"
                    .into()
            } else {
                "exists and differs from the backup; left as it is (--only-missing)".into()
            });
        }
    }
    Ok(outcomes)
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
        let kept = restorable(System::Illiad, rec, &mut dropped);
        assert_eq!(kept, json!({"UserName": "a", "Organization": null}));
        assert_eq!(
            dropped.into_iter().collect::<Vec<_>>(),
            [("RSSID".to_string(), 1)]
        );
        let folio = json!({"id": "x", "customFields": {"a": 1}});
        let mut none = BTreeMap::new();
        assert_eq!(restorable(System::Folio, folio.clone(), &mut none), folio);
        assert!(none.is_empty());
    }

    #[test]
    fn differences_name_nested_fields() {
        let old = json!({"active": true, "personal": {"lastName": "Lee", "phone": "1"},
            "customFields": {"a": "x"}});
        let new = json!({"active": false, "personal": {"lastName": "Lee"},
            "customFields": {"a": "y", "b": "z"}});
        let d: Vec<String> = differences(&old, &new)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            d,
            vec![
                "active: true → false",
                "customFields.a: \"x\" → \"y\"",
                "customFields.b: (none) → \"z\"",
                "personal.phone: \"1\" → (none)",
            ]
        );
        assert!(differences(&old, &old).is_empty());
    }
}
