//! `patron-etl import`: read → map → screen → plan (batched lookups, diff) → write (only with
//! `--commit`) → report, one outcome per input row.
//!
//! The stages run as a pipeline (`import/pipeline.rs`): reading and planning stay ahead of the
//! writer, which keeps the target's in-flight limit busy.
//!
//! Invariants: without `--commit` no write request is sent — the writer is not even constructed;
//! every input row (up to `--limit`) gets exactly one outcome; after `--max-errors` failures the
//! rest of the rows are `skipped`, not dropped.

use crate::exit::{UnreachableError, UsageError};
use crate::journal::interrupt::Halt;
use crate::journal::spec::absolute;
use crate::journal::{RunSpec, RunStart, RunStatus};
use crate::mapping::{BoundMapping, Mapping};
use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use crate::plan::{Candidate, Planned};
use crate::progress::Progress;
use crate::read::{self, ReadOptions, RowReader};
use crate::report::rejects::RejectsFile;
use crate::report::summary::Summary;
use crate::report::{self, Column, ReportSink};
use crate::runs::RunDir;
use crate::sync::{self, Absent, MissingPlan, MissingPolicy};
use crate::systems::connector::{Purpose, TargetSession};
use crate::systems::registry;
use crate::target::TargetRef;
use crate::write::preview_outcome;
use anyhow::Context;
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

mod pipeline;

/// The HTML report in every run folder.
pub const REPORT_HTML: &str = "report.html";

/// What an import needs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Input files.
    pub files: Vec<PathBuf>,
    /// Mapping file.
    pub mapping: PathBuf,
    /// Reader options.
    pub read: ReadOptions,
    /// Target name (`sandbox:folio` or a config entry).
    pub to: String,
    /// Config file (default `patron-etl.toml`).
    pub config: Option<PathBuf>,
    /// Apply the changes (otherwise preview).
    pub commit: bool,
    /// Extra report path.
    pub report: Option<PathBuf>,
    /// Requests per second override.
    pub rate: Option<f64>,
    /// In-flight override.
    pub concurrency: Option<usize>,
    /// Stop after this many failed rows.
    pub max_errors: Option<u64>,
    /// Process at most this many data rows.
    pub limit: Option<u64>,
    /// The home directory: journal, run folders, built-in sandbox state ([`crate::runs::home`]).
    pub home: PathBuf,
    /// What happens to in-scope patrons absent from the roster.
    pub missing: MissingPolicy,
    /// Largest share (0–1) of the in-scope patrons `--missing` may change without `force`.
    pub max_missing: f64,
    /// Apply `--missing` even above `max_missing`.
    pub force: bool,
    /// Apply `--missing` even when the roster may be incomplete (unreadable rows, a quote left
    /// open that may have swallowed lines).
    pub allow_incomplete_roster: bool,
    /// Migration: read from this source target instead of `files`.
    pub source: Option<crate::migrate::MigrateSource>,
    /// Resume an earlier run (journal).
    pub journal: crate::journal::JournalOptions,
}

impl ImportOptions {
    /// The command the journal records: `migrate` when reading from a source target.
    pub fn command(&self) -> &'static str {
        if self.source.is_some() {
            "migrate"
        } else {
            "import"
        }
    }

    /// What the journal records for `resume` (no secrets: the target by name, the config by
    /// path).
    pub fn run_spec(&self) -> RunSpec {
        RunSpec {
            files: self
                .files
                .iter()
                .map(|p| absolute(p).display().to_string())
                .collect(),
            mapping: Some(absolute(&self.mapping).display().to_string()),
            to: self.to.clone(),
            from: self.source.as_ref().map(|s| s.from.clone()),
            config: self
                .config
                .as_deref()
                .map(|c| absolute(c).display().to_string()),
            rate: self.rate,
            concurrency: self.concurrency,
            max_errors: self.max_errors,
            limit: self.limit,
            missing: self.missing,
            max_missing: self.max_missing,
            allow_incomplete_roster: self.allow_incomplete_roster,
            read: self.read.clone(),
        }
    }

    /// The import rebuilt from a recorded run's spec (`patron-etl resume`): `commit`, `force`
    /// and an optional `config` override come from the command line; the run continues `run_id`.
    pub fn from_spec(
        spec: RunSpec,
        home: &Path,
        run_id: &str,
        commit: bool,
        force: bool,
        config: Option<PathBuf>,
    ) -> ImportOptions {
        ImportOptions {
            files: spec.files.into_iter().map(PathBuf::from).collect(),
            mapping: PathBuf::from(spec.mapping.unwrap_or_default()),
            read: spec.read,
            to: spec.to,
            config: config.or_else(|| spec.config.map(PathBuf::from)),
            commit,
            report: None,
            rate: spec.rate,
            concurrency: spec.concurrency,
            max_errors: spec.max_errors,
            limit: spec.limit,
            home: home.to_path_buf(),
            missing: spec.missing,
            max_missing: spec.max_missing,
            force,
            allow_incomplete_roster: spec.allow_incomplete_roster,
            source: None,
            journal: crate::journal::JournalOptions {
                resume: Some(crate::journal::ResumeFrom::Run(run_id.to_string())),
                force,
            },
        }
    }

    /// What the journal records when this run starts, under `command`.
    pub fn run_start<'a>(
        &'a self,
        command: &'a str,
        system: crate::systems::System,
        match_field: &'a str,
    ) -> RunStart<'a> {
        RunStart {
            command,
            home: &self.home,
            commit: self.commit,
            files: &self.files,
            mapping: &self.mapping,
            system,
            match_field,
            journal: &self.journal,
            spec: self.run_spec(),
        }
    }
}

