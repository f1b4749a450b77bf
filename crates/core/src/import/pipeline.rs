//! The import pipeline: read → map → screen (in-file duplicates) → plan → journal intents →
//! write → journal outcomes → report, with every stage ahead of the writer so the writer keeps
//! the target's in-flight limit (and its governor's quota) busy instead of draining at every
//! chunk.
//!
//! Shape: one task, one loop. The row source ([`RowSource`], synchronous: reading, mapping and
//! screening are CPU work) cuts the input into planning chunks; up to [`PLANNING`] chunks at a
//! time are planned (lookups, the journal's reconcile, then their intents committed) while
//! earlier chunks' writes are in flight; planned writes wait in a queue and are sent as slots
//! free up, up to the session's write concurrency, whatever chunk they came from. A chunk's
//! outcomes are emitted — journal, reports, progress — once all of its rows have one, chunks in
//! input order, rows in line order. Bounds: at most [`AHEAD`] chunks wait for their outcomes,
//! and more chunks are planned only while fewer than [`QUEUED_CHUNKS`] chunks of writes wait for
//! a slot.
//!
//! Why one task: a [`TargetSession`] is `?Send` (the writers' retry closures hold non-`Send`
//! state), so the stages are futures polled together here rather than spawned tasks. The
//! import's runtime is a single thread (`import::run`): this task, the HTTP connections and
//! timers then share one thread instead of every answer hopping from a worker to the thread
//! polling this task and every request back (the client's share of a request at 8 in flight
//! fell with it; signals are watched on a thread of their own, `journal::interrupt`).
//!
//! Invariants (the journal's crash guarantee): a write is queued only after its chunk's intents
//! are durable ([`RunJournal::record_intents`] is awaited inside the planning future), so every
//! write sent has a durable intent; outcomes go to the journal in groups (one job per chunk,
//! group-committed by the writer thread). Every row read gets exactly one outcome: a chunk is
//! emitted only when each of its candidates has its outcome.

use super::{is_unreachable, ImportOptions, Input, Pending, PendingKind, Sinks};
use crate::check::{field_text, screen_row};
use crate::dedupe::{unique_fields, DuplicateTracker};
use crate::journal::RunJournal;
use crate::mapping::Mapping;
use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use crate::plan::{Candidate, Planned, CHUNK};
use crate::read::Record;
use crate::systems::connector::{PlanRules, TargetSession};
use crate::write::preview_outcome;
use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

/// Most chunks read ahead of the oldest chunk still waiting for an outcome.
pub(crate) const AHEAD: usize = 8;

/// Most chunks being planned at once (their lookups and intent commits overlap each other's
/// and the writes).
const PLANNING: usize = 2;

/// Planning goes on while fewer than this many chunks of writes wait for a slot.
const QUEUED_CHUNKS: usize = 2;

/// Rows read, mapped and screened, cut into planning chunks (the stage before planning).
struct RowSource<'a> {
    opts: &'a ImportOptions,
    mapping: &'a Mapping,
    inputs: &'a mut [Input],
    files: Vec<PathBuf>,
    names: Vec<Arc<str>>,
    dupes: DuplicateTracker,
    /// Input being read.
    index: usize,
    /// Data rows read so far (for `--limit`).
    seen: u64,
    finished: bool,
}

impl<'a> RowSource<'a> {
    fn new(opts: &'a ImportOptions, mapping: &'a Mapping, inputs: &'a mut [Input]) -> Self {
        let mut fields = vec![mapping.match_field.clone()];
        fields.extend(unique_fields(mapping.system).iter().map(|s| s.to_string()));
        let files = inputs.iter().map(|i| i.path.clone()).collect();
        let names = inputs
            .iter()
            .map(|i| Arc::from(i.path.display().to_string()))
            .collect();
        RowSource {
            opts,
            mapping,
            inputs,
            files,
            names,
            dupes: DuplicateTracker::new(fields),
            index: 0,
            seen: 0,
            finished: false,
        }
    }

