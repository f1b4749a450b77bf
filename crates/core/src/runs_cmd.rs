//! `patron-etl runs [RUN_ID]` (list runs with their counts, or show one) and the options that
//! `patron-etl resume RUN_ID` rebuilds from the journal.

use crate::exit::UsageError;
use crate::import::ImportOptions;
use crate::journal::{Journal, RunRow, RunSpec, RunStatus};
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

/// The run `id`: no such run is a usage error (exit 2), an unreadable journal an internal one (4)
/// — see [`crate::exit::code_for`].
fn run_or_usage(j: &Journal, id: &str) -> anyhow::Result<RunRow> {
    Ok(j.run(id)?)
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
        let mut status = r.status.to_string();
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
            mode(r).0,
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

/// A run's mode, short (the list) and long (one run): an export only reads, so it is neither a
/// preview nor a commit.
fn mode(r: &RunRow) -> (&'static str, &'static str) {
    if r.command == "export" {
        ("read", "read only (an export writes nothing to the source)")
    } else if r.commit {
        ("commit", "commit")
    } else {
        ("preview", "preview (nothing written)")
    }
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
    field(&mut s, "mode", mode(&r).1);
    field(&mut s, "status", r.status.name());
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
    if matches!(r.command.as_str(), "restore" | "migrate")
        && r.commit
        && r.undone_by.is_none()
        && undoable(&r.system)
    {
        let _ = writeln!(
            s,
            "  undo with:     patron-etl undo {} (preview; add --commit)",
            r.id
        );
    }
    if r.command == "import" && r.commit {
        if r.status != RunStatus::Finished {
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
    // The options are the run's spec (journal/spec.rs); journals written before the spec
    // existed used the same keys, so they read back the same way.
    let spec = RunSpec::from_json(&r.options).map_err(|e| {
        UsageError(format!(
            "run {id}: its recorded options cannot be read ({e}); run the import again"
        ))
    })?;
    if spec.files.is_empty() {
        return Err(UsageError(format!(
            "run {id} read no roster files (a migration); run the migration again instead — \
             patrons it already created are found and reported unchanged"
        ))
        .into());
    }
    if spec.mapping.is_none() {
        return Err(UsageError(format!("run {id} has no recorded mapping")).into());
    }
    // The target comes from the run's row (the spec's copy is the same name).
    let spec = RunSpec {
        to: r.target.clone(),
        ..spec
    };
    // A roster sync (`--missing`) finds the patrons absent from the whole roster again once
    // the rows are in, as the interrupted run would have.
    Ok(ImportOptions::from_spec(
        spec, home, &r.id, commit, force, config,
    ))
}

/// Whether runs into `system` can be undone: its API can both update and delete.
fn undoable(system: &str) -> bool {
    crate::systems::System::parse(system).is_some_and(|s| {
        let caps = crate::systems::registry::connector(s).capabilities();
        caps.update && caps.delete
    })
}
