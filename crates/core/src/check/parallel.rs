//! `check`'s row pipeline on several threads, with the same outcome for every row as one thread:
//!
//! reader thread (parse rows, in chunks) → worker threads (map, validate, hash the unique
//! fields, render `--out` JSON) → the calling thread (duplicates in input order, report, `--out`).
//!
//! Chunks carry a sequence number and the calling thread judges them strictly in that order, so
//! the first occurrence of a value is always the earlier line. Every queue is bounded: memory
//! stays flat however large the input. When the calling thread stops (a write error), the
//! workers and the reader see their queues close and stop too.

use super::{duplicate_code, duplicate_reason, field_text, issues_code, issues_reason};
use crate::dedupe::{DuplicateTracker, KeyHash, KeyHasher};
use crate::mapping::BoundMapping;
use crate::outcome::{display_name, Outcome, OutcomeKind, ReasonCode};
use crate::read::{ReadError, Record, RowReader};
use crate::report::{summary::Summary, ReportSink};
use crate::systems::connector::NameCheck;
use anyhow::Context;
use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

/// Rows per chunk: large enough that channel traffic is noise, small enough to keep every
/// worker busy on small files.
const CHUNK_ROWS: usize = 512;

/// How many rows ahead the duplicate table is prefetched.
const PREFETCH_AHEAD: usize = 8;

/// Rows as the reader thread hands them on: every cell's text in one buffer, so a worker on
/// another core reads one contiguous block instead of a heap string per cell.
#[derive(Default)]
struct PackedChunk {
    seq: u64,
    rows: Vec<PackedRow>,
    /// The cells' texts, back to back.
    text: String,
    /// Where each cell ends in `text`.
    ends: Vec<usize>,
}

/// One row of a [`PackedChunk`].
enum PackedRow {
    /// A readable row: its line and its cells (a range of the chunk's `ends`).
    Row(u64, Range<usize>),
    /// A broken row: its line and why.
    Bad(u64, String),
}

/// The file being screened and what its outcomes refer to.
pub(super) struct FileJob<'a> {
    /// The file as shown in outcomes.
    pub file: &'a str,
    /// Its index among the inputs.
    pub index: usize,
    /// Every input (to name the file of an earlier duplicate).
    pub files: &'a [PathBuf],
    /// The mapping's match field.
    pub match_field: &'a str,
    /// The mapping bound to this file's header.
    pub bound: &'a BoundMapping,
    /// `check --to`: the target's names a valid row is also checked against.
    pub names: Option<&'a NameCheck>,
}

/// Where the outcomes go (owned by the calling thread).
pub(super) struct Outputs<'a> {
    /// Duplicates across every input so far.
    pub dupes: &'a mut DuplicateTracker,
    /// The per-row report.
    pub sink: Option<&'a mut (dyn ReportSink + 'static)>,
    /// One JSON payload per valid row.
    pub out: Option<&'a mut (dyn Write + 'static)>,
    /// Where `out` goes (for error messages).
    pub out_path: Option<&'a Path>,
    /// The counts.
    pub summary: &'a mut Summary,
}

/// What the workers found for one row.
enum Verdict {
    /// Rejected while reading, mapping or validating.
    Rejected {
        key: Option<String>,
        name: Option<String>,
        code: ReasonCode,
        reason: String,
    },
    /// Valid so far; duplicates are judged in order. Ranges index the chunk's buffers.
    Valid {
        key: Option<String>,
        name: Option<String>,
        keys: Range<usize>,
        json: Range<usize>,
    },
}

/// One row after the workers.
struct Screened {
    line: u64,
    verdict: Verdict,
}

/// A chunk of rows after the workers.
#[derive(Default)]
struct ScreenedChunk {
    seq: u64,
    rows: Vec<Screened>,
    /// The hashed unique values of every valid row.
    keys: Vec<KeyHash>,
    /// The text of each key (parallel to `keys`, ranges into `text`), quoted when it collides.
    key_text: Vec<Range<usize>>,
    text: String,
    /// `--out` payloads, one line per valid row.
    json: Vec<u8>,
}

