//! `patron-etl runs [RUN_ID]` (list runs with their counts, or show one) and the options that
//! `patron-etl resume RUN_ID` rebuilds from the journal.

use crate::exit::UsageError;
use crate::import::ImportOptions;
use crate::journal::{Journal, JournalOptions, ResumeFrom, RunRow};
use crate::read::ReadOptions;
use crate::sync::{MissingPolicy, DEFAULT_MAX_MISSING};
use clap::ValueEnum;
use serde_json::Value;
use std::fmt::Write;
use std::path::{Path, PathBuf};

fn open(home: &Path) -> anyhow::Result<Journal> {
    Journal::open_existing(home)?.ok_or_else(|| {
        UsageError(format!(
            "no runs recorded in {} yet (see --home / PATRON_ETL_HOME)",
            crate::journal::path_in(home).display()
        ))
        .into()
    })
}

fn run_or_usage(j: &Journal, id: &str) -> anyhow::Result<RunRow> {
    j.run(id).map_err(|e| UsageError(e.to_string()).into())
}

fn counts_text(counts: &[(String, u64)]) -> String {
    counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn short_time(t: &str) -> &str {
    // 2026-11-22T10:15:00+01:00 → 2026-11-22T10:15:00
    t.get(..19).unwrap_or(t)
}

/// The run list, newest first, one line per run.
pub fn list(home: &Path, limit: usize) -> anyhow::Result<String> {
    let j = open(home)?;
    let runs = j.runs(limit)?;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<22} {:<19} {:<7} {:<16} {:<7} {:<11} {:>6}  outcomes",
        "RUN", "STARTED", "COMMAND", "TARGET", "MODE", "STATUS", "ROWS"
    );
    for r in &runs {
        let mut counts = j.outcome_counts(&r.id)?;
        // An export records no row outcomes: its count is in its options.
        if r.command == "export" && counts.is_empty() {
            if let Some(n) = r.options.get("rows").and_then(serde_json::Value::as_u64) {
                counts.push(("exported".into(), n));
            }
        }
        let rows: u64 = counts.iter().map(|(_, n)| n).sum();
        let mut status = r.status.clone();
        if r.undone_by.is_some() {
            status.push_str(",undone");
        }
        let _ = writeln!(
            s,
            "{:<22} {:<19} {:<7} {:<16} {:<7} {:<11} {:>6}  {}",
            r.id,
            short_time(&r.started_at),
            r.command,
            r.target,
            if r.commit { "commit" } else { "preview" },
            status,
            rows,
            counts_text(&counts)
        );
    }
    if runs.is_empty() {
        s.push_str("(no runs)\n");
    }
    Ok(s)
}

/// Everything the journal knows about one run.
pub fn show(home: &Path, id: &str) -> anyhow::Result<String> {
    let j = open(home)?;
    let r = run_or_usage(&j, id)?;
    let mut s = String::new();
    let _ = writeln!(s, "run {}", r.id);
    let field = |s: &mut String, k: &str, v: &str| {
        let _ = writeln!(s, "  {k:<14} {v}");
    };
    field(&mut s, "command", &r.command);
    field(&mut s, "target", &format!("{} ({})", r.target, r.system));
    field(
        &mut s,
        "mode",
        if r.commit {
            "commit"
        } else {
            "preview (nothing written)"
        },
    );
    field(&mut s, "status", &r.status);
    field(&mut s, "started", &r.started_at);
    field(&mut s, "last change", &r.updated_at);
    if let Some(f) = &r.finished_at {
        field(&mut s, "finished", f);
    }
    field(&mut s, "attempts", &r.attempts.to_string());
    if let Some(m) = &r.mapping {
        field(&mut s, "mapping", m);
    }
    if let Some(h) = &r.mapping_hash {
        field(&mut s, "mapping sha256", h);
    }
    for (i, f) in r.inputs.iter().enumerate() {
        field(&mut s, if i == 0 { "input" } else { "" }, f);
    }
    if let Some(h) = &r.input_hash {
        field(&mut s, "input sha256", h);
    }
    if let Some(p) = &r.parent {
        field(&mut s, "undoes", p);
    }
    if let Some(u) = &r.undone_by {
        field(&mut s, "undone by", u);
    }
    let counts = j.outcome_counts(&r.id)?;
    let rows: u64 = counts.iter().map(|(_, n)| n).sum();
    let _ = writeln!(
        s,
        "  {:<14} {rows}",
        if r.command == "undo" {
            "records"
        } else {
            "rows recorded"
        }
    );
    for (k, n) in &counts {
        let _ = writeln!(s, "    {k:<18} {n:>8}");
    }
    let intents = j.intent_counts(&r.id)?;
    if !intents.is_empty() {
        let _ = writeln!(s, "  writes (intent result):");
        for (k, n) in &intents {
            let _ = writeln!(s, "    {k:<18} {n:>8}");
        }
    }
    let folder = home.join("runs").join(&r.id);
    field(&mut s, "run folder", &folder.display().to_string());
    if r.command == "restore" && r.commit && r.undone_by.is_none() && r.system != "illiad" {
        let _ = writeln!(
            s,
            "  undo with:     patron-etl undo {} (preview; add --commit)",
            r.id
        );
    }
    if r.command == "import" && r.commit {
        if r.status != "finished" {
            let _ = writeln!(s, "  resume with:   patron-etl resume {} --commit", r.id);
        }
        if r.undone_by.is_none() {
            let _ = writeln!(
                s,
                "  undo with:     patron-etl undo {} (preview; add --commit)",
                r.id
            );
        }
    }
    Ok(s)
}

