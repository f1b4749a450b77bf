//! A run's journal session: what the import pipeline calls, at four points.
//!
//! 1. [`begin`] — before connecting: records a new run, or reopens an interrupted one for
//!    `--resume` (refusing when the input or mapping changed, unless `--force`).
//! 2. [`RunJournal::recorded`] — per row while reading: a row whose outcome is already recorded
//!    is not processed again; its stored outcome goes to the report.
//! 3. [`RunJournal::reconcile`] after planning, then [`RunJournal::record_intents`] (awaited)
//!    before the chunk's writes, each write wrapped in [`RunJournal::guarded`] (Ctrl-C).
//! 4. [`RunJournal::record_outcomes`] once a chunk's outcomes are known, and [`RunJournal::finish`].
//!
//! Reconciliation on resume: a row with an intent but no outcome was interrupted mid-write. Its
//! row is planned again — the planner's batched lookup *is* the reconciliation lookup: a create
//! whose record now exists was applied (`created`, "confirmed by lookup"); an update whose record
//! now matches was applied (`updated`); otherwise the old intent is superseded and the write is
//! sent again under a new intent. No extra requests, no duplicates.

use super::interrupt::{Halt, Stop};
use super::spec::{IntentState, RunSpec, RunStatus};
use super::store::{AtPath, IntentRow, Journal, RunRow};
use super::writer::JournalWriter;
use super::JournalError;
use crate::exit::{InternalError, UsageError};
use crate::outcome::{Outcome, OutcomeKind};
use crate::plan::{Action, Planned};
use crate::runs::RunDir;
use crate::systems::System;
use anyhow::Context;
use rusqlite::params;
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What the user asked of the journal for an import.
#[derive(Debug, Clone, Default)]
pub struct JournalOptions {
    /// Continue an earlier run instead of starting a new one.
    pub resume: Option<ResumeFrom>,
    /// Resume even though the input or the mapping changed.
    pub force: bool,
}

/// Which run to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResumeFrom {
    /// The newest unfinished committed import of the same files, mapping and target.
    Latest,
    /// This run.
    Run(String),
}

/// The journal side of one import run (one attempt of it).
pub struct RunJournal {
    writer: JournalWriter,
    run_id: String,
    attempt: i64,
    system: String,
    match_field: String,
    files: Vec<String>,
    done: HashMap<(usize, u64), Outcome>,
    pending: HashMap<(usize, u64), Vec<IntentRow>>,
    stop: Stop,
    skipped: AtomicU64,
}

/// What a run records when it starts: its command, where, in which mode, the files and mapping
/// it reads (hashed, for `resume` to refuse changed ones) and its [`RunSpec`].
#[derive(Debug, Clone)]
pub struct RunStart<'a> {
    /// `import`, `migrate` or `restore`.
    pub command: &'a str,
    /// The home directory ([`crate::runs::home`]).
    pub home: &'a Path,
    /// Whether the run writes.
    pub commit: bool,
    /// The input files as given (rows name them so).
    pub files: &'a [PathBuf],
    /// The mapping file (a restore: its backup file).
    pub mapping: &'a Path,
    /// Target system and the mapping's match field (recorded with each intent).
    pub system: System,
    /// The match field.
    pub match_field: &'a str,
    /// New run or resume.
    pub journal: &'a JournalOptions,
    /// What a resume rebuilds the run from.
    pub spec: RunSpec,
}

/// Whether another live process is running this run (Linux: its pid still exists).
fn running_elsewhere(run: &RunRow) -> bool {
    let Some(pid) = run.pid else { return false };
    if run.status != RunStatus::Running || pid == std::process::id() as i64 {
        return false;
    }
    cfg!(target_os = "linux") && super::store::process_alive(pid)
}

