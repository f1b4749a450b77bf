//! `import`: a roster into a target (also what `migrate` and `resume` print through).

use super::Ran;
use crate::cli::{InputArgs, WriteArgs};
use clap::Args;
use patron_etl::exit;
use patron_etl::import::{self, ImportOptions};
use patron_etl::journal::interrupt::Halt;
use patron_etl::journal::{JournalOptions, ResumeFrom, RunStatus};
use std::path::PathBuf;

/// `import` options.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Input files and reader options.
    #[command(flatten)]
    pub input: InputArgs,
    /// Mapping file (TOML), e.g. mappings/folio.toml.
    #[arg(long, short = 'm', value_name = "FILE")]
    pub mapping: PathBuf,
    /// Target: sandbox:folio, sandbox:illiad, sandbox:libib, or a name from patron-etl.toml.
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// Writing options.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Process only the first N data rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// In-scope patrons absent from the roster ([scope] in the mapping): leave them (ignore),
    /// deactivate them (FOLIO active=false, Libib freeze), or also expire them today (FOLIO).
    #[arg(long, value_enum, default_value_t = crate::cli::MissingArg::Ignore)]
    pub missing: crate::cli::MissingArg,
    /// Refuse --missing when more than this percentage of the in-scope patrons would change.
    #[arg(long, value_name = "PERCENT", default_value = "10", value_parser = parse_percent)]
    pub max_missing: f64,
    /// Go ahead despite a safety check: --missing above --max-missing, or --resume although
    /// the input or the mapping changed.
    #[arg(long)]
    pub force: bool,
    /// Apply --missing although the roster may be incomplete (an unreadable row, or a quote
    /// left open that may have swallowed lines); without it such a run is refused.
    #[arg(long)]
    pub allow_incomplete_roster: bool,
    /// Continue the latest interrupted run of this import (same files, mapping and target).
    #[arg(long)]
    pub resume: bool,
}

/// Parses `10` or `10%` into 0.10.
fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage, e.g. 10 or 2.5%"))?;
    if (0.0..=100.0).contains(&v) {
        Ok(v / 100.0)
    } else {
        Err(format!("{s:?} must be between 0 and 100"))
    }
}

/// Runs `import`.
pub fn run(args: ImportArgs, home: PathBuf) -> anyhow::Result<Ran> {
    let mut opts = args.write.import_options(args.mapping, args.to, home)?;
    opts.read = args.input.read_options()?;
    opts.files = args.input.files;
    opts.limit = args.limit;
    opts.missing = args.missing.into();
    opts.max_missing = args.max_missing;
    opts.force = args.force;
    opts.allow_incomplete_roster = args.allow_incomplete_roster;
    opts.journal = JournalOptions {
        resume: args.resume.then_some(ResumeFrom::Latest),
        force: args.force,
    };
    super::import::run_import(&opts)
}

/// Runs an import (new or resumed) and prints its summary; returns the exit code (3 when the
/// target was lost mid-run, after the report, summary and resume hint are written) and the run
/// folder.
pub fn run_import(opts: &ImportOptions) -> anyhow::Result<(u8, Option<PathBuf>)> {
    let res = import::run(opts)?;
    // A migration names its source too ("migrate from campus into libib"), not "import".
    let what = match &opts.source {
        Some(src) => format!("migrate from {} into {}", src.from, opts.to),
        None => format!("import into {}", opts.to),
    };
    let title = if opts.commit {
        format!("{what} — run {}", res.run.id)
    } else {
        format!(
            "PREVIEW (nothing written; add --commit to apply) {what} — run {}",
            res.run.id
        )
    };
    patron_etl::out!("{}", res.summary.render(&title));
    patron_etl::outln!(
        "  requests sent  {:>10} ({} writes)",
        res.requests,
        res.writes
    );
    patron_etl::outln!("  run folder: {}", res.run.path.display());
    patron_etl::outln!(
        "  html report: {}",
        res.run.file(import::REPORT_HTML).display()
    );
    if let Some(r) = &opts.report {
        patron_etl::outln!("  report: {}", r.display());
    }
    if let Some(Halt::Unreachable(why)) = &res.halt {
        patron_etl::outln!("  stopped early: {why}");
    }
    if res.status != RunStatus::Finished && opts.commit && opts.source.is_some() {
        patron_etl::outln!(
            "  run {} stopped early ({}); continue it by running the same migrate command again \
             (patrons already written are found and reported unchanged)",
            res.run.id,
            res.status
        );
    } else if res.status != RunStatus::Finished && opts.commit {
        patron_etl::outln!(
            "  run {} stopped early ({}); continue it with: patron-etl resume {} --commit",
            res.run.id,
            res.status,
            res.run.id
        );
    }
    let code = if matches!(res.halt, Some(Halt::Unreachable(_))) {
        exit::UNREACHABLE
    } else if res.summary.any_failed() {
        exit::ROWS_FAILED
    } else {
        exit::OK
    };
    Ok((code, Some(res.run.path)))
}