/// How many worker threads map rows: `PATRON_ETL_WORKERS` when set (0 runs every stage on the
/// calling thread), else one per core, at most 8.
fn worker_count() -> usize {
    std::env::var("PATRON_ETL_WORKERS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
        })
        .min(8)
}

/// Screens every row of one file; returns when the file is done, or with the first read or
/// write error (rows before it keep their outcomes).
pub(super) fn screen_file(
    job: &FileJob<'_>,
    reader: Box<dyn RowReader>,
    outputs: &mut Outputs<'_>,
) -> anyhow::Result<()> {
    let workers = worker_count();
    let want_json = outputs.out.is_some();
    let want_name = outputs.sink.is_some();
    let mut hasher = outputs.dupes.hasher();
    if workers == 0 {
        return screen_inline(job, reader, &mut hasher, outputs);
    }
    let (work_tx, work_rx) = sync_channel::<PackedChunk>(workers * 2);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = sync_channel::<ScreenedChunk>(workers * 2);

    std::thread::scope(|s| {
        let reading = s.spawn(move || read_chunks(reader, work_tx));
        for _ in 0..workers {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            let mut hasher = hasher.clone();
            s.spawn(move || {
                screen_chunks(
                    (job.bound, job.names),
                    &mut hasher,
                    (want_json, want_name),
                    &work_rx,
                    &done_tx,
                )
            });
        }
        // Only the workers hold these now: when they stop, the channels close.
        drop((work_rx, done_tx));
        let judged = judge_in_order(job, done_rx, outputs);
        let read = reading
            .join()
            .map_err(|_| anyhow::anyhow!("{}: the reader thread panicked", job.file))?;
        judged?;
        read.map_err(anyhow::Error::from)
    })
}

/// Every stage on the calling thread, chunk by chunk.
fn screen_inline(
    job: &FileJob<'_>,
    mut reader: Box<dyn RowReader>,
    hasher: &mut KeyHasher,
    outputs: &mut Outputs<'_>,
) -> anyhow::Result<()> {
    let want = (outputs.out.is_some(), outputs.sink.is_some());
    let mut seq = 0;
    loop {
        let (chunk, error) = fill_chunk(reader.as_mut(), seq);
        let last = chunk.rows.len() < CHUNK_ROWS;
        judge_chunk(
            job,
            screen_chunk((job.bound, job.names), hasher, want, chunk),
            outputs,
        )?;
        if let Some(e) = error {
            return Err(e.into());
        }
        if last {
            return Ok(());
        }
        seq += 1;
    }
}

/// Reads up to [`CHUNK_ROWS`] rows into a chunk; fewer only at the end of the file or at a read
/// error (returned beside the rows read before it).
fn fill_chunk(reader: &mut dyn RowReader, seq: u64) -> (PackedChunk, Option<ReadError>) {
    let mut chunk = PackedChunk {
        seq,
        rows: Vec::with_capacity(CHUNK_ROWS),
        ..PackedChunk::default()
    };
    while chunk.rows.len() < CHUNK_ROWS {
        match reader.next() {
            None => break,
            Some(Err(e)) => return (chunk, Some(e)),
            Some(Ok(Record::Row(row))) => {
                let first = chunk.ends.len();
                for cell in &row.cells {
                    chunk.text.push_str(cell);
                    chunk.ends.push(chunk.text.len());
                }
                chunk
                    .rows
                    .push(PackedRow::Row(row.line, first..chunk.ends.len()));
                reader.recycle(row.cells);
            }
            Some(Ok(Record::Bad(bad))) => chunk.rows.push(PackedRow::Bad(bad.line, bad.reason)),
        }
    }
    (chunk, None)
}