/// Starts the journal for a run: a new run, or the run being resumed. Returns the run folder
/// (the resumed run keeps its folder and id) and the session.
pub fn begin(start: &RunStart<'_>) -> anyhow::Result<(RunDir, RunJournal)> {
    let inputs = start.spec.files.clone();
    let mapping = start.spec.mapping.clone().unwrap_or_default();
    let mapping_hash = super::hash_file(start.mapping)
        .with_context(|| format!("cannot read {}", start.mapping.display()))?;
    let input_hash = super::hash_files(start.files).context("cannot read the input")?;
    // A migration reads no file: recorded with no input hash.
    let migrating = start.spec.from.is_some();
    let home = start.home;
    let journal = Journal::open(home)?;
    if start.commit {
        // A damaged journal cannot promise resume or undo: refuse before anything is written.
        journal
            .quick_check()
            .map_err(|found| JournalError::Damaged {
                path: journal.path().display().to_string(),
                found,
            })?;
    }
    let now = super::now();
    let pid = std::process::id() as i64;
    let mut done = HashMap::new();
    let mut pending: HashMap<(usize, u64), Vec<IntentRow>> = HashMap::new();
    let (run, attempt) = match &start.journal.resume {
        None => {
            let run = RunDir::create(home).map_err(|e| {
                InternalError(format!(
                    "cannot create the run folder under {}: {e}",
                    home.display()
                ))
            })?;
            journal.insert_run(&RunRow {
                id: run.id.clone(),
                command: start.command.into(),
                started_at: now.clone(),
                updated_at: now,
                finished_at: None,
                status: RunStatus::Running,
                target: start.spec.to.clone(),
                system: start.system.name().into(),
                commit: start.commit,
                mapping: Some(mapping.clone()),
                mapping_hash: Some(mapping_hash),
                inputs: inputs.clone(),
                input_hash: (!migrating).then(|| input_hash.clone()),
                options: start.spec.to_json(),
                attempts: 1,
                pid: Some(pid),
                parent: None,
                undone_by: None,
            })?;
            (run, 1)
        }
        Some(from) => {
            let prev = match from {
                ResumeFrom::Latest => journal
                    .latest_resumable(&start.spec.to, &mapping, &inputs)?
                    .ok_or_else(|| {
                        UsageError(format!(
                            "no interrupted import of these files with this mapping into {} to \
                             resume (see `patron-etl runs`)",
                            start.spec.to
                        ))
                    })?,
                ResumeFrom::Run(id) => journal.run(id).map_err(|e| match e {
                    JournalError::NoRun(..) => anyhow::Error::new(UsageError(e.to_string())),
                    other => other.into(),
                })?,
            };
            check_resumable(&prev, start, &mapping_hash, &input_hash)?;
            let attempt = prev.attempts + 1;
            journal
                .conn()
                .execute(
                    "UPDATE runs SET status = ?7, attempts = ?2, pid = ?3, updated_at = ?4, \
                     finished_at = NULL, mapping_hash = ?5, input_hash = ?6 WHERE id = ?1",
                    params![
                        prev.id,
                        attempt,
                        pid,
                        now,
                        mapping_hash,
                        input_hash,
                        RunStatus::Running
                    ],
                )
                .at(journal.path())?;
            for (fi, o) in journal.outcomes(&prev.id)? {
                // `skipped` rows were never attempted: they run again.
                if o.outcome != OutcomeKind::Skipped {
                    done.insert((fi, o.line), o);
                }
            }
            for i in journal.intents(&prev.id)? {
                if i.state == IntentState::Pending {
                    pending.entry((i.file_index, i.line)).or_default().push(i);
                }
            }
            let path = home.join("runs").join(&prev.id);
            crate::runs::create_private_dir(&path)?;
            let log = path.join("run.log");
            if log.exists() {
                let _ = std::fs::rename(&log, path.join(format!("run.{}.log", prev.attempts)));
            }
            tracing::info!(
                run = %prev.id,
                attempt,
                recorded = done.len(),
                pending = pending.len(),
                "resuming"
            );
            (RunDir { id: prev.id, path }, attempt)
        }
    };
    let (conn, path) = journal.into_parts();
    let writer = JournalWriter::start(conn, path)?;
    Ok((
        run.clone(),
        RunJournal {
            writer,
            run_id: run.id,
            attempt,
            system: start.system.name().into(),
            match_field: start.match_field.to_string(),
            files: start
                .files
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            done,
            pending,
            stop: Stop::install(),
            skipped: AtomicU64::new(0),
        },
    ))
}

fn check_resumable(
    prev: &RunRow,
    start: &RunStart<'_>,
    mapping_hash: &str,
    input_hash: &str,
) -> Result<(), UsageError> {
    let id = &prev.id;
    if prev.command != "import" {
        return Err(UsageError(format!(
            "run {id} is an {}, not an import",
            prev.command
        )));
    }
    if !prev.commit {
        return Err(UsageError(format!(
            "run {id} was a preview; there is nothing to resume (run the import again)"
        )));
    }
    if !start.commit {
        return Err(UsageError(format!(
            "run {id} writes to {}; resume it with --commit",
            prev.target
        )));
    }
    if prev.status == RunStatus::Finished {
        return Err(UsageError(format!(
            "run {id} is complete; there is nothing to resume"
        )));
    }
    if running_elsewhere(prev) {
        return Err(UsageError(format!(
            "run {id} is still running (process {})",
            prev.pid.unwrap_or_default()
        )));
    }
    if prev.target != start.spec.to {
        return Err(UsageError(format!(
            "run {id} wrote to {}, not {}",
            prev.target, start.spec.to
        )));
    }
    let mut changed = Vec::new();
    if prev.mapping_hash.as_deref() != Some(mapping_hash) {
        changed.push("the mapping");
    }
    if prev.input_hash.as_deref() != Some(input_hash) {
        changed.push("the input");
    }
    if !changed.is_empty() {
        let what = changed.join(" and ");
        if !start.journal.force {
            return Err(UsageError(format!(
                "{what} changed since run {id}; resuming would match rows by line against a \
                 different file. Start a new import, or add --force to resume anyway"
            )));
        }
        tracing::warn!(run = %id, "resuming although {what} changed (--force)");
    }
    Ok(())
}

