//! `patron-etl export`: every patron of a target (or, for ILLiad, of an id list) to a CSV, XLSX
//! or JSON Lines file that a person can read and that imports back
//! (`mappings/folio-reimport.toml` for FOLIO).
//!
//! Flow: [`source::PatronRows`] pages records out of the target and turns them into rows under
//! a fixed header ([`columns::Layout`]: the default columns, or an export mapping's) →
//! [`sink`] writes them. The file is written under a temporary name and renamed when complete,
//! so a failed export never leaves a truncated file under the requested name.
//!
//! Invariants: CSV and JSONL in constant memory (one page at a time); nothing is written to the
//! target; the run folder holds the log, `summary.json` and (ILLiad) `not-found.txt`.

use crate::exit::UnreachableError;
use crate::journal::interrupt::{Halt, Stop};
use crate::journal::store::{Journal, RunRow};

pub mod columns;
pub mod filter;
pub mod human;
pub mod native;
pub mod sink;
pub mod source;

use crate::exit::UsageError;
use crate::mapping::Mapping;
use crate::progress::Progress;
use crate::runs::RunDir;
use crate::target;
use anyhow::Context;
use serde_json::Value;
use sink::OutFormat;
use source::PatronRows;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What an export needs.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Source target (`sandbox:folio` or a config entry).
    pub from: String,
    /// Config file (default `patron-etl.toml`).
    pub config: Option<PathBuf>,
    /// Output file; the format comes from its extension.
    pub out: PathBuf,
    /// Export mapping choosing the columns.
    pub mapping: Option<PathBuf>,
    /// File of ids to export (ILLiad: required).
    pub ids: Option<PathBuf>,
    /// Add a UTF-8 BOM to CSV output (for Excel).
    pub excel: bool,
    /// Requests per second override.
    pub rate: Option<f64>,
    /// In-flight override.
    pub concurrency: Option<usize>,
    /// The home directory: journal, run folders, built-in sandbox state ([`crate::runs::home`]).
    pub home: PathBuf,
    /// Records as the system holds them, or columns; `None`: native for `.jsonl` without
    /// `--mapping`, columns otherwise.
    pub format: Option<ExportFormat>,
    /// Replace an existing output file (otherwise an existing file is a usage error, untouched).
    pub force: bool,
    /// Header text of CSV and XLSX; `None`: labels for XLSX, field names for CSV.
    pub headers: Option<human::Headers>,
    /// Keep every column of the layout, even the ones empty in every row (CSV, XLSX).
    pub all_columns: bool,
    /// Which patrons to export.
    pub filter: filter::Filter,
}

/// What an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// The system's own records, one JSON object a line after a header line (a backup that
    /// `restore` puts back); `.jsonl` only.
    Native,
    /// A fixed set of columns (the default ones, or an export mapping's).
    Columns,
}

/// What an export did.
#[derive(Debug)]
pub struct ExportResult {
    /// Rows written.
    pub rows: u64,
    /// Records skipped as repeats of an exported barcode (Libib).
    pub duplicates: u64,
    /// Ids that matched no user (ILLiad).
    pub not_found: Vec<String>,
    /// Ids that matched several users (ILLiad external ids).
    pub ambiguous: Vec<String>,
    /// Requests sent.
    pub requests: u64,
    /// Fields the columns left out, with how many records had them.
    pub uncovered: Vec<(String, u64)>,
    /// Wall time in seconds.
    pub seconds: f64,
    /// The run folder.
    pub run: RunDir,
    /// Stopped by Ctrl-C: the rows read so far are in [`ExportResult::partial`], not under
    /// the requested name.
    pub interrupted: bool,
    /// Where the rows of an interrupted export are.
    pub partial: PathBuf,
    /// A native backup (the records as the system returned them).
    pub native: bool,
    /// Secret fields (passwords) removed from the records, never exported.
    pub secrets_dropped: u64,
    /// CSV and XLSX: columns dropped as empty, and whether rows are sorted by name.
    pub human: Option<human::HumanStats>,
}