    /// The next chunk: rows up to `batch` candidates (or `CHUNK * 4` rows); `None` at the end.
    /// After `--max-errors` (`stopped`) or a halt, rows are `skipped` without being planned.
    fn next_chunk(
        &mut self,
        batch: usize,
        stopped: bool,
        sinks: &mut Sinks,
        journal: &RunJournal,
    ) -> anyhow::Result<Option<Vec<Pending>>> {
        let mut chunk = Vec::new();
        let mut candidates = 0;
        while !self.finished && candidates < batch && chunk.len() < CHUNK * 4 {
            match self.next_row(stopped, sinks, journal)? {
                Some(p) => {
                    if matches!(p.kind, PendingKind::Candidate(_)) {
                        candidates += 1;
                    }
                    chunk.push(p);
                }
                None => self.finished = true,
            }
        }
        Ok((!chunk.is_empty()).then_some(chunk))
    }

    fn next_row(
        &mut self,
        stopped: bool,
        sinks: &mut Sinks,
        journal: &RunJournal,
    ) -> anyhow::Result<Option<Pending>> {
        let (opts, mapping) = (self.opts, self.mapping);
        loop {
            let index = self.index;
            let Some(inp) = self.inputs.get_mut(index) else {
                return Ok(None);
            };
            if opts.limit.is_some_and(|l| self.seen >= l) {
                return Ok(None);
            }
            let Some(item) = inp.reader.next() else {
                self.index += 1;
                continue;
            };
            self.seen += 1;
            let item = match item {
                // A migration source cut short by Ctrl-C: the rows it read are accounted for.
                Err(_) if opts.source.is_some() && journal.stop().is_set() => return Ok(None),
                other => other?,
            };
            let file = self
                .names
                .get(index)
                .cloned()
                .unwrap_or_else(|| Arc::from(""));
            let pending = match item {
                Record::Bad(bad) => {
                    let mut o = Outcome::new(&file, bad.line, None, OutcomeKind::Rejected);
                    o.set_reason(ReasonCode::MalformedRow, bad.reason);
                    Pending {
                        cells: bad.cells,
                        file_index: index,
                        kind: PendingKind::Done(o),
                    }
                }
                Record::Row(row) => {
                    for (field, why) in inp.bound.left_out(&row.cells) {
                        sinks.summary.add_left_out(field, why);
                    }
                    let mapped = inp.bound.map_row(&row);
                    let halt = journal.halt_reason(); // journal hook: Ctrl-C stops new work
                    let kind = if let Some(o) = journal.recorded(index, row.line) {
                        // journal hook: an earlier attempt recorded this row; keep its keys
                        // for the in-file duplicate check and report its outcome again
                        let _ = screen_row(
                            &file,
                            index,
                            &self.files,
                            &mapped,
                            &mut self.dupes,
                            &mapping.match_field,
                        );
                        PendingKind::Done(o)
                    } else if stopped || halt.is_some() {
                        let mut o =
                            Outcome::new(&file, row.line, mapped.key.clone(), OutcomeKind::Skipped);
                        o.name = crate::outcome::display_name(&mapped.record);
                        match halt {
                            Some(h) => o.set_reason(
                                journal.halt_code().unwrap_or(ReasonCode::Interrupted),
                                h,
                            ),
                            None => o.set_reason(ReasonCode::MaxErrors, MAX_ERRORS_REASON),
                        }
                        PendingKind::Done(o)
                    } else {
                        match screen_row(
                            &file,
                            index,
                            &self.files,
                            &mapped,
                            &mut self.dupes,
                            &mapping.match_field,
                        ) {
                            Some(o) => PendingKind::Done(o),
                            None => PendingKind::Candidate(Candidate {
                                file: file.clone(),
                                line: mapped.line,
                                key: mapped
                                    .key
                                    .clone()
                                    .or_else(|| {
                                        field_text(&mapped.record, &mapping.match_field)
                                            .map(str::to_string)
                                    })
                                    .unwrap_or_default(),
                                record: mapped.record,
                                clear: mapped.clear,
                                notes: Vec::new(),
                            }),
                        }
                    };
                    Pending {
                        cells: row.cells,
                        file_index: index,
                        kind,
                    }
                }
            };
            return Ok(Some(pending));
        }
    }
}

const MAX_ERRORS_REASON: &str =
    "not attempted: the run stopped after too many failures (--max-errors)";

/// A chunk read and not yet emitted: the outcomes it has, the cells of its candidates (for the
/// rejects file), and how many of its writes are still to come.
struct OpenChunk {
    done: Vec<(usize, Outcome, Vec<String>)>,
    cells: HashMap<(Arc<str>, u64), (usize, Vec<String>)>,
    planned: bool,
    waiting: usize,
    /// Its writes sent so far (for the ETA's requests per row).
    sent: u64,
}