/// What an import did.
#[derive(Debug)]
pub struct ImportResult {
    /// Counts.
    pub summary: Summary,
    /// The run folder.
    pub run: RunDir,
    /// Requests sent to the target.
    pub requests: u64,
    /// Write requests sent.
    pub writes: u64,
    /// The run's journal status: `finished`, or resumable `interrupted` / `unreachable` /
    /// `stopped`.
    pub status: RunStatus,
    /// Why the run stopped early (Ctrl-C, or the target lost mid-run), if it did.
    pub halt: Option<Halt>,
}

/// Whether a run-fatal error says the target cannot be reached (exit 3).
fn is_unreachable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<UnreachableError>())
}

/// A row waiting in the current chunk.
struct Pending {
    cells: Vec<String>,
    file_index: usize,
    kind: PendingKind,
}

enum PendingKind {
    Done(Outcome),
    Candidate(Candidate),
}

/// Per-input state.
struct Input {
    path: PathBuf,
    reader: Box<dyn RowReader>,
    bound: BoundMapping,
    header: Vec<String>,
}

fn count_rows(path: &Path, opts: &ReadOptions) -> Option<u64> {
    let r = read::open(path, opts).ok()?;
    Some(r.filter(|x| x.is_ok()).count() as u64)
}

/// Runs an import on a fresh single-threaded tokio runtime (why: `import/pipeline.rs`).
pub fn run(opts: &ImportOptions) -> anyhow::Result<ImportResult> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(opts))
}

struct Sinks {
    summary: Summary,
    reports: Vec<Box<dyn ReportSink>>,
    rejects: Vec<Option<RejectsFile>>,
    progress: Progress,
}

impl Sinks {
    /// Writes one outcome to the summary, reports and rejects file. Progress is counted by the
    /// caller once the requests of every emitted row are sent (a whole chunk), so the ETA's
    /// requests-per-row never counts a chunk's writes against its first row.
    fn emit(&mut self, o: &Outcome, file_index: usize, cells: &[String]) -> anyhow::Result<()> {
        self.summary.add(o);
        for r in &mut self.reports {
            r.write(o)?;
        }
        if o.is_failure() {
            if let Some(Some(rj)) = self.rejects.get_mut(file_index) {
                rj.write(
                    o.line,
                    cells,
                    o.reason.as_deref().unwrap_or(o.outcome.name()),
                )?;
            }
        }
        Ok(())
    }
}

