//! `patron-etl undo RUN_ID [--commit]`: deletes what a run created and puts back the
//! before-images of what it updated, from the journal. Preview by default.
//!
//! Each record is read first: when it no longer looks the way the run left it (someone changed
//! it since), it is reported `conflict` and left alone. With `--commit` the undo is itself a
//! journaled run: an intent (with the record's current state as before-image) is committed before
//! each write.
//!
//! System-neutral: the driver works on journal intents and an [`UndoTarget`] that the run's
//! system gives ([`ReadSide::undo`]: FOLIO in `systems/folio/undo.rs`, Libib in
//! `systems/libib/undo.rs`); a system that cannot update or delete ([`Capabilities`]: ILLiad) is
//! refused before anything is opened.
//!
//! [`ReadSide::undo`]: crate::systems::connector::ReadSide::undo
//! [`Capabilities`]: crate::systems::connector::Capabilities

pub mod compare;

use crate::exit::UsageError;
use crate::journal::record::{NewIntent, RecordOutcome};
use crate::journal::{IntentRow, IntentState, Journal, RunRow, RunStatus};
use crate::runs::RunDir;
use crate::systems::{registry, System};
use crate::target;
use anyhow::Context;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// What `undo` needs.
#[derive(Debug, Clone)]
pub struct UndoOptions {
    /// The run to undo.
    pub run_id: String,
    /// Apply (otherwise preview).
    pub commit: bool,
    /// Config file (default: the one the run used, else ./patron-etl.toml).
    pub config: Option<PathBuf>,
    /// The home directory: journal, run folders, built-in sandbox state ([`crate::runs::home`]).
    pub home: PathBuf,
}

/// What undo did (or would do) to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UndoKind {
    /// Preview: would be deleted.
    WouldDelete,
    /// Preview: would be restored.
    WouldRestore,
    /// Deleted.
    Deleted,
    /// Restored to its before-image.
    Restored,
    /// Already as before the run (deleted, or restored): nothing to do.
    AlreadyUndone,
    /// Changed since the run: left alone.
    Conflict,
    /// The server refused or never answered.
    Failed,
}

impl UndoKind {
    /// The report name.
    pub fn name(self) -> &'static str {
        match self {
            UndoKind::WouldDelete => "would_delete",
            UndoKind::WouldRestore => "would_restore",
            UndoKind::Deleted => "deleted",
            UndoKind::Restored => "restored",
            UndoKind::AlreadyUndone => "already_undone",
            UndoKind::Conflict => "conflict",
            UndoKind::Failed => "failed",
        }
    }

    /// Whether it counts as a failure for the exit code.
    pub fn is_failure(self) -> bool {
        matches!(self, UndoKind::Conflict | UndoKind::Failed)
    }
}

/// One record's undo result.
#[derive(Debug, Clone)]
pub struct UndoOutcome {
    /// The run's input line that wrote the record.
    pub line: u64,
    /// Match-key value.
    pub key: Option<String>,
    /// Target id.
    pub target_id: Option<String>,
    /// `delete` or `restore`.
    pub action: &'static str,
    /// What happened.
    pub kind: UndoKind,
    /// Why (conflicts, failures).
    pub reason: Option<String>,
}

/// What an undo did.
#[derive(Debug)]
pub struct UndoResult {
    /// The undo's own run folder.
    pub run: RunDir,
    /// The run undone.
    pub undone: RunRow,
    /// One result per record.
    pub outcomes: Vec<UndoOutcome>,
}

impl UndoResult {
    /// Counts per kind.
    pub fn counts(&self) -> BTreeMap<UndoKind, u64> {
        let mut m = BTreeMap::new();
        for o in &self.outcomes {
            *m.entry(o.kind).or_default() += 1;
        }
        m
    }

    /// Whether any record conflicted or failed.
    pub fn any_failed(&self) -> bool {
        self.outcomes.iter().any(|o| o.kind.is_failure())
    }
}