impl ExportResult {
    /// The summary printed at the end of a run.
    pub fn render(&self, opts: &ExportOptions) -> String {
        let mut s = format!(
            "export from {} — run {}\n  rows written   {:>10}\n  requests sent  {:>10}\n  time           {:>9.1}s\n",
            opts.from, self.run.id, self.rows, self.requests, self.seconds
        );
        if let Some(f) = opts.filter.describe() {
            s += &format!("  filter         {f}\n");
        }
        if self.native {
            s += "  format         native (each record as the system returned it; restore with `patron-etl restore`)\n";
        }
        if self.secrets_dropped > 0 {
            s += &format!(
                "  secrets        {:>10} password fields left out (never exported)\n",
                self.secrets_dropped
            );
        }
        if let Some(h) = &self.human {
            if h.dropped_columns > 0 {
                s += &format!(
                    "  empty columns  {:>10} left out (--all-columns keeps them)\n",
                    h.dropped_columns
                );
            }
            s += if h.sorted {
                "  order          by name\n"
            } else {
                "  order          the system's (more rows than are sorted in memory; PATRON_ETL_SORT_ROWS)\n"
            };
        }
        if self.duplicates > 0 {
            s += &format!(
                "  duplicates     {:>10} (same barcode seen again while paging; kept once)\n",
                self.duplicates
            );
        }
        let list = |ids: &[String]| {
            let shown: Vec<&str> = ids.iter().take(20).map(String::as_str).collect();
            let more = if ids.len() > 20 {
                format!(", … ({} more)", ids.len() - 20)
            } else {
                String::new()
            };
            format!("{}{more}", shown.join(", "))
        };
        if !self.not_found.is_empty() {
            s += &format!(
                "  not found      {:>10}: {}\n",
                self.not_found.len(),
                list(&self.not_found)
            );
        }
        if !self.ambiguous.is_empty() {
            s += &format!(
                "  not unique     {:>10}: {}\n",
                self.ambiguous.len(),
                list(&self.ambiguous)
            );
        }
        for (field, n) in &self.uncovered {
            s +=
                &format!("  not exported: {field} (in {n} records; add it to an export mapping)\n");
        }
        if self.interrupted {
            s += &format!(
                "  interrupted: the {} rows read so far are in {} (incomplete); run the export again for a complete file\n",
                self.rows,
                self.partial.display()
            );
        } else {
            s += &format!("  output: {}\n", opts.out.display());
        }
        s += &format!("  run folder: {}\n", self.run.path.display());
        s
    }

    /// Whether every requested record was exported.
    pub fn complete(&self) -> bool {
        !self.interrupted && self.not_found.is_empty() && self.ambiguous.is_empty()
    }
}

/// Reads an id list: one id per line; blank lines and `#` comments skipped; repeats dropped.
pub fn read_ids(path: &Path) -> Result<Vec<String>, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("--ids {}: cannot read: {e}", path.display())))?;
    let mut seen = std::collections::HashSet::new();
    Ok(text
        .lines()
        .map(|l| l.trim().trim_start_matches('\u{feff}').trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| seen.insert(l.to_string()))
        .map(str::to_string)
        .collect())
}

/// Runs an export on a fresh tokio runtime.
pub fn run(opts: &ExportOptions) -> anyhow::Result<ExportResult> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run_async(opts))
}

fn partial_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    out.with_file_name(format!(".{name}.partial"))
}

