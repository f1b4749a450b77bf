//! `resume`: continue an interrupted import.

use super::Ran;
use clap::Args;
use patron_etl::exit;
use patron_etl::runs_cmd;
use std::path::PathBuf;

/// `resume` options.
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// The run to continue (see `patron-etl runs`).
    #[arg(value_name = "RUN_ID")]
    pub run_id: String,
    /// Continue writing. Without it the run is only shown.
    #[arg(long)]
    pub commit: bool,
    /// Resume even though the input or the mapping changed since the run.
    #[arg(long)]
    pub force: bool,
    /// Config file with [targets.NAME] tables (default: the one the run used).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also write the report here (.csv, .xlsx, .json or .html).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// When the run ends, run CMD (through the shell) with the summary JSON on stdin, e.g.
    /// 'mail -s "patron-etl run" staff@example.edu' (default: [notify] command in the config).
    #[arg(long, value_name = "CMD")]
    pub notify_command: Option<String>,
}

/// Runs `resume`.
pub fn run(args: ResumeArgs, home: PathBuf) -> anyhow::Result<Ran> {
    let dir = home;
    if !args.commit {
        patron_etl::out!("{}", runs_cmd::show(&dir, &args.run_id)?);
        patron_etl::outln!("nothing written; add --commit to continue the run");
        return Ok((exit::OK, None));
    }
    let mut opts = runs_cmd::resume_options(&dir, &args.run_id, true, args.force, args.config)?;
    opts.report = args.report;
    super::import::run_import(&opts)
}