/// A system that can undo writes. Errors are row-level messages (never secrets).
#[async_trait::async_trait]
pub trait UndoTarget: Send + Sync {
    /// The system's name, as the journal records it.
    fn system(&self) -> &'static str;
    /// The record as the target holds it now (`None`: it does not exist).
    async fn fetch(&self, id: &str) -> Result<Option<Value>, String>;
    /// The id of the one record whose `field` is `key` (creates whose id was never recorded).
    async fn find(&self, field: &str, key: &str) -> Result<Option<String>, String>;
    /// Deletes a record.
    async fn delete(&self, id: &str) -> Result<(), String>;
    /// Puts a before-image back (`current` is the record now, for systems that patch fields).
    async fn restore(&self, id: &str, before: &Value, current: &Value) -> Result<(), String>;
    /// Fields where `current` differs from `expected` (what the run left), ignoring what the
    /// server manages itself; `created`: `expected` is the create payload (no id).
    fn changed_since(&self, expected: &Value, current: &Value, created: bool) -> Vec<String>;
    /// The record as the run left it, from its before-image (updates) and what it sent; by
    /// default what was sent (a whole record). Systems with partial updates overlay the two.
    fn left_by_run(&self, _before: Option<&Value>, after: &Value) -> Value {
        after.clone()
    }
    /// After every record: what the run's writes created besides their records
    /// ([`crate::plan::ALSO_CREATES`] in what it sent, `afters`; `notes`: the changed fields
    /// of the run's recorded outcomes, where the writer says what it did create), each judged
    /// as it is now. The driver journals each delete before [`UndoTarget::delete_extra`]. By
    /// default nothing.
    async fn extras(&self, _afters: &[Value], _notes: &[String]) -> Vec<Extra> {
        Vec::new()
    }
    /// Deletes one [`Extra`] judged `would_delete`, checking again right before the delete
    /// that nothing uses it now: `Err((kind, why))` when it is left alone or refused.
    async fn delete_extra(&self, _extra: &Extra) -> Result<(), (UndoKind, String)> {
        Err((UndoKind::Failed, "nothing to delete".into()))
    }
}

/// Something a run's writes created besides their records (FOLIO: a department,
/// `create_missing`), as undo found it.
#[derive(Debug, Clone)]
pub struct Extra {
    /// What it is, as reports name it (`department "Rare Books"`).
    pub key: String,
    /// Its id, when it exists.
    pub target_id: Option<String>,
    /// The record as it is now (the undo intent's before-image).
    pub current: Option<Value>,
    /// `would_delete`, or why not (`already_undone`, `conflict`, `failed`).
    pub kind: UndoKind,
    /// Why, when it is not deleted.
    pub reason: Option<String>,
}

/// Undoes the run's [`Extra`]s: with `commit`, each delete is journaled (an intent with the
/// record as its before-image, committed first) and resolved with its result.
async fn undo_extras(
    t: &dyn UndoTarget,
    journal: &Journal,
    undo_id: &str,
    extras: Vec<Extra>,
    commit: bool,
) -> anyhow::Result<Vec<UndoOutcome>> {
    let mut out = Vec::with_capacity(extras.len());
    for e in extras {
        let mut o = UndoOutcome {
            line: 0,
            key: Some(e.key.clone()),
            target_id: e.target_id.clone(),
            action: "delete",
            kind: e.kind,
            reason: e.reason.clone(),
        };
        if let (true, UndoKind::WouldDelete, Some(current)) = (commit, e.kind, &e.current) {
            let id = journal.record_intent(&NewIntent {
                run_id: undo_id,
                file_index: 0,
                line: 0,
                system: t.system(),
                op: "delete",
                key: Some(&e.key),
                match_field: None,
                target_id: e.target_id.as_deref(),
                before: current,
                after: None,
            })?;
            (o.kind, o.reason) = match t.delete_extra(&e).await {
                Ok(()) => (UndoKind::Deleted, None),
                Err((kind, why)) => (kind, Some(why)),
            };
            let state = if o.kind == UndoKind::Deleted {
                IntentState::Applied
            } else {
                IntentState::Failed
            };
            journal.resolve_intent(id, state, o.kind.name())?;
        }
        out.push(o);
    }
    Ok(out)
}

/// One record to put back.
#[derive(Debug, Clone)]
struct Item {
    delete: bool,
    line: u64,
    file_index: usize,
    key: Option<String>,
    match_field: Option<String>,
    target_id: Option<String>,
    /// The before-image (restore).
    before: Option<Value>,
    /// What the run sent, in order (create payload, updates).
    afters: Vec<Value>,
    /// Whether the run's write may not have been applied (pending or failed intent).
    unsure: bool,
}