/// The outcome of a row that completed an earlier attempt's applied create
/// ([`RunJournal::completing`]): `created`, as the uninterrupted run says, with the create's
/// changes. A completion that was refused keeps its reason as a partial write
/// ([`ReasonCode::LinkedFailed`]: the record exists, its later parts do not); one interrupted
/// again stays `skipped` (its create intent stays open for the next resume).
///
/// [`ReasonCode::LinkedFailed`]: crate::outcome::ReasonCode::LinkedFailed
fn completed(mut o: Outcome, changes: Vec<String>) -> Outcome {
    use crate::outcome::ReasonCode;
    match o.outcome {
        OutcomeKind::Skipped => return o,
        _ if o.code == Some(ReasonCode::LinkedFailed) => {}
        OutcomeKind::Updated | OutcomeKind::Unchanged => {
            o.set_reason(
                ReasonCode::ConfirmedByLookup,
                "confirmed by lookup after an interrupted run; the rest of the record was \
                 written then",
            );
        }
        _ => {
            let why = o.reason.clone().unwrap_or_else(|| o.outcome.name().into());
            o.set_reason(
                ReasonCode::LinkedFailed,
                format!("created (confirmed by lookup after an interrupted run), but {why}"),
            );
        }
    }
    o.outcome = OutcomeKind::Created;
    o.changed_fields = changes;
    o
}

/// The intent state a row's outcome resolves its pending intents to.
fn resolved_state(kind: OutcomeKind) -> IntentState {
    match kind {
        OutcomeKind::Created | OutcomeKind::Updated | OutcomeKind::Deactivated => {
            IntentState::Applied
        }
        OutcomeKind::Skipped => IntentState::NotSent,
        _ => IntentState::Failed,
    }
}

impl RunJournal {
    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// This attempt's number (1 for a fresh run).
    pub fn attempt(&self) -> i64 {
        self.attempt
    }

    /// The interruption flag (set by Ctrl-C / SIGTERM).
    pub fn stop(&self) -> &Stop {
        &self.stop
    }

    /// Why rows are no longer attempted, if the run was interrupted or lost its target.
    pub fn halt_reason(&self) -> Option<String> {
        let why = match self.stop.halt()? {
            Halt::Interrupted => "the run was interrupted".to_string(),
            Halt::Unreachable(why) => why,
        };
        Some(format!(
            "not attempted: {why}; continue with `patron-etl resume {} --commit`",
            self.run_id
        ))
    }

    /// The reason code of [`RunJournal::halt_reason`].
    pub fn halt_code(&self) -> Option<crate::outcome::ReasonCode> {
        self.stop
            .halt()
            .map(|h| crate::outcome::ReasonCode::of_halt(&h))
    }

    /// The outcome an earlier attempt recorded for this row (then the row is not processed again).
    pub fn recorded(&self, file_index: usize, line: u64) -> Option<Outcome> {
        self.done.get(&(file_index, line)).cloned()
    }

    fn index_of(&self, file: &str) -> usize {
        if file == crate::sync::ABSENT_FILE {
            // Roster-sync deactivations: a file index of their own, after the inputs.
            return self.files.len();
        }
        self.files.iter().position(|f| f == file).unwrap_or(0)
    }

    /// The highest line an earlier attempt recorded (an outcome or an unresolved intent) for the
    /// file at `file_index`; 0 when none. Roster-sync deactivations of a resumed run are
    /// numbered after it, so they never overwrite an earlier attempt's.
    pub fn last_line(&self, file_index: usize) -> u64 {
        self.done
            .keys()
            .chain(self.pending.keys())
            .filter(|(f, _)| *f == file_index)
            .map(|(_, line)| *line)
            .max()
            .unwrap_or(0)
    }

    /// The intents of `file_index` an earlier attempt recorded and never resolved (its write may
    /// or may not have been applied), latest per line, in line order.
    pub fn unresolved(&self, file_index: usize) -> Vec<&IntentRow> {
        let mut out: Vec<&IntentRow> = self
            .pending
            .iter()
            .filter(|((f, line), _)| *f == file_index && !self.done.contains_key(&(*f, *line)))
            .filter_map(|(_, v)| v.last())
            .collect();
        out.sort_by_key(|i| i.line);
        out
    }

    /// The file index the journal uses for `file` (see [`RunJournal::record_outcomes`]).
    pub fn file_index(&self, file: &str) -> usize {
        self.index_of(file)
    }