async fn run_async(opts: &ExportOptions) -> anyhow::Result<ExportResult> {
    let format = OutFormat::of(&opts.out).ok_or_else(|| {
        UsageError(format!(
            "--out {}: unknown format (use a .csv, .xlsx or .jsonl file name)",
            opts.out.display()
        ))
    })?;
    let native = match (opts.format, format, &opts.mapping) {
        (Some(ExportFormat::Columns), ..) => false,
        (_, OutFormat::Jsonl, None) => true,
        (None, ..) => false,
        (Some(ExportFormat::Native), OutFormat::Jsonl, Some(_)) => {
            return Err(UsageError(
                "--format native writes each record as the system holds it; --mapping chooses \
                 columns (add --format columns)"
                    .into(),
            )
            .into())
        }
        (Some(ExportFormat::Native), ..) => {
            return Err(UsageError(format!(
                "--out {}: --format native writes JSON Lines (a .jsonl file)",
                opts.out.display()
            ))
            .into())
        }
    };
    if opts.out.exists() && !opts.force {
        return Err(UsageError(format!(
            "--out {}: the file exists and was left as it is; add --force to replace it",
            opts.out.display()
        ))
        .into());
    }
    let mapping = opts.mapping.as_deref().map(Mapping::load).transpose()?;
    let ids = opts.ids.as_deref().map(read_ids).transpose()?;
    let tref = target::resolve(&opts.from, opts.config.as_deref())?;
    let (target, sandbox) =
        crate::builtin::open(tref, &opts.home, opts.rate, opts.concurrency).await?;
    let run = RunDir::create(&opts.home)
        .with_context(|| format!("cannot create the run folder under {}", opts.home.display()))?;
    if let Err(e) = crate::runlog::attach(&run.file("run.log")) {
        tracing::warn!("cannot write the run log: {e}");
    }
    tracing::info!(run = %run.id, source = %target.name, system = %target.system,
        rate = target.rate, concurrency = target.concurrency, "export started");
    let journal = record_run(opts, &run, &target, native)?;
    let started = Instant::now();
    let partial = partial_path(&opts.out);
    // Ctrl-C ends the paced page requests at once; the rows read so far stay in `partial`.
    let stop = Stop::install();
    let result = if native {
        stop.scope(pump_native(&target, ids, &opts.filter, &partial))
            .await
    } else {
        stop.scope(pump(opts, &target, ids, mapping.as_ref(), format, &partial))
            .await
    };
    if let Some(h) = sandbox {
        h.shutdown().await;
    }
    let (rows, stats, requests, secrets_dropped, human) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            // Ctrl-C while connecting: the connection's error would only say "not sent".
            let e = if stop.halt() == Some(Halt::Interrupted) {
                crate::exit::InterruptedError.into()
            } else {
                e
            };
            // A usage mistake (ILLiad without --ids) is not worth a `failed` line in `runs`.
            if crate::exit::code_for(&e) == crate::exit::USAGE
                && journal.forget_empty_run(&run.id).unwrap_or(false)
            {
                let _ = std::fs::remove_dir_all(&run.path);
            } else {
                let _ = journal.set_status(&run.id, crate::journal::RunStatus::Failed);
            }
            crate::runlog::detach();
            return Err(e);
        }
    };
    let interrupted = stop.halt() == Some(Halt::Interrupted);
    if !interrupted {
        std::fs::rename(&partial, &opts.out).with_context(|| {
            format!(
                "cannot move the export into place at {}",
                opts.out.display()
            )
        })?;
    }
    journal.set_status(
        &run.id,
        if interrupted {
            crate::journal::RunStatus::Interrupted
        } else {
            crate::journal::RunStatus::Finished
        },
    )?;
    let mut uncovered: Vec<(String, u64)> = stats.uncovered.0.into_iter().collect();
    uncovered.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (field, n) in &uncovered {
        // The summary prints them ("not exported: …"); the run log keeps them too.
        tracing::info!(field = %field, records = n, "field not in the export's columns");
    }
    let res = ExportResult {
        rows,
        duplicates: stats.duplicates,
        not_found: stats.not_found,
        ambiguous: stats.ambiguous,
        requests,
        uncovered,
        seconds: started.elapsed().as_secs_f64(),
        run,
        interrupted,
        partial,
        native,
        secrets_dropped,
        human,
    };
    if !res.not_found.is_empty() || !res.ambiguous.is_empty() {
        let mut text = String::new();
        for id in &res.not_found {
            text += &format!("{id}\tnot found\n");
        }
        for id in &res.ambiguous {
            text += &format!("{id}\tmore than one user has this external id\n");
        }
        if let Ok(mut f) = crate::report::create_private(&res.run.file("not-found.txt")) {
            use std::io::Write;
            let _ = f.write_all(text.as_bytes());
        }
    }
    if let Err(e) = write_html(&res, &target.name, opts) {
        tracing::warn!("cannot write the HTML report: {e}");
    }
    let json = serde_json::json!({
        "run": res.run.id, "source": target.name, "out": opts.out.display().to_string(),
        "rows": res.rows, "duplicates": res.duplicates, "not_found": res.not_found.len(),
        "not_unique": res.ambiguous.len(), "requests": res.requests, "seconds": res.seconds,
        "format": if res.native { "native" } else { "columns" }, "secrets_dropped": res.secrets_dropped,
        "filter": opts.filter.describe(),
        "status": if res.interrupted { "interrupted" } else { "finished" },
    });
    // `runs` lists an export's counts from its options (an export records no row outcomes).
    if let Ok(mut run_row) = journal.run(&res.run.id) {
        if let Value::Object(o) = &mut run_row.options {
            o.insert("rows".into(), res.rows.into());
            o.insert("secrets_dropped".into(), res.secrets_dropped.into());
            if !res.not_found.is_empty() {
                o.insert("not_found".into(), (res.not_found.len() as u64).into());
            }
        }
        if let Err(e) = journal.set_options(&res.run.id, &run_row.options) {
            tracing::warn!("cannot record the export's counts in the journal: {e}");
        }
    }
    if let Ok(f) = crate::report::create_private(&res.run.file("summary.json")) {
        let _ = serde_json::to_writer_pretty(f, &json);
    }
    tracing::info!(rows = res.rows, requests = res.requests, "export finished");
    crate::runlog::detach();
    Ok(res)
}