/// The reader thread: sends numbered chunks until the file ends.
fn read_chunks(
    mut reader: Box<dyn RowReader>,
    work: SyncSender<PackedChunk>,
) -> Result<(), ReadError> {
    let mut seq = 0;
    loop {
        let (chunk, error) = fill_chunk(reader.as_mut(), seq);
        let last = chunk.rows.len() < CHUNK_ROWS;
        if !chunk.rows.is_empty() && work.send(chunk).is_err() {
            return Ok(()); // the run stopped downstream; its error is reported there
        }
        if let Some(e) = error {
            return Err(e);
        }
        if last {
            return Ok(());
        }
        seq += 1;
    }
}

/// A worker thread: screens chunks until the work queue closes.
fn screen_chunks(
    bound: (&BoundMapping, Option<&NameCheck>),
    hasher: &mut KeyHasher,
    want: (bool, bool),
    work: &Mutex<Receiver<PackedChunk>>,
    done: &SyncSender<ScreenedChunk>,
) {
    loop {
        let next = match work.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(packed) = next else { return };
        if done
            .send(screen_chunk(bound, hasher, want, packed))
            .is_err()
        {
            return;
        }
    }
}

/// Maps, validates and hashes the rows of one chunk (and renders `--out` JSON); `want` is
/// (`--out` JSON, display names for a report).
fn screen_chunk(
    (bound, names): (&BoundMapping, Option<&NameCheck>),
    hasher: &mut KeyHasher,
    (want_json, want_name): (bool, bool),
    packed: PackedChunk,
) -> ScreenedChunk {
    let mut out = ScreenedChunk {
        seq: packed.seq,
        rows: Vec::with_capacity(packed.rows.len()),
        ..ScreenedChunk::default()
    };
    let mut cells: Vec<&str> = Vec::new();
    for row in packed.rows {
        let (line, range) = match row {
            PackedRow::Bad(line, reason) => {
                out.rows.push(Screened {
                    line,
                    verdict: Verdict::Rejected {
                        key: None,
                        name: None,
                        code: ReasonCode::MalformedRow,
                        reason,
                    },
                });
                continue;
            }
            PackedRow::Row(line, range) => (line, range),
        };
        cells.clear();
        let mut start = match range.start {
            0 => 0,
            i => packed.ends[i - 1],
        };
        for &end in &packed.ends[range] {
            cells.push(packed.text.get(start..end).unwrap_or_default());
            start = end;
        }
        let mapped = bound.map_cells(line, &cells);
        let name = want_name.then(|| display_name(&mapped.record)).flatten();
        let unknown = match names {
            Some(check) if mapped.issues.is_empty() => (check.0)(&mapped.record),
            _ => Vec::new(),
        };
        let verdict = if !mapped.issues.is_empty() {
            Verdict::Rejected {
                key: mapped.key,
                name,
                code: issues_code(&mapped.issues),
                reason: issues_reason(&mapped.issues),
            }
        } else if let Some(r) = crate::plan::Rejection::all(&unknown) {
            Verdict::Rejected {
                key: mapped.key,
                name,
                code: r.code,
                reason: r.reason,
            }
        } else {
            let first_key = out.keys.len();
            hasher.hash_row_each(
                |f| field_text(&mapped.record, f),
                |k, value| {
                    let start = out.text.len();
                    out.text.push_str(value);
                    out.keys.push(k);
                    out.key_text.push(start..out.text.len());
                },
            );
            let json_start = out.json.len();
            let rendered = !want_json
                || serde_json::to_writer(&mut out.json, &mapped.record)
                    .map(|()| out.json.push(b'\n'))
                    .is_ok();
            if rendered {
                Verdict::Valid {
                    key: mapped.key,
                    name,
                    keys: first_key..out.keys.len(),
                    json: json_start..out.json.len(),
                }
            } else {
                out.json.truncate(json_start);
                out.keys.truncate(first_key);
                out.key_text.truncate(first_key);
                Verdict::Rejected {
                    key: mapped.key,
                    name,
                    code: ReasonCode::InvalidRecord,
                    reason: "the record could not be written as JSON".into(),
                }
            }
        };
        out.rows.push(Screened { line, verdict });
    }
    out
}

