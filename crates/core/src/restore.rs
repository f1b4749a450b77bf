//! `patron-etl restore BACKUP.jsonl --to TARGET`: puts a native backup ([`crate::export::native`])
//! back — creates the patrons that are missing, puts back the ones that differ (each changed
//! field in the report, old → new), leaves the equal ones alone. Preview unless `--commit`.
//!
//! Flow: backup reader (chunks of [`CHUNK`] records) → the session's `plan_restore`
//! (`systems/<system>/session.rs`; FOLIO: one `id==(…)` lookup a chunk and a field-level diff,
//! [`crate::plan::differences`]; Libib and ILLiad: import's own planners, keyed on barcode and
//! UserName) → import's journal session (intents with before-images, so `undo` reverses a
//! restore) → import's writers and retry loop → report, one outcome per backup record.
//!
//! Invariants: a backup from another system is refused before anything is sent (exit 2);
//! server-set fields ([`native::server_set`]) are neither compared nor sent; `--only-missing`
//! and ILLiad (whose API cannot update users) never change an existing patron — its
//! differences are listed as `exists`; without `--commit` no writer is built.

use crate::exit::UsageError;
use crate::export::native;
use crate::import::{write_all, ImportOptions};
use crate::journal::interrupt::Halt;
use crate::journal::{JournalOptions, RunJournal};
use crate::outcome::{Outcome, OutcomeKind};
use crate::plan::{Action, Candidate, Planned, CHUNK};
use crate::progress::Progress;
use crate::read::ReadOptions;
use crate::report::summary::Summary;
use crate::report::{self, Column, ReportSink};
use crate::runs::RunDir;
use crate::sync::MissingPolicy;
use crate::systems::connector::{Purpose, TargetSession, WriteSide};
use crate::systems::registry;
use crate::systems::System;
use crate::target::{self, TargetRef};
use crate::write::preview_outcome;
use serde_json::Value;
use std::collections::BTreeMap;
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
    pub status: crate::journal::RunStatus,
    /// Why the run stopped early, if it did.
    pub halt: Option<Halt>,
    /// Fields with a value in the backup that the target's API cannot set, with how many
    /// records had them (ILLiad: fields its GET returns but Create User does not take).
    pub not_restorable: Vec<(String, u64)>,
    /// Whether `undo` can reverse it (not ILLiad: its API cannot update or delete users).
    pub undoable: bool,
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
    let connector = registry::connector(system);
    let writes = connector.writes();
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
        crate::journal::session::begin(&iopts.run_start("restore", system, writes.restore_key()))?;
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
        let backend = writes.connect(&target, Purpose::Restore).await?;
        let backend = backend.as_ref();
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
            let mut chunk = Vec::with_capacity(CHUNK);
            let mut done = Vec::new();
            while chunk.len() < CHUNK {
                let Some(item) = backup.next_record() else {
                    break;
                };
                let (line, record) = item?;
                let record = writes.restorable(record, &mut dropped);
                candidate(&file, line, record, system, writes, &mut chunk, &mut done);
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
                    backend,
                    chunk,
                    opts.only_missing,
                    opts.external_user_id_field.as_deref(),
                )
                .await?;
                apply(opts, system, backend, &journal, planned).await?
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
        "requests": requests, "writes": writes, "status": status.name(),
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
        // Undo deletes what the restore created.
        undoable: connector.capabilities().delete,
    })
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
    writes: &dyn WriteSide,
    chunk: &mut Vec<Candidate>,
    done: &mut Vec<Outcome>,
) {
    let field = writes.restore_key();
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
    let clear = writes.restore_clear(&record);
    chunk.push(Candidate {
        file: file.clone(),
        line,
        key,
        record,
        clear,
        notes: Vec::new(),
    });
}

/// Plans one chunk against what the target holds now.
async fn plan(
    backend: &dyn TargetSession,
    chunk: Vec<Candidate>,
    only_missing: bool,
    external_field: Option<&str>,
) -> anyhow::Result<Vec<Planned>> {
    if chunk.is_empty() {
        return Ok(Vec::new());
    }
    let mut planned = backend.plan_restore(chunk, external_field).await?;
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

/// Writes (with `--commit`, through the journal) or previews one planned chunk.
async fn apply(
    opts: &RestoreOptions,
    system: System,
    backend: &dyn TargetSession,
    journal: &RunJournal,
    planned: Vec<Planned>,
) -> anyhow::Result<Vec<Outcome>> {
    let mut outcomes: Vec<Outcome> = if opts.commit {
        // journal hook: every intent (with before-images) is durable before any write is sent
        journal.record_intents(&planned).await?;
        let n = backend.write_concurrency();
        write_all(journal, planned, n, |p| backend.write(p, "id")).await
    } else {
        planned
            .into_iter()
            .map(|p| {
                let o = p.row.outcome(OutcomeKind::Failed);
                preview_outcome(o, p.action, true)
            })
            .collect()
    };
    let writes = registry::connector(system).writes();
    let can_update = registry::connector(system).capabilities().update;
    for o in &mut outcomes {
        if o.outcome == OutcomeKind::Exists && !o.changed_fields.is_empty() {
            o.reason = Some(if !can_update {
                format!(
                    "exists and differs from the backup; {}'s API cannot update users, so only \
                     missing users are restored",
                    writes.product_name()
                )
            } else {
                "exists and differs from the backup; left as it is (--only-missing)".to_string()
            });
        }
    }
    Ok(outcomes)
}
