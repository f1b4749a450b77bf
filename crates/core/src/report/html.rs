//! HTML report sink: one self-contained page per run (`report.html` in every run folder) — the
//! run, counts per outcome with a bar chart, reasons grouped by code with their real messages and
//! lines, the patrons a roster sync deactivates, and a table of rows that a small inline script
//! filters by outcome and searches.
//!
//! Invariants: the page fetches nothing (inline CSS and script, no fonts or images), so it works
//! offline and from a file; every text from a row or a server is escaped by the template
//! ([maud](https://maud.lambda.xyz/) escapes all `(…)` splices); rows stream to a side file while
//! the run goes on and are copied into the page at the end, so memory stays flat. The table lists
//! the first [`FAILURE_LIMIT`] rows that did not go through and the first [`ROW_LIMIT`] others, and
//! says how many it left out (the CSV report has them all); counts and reasons cover every row.

use super::summary::{lines_text, Caps, Summary};
use super::{create_private, ReportError, ReportSink};
use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Rows that went through (ok, created, updated, …) listed in the table.
pub const ROW_LIMIT: u64 = 20_000;

/// Rows that did not go through (rejected, conflict, failed, skipped) listed in the table: every
/// one of a normal run, while a page for a million broken rows stays one a browser opens.
pub const FAILURE_LIMIT: u64 = 100_000;

/// What the page says about the run.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// `import`, `migrate`, `undo`, `export` (empty: a report opened with `--report x.html`).
    pub command: String,
    /// Run id.
    pub run_id: String,
    /// Target (or source) name.
    pub target: String,
    /// Mapping file, if any.
    pub mapping: Option<String>,
    /// Input files (or the source a migrate reads).
    pub files: Vec<String>,
    /// When the run started (local time).
    pub started: String,
    /// `Some(true)` commit, `Some(false)` preview, `None` not a writing command.
    pub commit: Option<bool>,
    /// More facts, shown as they are (e.g. the output file of an export).
    pub notes: Vec<(String, String)>,
}

impl RunInfo {
    /// Facts for a run starting now.
    pub fn now(command: &str, run_id: &str, target: &str) -> RunInfo {
        RunInfo {
            command: command.to_string(),
            run_id: run_id.to_string(),
            target: target.to_string(),
            started: chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
            ..RunInfo::default()
        }
    }
}

/// One line of the page's table: an import's [`Outcome`], or an undo's result.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// Input file.
    pub file: &'a str,
    /// Input line (`None`: not an input line, e.g. a patron absent from the roster).
    pub line: Option<u64>,
    /// Match key.
    pub key: Option<&'a str>,
    /// Display name.
    pub name: Option<&'a str>,
    /// Outcome name (`created`, `restored`, …).
    pub kind: &'static str,
    /// Where the kind is listed among the counts (enum order).
    pub order: u8,
    /// Colour class (see [`tone`]).
    pub tone: &'static str,
    /// Whether the row did not go through (always listed; its reason is grouped).
    pub failure: bool,
    /// Reason code.
    pub code: Option<ReasonCode>,
    /// Reason.
    pub reason: Option<&'a str>,
    /// Changed fields, `field: old → new`.
    pub changes: &'a [String],
    /// Target id.
    pub target_id: Option<&'a str>,
}