    /// Resolves rows interrupted mid-write in an earlier attempt from the fresh plan: rows whose
    /// write is confirmed by the planner's lookup become outcomes; the rest go on to be written.
    pub fn reconcile(&self, planned: Vec<Planned>) -> (Vec<Planned>, Vec<Outcome>) {
        if self.pending.is_empty() {
            return (planned, Vec::new());
        }
        let mut keep = Vec::with_capacity(planned.len());
        let mut resolved = Vec::new();
        for p in planned {
            let fi = self.index_of(&p.row.file);
            let Some(last) = self.pending.get(&(fi, p.row.line)).and_then(|v| v.last()) else {
                keep.push(p);
                continue;
            };
            let found = match &p.action {
                Action::Unchanged { id } => Some((id, true)),
                Action::Update { id, .. } | Action::Exists { id, .. } => Some((id, false)),
                _ => None,
            };
            let confirmed = match (last.op.as_str(), found) {
                // The create was applied but the record still differs from the plan (a
                // composite's later parts — FOLIO's linked records — were never sent): the
                // row goes on to be completed under its create intent ([`Self::completing`]).
                ("create", Some((_, false))) if matches!(p.action, Action::Update { .. }) => None,
                ("create", Some((id, _))) => Some((OutcomeKind::Created, id.clone())),
                ("update", Some((id, true))) if last.target_id.as_deref() == Some(id) => {
                    Some((OutcomeKind::Updated, id.clone()))
                }
                _ => None,
            };
            match confirmed {
                Some((kind, id)) => {
                    let mut o = p.row.outcome(kind);
                    o.target_id = Some(id);
                    o.changed_fields = last.changes.clone();
                    o.set_reason(
                        crate::outcome::ReasonCode::ConfirmedByLookup,
                        "confirmed by lookup after an interrupted run",
                    );
                    resolved.push(o);
                }
                None => keep.push(p),
            }
        }
        (keep, resolved)
    }

    /// The earlier attempt's create intent a planned update completes: the create was applied
    /// (the plan found the record) but the record still differs from what the row asks — a
    /// composite whose later parts (FOLIO's linked records) were never sent. Such a row is
    /// written under its create intent (kept open, with the record's id), so undo deletes the
    /// record and a run killed again resumes it again; its outcome is the create's.
    fn completing(&self, p: &Planned) -> Option<&IntentRow> {
        let Action::Update { .. } = p.action else {
            return None;
        };
        let fi = self.index_of(&p.row.file);
        self.pending
            .get(&(fi, p.row.line))
            .and_then(|v| v.last())
            .filter(|i| i.op == "create" && i.attempt < self.attempt)
    }

