//! `runs`: the recorded runs.

use super::Ran;
use clap::Args;
use patron_etl::exit;
use patron_etl::runs_cmd;
use std::path::PathBuf;

/// `runs` options.
#[derive(Debug, Clone, Args)]
pub struct RunsArgs {
    /// Show this run in detail (default: list the latest runs).
    #[arg(value_name = "RUN_ID")]
    pub run_id: Option<String>,
    /// How many runs to list.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
}

/// Runs `runs`.
pub fn run(args: RunsArgs, home: PathBuf) -> anyhow::Result<Ran> {
    let dir = home;
    match &args.run_id {
        Some(id) => patron_etl::out!("{}", runs_cmd::show(&dir, id)?),
        None => patron_etl::out!("{}", runs_cmd::list(&dir, args.limit)?),
    }
    Ok((exit::OK, None))
}