impl<'a> Row<'a> {
    /// The row of an import outcome.
    pub fn of(o: &'a Outcome) -> Row<'a> {
        Row {
            file: &o.file,
            line: o.absent.is_none().then_some(o.line),
            key: o.key.as_deref(),
            name: o.name.as_deref(),
            kind: o.outcome.name(),
            order: o.outcome as u8,
            tone: tone(o.outcome),
            failure: o.is_failure(),
            code: o.code,
            reason: o.reason.as_deref(),
            changes: &o.changed_fields,
            target_id: o.target_id.as_deref(),
        }
    }
}

/// The rows' side file, removed when the report is finished or dropped (a run that stops with an
/// error leaves no stray file).
struct SideFile(PathBuf);

impl Drop for SideFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Streams outcomes into an HTML page.
pub struct HtmlReport {
    path: PathBuf,
    info: RunInfo,
    /// Rows per kind: (order, name) → (tone, rows).
    counts: BTreeMap<(u8, &'static str), (&'static str, u64)>,
    total: u64,
    summary: Summary,
    rows_path: SideFile,
    rows: BufWriter<std::fs::File>,
    shown_ok: u64,
    shown_failed: u64,
    left_out: u64,
    left_out_failed: u64,
    absent: Vec<Outcome>,
    files: Vec<String>,
}

impl HtmlReport {
    /// Creates the page's side file (rows) next to `path`; the page is written by `finish`.
    pub fn create(path: &Path, info: RunInfo) -> Result<HtmlReport, ReportError> {
        // Fail early if the destination is not writable.
        create_private(path).map_err(|e| ReportError::new(path, e))?;
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".rows.tmp");
        let rows_path = path.with_file_name(name);
        let f = create_private(&rows_path).map_err(|e| ReportError::new(&rows_path, e))?;
        Ok(HtmlReport {
            path: path.to_path_buf(),
            info,
            counts: BTreeMap::new(),
            total: 0,
            summary: Summary::with_caps(Caps {
                messages: 50,
                lines: 200,
            }),
            rows_path: SideFile(rows_path),
            rows: BufWriter::new(f),
            shown_ok: 0,
            shown_failed: 0,
            left_out: 0,
            left_out_failed: 0,
            absent: Vec::new(),
            files: Vec::new(),
        })
    }

    /// The page's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counts `n` rows of `kind` that the table does not list (an export's records).
    pub fn count_only(&mut self, kind: &'static str, order: u8, tone: &'static str, n: u64) {
        self.total += n;
        self.counts.entry((order, kind)).or_insert((tone, 0)).1 += n;
    }

    /// Adds one row to the counts, the reasons and (up to [`FAILURE_LIMIT`] or [`ROW_LIMIT`])
    /// the table.
    pub fn write_row(&mut self, r: &Row<'_>) -> Result<(), ReportError> {
        self.total += 1;
        self.counts
            .entry((r.order, r.kind))
            .or_insert((r.tone, 0))
            .1 += 1;
        if r.line.is_some() && !self.files.iter().any(|f| f == r.file) {
            self.files.push(r.file.to_string());
        }
        if r.failure {
            if let Some(text) = r.reason {
                self.summary.add_reason(r.code, text, r.file, r.line);
            }
            if self.shown_failed >= FAILURE_LIMIT {
                self.left_out_failed += 1;
                return Ok(());
            }
            self.shown_failed += 1;
        } else {
            if self.shown_ok >= ROW_LIMIT {
                self.left_out += 1;
                return Ok(());
            }
            self.shown_ok += 1;
        }
        self.rows
            .write_all(row_markup(r).into_string().as_bytes())
            .and_then(|()| self.rows.write_all(b"\n"))
            .map_err(|e| ReportError::new(&self.rows_path.0, e))
    }
}

/// The CSS class of an outcome's colour (the XLSX report's fills).
pub fn tone(kind: OutcomeKind) -> &'static str {
    match kind {
        OutcomeKind::Ok | OutcomeKind::Created => "good",
        OutcomeKind::WouldCreate | OutcomeKind::WouldUpdate | OutcomeKind::WouldDeactivate => {
            "plan"
        }
        OutcomeKind::Updated => "updated",
        OutcomeKind::Deactivated => "deact",
        OutcomeKind::Unchanged | OutcomeKind::Skipped => "quiet",
        OutcomeKind::Exists => "warn",
        OutcomeKind::Conflict => "conflict",
        OutcomeKind::Rejected | OutcomeKind::Failed => "bad",
    }
}

/// One table row.
fn row_markup(r: &Row<'_>) -> Markup {
    html! {
        tr data-outcome=(r.kind) data-code=[r.code.map(|c| c.name())] {
            td.file { (r.file) }
            td.line { @if let Some(l) = r.line { (l) } }
            td.key { (r.key.unwrap_or("")) }
            td.name { (r.name.unwrap_or("")) }
            td.outcome { span class={ "pill " (r.tone) } { (r.kind) } }
            td.reason {
                @if let Some(c) = r.code { code.rc { (c.name()) } " " }
                span.msg { (r.reason.unwrap_or("")) }
            }
            td.changes {
                @for c in r.changes { div { (c) } }
            }
            td.target { (r.target_id.unwrap_or("")) }
        }
    }
}

