//! `patron-etl check`: read → map → validate → in-file duplicates, with no network at all.
//!
//! Every data row gets exactly one outcome (`ok` or `rejected` with a reason); `--out` receives one
//! JSON payload per valid row as it would be sent (names such as FOLIO patron groups unresolved).
//! With `--to TARGET` the names rows use (FOLIO patron groups, address types, departments, custom
//! fields and their option labels) are also checked against what the target holds, read once
//! before the rows: the only requests are the login and those reads.

use crate::dedupe::{unique_fields, DuplicateTracker, FirstSeen};
use crate::mapping::{Issue, Mapped, Mapping};
use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use crate::read::{self, ReadOptions};
use crate::report::{self, summary::Summary, Column, ReportSink};
mod parallel;

use anyhow::Context;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;

/// What `check` needs.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Input files, in order.
    pub files: Vec<PathBuf>,
    /// The mapping file.
    pub mapping: PathBuf,
    /// Reader options.
    pub read: ReadOptions,
    /// Where to write one JSON payload per valid row.
    pub out: Option<PathBuf>,
    /// Where to write the per-row report.
    pub report: Option<PathBuf>,
    /// `--to`: also check the names rows use against what this target holds (read once before
    /// the rows; nothing is written and no patron is looked up).
    pub against: Option<CheckTarget>,
}

/// The target `check --to` reads names from.
#[derive(Debug, Clone)]
pub struct CheckTarget {
    /// Target name (`[targets.NAME]`, or `sandbox:<system>`).
    pub to: String,
    /// The config file (default `./patron-etl.toml`).
    pub config: Option<PathBuf>,
    /// The run home (a built-in sandbox keeps its state there).
    pub home: PathBuf,
}

/// Loads the names `check --to` checks rows against: logs in, reads them once, and leaves.
fn load_names(
    against: &CheckTarget,
    mapping: &Mapping,
) -> anyhow::Result<Option<crate::systems::connector::NameCheck>> {
    let system = mapping.system;
    use crate::systems::connector::Purpose;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let tref = crate::target::resolve(&against.to, against.config.as_deref())?;
        let (target, sandbox) = crate::builtin::open(tref, &against.home, None, None).await?;
        if target.system != system {
            return Err(crate::exit::UsageError(format!(
                "--to {}: the target is {} but the mapping is for {system}",
                against.to, target.system
            ))
            .into());
        }
        let session = crate::systems::registry::connector(system)
            .writes()
            .connect(
                &target,
                Purpose::Import {
                    expected_rows: None,
                    full_listing: false,
                },
            )
            .await?;
        let names = session.name_check(mapping).await;
        if let Some(h) = sandbox {
            h.shutdown().await;
        }
        names
    })
}

/// Reads a field from a mapped record by its dotted name (`personal.email`).
pub fn field_text<'a>(record: &'a Value, field: &str) -> Option<&'a str> {
    let mut v = record;
    for part in field.split('.') {
        v = v.get(part)?;
    }
    v.as_str()
}