impl OpenChunk {
    fn new(rows: Vec<Pending>) -> (OpenChunk, Vec<Candidate>) {
        let mut chunk = OpenChunk {
            done: Vec::with_capacity(rows.len()),
            cells: HashMap::new(),
            planned: false,
            waiting: 0,
            sent: 0,
        };
        let mut candidates = Vec::new();
        for p in rows {
            match p.kind {
                PendingKind::Done(o) => chunk.done.push((p.file_index, o, p.cells)),
                PendingKind::Candidate(c) => {
                    chunk
                        .cells
                        .insert((c.file.clone(), c.line), (p.file_index, p.cells));
                    candidates.push(c);
                }
            }
        }
        chunk.planned = candidates.is_empty();
        (chunk, candidates)
    }

    /// Adds a candidate's outcome with the cells it was read with. Every outcome a planner or
    /// writer returns names its candidate's file and line; one that does not (a bug) keeps its
    /// outcome and is logged, its rejects-file row then empty, rather than lost or quiet.
    fn add(&mut self, o: Outcome) {
        let (fi, cells) = match self.cells.remove(&(Arc::from(o.file.as_str()), o.line)) {
            Some(c) => c,
            None => {
                tracing::warn!(
                    file = %o.file,
                    line = o.line,
                    "internal: an outcome for a row this chunk did not read; its cells are not \
                     in the rejects file"
                );
                (0, Vec::new())
            }
        };
        self.done.push((fi, o, cells));
    }

    fn complete(&self) -> bool {
        self.planned && self.waiting == 0
    }
}

/// What planning one chunk gave: writes to send (their intents durable) and outcomes already
/// known (preview, confirmed by lookup, skipped because the lookups were cut short).
struct PlannedChunk {
    writes: Vec<Planned>,
    outcomes: Vec<Outcome>,
}

/// Plans one chunk; with `--commit`, reconciles it with an interrupted attempt and makes its
/// intents durable before handing its writes over.
async fn plan_chunk(
    backend: &dyn TargetSession,
    rules: &PlanRules<'_>,
    journal: &RunJournal,
    commit: bool,
    candidates: Vec<Candidate>,
) -> anyhow::Result<PlannedChunk> {
    let keep: Vec<Outcome> = candidates
        .iter()
        .map(|c| c.outcome(OutcomeKind::Skipped))
        .collect();
    let planned = match backend.plan(candidates, rules).await {
        Ok(p) => p,
        Err(e) if crate::journal::interrupt::stopped() || is_unreachable(&e) => {
            // The lookups were cut short (Ctrl-C) or the target is gone: the chunk's rows are
            // `skipped` like every row after them, and the run's accounting goes on.
            if let Some(stop) = crate::journal::interrupt::Stop::current() {
                stop.set_unreachable(e.to_string());
            }
            let reason = journal.halt_reason().unwrap_or_else(|| e.to_string());
            let code = journal.halt_code().unwrap_or(ReasonCode::TargetUnreachable);
            let outcomes = keep
                .into_iter()
                .map(|mut o| {
                    o.set_reason(code, reason.clone());
                    o
                })
                .collect();
            return Ok(PlannedChunk {
                writes: Vec::new(),
                outcomes,
            });
        }
        Err(e) => return Err(e),
    };
    // journal hook: rows interrupted mid-write in an earlier attempt, confirmed by this lookup
    let (planned, resolved) = journal.reconcile(planned);
    if !commit {
        let mut outcomes: Vec<Outcome> = planned
            .into_iter()
            .map(|p| {
                let o = p.row.outcome(OutcomeKind::Failed);
                preview_outcome(o, p.action, true)
            })
            .collect();
        outcomes.extend(resolved);
        return Ok(PlannedChunk {
            writes: Vec::new(),
            outcomes,
        });
    }
    // journal hook: every intent (with before-images) is durable before any write is sent
    journal.record_intents(&planned).await?;
    Ok(PlannedChunk {
        writes: planned,
        outcomes: resolved,
    })
}

