//! `restore`: a native backup back into its system.

use super::Ran;
use clap::Args;
use patron_etl::exit;
use patron_etl::journal::interrupt::Halt;
use std::path::PathBuf;

/// `restore` options.
#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The native backup (`patron-etl export --out FILE.jsonl`).
    #[arg(value_name = "BACKUP")]
    pub backup: PathBuf,
    /// Target: sandbox:folio, sandbox:illiad, sandbox:libib, or a name from patron-etl.toml.
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// Apply. Without it nothing is written (preview).
    #[arg(long, conflicts_with = "dry_run")]
    pub commit: bool,
    /// Preview only (the default; accepted as the explicit spelling).
    #[arg(long)]
    pub dry_run: bool,
    /// Only recreate missing patrons; patrons that exist are left as they are (differences
    /// listed as `exists`).
    #[arg(long)]
    pub only_missing: bool,
    /// ILLiad: the field the target API key's ExternalUserIDMapping names (e.g. SSN), as a
    /// mapping's `[defaults] external_user_id_field` says for an import (default: the vendor's
    /// UserName).
    #[arg(long, value_name = "FIELD")]
    pub external_user_id_field: Option<String>,
    /// When the run ends, run CMD (through the shell) with the summary JSON on stdin
    /// (default: [notify] command in the config).
    #[arg(long, value_name = "CMD")]
    pub notify_command: Option<String>,
    /// Also write the report here (.csv, .xlsx or .json).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Config file with [targets.NAME] tables (default: ./patron-etl.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Requests per second (default per system: FOLIO 10, ILLiad 5, Libib 0.488 = one per 2.05 s).
    #[arg(long, value_name = "N", value_parser = crate::cli::parse_rate)]
    pub rate: Option<f64>,
    /// Requests in flight (default: FOLIO 4, ILLiad 2, Libib 1).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
}

/// Runs `restore`.
pub fn run(args: RestoreArgs, home: PathBuf) -> anyhow::Result<Ran> {
    let opts = patron_etl::restore::RestoreOptions {
        backup: args.backup,
        to: args.to,
        config: args.config,
        commit: args.commit,
        only_missing: args.only_missing,
        external_user_id_field: args.external_user_id_field,
        report: args.report,
        rate: args.rate,
        concurrency: args.concurrency,
        home,
    };
    let res = patron_etl::restore::run(&opts)?;
    let title = if opts.commit {
        format!(
            "restore of {} into {} — run {}",
            opts.backup.display(),
            opts.to,
            res.run.id
        )
    } else {
        format!(
            "PREVIEW (nothing written; add --commit to apply) restore of {} into {} — run {}",
            opts.backup.display(),
            opts.to,
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
    if let Some(r) = &opts.report {
        patron_etl::outln!("  report: {}", r.display());
    }
    for (field, n) in &res.not_restorable {
        patron_etl::outln!(
            "  not restored: {field} (in {n} records; {}'s API cannot set it)",
            opts.to
        );
    }
    if opts.commit && res.undoable {
        patron_etl::outln!("  undo it with: patron-etl undo {} --commit", res.run.id);
    }
    let code = match &res.halt {
        Some(Halt::Unreachable(why)) => {
            patron_etl::outln!("  stopped early: {why}");
            exit::UNREACHABLE
        }
        Some(Halt::Interrupted) => exit::ROWS_FAILED,
        None if res.summary.any_failed() => exit::ROWS_FAILED,
        None => exit::OK,
    };
    Ok((code, Some(res.run.path)))
}