/// Rebuilds the import options of run `id` for `patron-etl resume`.
pub fn resume_options(
    home: &Path,
    id: &str,
    commit: bool,
    force: bool,
    config: Option<PathBuf>,
) -> anyhow::Result<ImportOptions> {
    let j = open(home)?;
    let r = run_or_usage(&j, id)?;
    if r.command == "migrate" {
        return Err(UsageError(format!(
            "run {id} is a migration; run the same `patron-etl migrate … --commit` again — \
             patrons it already wrote are found and reported unchanged"
        ))
        .into());
    }
    if r.command != "import" {
        return Err(UsageError(format!("run {id} is an {}, not an import", r.command)).into());
    }
    let o = &r.options;
    let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    let files: Vec<PathBuf> = o
        .get("files")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    if files.is_empty() {
        return Err(UsageError(format!(
            "run {id} read no roster files (a migration); run the migration again instead — \
             patrons it already created are found and reported unchanged"
        ))
        .into());
    }
    let mapping =
        text("mapping").ok_or_else(|| UsageError(format!("run {id} has no recorded mapping")))?;
    let read = o.get("read").cloned().unwrap_or(Value::Null);
    // A roster sync (`--missing`) finds the patrons absent from the whole roster again once
    // the rows are in, as the interrupted run would have.
    let missing = match text("missing") {
        None => MissingPolicy::Ignore,
        Some(m) => MissingPolicy::from_str(&m, true).map_err(|_| {
            UsageError(format!(
                "run {id} recorded an unknown --missing policy \"{m}\""
            ))
        })?,
    };
    Ok(ImportOptions {
        missing,
        source: None,
        max_missing: o
            .get("max_missing")
            .and_then(Value::as_f64)
            .unwrap_or(DEFAULT_MAX_MISSING),
        force,
        allow_incomplete_roster: o
            .get("allow_incomplete_roster")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        files,
        mapping: PathBuf::from(mapping),
        read: ReadOptions {
            delimiter: read
                .get("delimiter")
                .and_then(Value::as_u64)
                .and_then(|d| u8::try_from(d).ok()),
            encoding: read
                .get("encoding")
                .and_then(Value::as_str)
                .map(str::to_string),
            sheet: read
                .get("sheet")
                .and_then(Value::as_str)
                .map(str::to_string),
            header_row: read
                .get("header_row")
                .and_then(Value::as_u64)
                .and_then(|h| u32::try_from(h).ok()),
        },
        to: r.target.clone(),
        config: config.or_else(|| text("config").map(PathBuf::from)),
        commit,
        report: None,
        rate: o.get("rate").and_then(Value::as_f64),
        concurrency: o
            .get("concurrency")
            .and_then(Value::as_u64)
            .map(|c| c as usize),
        max_errors: o.get("max_errors").and_then(Value::as_u64),
        limit: o.get("limit").and_then(Value::as_u64),
        home: home.to_path_buf(),
        journal: JournalOptions {
            resume: Some(ResumeFrom::Run(r.id.clone())),
            force,
        },
    })
}