    /// Records (and waits until durable) an intent for every create and update in the chunk,
    /// superseding unresolved intents of the same rows from earlier attempts. A row completing
    /// an earlier attempt's create ([`Self::completing`]) keeps that intent, which now names
    /// the record.
    pub async fn record_intents(&self, planned: &[Planned]) -> Result<(), JournalError> {
        let now = super::now();
        let mut rows = Vec::new();
        let mut named: Vec<(i64, String)> = Vec::new();
        for p in planned {
            if let (Some(i), Action::Update { id, .. }) = (self.completing(p), &p.action) {
                named.push((i.id, id.clone()));
                continue;
            }
            let (op, target_id, before, after, changes) = match &p.action {
                Action::Create(record) => ("create", None, None, Some(record.to_string()), vec![]),
                Action::Update {
                    id,
                    record,
                    changes,
                    before,
                } => (
                    "update",
                    Some(id.clone()),
                    Some(before.to_string()),
                    Some(record.to_string()),
                    changes.iter().map(ToString::to_string).collect::<Vec<_>>(),
                ),
                _ => continue,
            };
            rows.push((
                self.index_of(&p.row.file) as i64,
                p.row.line as i64,
                op,
                p.row.key.clone(),
                target_id,
                before,
                after,
                serde_json::to_string(&changes).unwrap_or_else(|_| "[]".into()),
            ));
        }
        if rows.is_empty() && named.is_empty() {
            return Ok(());
        }
        let (run, system, field, attempt) = (
            self.run_id.clone(),
            self.system.clone(),
            self.match_field.clone(),
            self.attempt,
        );
        self.writer
            .commit(Box::new(move |t| {
                let mut sup = t.prepare_cached(
                    "UPDATE intents SET state = ?5, resolved_at = ?4 \
                     WHERE run_id = ?1 AND file_index = ?2 AND line = ?3 AND state = ?6",
                )?;
                let mut ins = t.prepare_cached(
                    "INSERT INTO intents (run_id, file_index, line, system, op, key, match_field, \
                     target_id, before, after, changes, attempt, recorded_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )?;
                for (fi, line, op, key, target_id, before, after, changes) in rows {
                    sup.execute(params![
                        run,
                        fi,
                        line,
                        now,
                        IntentState::Superseded,
                        IntentState::Pending
                    ])?;
                    ins.execute(params![
                        run, fi, line, system, op, key, field, target_id, before, after, changes,
                        attempt, now
                    ])?;
                }
                let mut name = t.prepare_cached(
                    "UPDATE intents SET target_id = ?2 WHERE id = ?1 AND state = ?3",
                )?;
                for (intent, id) in named {
                    name.execute(params![intent, id, IntentState::Pending])?;
                }
                Ok(())
            }))
            .await
    }

    /// Sends the write unless the run was interrupted; then the row is `skipped` (its intent is
    /// resolved as never sent).
    pub async fn guarded<F, Fut>(&self, p: Planned, write: F) -> Outcome
    where
        F: FnOnce(Planned) -> Fut,
        Fut: Future<Output = Outcome>,
    {
        match self.halt_reason() {
            None => match self.completing(&p).map(|i| i.changes.clone()) {
                Some(changes) => {
                    let id = match &p.action {
                        Action::Update { id, .. } => Some(id.clone()),
                        _ => None,
                    };
                    let mut o = completed(write(p).await, changes);
                    if o.outcome == OutcomeKind::Created {
                        o.target_id = o.target_id.or(id);
                    }
                    o
                }
                None => write(p).await,
            },
            Some(reason) => {
                let mut o = p.row.outcome(OutcomeKind::Skipped);
                let code = self
                    .halt_code()
                    .unwrap_or(crate::outcome::ReasonCode::Interrupted);
                o.set_reason(code, reason);
                if let Action::Update { id, .. } = p.action {
                    o.target_id = Some(id);
                }
                o
            }
        }
    }

    /// Records a chunk's outcomes (rows not recorded before) and resolves their intents, in one
    /// transaction. Not awaited: the next [`record_intents`](Self::record_intents) or
    /// [`finish`](Self::finish) waits for it.
    pub fn record_outcomes<'a>(
        &self,
        rows: impl IntoIterator<Item = (usize, &'a Outcome)>,
    ) -> Result<(), JournalError> {
        let now = super::now();
        let batch: Vec<(usize, Outcome)> = rows
            .into_iter()
            .filter(|(fi, o)| !self.done.contains_key(&(*fi, o.line)))
            .map(|(fi, o)| (fi, o.clone()))
            .collect();
        if batch.is_empty() {
            return Ok(());
        }
        let skipped = batch
            .iter()
            .filter(|(_, o)| o.outcome == OutcomeKind::Skipped)
            .count() as u64;
        self.skipped.fetch_add(skipped, Ordering::Relaxed);
        let (run, attempt) = (self.run_id.clone(), self.attempt);
        self.writer.submit(Box::new(move |t| {
            let mut up = t.prepare_cached(
                "INSERT INTO row_outcomes (run_id, file_index, line, file, key, outcome, reason, \
                 http_status, target_id, changed_fields, retries, attempt, code) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
                 ON CONFLICT (run_id, file_index, line) DO UPDATE SET file = excluded.file, \
                 key = excluded.key, outcome = excluded.outcome, reason = excluded.reason, \
                 http_status = excluded.http_status, target_id = excluded.target_id, \
                 changed_fields = excluded.changed_fields, retries = excluded.retries, \
                 attempt = excluded.attempt, code = excluded.code",
            )?;
            let mut resolve = t.prepare_cached(
                "UPDATE intents SET state = ?4, result = ?5, target_id = COALESCE(target_id, ?6), \
                 resolved_at = ?7 WHERE run_id = ?1 AND file_index = ?2 AND line = ?3 \
                 AND state = ?9 AND (?4 != ?10 OR attempt = ?8)",
            )?;
            // A part of a composite the write did not apply leaves the intent's record: undo
            // must not compare or put back what the run never wrote.
            let mut unsent = t.prepare_cached(
                "UPDATE intents SET after = json_remove(after, ?4) WHERE run_id = ?1 \
                 AND file_index = ?2 AND line = ?3 AND state = ?5 AND json_valid(after)",
            )?;
            for (fi, o) in batch {
                for key in &o.unsent {
                    unsent.execute(params![
                        run,
                        fi as i64,
                        o.line as i64,
                        format!("$.\"{}\"", key.replace('"', "")),
                        IntentState::Pending
                    ])?;
                }
                let changed =
                    serde_json::to_string(&o.changed_fields).unwrap_or_else(|_| "[]".into());
                up.execute(params![
                    run,
                    fi as i64,
                    o.line as i64,
                    o.file,
                    o.key,
                    o.outcome.name(),
                    o.reason,
                    o.http_status.map(i64::from),
                    o.target_id,
                    changed,
                    i64::from(o.retries),
                    attempt,
                    o.code.map(crate::outcome::ReasonCode::name)
                ])?;
                resolve.execute(params![
                    run,
                    fi as i64,
                    o.line as i64,
                    resolved_state(o.outcome),
                    o.outcome.name(),
                    o.target_id,
                    now,
                    attempt,
                    IntentState::Pending,
                    IntentState::NotSent
                ])?;
            }
            Ok(())
        }))
    }

    /// Marks the attempt's end and flushes the journal. Returns the status recorded: `finished`,
    /// or a resumable `interrupted` (Ctrl-C), `unreachable` (the target was lost mid-run), `stopped` (rows skipped after `--max-errors`) or
    /// `failed` (a run-fatal error).
    pub async fn finish(self, ok: bool) -> Result<RunStatus, JournalError> {
        let status = if !ok {
            RunStatus::Failed
        } else if let Some(Halt::Unreachable(_)) = self.stop.halt() {
            RunStatus::Unreachable
        } else if self.stop.is_set() {
            RunStatus::Interrupted
        } else if self.skipped.load(Ordering::Relaxed) > 0 {
            RunStatus::Stopped
        } else {
            RunStatus::Finished
        };
        let run = self.run_id.clone();
        let now = super::now();
        self.writer
            .commit(Box::new(move |t| {
                t.execute(
                    "UPDATE runs SET status = ?2, updated_at = ?3, \
                     finished_at = CASE WHEN ?2 = ?4 THEN ?3 ELSE NULL END WHERE id = ?1",
                    params![run, status, now, RunStatus::Finished],
                )?;
                Ok(())
            }))
            .await?;
        self.writer.close()?;
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    //! Reconciliation after a run killed mid-write (before, reachable only by killing a
    //! process): the first attempt records intents and no outcomes, the resumed attempt's fresh
    //! plan decides which writes were applied.
    use super::*;
    use crate::plan::Candidate;
    use serde_json::json;
    use std::sync::Arc;

    struct Files {
        _dir: tempfile::TempDir,
        home: PathBuf,
        input: PathBuf,
        mapping: PathBuf,
    }

    fn files() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("roster.csv");
        let mapping = dir.path().join("m.toml");
        std::fs::write(&input, "ID\nA\nB\nC\nD\nE\nF\n").unwrap();
        std::fs::write(&mapping, "system = \"folio\"\n").unwrap();
        Files {
            home: dir.path().join("home"),
            _dir: dir,
            input,
            mapping,
        }
    }

    fn start<'a>(f: &'a Files, files: &'a [PathBuf], journal: &'a JournalOptions) -> RunStart<'a> {
        RunStart {
            command: "import",
            home: &f.home,
            commit: true,
            files,
            mapping: &f.mapping,
            system: System::Folio,
            match_field: "externalSystemId",
            journal,
            spec: RunSpec {
                files: vec![f.input.display().to_string()],
                mapping: Some(f.mapping.display().to_string()),
                to: "sb".into(),
                ..RunSpec::default()
            },
        }
    }

    fn planned(file: &Path, line: u64, action: Action) -> Planned {
        Planned {
            row: Candidate {
                file: Arc::from(file.display().to_string()),
                line,
                key: format!("K{line}"),
                record: json!({"externalSystemId": format!("K{line}")}),
                clear: Vec::new(),
                notes: Vec::new(),
            },
            action,
        }
    }

    fn update(id: &str) -> Action {
        Action::Update {
            id: id.into(),
            record: json!({"id": id, "v": 2}),
            changes: Vec::new(),
            before: json!({"id": id, "v": 1}),
        }
    }

    #[tokio::test]
    async fn unresolved_lists_the_intents_an_earlier_attempt_left_open() {
        let f = files();
        let inputs = vec![f.input.clone()];
        let (run, first) = begin(&start(&f, &inputs, &JournalOptions::default())).unwrap();
        first
            .record_intents(&[
                planned(&f.input, 2, update("u2")),
                planned(&f.input, 3, update("u3")),
                planned(&f.input, 4, update("u4")),
            ])
            .await
            .unwrap();
        let mut done = planned(&f.input, 3, update("u3"))
            .row
            .outcome(OutcomeKind::Updated);
        done.target_id = Some("u3".into());
        first.record_outcomes([(0, &done)]).unwrap();
        drop(first);
        let resume = JournalOptions {
            resume: Some(ResumeFrom::Run(run.id.clone())),
            force: false,
        };
        let (_, second) = begin(&start(&f, &inputs, &resume)).unwrap();
        let open: Vec<(u64, Option<&str>)> = second
            .unresolved(0)
            .iter()
            .map(|i| (i.line, i.target_id.as_deref()))
            .collect();
        assert_eq!(open, [(2, Some("u2")), (4, Some("u4"))]);
        assert!(second.unresolved(1).is_empty());
    }
    #[tokio::test]
    async fn a_resumed_run_confirms_applied_writes_by_the_fresh_plan_and_resends_the_rest() {
        let f = files();
        let inputs = vec![f.input.clone()];
        let fresh = JournalOptions::default();
        // Attempt 1: intents for lines 2–6 are durable, line 7 is recorded done; then the
        // process "dies" (the session is dropped without outcomes for 2–6 or `finish`).
        let (run, first) = begin(&start(&f, &inputs, &fresh)).unwrap();
        first
            .record_intents(&[
                planned(&f.input, 2, Action::Create(json!({"k": 2}))),
                planned(&f.input, 3, Action::Create(json!({"k": 3}))),
                planned(&f.input, 4, update("u4")),
                planned(&f.input, 5, update("u5")),
                planned(&f.input, 6, update("u6")),
                planned(&f.input, 7, Action::Create(json!({"k": 7}))),
            ])
            .await
            .unwrap();
        let mut done = planned(&f.input, 7, Action::Create(json!({})))
            .row
            .outcome(OutcomeKind::Created);
        done.target_id = Some("n7".into());
        first.record_outcomes([(0, &done)]).unwrap();
        drop(first);

        let resume = JournalOptions {
            resume: Some(ResumeFrom::Run(run.id.clone())),
            force: false,
        };
        let (again, second) = begin(&start(&f, &inputs, &resume)).unwrap();
        assert_eq!(again.id, run.id, "the resumed run keeps its id");
        assert_eq!(second.attempt(), 2);
        assert_eq!(
            second.recorded(0, 7).map(|o| o.outcome),
            Some(OutcomeKind::Created),
            "a recorded row is not processed again"
        );
        assert_eq!(second.recorded(0, 2), None);
        assert_eq!(second.last_line(0), 7);

        let (keep, resolved) = second.reconcile(vec![
            // created before the crash: the lookup finds it unchanged
            planned(&f.input, 2, Action::Unchanged { id: "n2".into() }),
            // never reached the target: still to create
            planned(&f.input, 3, Action::Create(json!({"k": 3}))),
            // updated before the crash: the lookup finds the same record matching
            planned(&f.input, 4, Action::Unchanged { id: "u4".into() }),
            // not applied: still differs
            planned(&f.input, 5, update("u5")),
            // a matching record under another id is not this update's
            planned(&f.input, 6, Action::Unchanged { id: "other".into() }),
            // no intent at all: untouched
            planned(&f.input, 8, Action::Create(json!({"k": 8}))),
        ]);
        let by_line = |line| resolved.iter().find(|o| o.line == line);
        let o2 = by_line(2).expect("line 2 confirmed");
        assert_eq!(o2.outcome, OutcomeKind::Created);
        assert_eq!(o2.target_id.as_deref(), Some("n2"));
        assert_eq!(o2.code, Some(crate::outcome::ReasonCode::ConfirmedByLookup));
        let o4 = by_line(4).expect("line 4 confirmed");
        assert_eq!(o4.outcome, OutcomeKind::Updated);
        assert_eq!(o4.target_id.as_deref(), Some("u4"));
        assert_eq!(resolved.len(), 2, "{resolved:?}");
        let kept: Vec<u64> = keep.iter().map(|p| p.row.line).collect();
        assert_eq!(kept, vec![3, 5, 6, 8]);
        assert!(matches!(keep[0].action, Action::Create(_)));

        // The resend supersedes the first attempt's intent; the confirmed rows resolve theirs.
        second.record_intents(&keep[..1]).await.unwrap();
        second
            .record_outcomes(resolved.iter().map(|o| (0, o)))
            .unwrap();
        let status = second.finish(true).await.unwrap();
        assert_eq!(status, RunStatus::Finished);
        let j = Journal::open(&f.home).unwrap();
        let states: Vec<(u64, i64, IntentState)> = j
            .intents(&run.id)
            .unwrap()
            .into_iter()
            .map(|i| (i.line, i.attempt, i.state))
            .collect();
        assert!(states.contains(&(2, 1, IntentState::Applied)), "{states:?}");
        assert!(states.contains(&(4, 1, IntentState::Applied)), "{states:?}");
        assert!(
            states.contains(&(3, 1, IntentState::Superseded)),
            "{states:?}"
        );
        assert!(states.contains(&(3, 2, IntentState::Pending)), "{states:?}");
        assert!(states.contains(&(5, 1, IntentState::Pending)), "{states:?}");
        assert!(states.contains(&(7, 1, IntentState::Applied)), "{states:?}");
        assert_eq!(j.run(&run.id).unwrap().status, RunStatus::Finished);
    }

    #[tokio::test]
    async fn a_confirmed_create_whose_record_still_differs_is_completed_under_its_intent() {
        let f = files();
        let inputs = vec![f.input.clone()];
        let (run, first) = begin(&start(&f, &inputs, &JournalOptions::default())).unwrap();
        first
            .record_intents(&[planned(&f.input, 2, Action::Create(json!({"k": 2})))])
            .await
            .unwrap();
        drop(first); // killed after the create, before its linked records
        let resume = JournalOptions {
            resume: Some(ResumeFrom::Run(run.id.clone())),
            force: false,
        };
        let (_, second) = begin(&start(&f, &inputs, &resume)).unwrap();
        // The lookup finds the record, still missing a part: an update, not a confirmation.
        let (keep, resolved) = second.reconcile(vec![planned(&f.input, 2, update("n2"))]);
        assert!(resolved.is_empty(), "{resolved:?}");
        assert_eq!(keep.len(), 1);
        second.record_intents(&keep).await.unwrap();
        let p = keep.into_iter().next().unwrap();
        let o = second
            .guarded(p, |p| async move {
                let mut o = p.row.outcome(OutcomeKind::Updated);
                o.target_id = Some("n2".into());
                o.changed_fields = vec!["requestPreference.holdShelf: null → true".into()];
                o
            })
            .await;
        assert_eq!(o.outcome, OutcomeKind::Created, "the create's outcome");
        assert_eq!(o.code, Some(crate::outcome::ReasonCode::ConfirmedByLookup));
        assert!(o.changed_fields.is_empty(), "{:?}", o.changed_fields);
        second.record_outcomes([(0, &o)]).unwrap();
        assert_eq!(second.finish(true).await.unwrap(), RunStatus::Finished);
        // One intent, the create, now naming the record and applied: undo deletes it.
        let j = Journal::open(&f.home).unwrap();
        let intents: Vec<(String, Option<String>, IntentState)> = j
            .intents(&run.id)
            .unwrap()
            .into_iter()
            .map(|i| (i.op, i.target_id, i.state))
            .collect();
        assert_eq!(
            intents,
            [(
                "create".to_string(),
                Some("n2".to_string()),
                IntentState::Applied
            )]
        );
    }

    #[tokio::test]
    async fn a_resumed_run_reports_a_recorded_partial_row_with_its_code() {
        let f = files();
        let inputs = vec![f.input.clone()];
        let (run, first) = begin(&start(&f, &inputs, &JournalOptions::default())).unwrap();
        let mut o = planned(&f.input, 2, update("u2"))
            .row
            .outcome(OutcomeKind::Updated);
        o.set_reason(
            crate::outcome::ReasonCode::LinkedFailed,
            "user written, but …",
        );
        first.record_outcomes([(0, &o)]).unwrap();
        // An older journal's row: no code.
        let mut old = planned(&f.input, 3, update("u3"))
            .row
            .outcome(OutcomeKind::Updated);
        old.reason = Some("x".into());
        first.record_outcomes([(0, &old)]).unwrap();
        assert_eq!(first.finish(false).await.unwrap(), RunStatus::Failed);
        let resume = JournalOptions {
            resume: Some(ResumeFrom::Run(run.id.clone())),
            force: false,
        };
        let (_, second) = begin(&start(&f, &inputs, &resume)).unwrap();
        let again = second.recorded(0, 2).expect("recorded");
        assert_eq!(again.code, Some(crate::outcome::ReasonCode::LinkedFailed));
        assert!(
            again.is_failure(),
            "still counts as failed when reported again"
        );
        assert_eq!(second.recorded(0, 3).and_then(|o| o.code), None);
    }

    #[test]
    fn a_journal_made_before_codes_were_journaled_gains_the_column() {
        let home = tempfile::tempdir().unwrap();
        let path = crate::journal::path_in(home.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let old = super::super::schema::TABLES.replace(
            "  code           TEXT,                  -- the reason's ReasonCode name\n",
            "",
        );
        assert_ne!(old, super::super::schema::TABLES);
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(&old)
            .unwrap();
        let j = Journal::open(home.path()).unwrap();
        let n: i64 = j
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('row_outcomes') WHERE name = 'code'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
        drop(j);
        Journal::open(home.path()).expect("opens again");
    }

    #[test]
    fn a_refused_completion_stays_created_and_partial() {
        let mut o = Outcome::new("f", 2, None, OutcomeKind::Failed);
        o.set_reason(
            crate::outcome::ReasonCode::ServerRejected,
            "the request preference was refused: HTTP 422: x",
        );
        let c = completed(o.clone(), Vec::new());
        assert_eq!(c.outcome, OutcomeKind::Created);
        assert_eq!(c.code, Some(crate::outcome::ReasonCode::LinkedFailed));
        assert!(c.is_failure(), "counts as failed");
        assert!(c
            .reason
            .unwrap()
            .ends_with("the request preference was refused: HTTP 422: x"));
        o.outcome = OutcomeKind::Skipped;
        assert_eq!(
            completed(o, Vec::new()).outcome,
            OutcomeKind::Skipped,
            "open for the next resume"
        );
    }

    #[tokio::test]
    async fn nothing_pending_reconciles_to_the_plan_unchanged() {
        let f = files();
        let inputs = vec![f.input.clone()];
        let fresh = JournalOptions::default();
        let (_, j) = begin(&start(&f, &inputs, &fresh)).unwrap();
        let (keep, resolved) = j.reconcile(vec![
            planned(&f.input, 2, Action::Unchanged { id: "x".into() }),
            planned(&f.input, 3, Action::Create(json!({}))),
        ]);
        assert_eq!(keep.len(), 2);
        assert!(resolved.is_empty());
        assert_eq!(j.finish(true).await.unwrap(), RunStatus::Finished);
    }

    #[tokio::test]
    async fn a_changed_input_is_refused_on_resume_unless_forced() {
        let f = files();
        let inputs = vec![f.input.clone()];
        let fresh = JournalOptions::default();
        let (run, first) = begin(&start(&f, &inputs, &fresh)).unwrap();
        assert_eq!(first.finish(false).await.unwrap(), RunStatus::Failed);
        std::fs::write(&f.input, "ID\nA\nZ\n").unwrap();
        let mut resume = JournalOptions {
            resume: Some(ResumeFrom::Run(run.id.clone())),
            force: false,
        };
        let err = begin(&start(&f, &inputs, &resume)).err().expect("refused");
        assert!(err.to_string().contains("the input changed"), "{err}");
        assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
        resume.force = true;
        let (_, j) = begin(&start(&f, &inputs, &resume)).unwrap();
        assert_eq!(j.attempt(), 2);
        assert_eq!(j.finish(true).await.unwrap(), RunStatus::Finished);
    }
}