/// Records the export in the journal (kind `export`, no per-row outcomes), so `runs` lists it.
fn record_run(
    opts: &ExportOptions,
    run: &RunDir,
    target: &crate::target::Target,
    native: bool,
) -> anyhow::Result<Journal> {
    let journal = Journal::open(&opts.home)?;
    let now = crate::journal::now();
    journal.insert_run(&RunRow {
        id: run.id.clone(),
        command: "export".into(),
        started_at: now.clone(),
        updated_at: now,
        finished_at: None,
        status: crate::journal::RunStatus::Running,
        target: opts.from.clone(),
        system: target.system.name().into(),
        commit: false,
        mapping: opts
            .mapping
            .as_deref()
            .map(|m| std::path::absolute(m).unwrap_or_else(|_| m.to_path_buf()))
            .map(|m| m.display().to_string()),
        mapping_hash: None,
        inputs: Vec::new(),
        input_hash: None,
        options: serde_json::json!({
            "out": opts.out.display().to_string(),
            "format": if native { "native" } else { "columns" },
            "filter": opts.filter.describe(),
        }),
        attempts: 1,
        pid: Some(i64::from(std::process::id())),
        parent: None,
        undone_by: None,
    })?;
    Ok(journal)
}

/// Writes `report.html` in the export's run folder: the records written, the ids that matched
/// no user or several, and the fields the columns left out.
fn write_html(
    res: &ExportResult,
    source: &str,
    opts: &ExportOptions,
) -> Result<(), crate::report::ReportError> {
    use crate::outcome::ReasonCode;
    use crate::report::html::{HtmlReport, Row, RunInfo};
    use crate::report::ReportSink;
    let mut info = RunInfo::now("export", &res.run.id, source);
    info.notes = vec![
        ("output".into(), opts.out.display().to_string()),
        ("requests sent".into(), res.requests.to_string()),
        ("time".into(), format!("{:.1} s", res.seconds)),
    ];
    if res.interrupted {
        info.notes.push((
            "status".into(),
            format!(
                "interrupted: the records read before the stop are in {}, not under the requested name",
                res.partial.display()
            ),
        ));
    }
    if res.duplicates > 0 {
        info.notes.push((
            "duplicates".into(),
            format!(
                "{} (same barcode seen again while paging; kept once)",
                res.duplicates
            ),
        ));
    }
    for (field, n) in &res.uncovered {
        info.notes.push((
            "not exported".into(),
            format!("{field} (in {n} records; add it to an export mapping)"),
        ));
    }
    let mut page = Box::new(HtmlReport::create(
        &res.run.file(crate::import::REPORT_HTML),
        info,
    )?);
    page.count_only("exported", 0, "good", res.rows);
    let ids = opts
        .ids
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let missing = res
        .not_found
        .iter()
        .map(|id| (id, "not_found", "no user has this id"))
        .chain(
            res.ambiguous
                .iter()
                .map(|id| (id, "not_unique", "more than one user has this external id")),
        );
    for (id, kind, why) in missing {
        page.write_row(&Row {
            file: &ids,
            line: None,
            key: Some(id),
            name: None,
            kind,
            order: if kind == "not_found" { 1 } else { 2 },
            tone: "bad",
            failure: true,
            code: Some(ReasonCode::NotFound),
            reason: Some(why),
            changes: &[],
            target_id: None,
        })?;
    }
    page.finish()
}