impl ReportSink for HtmlReport {
    fn write(&mut self, o: &Outcome) -> Result<(), ReportError> {
        if o.absent.is_some() {
            self.absent.push(o.clone());
        }
        self.write_row(&Row::of(o))
    }

    fn finish(self: Box<Self>) -> Result<(), ReportError> {
        let HtmlReport {
            path,
            info,
            counts,
            total,
            summary,
            rows_path,
            rows,
            left_out,
            left_out_failed,
            absent,
            files,
            ..
        } = *self;
        let result = (|| {
            rows.into_inner()
                .map_err(|e| ReportError::new(&rows_path.0, e.error()))?;
            let view = View {
                info: &info,
                counts: &counts,
                total,
                summary: &summary,
                absent: &absent,
                many_files: files.len() > 1,
                left_out,
                left_out_failed,
            };
            let page = page(&view).into_string();
            let (head, tail) = page.split_once(ROWS_MARK).unwrap_or((page.as_str(), ""));
            let mut out =
                BufWriter::new(create_private(&path).map_err(|e| ReportError::new(&path, e))?);
            let mut side =
                std::fs::File::open(&rows_path.0).map_err(|e| ReportError::new(&rows_path.0, e))?;
            out.write_all(head.as_bytes())
                .and_then(|()| std::io::copy(&mut side, &mut out).map(|_| ()))
                .and_then(|()| out.write_all(tail.as_bytes()))
                .and_then(|()| out.flush())
                .map_err(|e| ReportError::new(&path, e))
        })();
        drop(rows_path); // removes the side file
        result
    }
}

/// Where the streamed rows go in the page.
const ROWS_MARK: &str = "<!--patron-etl rows-->";