async fn run_async(opts: &ImportOptions) -> anyhow::Result<ImportResult> {
    // Every check that needs no target, before anything is created, opened or sent.
    let crate::resolve::ImportPlan {
        mapping,
        target: tref,
        source: source_ref,
        roster,
    } = crate::resolve::ImportPlan::resolve(opts)?;
    let mut inputs = Vec::new();
    for path in &opts.files {
        let reader = read::open(path, &opts.read)?;
        let header = reader.headers().to_vec();
        let bound = mapping.bind(&header).with_context(|| {
            format!("the mapping does not fit the columns of {}", path.display())
        })?;
        inputs.push(Input {
            path: path.clone(),
            reader,
            bound,
            header,
        });
    }
    let mut total: Option<u64> = opts
        .files
        .iter()
        .map(|p| count_rows(p, &opts.read))
        .sum::<Option<u64>>()
        .map(|t| opts.limit.map_or(t, |l| t.min(l)));

    // One writing run per target: the lease is taken before the run is recorded, so a refused
    // run leaves nothing behind.
    let lease = if opts.commit {
        let key = crate::journal::lease::key_of(&tref, &opts.to);
        Some(crate::journal::lease::Lease::acquire(
            &opts.home,
            &key,
            "(starting)",
        )?)
    } else {
        None
    };
    // journal hook: record a new run or reopen the one being resumed (checks input/mapping hashes)
    let (run, journal) = crate::journal::session::begin(&opts.run_start(
        opts.command(),
        mapping.system,
        &mapping.match_field,
    ))?;
    if let Some(l) = &lease {
        l.name_run(&run.id)?;
    }
    let (target, sandbox) =
        crate::builtin::open(tref, &opts.home, opts.rate, opts.concurrency).await?;
    // Two built-in systems share one sandbox (one state file).
    let mut source_sandbox = None;
    let source_target = match source_ref {
        None => None,
        Some(TargetRef::Configured(t)) => Some(*t),
        Some(TargetRef::Sandbox(system)) => match &sandbox {
            Some(h) => Some(h.target(system)?),
            None => {
                let (t, h) = crate::builtin::start(system, &opts.home).await?;
                source_sandbox = Some(h);
                Some(t)
            }
        },
    };

    if let Err(e) = crate::runlog::attach(&run.file("run.log")) {
        tracing::warn!("cannot write the run log: {e}");
    }
    tracing::info!(
        run = %run.id,
        target = %target.name,
        system = %target.system,
        commit = opts.commit,
        rate = target.rate,
        concurrency = target.concurrency,
        "import started"
    );
    // Every paced wait of the run (governor, backoff, scans) ends when this flag is set.
    let stop = journal.stop().clone();
    let mut connected = false;
    let work = async {
        if let (Some(src), Some(t)) = (&opts.source, source_target) {
            let reader = crate::migrate::open(t, src.ids.clone()).await?;
            total = reader.expected.map(|t| opts.limit.map_or(t, |l| t.min(l)));
            let header = reader.headers().to_vec();
            let bound = mapping.bind(&header).with_context(|| {
                format!(
                    "the mapping does not fit the columns exported from {}",
                    src.from
                )
            })?;
            inputs.push(Input {
                path: PathBuf::from(&src.from),
                reader: Box::new(reader),
                bound,
                header,
            });
        }
        let purpose = Purpose::Import {
            expected_rows: total,
            full_listing: opts.missing != MissingPolicy::Ignore,
        };
        let backend = registry::connector(target.system)
            .writes()
            .connect(&target, purpose)
            .await?;
        let backend = backend.as_ref();
        // Absent patrons are found (and the threshold checked) before any row is written.
        let missing = match roster {
            Some(roster) => Some(plan_missing(opts, &mapping, backend, roster).await?),
            None => None,
        };
        let mut info = report::html::RunInfo::now(
            if opts.source.is_some() {
                "migrate"
            } else {
                "import"
            },
            &run.id,
            &target.name,
        );
        info.mapping = Some(opts.mapping.display().to_string());
        info.files = inputs
            .iter()
            .map(|i| i.path.display().to_string())
            .collect();
        info.commit = Some(opts.commit);
        let mut reports: Vec<Box<dyn ReportSink>> = vec![
            report::open(&run.file("report.csv"), Column::IMPORT)?,
            Box::new(report::html::HtmlReport::create(
                &run.file(REPORT_HTML),
                info,
            )?),
        ];
        if let Some(p) = &opts.report {
            reports.push(report::open(p, Column::IMPORT)?);
        }
        let many = inputs.len() > 1;
        let mut rejects = Vec::new();
        for (i, inp) in inputs.iter().enumerate() {
            let stem = if many {
                format!("rejects-{}", i + 1)
            } else {
                "rejects".to_string()
            };
            rejects.push(Some(RejectsFile::create(
                &run.path,
                &stem,
                inp.reader.format(),
                &inp.header,
            )?));
        }
        let mut sinks = Sinks {
            summary: Summary::default(),
            reports,
            rejects,
            progress: Progress::new(if opts.commit { "import" } else { "preview" }, total),
        };
        connected = true;
        // Every target is paced by its governor: the ETA starts from the pacing.
        sinks
            .progress
            .pace(target.rate, backend.http().counters.clone());
        pipeline::pump(opts, &mapping, backend, &mut inputs, &mut sinks, &journal).await?;
        for inp in &inputs {
            for (field, n, why) in inp.reader.left_out() {
                sinks.summary.add_left_out_n(&field, n, &why);
            }
        }
        if let Some(plan) = missing {
            apply_missing(opts, backend, plan, &mut sinks, &journal).await?;
        }
        sinks.progress.finish();
        for r in sinks.reports {
            r.finish()?;
        }
        for rj in sinks.rejects.into_iter().flatten() {
            let rows = rj.rows;
            let p = rj.finish()?;
            if rows == 0 {
                let _ = std::fs::remove_file(p);
            }
        }
        let c = &backend.http().counters;
        Ok::<_, anyhow::Error>((
            sinks.summary,
            c.requests.load(Ordering::Relaxed),
            c.writes.load(Ordering::Relaxed),
        ))
    };
    let result = stop.scope(work).await;
    if let Some(h) = sandbox {
        h.shutdown().await;
    }
    if let Some(h) = source_sandbox {
        h.shutdown().await;
    }
    let halt = stop.halt();
    let status = journal.finish(result.is_ok()).await; // journal hook: final status, flush
    if let Some(l) = lease {
        l.release();
    }
    let (summary, requests, writes) = match result {
        Ok(r) => r,
        // Ctrl-C while connecting: the connection's error would only say "not sent".
        Err(_) if halt == Some(Halt::Interrupted) && !connected => {
            crate::runlog::detach();
            return Err(crate::exit::InterruptedError.into());
        }
        Err(e) => {
            crate::runlog::detach();
            // A usage mistake found after the run began (e.g. --missing without a [scope])
            // leaves no `failed` run behind; a resumed run keeps its record.
            if opts.journal.resume.is_none() && crate::exit::code_for(&e) == crate::exit::USAGE {
                if let Ok(j) = crate::journal::store::Journal::open(&opts.home) {
                    if j.forget_empty_run(&run.id).unwrap_or(false) {
                        let _ = std::fs::remove_dir_all(&run.path);
                    }
                }
            }
            return Err(e);
        }
    };
    let status = status?;
    tracing::info!(requests, writes, rows = summary.rows, "import finished");
    let json = serde_json::json!({
        "run": run.id,
        "target": target.name,
        "commit": opts.commit,
        "rows": summary.rows,
        "outcomes": summary.by_outcome.iter().map(|(k, v)| (k.name().to_string(), serde_json::Value::from(*v))).collect::<serde_json::Map<_, _>>(),
        "left_out": summary.left_out.iter().map(|(k, (n, why))| (k.clone(), serde_json::json!({"users": n, "reason": why}))).collect::<serde_json::Map<_, _>>(),
        "reasons": summary.reasons().into_iter().map(|(code, g)| (code.to_string(), serde_json::Value::from(g.rows))).collect::<serde_json::Map<_, _>>(),
        "requests": requests,
        "writes": writes,
        "status": status.name(),
        "resume": (status != RunStatus::Finished && opts.commit)
            .then(|| format!("patron-etl resume {} --commit", run.id)),
    });
    if let Ok(f) = report::create_private(&run.file("summary.json")) {
        let _ = serde_json::to_writer_pretty(f, &json);
    }
    crate::runlog::detach();
    Ok(ImportResult {
        summary,
        run,
        requests,
        writes,
        status,
        halt,
    })
}