/// Renders a row's issues as one reason.
pub fn issues_reason(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|i| match (&i.field, &i.column) {
            (Some(f), Some(c)) => format!("{f} (column \"{c}\"): {}", i.reason),
            (Some(f), None) => format!("{f}: {}", i.reason),
            (None, Some(c)) => format!("column \"{c}\": {}", i.reason),
            (None, None) => i.reason.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The code of a row's issues: its first issue's (a row is grouped by what went wrong first).
pub fn issues_code(issues: &[Issue]) -> ReasonCode {
    issues
        .first()
        .map(|i| i.code)
        .unwrap_or(ReasonCode::InvalidRecord)
}

/// The code of a duplicate in `field`: `duplicate_key` for the match key.
pub fn duplicate_code(field: &str, match_field: &str) -> ReasonCode {
    if field == match_field {
        ReasonCode::DuplicateKey
    } else {
        ReasonCode::DuplicateValue
    }
}

/// Runs the mapping, validation and duplicate checks shared by `check` and the importers over one
/// mapped row; returns the row's outcome when it is rejected.
pub fn screen_row(
    file: &str,
    file_index: usize,
    files: &[PathBuf],
    mapped: &Mapped,
    dupes: &mut DuplicateTracker,
    match_field: &str,
) -> Option<Outcome> {
    if !mapped.issues.is_empty() {
        let mut o = Outcome::new(file, mapped.line, mapped.key.clone(), OutcomeKind::Rejected);
        o.name = crate::outcome::display_name(&mapped.record);
        o.set_reason(issues_code(&mapped.issues), issues_reason(&mapped.issues));
        return Some(o);
    }
    let hit = dupes.check(file_index, mapped.line, |f| field_text(&mapped.record, f));
    let (field, first) = hit?;
    let value = field_text(&mapped.record, &field).unwrap_or_default();
    let mut o = Outcome::new(file, mapped.line, mapped.key.clone(), OutcomeKind::Rejected);
    o.name = crate::outcome::display_name(&mapped.record);
    o.set_reason(
        duplicate_code(&field, match_field),
        duplicate_reason(&field, value, first, file_index, files, match_field),
    );
    Some(o)
}

/// The reason for a row whose `field` repeats `value` first seen at `first`.
pub fn duplicate_reason(
    field: &str,
    value: &str,
    first: FirstSeen,
    file_index: usize,
    files: &[PathBuf],
    match_field: &str,
) -> String {
    let where_ = if first.file == file_index {
        format!("line {}", first.line)
    } else {
        let other = files
            .get(first.file)
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        format!("{other} line {}", first.line)
    };
    let what = if field == match_field {
        "duplicate match key"
    } else {
        "duplicate"
    };
    format!("{field}: {what} \"{value}\" (ignoring case and accents) already used on {where_}")
}

/// Runs `check`; returns the summary (the caller picks the exit code).
pub fn run(opts: &CheckOptions) -> anyhow::Result<Summary> {
    let mapping = Mapping::load(&opts.mapping)?;
    let names = match &opts.against {
        Some(a) => load_names(a, &mapping)?,
        None => None,
    };
    let mut fields: Vec<String> = vec![mapping.match_field.clone()];
    fields.extend(unique_fields(mapping.system).iter().map(|s| s.to_string()));
    let mut dupes = DuplicateTracker::new(fields);

    // Open every input and bind the mapping before writing anything, so a bad file or a
    // missing column stops the run with exit 2 and no partial outputs.
    let mut inputs = Vec::new();
    for path in &opts.files {
        let reader = read::open(path, &opts.read)?;
        let bound = mapping.bind(reader.headers()).with_context(|| {
            format!("the mapping does not fit the columns of {}", path.display())
        })?;
        inputs.push((path.clone(), reader, bound));
    }

    let mut sink: Option<Box<dyn ReportSink>> = match &opts.report {
        Some(p) => Some(report::open(p, Column::CHECK)?),
        None => None,
    };
    let mut out = match &opts.out {
        Some(p) => Some(std::io::BufWriter::new(
            report::create_private(p).with_context(|| format!("{}: cannot create", p.display()))?,
        )),
        None => None,
    };
    let mut summary = Summary::default();

    for (index, (path, reader, bound)) in inputs.into_iter().enumerate() {
        let file = path.display().to_string();
        let job = parallel::FileJob {
            file: &file,
            index,
            files: &opts.files,
            match_field: &mapping.match_field,
            bound: &bound,
            names: names.as_ref(),
        };
        let mut outputs = parallel::Outputs {
            dupes: &mut dupes,
            sink: sink.as_deref_mut(),
            out: out.as_mut().map(|w| w as &mut dyn Write),
            out_path: opts.out.as_deref(),
            summary: &mut summary,
        };
        parallel::screen_file(&job, reader, &mut outputs)?;
    }
    if let Some(s) = sink.take() {
        s.finish()?;
    }
    if let Some(mut w) = out {
        w.flush().with_context(|| {
            let path = opts.out.as_deref().unwrap_or(std::path::Path::new("--out"));
            format!("{}: cannot write", path.display())
        })?;
    }
    Ok(summary)
}