/// A page that failed: `Ok` to stop reading and keep what was read (Ctrl-C), `Err` to end the
/// export.
fn page_failed(e: anyhow::Error) -> anyhow::Result<()> {
    match Stop::current().and_then(|s| s.halt()) {
        // Interrupted: the request was never sent or its wait was cut short.
        Some(Halt::Interrupted) => Ok(()),
        // The governor gave the source up: exit 3 with what it saw.
        Some(Halt::Unreachable(why)) => Err(UnreachableError(why).into()),
        None => Err(e),
    }
}

/// Connects, then writes each record as the system returned it to a native backup, a page at a
/// time. Returns (records, stats, requests, secret fields dropped).
async fn pump_native(
    target: &crate::target::Target,
    ids: Option<Vec<String>>,
    filter: &filter::Filter,
    partial: &Path,
) -> anyhow::Result<Pumped> {
    let id_count = ids.as_ref().map(|i| i.len() as u64);
    let filter_limit = filter.limit;
    let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut rows = PatronRows::connect_with(target, ids, filter.clone()).await?;
    let header = native::BackupHeader {
        patron_etl_backup: native::FORMAT_VERSION,
        system: target.system.name().into(),
        source: target.name.clone(),
        exported_at: started,
        tool_version: env!("CARGO_PKG_VERSION").into(),
    };
    let mut out = native::NativeWriter::create(partial, &header)?;
    let written = each_page(&mut rows, true, id_count, filter_limit, |page| match page {
        Page::Records(records) => records.into_iter().try_for_each(|r| out.write(r)),
        Page::Rows(_) => Ok(()),
    })
    .await?;
    let secrets = out.secrets_dropped;
    out.finish()?;
    if secrets > 0 {
        tracing::info!(fields = secrets, "password fields left out of the backup");
    }
    Ok((
        written,
        rows.stats().clone(),
        rows.requests(),
        secrets,
        None,
    ))
}

/// One page of an export: records as the system returned them (native backup) or rows under
/// the layout's header.
enum Page {
    Records(Vec<Value>),
    Rows(Vec<crate::read::SourceRow>),
}

impl Page {
    fn len(&self) -> usize {
        match self {
            Page::Records(r) => r.len(),
            Page::Rows(r) => r.len(),
        }
    }
}