const STYLE: &str = r#"
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f7f8fa;--card:#fff;
--good:#c6efce;--good-i:#1e6b34;--plan:#ddebf7;--plan-i:#1f4e79;--updated:#bdd7ee;--updated-i:#1f4e79;
--deact:#fce4d6;--deact-i:#8a4513;--quiet:#ededed;--quiet-i:#4a4a4a;--warn:#fff2cc;--warn-i:#7a5b00;
--conflict:#f8cbad;--conflict-i:#8a3300;--bad:#ffc7ce;--bad-i:#9c0006}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:1200px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 10px}
.sub{color:var(--muted);margin:0 0 18px}
.mode{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;vertical-align:middle;margin-left:6px}
.mode.preview{background:var(--plan);color:var(--plan-i)}.mode.commit{background:var(--good);color:var(--good-i)}
dl.run{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px}
dl.run dt{color:var(--muted)}dl.run dd{margin:0;word-break:break-all}
.counts{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 12px;padding:0;list-style:none}
.counts button{font:inherit;cursor:pointer;border:1px solid var(--line);background:var(--card);border-radius:8px;padding:8px 14px;min-width:120px;text-align:left}
.counts button:hover,.counts button.active{border-color:#7b8794;box-shadow:0 0 0 2px #cbd2d9}
.counts .n{display:block;font-size:22px;font-weight:650}
.counts .k{color:var(--muted)}
.chart{display:flex;height:14px;border-radius:7px;overflow:hidden;border:1px solid var(--line);background:var(--card)}
.chart span{display:block;height:100%}
.legend{color:var(--muted);font-size:12px;margin-top:4px}
.good{background:var(--good);color:var(--good-i)}.plan{background:var(--plan);color:var(--plan-i)}
.updated{background:var(--updated);color:var(--updated-i)}.deact{background:var(--deact);color:var(--deact-i)}
.quiet{background:var(--quiet);color:var(--quiet-i)}.warn{background:var(--warn);color:var(--warn-i)}
.conflict{background:var(--conflict);color:var(--conflict-i)}.bad{background:var(--bad);color:var(--bad-i)}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.reasons{list-style:none;margin:0;padding:0}
.reasons>li{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;margin-bottom:8px}
.reasons .head{font-weight:600}
.reasons button.code{font:inherit;border:0;background:none;padding:0;cursor:pointer}
.reasons button.code:hover code{background:#dde3ea}.reasons .head .n{color:var(--muted);font-weight:400;margin-left:6px}
.reasons ul{margin:6px 0 0;padding-left:18px}.reasons .at{color:var(--muted)}
code.rc{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f4;border-radius:4px;padding:1px 5px;color:#3e4c59}
.tools{display:flex;gap:10px;align-items:center;margin:0 0 8px;flex-wrap:wrap}
.tools select,.tools input{font:inherit;padding:5px 8px;border:1px solid #cbd2d9;border-radius:6px;background:#fff}
.tools input{min-width:260px}.tools .count{color:var(--muted)}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:8px}
th,td{text-align:left;vertical-align:top;padding:6px 10px;border-bottom:1px solid var(--line)}
th{position:sticky;top:0;background:#f0f2f5;font-weight:600;font-size:13px;z-index:1;white-space:nowrap}
td.line,th.line{text-align:right;font-variant-numeric:tabular-nums;color:var(--muted)}
td.name,td.key{white-space:nowrap}
td.changes div{white-space:nowrap}td.reason{max-width:460px}
table.single-file .file{display:none}
tr[hidden]{display:none}
.note{color:var(--muted);font-size:13px}
footer{margin-top:28px;color:var(--muted);font-size:12px}
"#;

const SCRIPT: &str = r#"
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll('#rows tbody tr'));
  var filter = document.getElementById('filter');
  var search = document.getElementById('search');
  var shown = document.getElementById('shown');
  function apply() {
    var o = filter.value, t = search.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (r) {
      var ok = (!o || r.getAttribute('data-outcome') === o) &&
               (!t || r.textContent.toLowerCase().indexOf(t) >= 0);
      r.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = n;
    document.querySelectorAll('button[data-filter]').forEach(function (b) {
      b.classList.toggle('active', b.getAttribute('data-filter') === o);
    });
  }
  filter.addEventListener('change', apply);
  search.addEventListener('input', apply);
  document.querySelectorAll('button[data-filter]').forEach(function (b) {
    b.addEventListener('click', function () {
      filter.value = b.getAttribute('data-filter');
      apply();
    });
  });
  // A reason code shows its rows: the code is in each such row's reason cell.
  document.querySelectorAll('button[data-code]').forEach(function (b) {
    b.addEventListener('click', function () {
      filter.value = '';
      search.value = b.getAttribute('data-code');
      apply();
      document.getElementById('rows').scrollIntoView();
    });
  });
  // report.html#outcome=rejected opens the page filtered (a click on that count).
  var m = /^#outcome=([a-z_]*)$/.exec(location.hash);
  var b = m && document.querySelector('button[data-filter="' + m[1] + '"]');
  if (b) { b.click(); } else { apply(); }
})();
"#;

/// What the page shows besides the streamed rows.
struct View<'a> {
    info: &'a RunInfo,
    counts: &'a BTreeMap<(u8, &'static str), (&'static str, u64)>,
    total: u64,
    summary: &'a Summary,
    absent: &'a [Outcome],
    many_files: bool,
    left_out: u64,
    left_out_failed: u64,
}

/// The page, with [`ROWS_MARK`] where the rows go.
fn page(v: &View<'_>) -> Markup {
    let View {
        info,
        counts,
        total: rows,
        summary,
        absent,
        many_files,
        left_out,
        left_out_failed,
    } = *v;
    let command = if info.command.is_empty() {
        "run"
    } else {
        info.command.as_str()
    };
    let title = format!("patron-etl {command} {}", info.run_id);
    let total = rows.max(1) as f64;
    let lines_many = summary.many_files();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title.trim()) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 {
                        "patron-etl " (command)
                        @match info.commit {
                            Some(true) => span.mode.commit { "commit" },
                            Some(false) => span.mode.preview { "preview — nothing written" },
                            None => {},
                        }
                    }
                    p.sub { (rows) " rows" @if !info.target.is_empty() { " · " (info.target) } }
                    dl.run #run {
                        @if !info.run_id.is_empty() { dt { "run" } dd { (info.run_id) } }
                        @if !info.target.is_empty() { dt { "target" } dd { (info.target) } }
                        @if let Some(m) = &info.mapping { dt { "mapping" } dd { (m) } }
                        @for f in &info.files { dt { "file" } dd { (f) } }
                        @if !info.started.is_empty() { dt { "started" } dd { (info.started) } }
                        @if let Some(c) = info.commit {
                            dt { "mode" }
                            dd { @if c { "commit (changes applied)" } @else { "preview (nothing written; add --commit to apply)" } }
                        }
                        @for (k, v) in &info.notes { dt { (k) } dd { (v) } }
                    }
                    h2 { "Outcomes" }
                    ul.counts #counts {
                        li { button type="button" data-filter="" { span.n { (rows) } span.k { "all rows" } } }
                        @for ((_, kind), (tone, n)) in counts {
                            li {
                                button type="button" data-filter=(kind) data-outcome=(kind) {
                                    span.n { (n) }
                                    span.k { span class={ "pill " (tone) } { (kind) } }
                                }
                            }
                        }
                    }
                    div.chart role="img" aria-label="rows per outcome" {
                        @for ((_, kind), (tone, n)) in counts {
                            span class=(tone) style={ "width:" (format!("{:.3}", *n as f64 * 100.0 / total)) "%" }
                                title={ (kind) ": " (n) } {}
                        }
                    }
                    @if !summary.by_reason.is_empty() {
                        h2 { "Why rows did not go through" }
                        ul.reasons #reasons {
                            @for (code, g) in summary.reasons() {
                                li data-code=(code) {
                                    div.head { button.code type="button" data-code=(code) title="show these rows" { code.rc { (code) } } span.n { (g.rows) @if g.rows == 1 { " row" } @else { " rows" } } }
                                    ul {
                                        @for m in &g.messages {
                                            li { span.msg { (m.text) } " " span.at { "— " (lines_text(&m.lines, m.rows, lines_many)) } }
                                        }
                                        @if g.other_rows > 0 {
                                            li.note { (g.other_rows) " more rows with other messages (see the table below)" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if !absent.is_empty() {
                        h2 { "Patrons absent from the roster" }
                        p.note { "In scope in the target but not in the roster (--missing): "
                            @if info.commit == Some(true) { "deactivated." } @else { "would be deactivated." } }
                        table #absent {
                            thead { tr { th { "name" } th { "username" } th { "group" } th { "expires" } th { "key" } th { "outcome" } th { "target id" } } }
                            tbody {
                                @for o in absent {
                                    @let a = o.absent.clone().unwrap_or_default();
                                    tr data-outcome=(o.outcome.name()) {
                                        td.name { (o.name.as_deref().unwrap_or("")) }
                                        td.username { (a.username.as_deref().unwrap_or("")) }
                                        td.group { (a.group.as_deref().unwrap_or("")) }
                                        td.expires { (a.expires.as_deref().unwrap_or("")) }
                                        td.key { (o.key.as_deref().unwrap_or("")) }
                                        td.outcome { span class={ "pill " (tone(o.outcome)) } { (o.outcome.name()) } }
                                        td.target { (o.target_id.as_deref().unwrap_or("")) }
                                    }
                                }
                            }
                        }
                    }
                    h2 { "Rows" }
                    div.tools {
                        label { "Outcome "
                            select #filter {
                                option value="" { "all" }
                                @for (_, kind) in counts.keys() { option value=(kind) { (kind) } }
                            }
                        }
                        input #search type="search" placeholder="Search key, name, reason…" aria-label="search rows";
                        span.count { "showing " span #shown { "" } " rows" }
                    }
                    @if left_out > 0 {
                        p.note { "The table lists the first " (ROW_LIMIT) " rows that went through; "
                            (left_out) " more are in the CSV report (report.csv in the run folder)." }
                    }
                    @if left_out_failed > 0 {
                        p.note { "The table lists the first " (FAILURE_LIMIT) " rows that did not go through; "
                            (left_out_failed) " more are in the CSV report and the rejects file." }
                    }
                    table #rows class=[(!many_files).then_some("single-file")] {
                        thead { tr { th.file { "file" } th.line { "line" } th { "key" } th { "name" } th { "outcome" } th { "reason" } th { "changed fields (old → new)" } th { "target id" } } }
                        tbody { (PreEscaped(ROWS_MARK)) }
                    }
                    footer { "patron-etl " (env!("CARGO_PKG_VERSION")) " · a self-contained page: it loads nothing from the network" }
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_text_is_escaped() {
        let mut o = Outcome::new("f.csv", 4, Some("<b>".into()), OutcomeKind::Rejected);
        o.set_reason(ReasonCode::BadValue, "\"<script>alert(1)</script>\" & more");
        let s = row_markup(&Row::of(&o)).into_string();
        assert!(!s.contains("<script>"), "{s}");
        assert!(s.contains("&lt;script&gt;"), "{s}");
        assert!(s.contains("&lt;b&gt;"), "{s}");
    }

    #[test]
    fn any_text_reads_back_exactly_from_the_page() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.html");
        let texts = [
            "<script>alert(1)</script>",
            "a & b &amp; c",
            "\"quoted\" and 'single'",
            "<!--patron-etl rows-->",
            "Nguyễn Thị Minh · Zoë Ørsted · שלום · 😀",
            "</td></tr><tr data-outcome=\"ok\">",
        ];
        let mut r = Box::new(HtmlReport::create(&path, RunInfo::now("import", "x", "t")).unwrap());
        for (i, t) in texts.iter().enumerate() {
            let mut o = Outcome::new(t, i as u64 + 2, Some(t.to_string()), OutcomeKind::Rejected);
            o.name = Some(t.to_string());
            o.set_reason(ReasonCode::BadValue, *t);
            r.write(&o).unwrap();
        }
        r.finish().unwrap();
        let page = scraper::Html::parse_document(&std::fs::read_to_string(&path).unwrap());
        let rows = scraper::Selector::parse("#rows tbody tr").unwrap();
        let cell = |s: &str| scraper::Selector::parse(s).unwrap();
        let got: Vec<_> = page.select(&rows).collect();
        assert_eq!(got.len(), texts.len());
        for (tr, t) in got.iter().zip(texts) {
            for c in ["td.key", "td.name", "td.reason span.msg", "td.file"] {
                let text: String = tr.select(&cell(c)).next().unwrap().text().collect();
                assert_eq!(text, t, "{c}");
            }
        }
    }

    #[test]
    fn the_table_stops_at_the_limit_and_says_how_many_it_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.html");
        let mut r = Box::new(HtmlReport::create(&path, RunInfo::default()).unwrap());
        for line in 0..ROW_LIMIT + 5 {
            r.write(&Outcome::new("f.csv", line + 2, None, OutcomeKind::Created))
                .unwrap();
        }
        let mut bad = Outcome::new("f.csv", 9, None, OutcomeKind::Rejected);
        bad.set_reason(ReasonCode::BadEmail, "not a valid e-mail address");
        r.write(&bad).unwrap();
        r.finish().unwrap();
        let page = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            page.matches("<tr data-outcome=\"created\"").count() as u64,
            ROW_LIMIT
        );
        assert_eq!(page.matches("<tr data-outcome=\"rejected\"").count(), 1);
        assert!(
            page.contains("5 more are in the CSV report"),
            "left-out note"
        );
        assert!(page.contains(&format!("<span class=\"n\">{}</span>", ROW_LIMIT + 5)));
    }

    #[test]
    fn page_has_no_external_fetches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.html");
        let mut r = Box::new(HtmlReport::create(&path, RunInfo::now("import", "x", "t")).unwrap());
        r.write(&Outcome::new("f.csv", 2, None, OutcomeKind::Ok))
            .unwrap();
        r.finish().unwrap();
        let page = std::fs::read_to_string(&path).unwrap();
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "{page}"
        );
        assert!(!page.contains(ROWS_MARK));
        assert!(page.contains("data-outcome=\"ok\""));
        assert!(!dir.path().join("report.html.rows.tmp").exists());
        // A run that stops with an error drops its report unfinished: no side file is left.
        let other = dir.path().join("other.html");
        let mut r = HtmlReport::create(&other, RunInfo::default()).unwrap();
        r.write(&Outcome::new("f.csv", 2, None, OutcomeKind::Ok))
            .unwrap();
        assert!(dir.path().join("other.html.rows.tmp").exists());
        drop(r);
        assert!(!dir.path().join("other.html.rows.tmp").exists());
    }
}
