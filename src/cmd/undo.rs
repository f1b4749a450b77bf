//! `undo`: reverse an import or a restore.

use super::Ran;
use clap::Args;
use patron_etl::exit;
use patron_etl::import::{self};
use patron_etl::undo::{self, UndoOptions};
use std::path::PathBuf;

/// `undo` options.
#[derive(Debug, Clone, Args)]
pub struct UndoArgs {
    /// The import, migrate or restore run to undo (see `patron-etl runs`).
    #[arg(value_name = "RUN_ID")]
    pub run_id: String,
    /// Apply. Without it nothing is written (preview).
    #[arg(long, conflicts_with = "dry_run")]
    pub commit: bool,
    /// Preview only (the default; accepted as the explicit spelling).
    #[arg(long)]
    pub dry_run: bool,
    /// Config file with [targets.NAME] tables (default: the one the run used).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// When the run ends, run CMD (through the shell) with the summary JSON on stdin, e.g.
    /// 'mail -s "patron-etl run" staff@example.edu' (default: [notify] command in the config).
    #[arg(long, value_name = "CMD")]
    pub notify_command: Option<String>,
}

/// Runs `undo`.
pub fn run(args: UndoArgs, home: PathBuf) -> anyhow::Result<Ran> {
    let opts = UndoOptions {
        run_id: args.run_id,
        commit: args.commit,
        config: args.config,
        home,
    };
    let res = undo::run(&opts)?;
    let title = if opts.commit {
        format!("undo of run {} — run {}", res.undone.id, res.run.id)
    } else {
        format!(
            "PREVIEW (nothing written; add --commit to apply) undo of run {} — run {}",
            res.undone.id, res.run.id
        )
    };
    patron_etl::outln!("{title}");
    patron_etl::outln!("  {:<14} {:>10}", "records", res.outcomes.len());
    for (k, n) in res.counts() {
        patron_etl::outln!("  {:<14} {:>10}", k.name(), n);
    }
    for o in res.outcomes.iter().filter(|o| o.kind.is_failure()).take(20) {
        patron_etl::outln!(
            "  {} {} (line {}, {}): {}",
            o.kind.name(),
            o.target_id.as_deref().unwrap_or("?"),
            o.line,
            o.action,
            o.reason.as_deref().unwrap_or("")
        );
    }
    patron_etl::outln!("  run folder: {}", res.run.path.display());
    patron_etl::outln!(
        "  html report: {}",
        res.run.file(import::REPORT_HTML).display()
    );
    let code = if res.any_failed() {
        exit::ROWS_FAILED
    } else {
        exit::OK
    };
    Ok((code, Some(res.run.path)))
}