/// The page loop of both pumps: pages out of `rows` (as [`Page::Records`] with `native`, else
/// [`Page::Rows`]) into `write` until the source ends, a page fails ([`page_failed`]) or
/// Ctrl-C; progress from the first page on. Returns how many records `write` was given.
async fn each_page(
    rows: &mut PatronRows,
    native: bool,
    id_count: Option<u64>,
    limit: Option<u64>,
    mut write: impl FnMut(Page) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut progress: Option<Progress> = None;
    let mut written = 0u64;
    loop {
        let next = if native {
            rows.next_records().await.map(|p| p.map(Page::Records))
        } else {
            rows.next_page().await.map(|p| p.map(Page::Rows))
        };
        let page = match next {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(e) => {
                page_failed(e)?;
                break;
            }
        };
        let p = progress.get_or_insert_with(|| {
            Progress::new(
                "export",
                expected(id_count.or(rows.stats().expected), limit),
            )
        });
        let n = page.len() as u64;
        write(page)?;
        written += n;
        p.inc(n);
        if Stop::current().and_then(|s| s.halt()) == Some(Halt::Interrupted) {
            break;
        }
    }
    if let Some(p) = progress {
        p.finish();
    }
    Ok(written)
}

/// What a pump returns: (rows, source stats, requests, secret fields dropped, human-export stats).
type Pumped = (
    u64,
    source::SourceStats,
    u64,
    u64,
    Option<human::HumanStats>,
);

/// The progress total: what the source announced, capped by `--limit`.
fn expected(announced: Option<u64>, limit: Option<u64>) -> Option<u64> {
    match (announced, limit) {
        (Some(a), Some(l)) => Some(a.min(l)),
        (a, None) => a,
        (None, l) => l,
    }
}

/// Where a human export keeps rows past the in-memory bound.
fn spill_path(partial: &Path) -> PathBuf {
    partial.with_extension("spill")
}

/// Connects, then moves pages from the source to the sink: JSONL row by row; CSV and XLSX
/// through a [`human::Collector`] (empty columns dropped, sorted by name).
async fn pump(
    opts: &ExportOptions,
    target: &crate::target::Target,
    ids: Option<Vec<String>>,
    mapping: Option<&Mapping>,
    format: OutFormat,
    partial: &Path,
) -> anyhow::Result<Pumped> {
    let id_count = ids.as_ref().map(|i| i.len() as u64);
    let filter_limit = opts.filter.limit;
    let mut rows = PatronRows::connect_with(target, ids, opts.filter.clone()).await?;
    if let Some(m) = mapping {
        rows.use_mapping(m)?;
    }
    let mut collector = (format != OutFormat::Jsonl)
        .then(|| human::Collector::new(rows.system(), rows.fields(), spill_path(partial)));
    let mut sink = match collector {
        Some(_) => None,
        None => Some(sink::open(
            partial,
            format,
            &rows.header(),
            &rows.kinds(),
            opts.excel,
        )?),
    };
    let written = each_page(&mut rows, false, id_count, filter_limit, |page| {
        let Page::Rows(page) = page else {
            return Ok(());
        };
        for r in &page {
            match (&mut sink, &mut collector) {
                (Some(s), _) => s.write_row(&r.cells)?,
                (None, Some(c)) => c.push(&r.cells)?,
                (None, None) => {}
            }
        }
        Ok(())
    })
    .await?;
    let mut human_stats = None;
    if let Some(s) = sink {
        s.finish()?;
    }
    if let Some(c) = collector {
        let headers = opts.headers.unwrap_or(match format {
            OutFormat::Xlsx => human::Headers::Labels,
            _ => human::Headers::Fields,
        });
        human_stats = Some(c.finish(
            partial,
            format,
            &rows.header(),
            &rows.kinds(),
            headers,
            opts.all_columns,
            opts.excel,
        )?);
    }
    Ok((
        written,
        rows.stats().clone(),
        rows.requests(),
        0,
        human_stats,
    ))
}