/// Streams every input through the pipeline (see the module docs).
pub(super) async fn pump(
    opts: &ImportOptions,
    mapping: &Mapping,
    backend: &dyn TargetSession,
    inputs: &mut [Input],
    sinks: &mut Sinks,
    journal: &RunJournal,
) -> anyhow::Result<()> {
    let rules = PlanRules {
        match_field: &mapping.match_field,
        protect: &mapping.protect,
        merge: &mapping.merge,
        create_missing: &mapping.create_missing,
        external_field: mapping
            .defaults()
            .get("external_user_id_field")
            .map(String::as_str),
        expiry: mapping.expiry,
        mapping: Some(mapping),
    };
    // A system that gains nothing from batching (Libib) plans a chunk of one row, so each row
    // reports (and shows progress) as it is done.
    let batch = backend.chunk_rows().max(1);
    let slots = backend.write_concurrency().max(1);
    let mut source = RowSource::new(opts, mapping, inputs);
    let mut failed: u64 = 0;
    let mut stopped = false;
    let mut fatal: Option<anyhow::Error> = None;
    // Chunks in input order; `first` is the sequence number of the front one.
    let mut open: VecDeque<OpenChunk> = VecDeque::new();
    let mut first: usize = 0;
    let mut planning: FuturesUnordered<LocalBoxFuture<'_, (usize, anyhow::Result<PlannedChunk>)>> =
        FuturesUnordered::new();
    let mut queued: VecDeque<(usize, Planned)> = VecDeque::new();
    let mut writes: FuturesUnordered<LocalBoxFuture<'_, (usize, Outcome)>> =
        FuturesUnordered::new();
    let mut exhausted = false;
    let rules = &rules;
    // How busy the write slots were (time-weighted writes in flight), for the run log.
    let began = std::time::Instant::now();
    let mut last = began;
    let mut busy = std::time::Duration::ZERO;
    loop {
        // Read and plan ahead — up to PLANNING chunks at a time — while fewer than
        // QUEUED_CHUNKS chunks of writes wait for a slot.
        while fatal.is_none()
            && planning.len() < PLANNING
            && !exhausted
            && open.len() < AHEAD
            && queued.len() < batch * QUEUED_CHUNKS
        {
            match source.next_chunk(batch, stopped, sinks, journal) {
                Err(e) => fatal = Some(e),
                Ok(None) => exhausted = true,
                Ok(Some(rows)) => {
                    let (chunk, candidates) = OpenChunk::new(rows);
                    let seq = first + open.len();
                    open.push_back(chunk);
                    if !candidates.is_empty() {
                        planning.push(Box::pin(async move {
                            let r = plan_chunk(backend, rules, journal, opts.commit, candidates);
                            (seq, r.await)
                        }));
                    }
                }
            }
        }
        // Fill every free write slot, whatever chunk the write came from.
        while fatal.is_none() && writes.len() < slots {
            let Some((seq, p)) = queued.pop_front() else {
                break;
            };
            if stopped {
                // --max-errors: planned, its intent recorded, never sent.
                let mut o = p.row.outcome(OutcomeKind::Skipped);
                o.set_reason(ReasonCode::MaxErrors, MAX_ERRORS_REASON);
                if let Some(c) = seq.checked_sub(first).and_then(|i| open.get_mut(i)) {
                    c.waiting = c.waiting.saturating_sub(1);
                    c.add(o);
                }
                continue;
            }
            let match_field = mapping.match_field.as_str();
            if let Some(c) = seq.checked_sub(first).and_then(|i| open.get_mut(i)) {
                c.sent += 1;
            }
            writes.push(Box::pin(async move {
                // A problem that halts the run (FOLIO's 403, a missing permission) ends the
                // writes in flight, every later row is `skipped` with the one message, and the
                // run ends with exit 3 — instead of one failed row per patron.
                let o = journal.guarded(p, |p| backend.write(p, match_field)).await;
                if let Some(e) = backend.halt_error() {
                    if let Some(stop) = crate::journal::interrupt::Stop::current() {
                        stop.set_unreachable(e.to_string());
                    }
                }
                (seq, o)
            }));
        }
        // Emit the chunks that are complete, in input order.
        while open.front().is_some_and(OpenChunk::complete) {
            let Some(mut chunk) = open.pop_front() else {
                break;
            };
            first += 1;
            chunk.done.sort_by_key(|(fi, o, _)| (*fi, o.line));
            // journal hook: the chunk's outcomes and their intents' results, in one job
            journal.record_outcomes(chunk.done.iter().map(|(fi, o, _)| (*fi, o)))?;
            for (fi, o, cells) in &chunk.done {
                if o.outcome == OutcomeKind::Failed {
                    failed += 1;
                }
                sinks.emit(o, *fi, cells)?;
            }
            // The ETA's requests per row counts the rows whose writes are sent, reported or not.
            sinks
                .progress
                .set_ahead(open.iter().map(|c| c.sent).sum::<u64>());
            sinks.progress.inc(chunk.done.len() as u64);
            if opts.max_errors.is_some_and(|m| failed > m) && !stopped {
                stopped = true;
                tracing::warn!(
                    failed,
                    "stopping: too many failed rows (--max-errors); the rest are skipped"
                );
            }
        }
        if let Some(e) = backend.halt_error() {
            if crate::journal::interrupt::Stop::current().is_none() {
                fatal.get_or_insert(e);
            }
        }
        if planning.is_empty() && writes.is_empty() {
            if fatal.is_some() || (exhausted && open.is_empty()) {
                break;
            }
            if !open.is_empty() {
                // Cannot happen: every open chunk is being planned, has writes queued or in
                // flight, or is complete (and emitted above). Never spin.
                fatal.get_or_insert_with(|| {
                    crate::exit::InternalError("the import pipeline stalled".into()).into()
                });
            }
            // Otherwise only more reading can help.
            continue;
        }
        let in_flight = writes.len() as u32;
        tokio::select! {
            Some((seq, result)) = planning.next(), if !planning.is_empty() => {
                match result {
                    Err(e) => {
                        fatal.get_or_insert(e);
                    }
                    Ok(PlannedChunk { writes: planned, outcomes }) => {
                        if let Some(c) = seq.checked_sub(first).and_then(|i| open.get_mut(i)) {
                            for o in outcomes {
                                c.add(o);
                            }
                            c.waiting = planned.len();
                            c.planned = true;
                        }
                        queued.extend(planned.into_iter().map(|p| (seq, p)));
                    }
                }
            }
            Some((seq, o)) = writes.next(), if !writes.is_empty() => {
                if let Some(c) = seq.checked_sub(first).and_then(|i| open.get_mut(i)) {
                    c.waiting = c.waiting.saturating_sub(1);
                    c.add(o);
                }
            }
            else => {}
        }
        let now = std::time::Instant::now();
        busy += (now - last) * in_flight;
        last = now;
    }
    let elapsed = began.elapsed().as_secs_f64();
    if elapsed > 0.0 {
        tracing::info!(
            slots,
            average_in_flight = busy.as_secs_f64() / elapsed,
            seconds = elapsed,
            "writes in flight on average"
        );
    }
    match fatal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    //! The pipeline against a fake session whose first write does not finish until a write of a
    //! later chunk has started: with a barrier per chunk (the old `flush`) it never would.
    use super::*;
    use crate::http::Governed;
    use crate::journal::{JournalOptions, RunStart};
    use crate::mapping::Scope;
    use crate::outcome::AbsentPatron;
    use crate::plan::{Action, Change};
    use crate::progress::Progress;
    use crate::read::ReadOptions;
    use crate::report::summary::Summary;
    use crate::sync::{MissingPlan, MissingPolicy};
    use serde_json::Value;
    use std::collections::HashSet;
    use std::path::Path;
    use std::sync::Mutex;
    use std::time::Duration;

    struct Gated {
        http: Governed,
        journal_db: PathBuf,
        started: Mutex<Vec<u64>>,
        /// Intents found durable when each write started.
        intents_seen: Mutex<Vec<i64>>,
        later_started: tokio::sync::Notify,
    }

    #[async_trait::async_trait(?Send)]
    impl TargetSession for Gated {
        fn http(&self) -> &Governed {
            &self.http
        }
        fn chunk_rows(&self) -> usize {
            2
        }
        fn write_concurrency(&self) -> usize {
            2
        }
        async fn plan(
            &self,
            chunk: Vec<Candidate>,
            _rules: &PlanRules<'_>,
        ) -> anyhow::Result<Vec<Planned>> {
            Ok(chunk
                .into_iter()
                .map(|c| Planned {
                    action: Action::Create(c.record.clone()),
                    row: c,
                })
                .collect())
        }
        async fn plan_restore(
            &self,
            chunk: Vec<Candidate>,
            rules: Option<&str>,
        ) -> anyhow::Result<Vec<Planned>> {
            let _ = rules;
            self.plan(
                chunk,
                &PlanRules {
                    match_field: "",
                    protect: &[],
                    merge: &[],
                    create_missing: &[],
                    external_field: None,
                    expiry: Default::default(),
                    mapping: None,
                },
            )
            .await
        }
        async fn write(&self, planned: Planned, _match_field: &str) -> Outcome {
            let line = planned.row.line;
            let db = rusqlite::Connection::open(&self.journal_db).expect("journal");
            let n: i64 = db
                .query_row(
                    "SELECT COUNT(*) FROM intents WHERE line = ?1",
                    [line as i64],
                    |r| r.get(0),
                )
                .expect("count");
            self.intents_seen.lock().expect("lock").push(n);
            self.started.lock().expect("lock").push(line);
            if line >= 4 {
                self.later_started.notify_one();
            }
            if line == 2 {
                self.later_started.notified().await;
            }
            let mut o = planned.row.outcome(OutcomeKind::Created);
            o.target_id = Some(format!("id-{line}"));
            o
        }
        async fn missing(
            &self,
            _scope: &Scope,
            _match_field: &str,
            _roster_keys: &HashSet<String>,
        ) -> anyhow::Result<MissingPlan> {
            anyhow::bail!("not used")
        }
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

    fn options(dir: &Path, input: &Path, mapping: &Path) -> ImportOptions {
        ImportOptions {
            files: vec![input.to_path_buf()],
            mapping: mapping.to_path_buf(),
            read: ReadOptions::default(),
            to: "fake".into(),
            config: None,
            commit: true,
            report: None,
            rate: None,
            concurrency: None,
            max_errors: None,
            limit: None,
            home: dir.join("home"),
            missing: MissingPolicy::Ignore,
            max_missing: 1.0,
            force: false,
            allow_incomplete_roster: false,
            source: None,
            journal: JournalOptions::default(),
        }
    }

    #[tokio::test]
    async fn a_later_chunk_writes_while_an_earlier_write_is_still_in_flight() {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("roster.csv");
        let mapping_path = dir.path().join("m.toml");
        std::fs::write(&input, "ID,Last\nA,a\nB,b\nC,c\nD,d\nE,e\n").expect("input");
        std::fs::write(
            &mapping_path,
            "system = \"folio\"\nmatch = \"externalSystemId\"\n[fields]\n\
             externalSystemId = \"ID\"\n\"personal.lastName\" = \"Last\"\n",
        )
        .expect("mapping");
        let opts = options(dir.path(), &input, &mapping_path);
        let mapping = Mapping::load(&mapping_path).expect("mapping loads");
        let start = RunStart {
            command: "import",
            home: &opts.home,
            commit: true,
            files: &opts.files,
            mapping: &opts.mapping,
            system: mapping.system,
            match_field: &mapping.match_field,
            journal: &opts.journal,
            spec: opts.run_spec(),
        };
        let (_run, journal) = crate::journal::session::begin(&start).expect("journal");
        let reader = crate::read::open(&input, &opts.read).expect("reader");
        let header = reader.headers().to_vec();
        let bound = mapping.bind(&header).expect("binds");
        let mut inputs = vec![Input {
            path: input.clone(),
            reader,
            bound,
            header,
        }];
        let mut sinks = Sinks {
            summary: Summary::default(),
            reports: Vec::new(),
            rejects: vec![None],
            progress: Progress::new("import", Some(5)),
        };
        let session = Gated {
            http: Governed::new(1000.0, 2, Duration::from_secs(5)).expect("client"),
            journal_db: opts.home.join("journal.sqlite"),
            started: Mutex::new(Vec::new()),
            intents_seen: Mutex::new(Vec::new()),
            later_started: tokio::sync::Notify::new(),
        };
        let run = pump(&opts, &mapping, &session, &mut inputs, &mut sinks, &journal);
        tokio::time::timeout(Duration::from_secs(20), run)
            .await
            .expect("line 2's write ends only once a later chunk's write started: no barrier")
            .expect("the pipeline runs");
        let started = session.started.lock().expect("lock").clone();
        assert_eq!(started.len(), 5, "{started:?}");
        let pos = |l: u64| started.iter().position(|x| *x == l);
        assert!(pos(4) > pos(2), "{started:?}");
        assert_eq!(
            *session.intents_seen.lock().expect("lock"),
            vec![1; 5],
            "each write's intent was durable before it was sent"
        );
        assert_eq!(sinks.summary.count(OutcomeKind::Created), 5);
        journal.finish(true).await.expect("finish");
        let db = rusqlite::Connection::open(opts.home.join("journal.sqlite")).expect("journal");
        let applied: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM intents WHERE state = 'applied'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(applied, 5, "every outcome reached the journal");
    }
}