/// The calling thread: judges duplicates and writes outcomes, chunk by chunk in input order.
fn judge_in_order(
    job: &FileJob<'_>,
    done: Receiver<ScreenedChunk>,
    outputs: &mut Outputs<'_>,
) -> anyhow::Result<()> {
    let mut waiting: BTreeMap<u64, ScreenedChunk> = BTreeMap::new();
    let mut next = 0;
    for chunk in done {
        waiting.insert(chunk.seq, chunk);
        while let Some(chunk) = waiting.remove(&next) {
            judge_chunk(job, chunk, outputs)?;
            next += 1;
        }
    }
    Ok(())
}

fn judge_chunk(
    job: &FileJob<'_>,
    mut chunk: ScreenedChunk,
    outputs: &mut Outputs<'_>,
) -> anyhow::Result<()> {
    let mut rows = std::mem::take(&mut chunk.rows);
    let valid_keys = |row: Option<&Screened>| match row.map(|r| &r.verdict) {
        Some(Verdict::Valid { keys, .. }) => keys.clone(),
        _ => 0..0,
    };
    for k in 0..PREFETCH_AHEAD {
        outputs.dupes.prefetch(&chunk.keys[valid_keys(rows.get(k))]);
    }
    for i in 0..rows.len() {
        // Start loading a later row's table slots while this one is judged.
        let ahead = valid_keys(rows.get(i + PREFETCH_AHEAD));
        outputs.dupes.prefetch(&chunk.keys[ahead]);
        let line = rows[i].line;
        let (key, name, reason) = match &mut rows[i].verdict {
            Verdict::Rejected {
                key,
                name,
                code,
                reason,
            } => (
                key.take(),
                name.take(),
                Some((*code, std::mem::take(reason))),
            ),
            Verdict::Valid {
                key,
                name,
                keys,
                json,
            } => {
                let hit = outputs
                    .dupes
                    .check_hashed(job.index, line, &chunk.keys[keys.clone()]);
                match hit {
                    Some((field, first)) => {
                        let value = keys
                            .clone()
                            .find(|&k| chunk.keys[k].field == field)
                            .and_then(|k| chunk.text.get(chunk.key_text[k].clone()))
                            .unwrap_or_default();
                        let field = &outputs.dupes.fields()[field];
                        let reason = duplicate_reason(
                            field,
                            value,
                            first,
                            job.index,
                            job.files,
                            job.match_field,
                        );
                        let code = duplicate_code(field, job.match_field);
                        (key.take(), name.take(), Some((code, reason)))
                    }
                    None => {
                        if let Some(w) = outputs.out.as_mut() {
                            w.write_all(&chunk.json[json.clone()]).with_context(|| {
                                let path = outputs.out_path.unwrap_or(Path::new("--out"));
                                format!("{}: cannot write", path.display())
                            })?;
                        }
                        (key.take(), name.take(), None)
                    }
                }
            }
        };
        let kind = if reason.is_some() {
            OutcomeKind::Rejected
        } else {
            OutcomeKind::Ok
        };
        match outputs.sink.as_mut() {
            None => outputs.summary.add_kind(
                kind,
                reason.as_ref().map(|(c, r)| (Some(*c), r.as_str())),
                job.file,
                line,
            ),
            Some(sink) => {
                let mut o = Outcome::new(job.file, line, key, kind);
                o.name = name;
                if let Some((code, reason)) = reason {
                    o.set_reason(code, reason);
                }
                outputs.summary.add(&o);
                sink.write(&o)?;
            }
        }
    }
    Ok(())
}