/// Turns a run's intents into records to put back: one per target record — deleted if the run
/// created it, else restored to the *earliest* before-image the run recorded.
fn items(intents: &[IntentRow]) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for i in intents {
        if matches!(i.state, IntentState::NotSent | IntentState::Superseded) {
            continue;
        }
        let unsure = i.state != IntentState::Applied;
        match i.op.as_str() {
            "create" => {
                // A failed create was confirmed absent by the writer's lookup: nothing to undo
                // (and the key may belong to someone else's record).
                if i.state == IntentState::Failed {
                    continue;
                }
                let item = Item {
                    delete: true,
                    line: i.line,
                    file_index: i.file_index,
                    key: i.key.clone(),
                    match_field: i.match_field.clone(),
                    target_id: i.target_id.clone(),
                    before: None,
                    afters: i.after.iter().cloned().collect(),
                    unsure,
                };
                if let Some(id) = &i.target_id {
                    by_id.insert(id.clone(), out.len());
                }
                out.push(item);
            }
            "update" => {
                let Some(id) = i.target_id.clone() else {
                    continue;
                };
                match by_id.get(&id) {
                    Some(&at) => {
                        // Later write to the same record: it must now look like this one.
                        out[at].afters.extend(i.after.iter().cloned());
                        out[at].unsure &= unsure;
                    }
                    None => {
                        by_id.insert(id.clone(), out.len());
                        out.push(Item {
                            delete: false,
                            line: i.line,
                            file_index: i.file_index,
                            key: i.key.clone(),
                            match_field: i.match_field.clone(),
                            target_id: Some(id),
                            before: i.before.clone(),
                            afters: i.after.iter().cloned().collect(),
                            unsure,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Loads and checks the run, connects to its target and undoes (or previews undoing) it.
pub fn run(opts: &UndoOptions) -> anyhow::Result<UndoResult> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run_async(opts))
}

async fn run_async(opts: &UndoOptions) -> anyhow::Result<UndoResult> {
    let journal = Journal::open_existing(&opts.home)?.ok_or_else(|| {
        UsageError(format!(
            "no runs recorded in {} (see --home / PATRON_ETL_HOME)",
            crate::journal::path_in(&opts.home).display()
        ))
    })?;
    // No such run is a usage error (exit 2), a journal that cannot be read an internal one (4).
    let run = journal.run(&opts.run_id)?;
    // A migration writes through the import pipeline and journals the same intents and
    // before-images (kind `migrate`), so it is undone like an import.
    if !matches!(run.command.as_str(), "import" | "restore" | "migrate") {
        return Err(UsageError(format!(
            "run {}: {} runs cannot be undone; only imports, migrations and restores can",
            run.id, run.command
        ))
        .into());
    }
    if !run.commit {
        return Err(UsageError(format!(
            "run {} was a preview and wrote nothing; there is nothing to undo",
            run.id
        ))
        .into());
    }
    let system = System::parse(&run.system).ok_or_else(|| {
        UsageError(format!(
            "run {} recorded an unknown system \"{}\"",
            run.id, run.system
        ))
    })?;
    let connector = registry::connector(system);
    let can = connector.capabilities();
    if !can.update || !can.delete {
        return Err(UsageError(format!(
            "run {} wrote to {}, whose API cannot update or delete users: it is not undoable",
            run.id,
            connector.writes().product_name()
        ))
        .into());
    }
    if run.status == RunStatus::Running {
        tracing::warn!(run = %run.id, "the run may still be running or was killed; undoing what it recorded");
    }
    if let Some(by) = &run.undone_by {
        eprintln!("note: run {} was already undone by run {by}", run.id);
    }
    let items = items(&journal.intents(&run.id)?);
    let config = opts.config.clone().or_else(|| {
        run.options
            .get("config")
            .and_then(Value::as_str)
            .map(PathBuf::from)
    });
    let tref = target::resolve(&run.target, config.as_deref())?;
    // One writing run per target, as for imports (journal/lease.rs).
    let lease = if opts.commit {
        let key = crate::journal::lease::key_of(&tref, &run.target);
        Some(crate::journal::lease::Lease::acquire(
            &opts.home,
            &key,
            "(undo starting)",
        )?)
    } else {
        None
    };
    let (target, sandbox) = crate::builtin::open(tref, &opts.home, None, None).await?;
    let undo_run = RunDir::create(&opts.home).context("cannot create the run folder")?;
    if let Some(l) = &lease {
        l.name_run(&undo_run.id)?;
    }
    let now = crate::journal::now();
    journal.insert_run(&RunRow {
        id: undo_run.id.clone(),
        command: "undo".into(),
        started_at: now.clone(),
        updated_at: now,
        finished_at: None,
        status: RunStatus::Running,
        target: run.target.clone(),
        system: run.system.clone(),
        commit: opts.commit,
        mapping: None,
        mapping_hash: None,
        inputs: Vec::new(),
        input_hash: None,
        options: Value::Null,
        attempts: 1,
        pid: Some(std::process::id() as i64),
        parent: Some(run.id.clone()),
        undone_by: None,
    })?;
    // Ctrl-C ends the paced waits; records not yet undone are reported with the reason.
    let stop = crate::journal::interrupt::Stop::install();
    let result = stop
        .scope(async {
            let t = connector.reads().undo(&target).await?;
            let mut out =
                undo_items(t.as_ref(), &journal, &undo_run.id, &items, opts.commit).await?;
            let afters: Vec<Value> = items.iter().flat_map(|i| i.afters.clone()).collect();
            let notes: Vec<String> = journal
                .outcomes(&run.id)?
                .into_iter()
                .flat_map(|(_, o)| o.changed_fields)
                .collect();
            let extras = t.extras(&afters, &notes).await;
            out.extend(undo_extras(t.as_ref(), &journal, &undo_run.id, extras, opts.commit).await?);
            Ok(out)
        })
        .await;
    if let Some(h) = sandbox {
        h.shutdown().await;
    }
    if let Some(l) = lease {
        l.release();
    }
    if let Err(e) = &result {
        // A usage mistake (an ILLiad run) is not worth a `failed` line in `runs`.
        if crate::exit::code_for(e) == crate::exit::USAGE
            && journal.forget_empty_run(&undo_run.id).unwrap_or(false)
        {
            let _ = std::fs::remove_dir_all(&undo_run.path);
        } else {
            let _ = journal.set_status(&undo_run.id, RunStatus::Failed);
        }
    }
    let outcomes = result?;
    finish(&journal, &run, &undo_run, &outcomes, opts.commit)?;
    write_html(&run, &undo_run, &outcomes, opts.commit)?;
    write_summary(&run, &undo_run, &outcomes, opts.commit);
    Ok(UndoResult {
        run: undo_run,
        undone: run,
        outcomes,
    })
}

/// Records the undo's per-record results, marks it finished and (after a clean commit) the
/// undone run as undone; writes `undo.csv` in the undo's run folder.
fn finish(
    journal: &Journal,
    run: &RunRow,
    undo_run: &RunDir,
    outcomes: &[UndoOutcome],
    commit: bool,
) -> anyhow::Result<()> {
    let rows: Vec<RecordOutcome<'_>> = outcomes
        .iter()
        .map(|o| RecordOutcome {
            key: o.key.as_deref(),
            outcome: o.kind.name(),
            reason: o.reason.as_deref(),
            target_id: o.target_id.as_deref(),
        })
        .collect();
    let clean = commit && !outcomes.iter().any(|o| o.kind.is_failure());
    journal.finish_recorded(
        &undo_run.id,
        "undo",
        &rows,
        clean.then_some(run.id.as_str()),
    )?;
    let f = crate::report::create_private(&undo_run.file("undo.csv"))?;
    let mut w = csv::Writer::from_writer(f);
    w.write_record(["line", "key", "target_id", "action", "outcome", "reason"])?;
    for o in outcomes {
        w.write_record([
            o.line.to_string(),
            crate::report::cell::neutralise(o.key.as_deref().unwrap_or("")).into_owned(),
            o.target_id.clone().unwrap_or_default(),
            o.action.to_string(),
            o.kind.name().to_string(),
            crate::report::cell::neutralise(o.reason.as_deref().unwrap_or("")).into_owned(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The colour class and count order of an undo result on the HTML page.
fn tone(kind: UndoKind) -> (&'static str, u8) {
    match kind {
        UndoKind::WouldDelete => ("plan", 0),
        UndoKind::WouldRestore => ("plan", 1),
        UndoKind::Deleted => ("deact", 2),
        UndoKind::Restored => ("updated", 3),
        UndoKind::AlreadyUndone => ("quiet", 4),
        UndoKind::Conflict => ("conflict", 5),
        UndoKind::Failed => ("bad", 6),
    }
}

/// Writes `report.html` in the undo's run folder: one row per record, lines of the run undone.
fn write_html(
    run: &RunRow,
    undo_run: &RunDir,
    outcomes: &[UndoOutcome],
    commit: bool,
) -> anyhow::Result<()> {
    use crate::report::html::{HtmlReport, Row, RunInfo};
    use crate::report::ReportSink;
    let mut info = RunInfo::now("undo", &undo_run.id, &run.target);
    info.commit = Some(commit);
    info.notes.push(("undoes run".into(), run.id.clone()));
    let file = format!("run {}", run.id);
    let mut page = Box::new(HtmlReport::create(
        &undo_run.file(crate::import::REPORT_HTML),
        info,
    )?);
    for o in outcomes {
        let (tone, order) = tone(o.kind);
        let code = match o.kind {
            UndoKind::Conflict => Some(crate::outcome::ReasonCode::Conflict),
            UndoKind::Failed => Some(crate::outcome::ReasonCode::UndoFailed),
            _ => None,
        };
        page.write_row(&Row {
            file: &file,
            line: Some(o.line),
            key: o.key.as_deref(),
            name: None,
            kind: o.kind.name(),
            order,
            tone,
            failure: o.kind.is_failure(),
            code,
            reason: o.reason.as_deref(),
            changes: &[],
            target_id: o.target_id.as_deref(),
        })?;
    }
    page.finish()?;
    Ok(())
}

/// Writes `summary.json` in the undo's run folder (what `--notify-command` receives).
fn write_summary(run: &RunRow, undo_run: &RunDir, outcomes: &[UndoOutcome], commit: bool) {
    let mut counts = serde_json::Map::new();
    for o in outcomes {
        let n = counts
            .get(o.kind.name())
            .and_then(Value::as_u64)
            .unwrap_or(0);
        counts.insert(o.kind.name().to_string(), Value::from(n + 1));
    }
    let json = serde_json::json!({
        "run": undo_run.id,
        "undoes": run.id,
        "target": run.target,
        "commit": commit,
        "rows": outcomes.len(),
        "outcomes": counts,
    });
    if let Ok(f) = crate::report::create_private(&undo_run.file("summary.json")) {
        let _ = serde_json::to_writer_pretty(f, &json);
    }
}

/// Records an intent for one undo write (committed before the write is sent).
fn intent(
    journal: &Journal,
    undo_id: &str,
    item: &Item,
    system: &str,
    current: &Value,
) -> anyhow::Result<i64> {
    Ok(journal.record_intent(&NewIntent {
        run_id: undo_id,
        file_index: item.file_index,
        line: item.line,
        system,
        op: if item.delete { "delete" } else { "restore" },
        key: item.key.as_deref(),
        match_field: item.match_field.as_deref(),
        target_id: item.target_id.as_deref(),
        before: current,
        after: item.before.as_ref(),
    })?)
}

fn resolve_intent(journal: &Journal, id: i64, kind: UndoKind) -> anyhow::Result<()> {
    let state = if kind == UndoKind::Failed {
        IntentState::Failed
    } else {
        IntentState::Applied
    };
    Ok(journal.resolve_intent(id, state, kind.name())?)
}

fn list(fields: &[String]) -> String {
    let mut shown: Vec<&str> = fields.iter().take(5).map(String::as_str).collect();
    if fields.len() > 5 {
        shown.push("…");
    }
    shown.join(", ")
}

/// Decides and (with `commit`) performs the undo of each item, one at a time.
async fn undo_items(
    t: &dyn UndoTarget,
    journal: &Journal,
    undo_id: &str,
    items: &[Item],
    commit: bool,
) -> anyhow::Result<Vec<UndoOutcome>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut o = UndoOutcome {
            line: item.line,
            key: item.key.clone(),
            target_id: item.target_id.clone(),
            action: if item.delete { "delete" } else { "restore" },
            kind: UndoKind::Failed,
            reason: None,
        };
        let (kind, reason, current) = decide(t, item, &mut o.target_id).await;
        o.kind = kind;
        o.reason = reason;
        if let (true, Some(current), Some(id)) = (
            commit && matches!(kind, UndoKind::WouldDelete | UndoKind::WouldRestore),
            current,
            o.target_id.clone(),
        ) {
            let intent_id = intent(journal, undo_id, item, t.system(), &current)?;
            let res = if item.delete {
                t.delete(&id).await
            } else {
                match &item.before {
                    Some(before) => t.restore(&id, before, &current).await,
                    None => Err("no before-image was recorded".to_string()),
                }
            };
            (o.kind, o.reason) = match res {
                Ok(()) if item.delete => (UndoKind::Deleted, None),
                Ok(()) => (UndoKind::Restored, None),
                Err(e) => (UndoKind::Failed, Some(e)),
            };
            resolve_intent(journal, intent_id, o.kind)?;
        }
        out.push(o);
    }
    Ok(out)
}

/// What to do with one item, judged from the record's current state.
async fn decide(
    t: &dyn UndoTarget,
    item: &Item,
    target_id: &mut Option<String>,
) -> (UndoKind, Option<String>, Option<Value>) {
    if target_id.is_none() {
        // A create interrupted before its result was recorded: find it by its key.
        let (Some(field), Some(key)) = (&item.match_field, &item.key) else {
            return (UndoKind::AlreadyUndone, Some("never created".into()), None);
        };
        match t.find(field, key).await {
            Ok(Some(id)) => *target_id = Some(id),
            Ok(None) => {
                return (
                    UndoKind::AlreadyUndone,
                    Some("not found: the interrupted create was not applied, or it is gone".into()),
                    None,
                )
            }
            Err(e) => return (UndoKind::Failed, Some(e), None),
        }
    }
    let Some(id) = target_id.clone() else {
        return (UndoKind::Failed, Some("no target id".into()), None);
    };
    let current = match t.fetch(&id).await {
        Ok(c) => c,
        Err(e) => return (UndoKind::Failed, Some(e), None),
    };
    let Some(current) = current else {
        return if item.delete {
            (
                UndoKind::AlreadyUndone,
                Some("already deleted".into()),
                None,
            )
        } else {
            (
                UndoKind::Conflict,
                Some("deleted since the run; not re-created".into()),
                None,
            )
        };
    };
    if !item.delete {
        if let Some(before) = &item.before {
            if t.changed_since(before, &current, false).is_empty() {
                return (
                    UndoKind::AlreadyUndone,
                    Some("already as before the run".into()),
                    None,
                );
            }
        }
    }
    let left = item.afters.iter().fold(item.before.clone(), |acc, a| {
        Some(t.left_by_run(acc.as_ref(), a))
    });
    let changed = match &left {
        Some(left) if !item.afters.is_empty() => {
            t.changed_since(left, &current, item.delete && item.before.is_none())
        }
        _ => vec!["(what the run wrote was not recorded)".into()],
    };
    if !changed.is_empty() {
        let why = if item.unsure {
            "the run's write was not confirmed and the record differs from it"
        } else {
            "changed since the run"
        };
        return (
            UndoKind::Conflict,
            Some(format!("{why}: {}", list(&changed))),
            Some(current),
        );
    }
    let kind = if item.delete {
        UndoKind::WouldDelete
    } else {
        UndoKind::WouldRestore
    };
    (kind, None, Some(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A committed import run recorded for `system`.
    fn recorded(home: &std::path::Path, system: &str) -> String {
        let journal = Journal::open(home).unwrap();
        let now = crate::journal::now();
        let id = format!("run-{system}");
        journal
            .insert_run(&RunRow {
                id: id.clone(),
                command: "import".into(),
                started_at: now.clone(),
                updated_at: now,
                finished_at: None,
                status: crate::journal::spec::RunStatus::Finished,
                target: format!("sandbox:{system}"),
                system: system.into(),
                commit: true,
                mapping: None,
                mapping_hash: None,
                inputs: Vec::new(),
                input_hash: None,
                options: Value::Null,
                attempts: 1,
                pid: None,
                parent: None,
                undone_by: None,
            })
            .unwrap();
        id
    }

    #[test]
    fn a_system_that_cannot_update_and_delete_is_refused_before_anything_opens() {
        let home = tempfile::tempdir().unwrap();
        let run_id = recorded(home.path(), "illiad");
        let err = run(&UndoOptions {
            run_id: run_id.clone(),
            commit: true,
            config: None,
            home: home.path().to_path_buf(),
        })
        .unwrap_err();
        assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
        assert!(
            err.to_string()
                .contains("wrote to ILLiad, whose API cannot update or delete users"),
            "{err}"
        );
        // No undo run was recorded: no journal row, no run folder (nor a sandbox's state).
        let journal = Journal::open(home.path()).unwrap();
        let runs = journal.runs(10).unwrap();
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!(runs[0].id, run_id);
        let folders = std::fs::read_dir(home.path().join("runs"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(folders, 0);
    }
}