/// Sends the planned writes, `concurrency` at a time, each through the journal's guard (after
/// Ctrl-C, writes not yet started are skipped); outcomes in completion order.
pub(crate) async fn write_all<F, Fut>(
    journal: &crate::journal::session::RunJournal,
    planned: Vec<Planned>,
    concurrency: usize,
    apply: F,
) -> Vec<Outcome>
where
    F: Fn(Planned) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    futures::stream::iter(planned.into_iter().map(|p| journal.guarded(p, &apply)))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// Finds the in-scope patrons absent from the roster (checked by [`crate::resolve`]) and checks
/// the `--max-missing` threshold.
async fn plan_missing(
    opts: &ImportOptions,
    mapping: &Mapping,
    backend: &dyn TargetSession,
    roster: crate::resolve::Roster,
) -> anyhow::Result<MissingPlan> {
    let crate::resolve::Roster { scope, keys } = roster;
    let mut plan = backend.missing(&scope, &mapping.match_field, &keys).await?;
    tracing::info!(
        in_scope = plan.in_scope,
        absent = plan.absent.len(),
        "patrons in scope absent from the roster"
    );
    plan.check_threshold(opts.max_missing, opts.force)
        .map_err(UsageError)?;
    plan.roster_keys = keys;
    Ok(plan)
}

/// A resumed roster sync: a deactivation an earlier attempt sent but never recorded the outcome
/// of, whose patron the fresh scope query no longer finds in scope, was applied (the patron left
/// the scope because of it) — its row gets its outcome, so undo finds every deactivation. One
/// still in scope is sent again on a new line.
fn confirm_left_scope(
    plan: &MissingPlan,
    sinks: &mut Sinks,
    journal: &crate::journal::session::RunJournal,
    file: &Arc<str>,
    file_index: usize,
) -> anyhow::Result<()> {
    let still: std::collections::HashSet<&str> =
        plan.absent.iter().map(|a| a.id.as_str()).collect();
    for intent in journal.unresolved(file_index) {
        let Some(id) = intent.target_id.as_deref() else {
            continue;
        };
        // Still in scope (not applied), or on the roster now (`--force` after a changed
        // input): not confirmed; it is planned afresh like any other row.
        let on_roster = intent
            .key
            .as_deref()
            .is_some_and(|k| plan.roster_keys.contains(&crate::dedupe::fold(k)));
        if intent.op != "update" || still.contains(id) || on_roster {
            continue;
        }
        let mut o = Outcome::new(
            file,
            intent.line,
            intent.key.clone(),
            OutcomeKind::Deactivated,
        );
        o.target_id = Some(id.to_string());
        o.changed_fields = intent.changes.clone();
        if let Some(before) = &intent.before {
            o.name = crate::outcome::display_name(before);
        }
        o.set_reason(
            ReasonCode::ConfirmedByLookup,
            "confirmed after an interrupted run: the scope query no longer finds the patron in scope",
        );
        journal.record_outcomes([(file_index, &o)])?;
        sinks.emit(&o, usize::MAX, &[])?;
    }
    Ok(())
}

/// Deactivates (or, in preview, lists) the absent patrons; one report line each, under the file
/// name `(absent from roster)`.
async fn apply_missing(
    opts: &ImportOptions,
    backend: &dyn TargetSession,
    plan: MissingPlan,
    sinks: &mut Sinks,
    journal: &crate::journal::session::RunJournal,
) -> anyhow::Result<()> {
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let file: Arc<str> = Arc::from(sync::ABSENT_FILE);
    let file_index = journal.file_index(sync::ABSENT_FILE);
    // Lines number the absent patrons 1, 2, … so each has its own journal row (undo restores
    // them); a resumed run goes on after the lines its earlier attempts recorded.
    let before = journal.last_line(file_index);
    if opts.commit {
        confirm_left_scope(&plan, sinks, journal, &file, file_index)?;
    }
    for (n, Absent { key, id, record }) in plan.absent.into_iter().enumerate() {
        let line = before + n as u64 + 1;
        let (new_record, changes) = backend.deactivated(&record, opts.missing, &today);
        let planned = Planned {
            row: Candidate {
                file: file.clone(),
                line,
                key: key.clone(),
                record: new_record.clone(),
                clear: Vec::new(),
                notes: Vec::new(),
            },
            action: crate::plan::Action::Update {
                id: id.clone(),
                record: new_record,
                changes,
                before: record.clone(),
            },
        };
        let mut o = if !opts.commit {
            let o = Outcome::new(&file, line, Some(key), OutcomeKind::Failed);
            preview_outcome(o, planned.action, true)
        } else {
            // journal hook: the intent (with the before-image) is durable before the write
            journal
                .record_intents(std::slice::from_ref(&planned))
                .await?;
            // An absent patron is addressed by its id.
            backend.write(planned, "id").await
        };
        o.name = crate::outcome::display_name(&record);
        o.absent = Some(backend.absent_patron(&record));
        if o.reason.is_none() {
            o.set_reason(
                ReasonCode::AbsentFromRoster,
                "in scope in the target but absent from the roster",
            );
        }
        o.outcome = match o.outcome {
            OutcomeKind::Updated => OutcomeKind::Deactivated,
            OutcomeKind::WouldUpdate => OutcomeKind::WouldDeactivate,
            other => other,
        };
        // Recorded in a preview too, as the roster's rows are: `runs` counts what the run did.
        journal.record_outcomes([(file_index, &o)])?;
        sinks.emit(&o, usize::MAX, &[])?;
        sinks.progress.inc(1);
    }
    Ok(())
}
