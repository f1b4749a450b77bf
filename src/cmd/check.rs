//! `check`: the offline pipeline over a roster.

use super::Ran;
use crate::cli::InputArgs;
use clap::Args;
use patron_etl::check::{self, CheckOptions};
use patron_etl::exit;
use std::path::PathBuf;

/// `check` options.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Input files and reader options.
    #[command(flatten)]
    pub input: InputArgs,
    /// Mapping file (TOML), e.g. mappings/folio.toml.
    #[arg(long, short = 'm', value_name = "FILE")]
    pub mapping: PathBuf,
    /// Write one JSON payload per valid row (JSON Lines).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write a report with one line per data row (.csv, .xlsx, .json or .html).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// Runs `check`.
pub fn run(args: CheckArgs, _home: PathBuf) -> anyhow::Result<Ran> {
    let opts = CheckOptions {
        read: args.input.read_options()?,
        files: args.input.files,
        mapping: args.mapping,
        out: args.out,
        report: args.report,
    };
    let summary = check::run(&opts)?;
    patron_etl::out!("{}", summary.render("check summary"));
    if let Some(r) = &opts.report {
        patron_etl::outln!("  report: {}", r.display());
    }
    if let Some(o) = &opts.out {
        patron_etl::outln!("  payloads: {}", o.display());
    }
    let code = if summary.any_failed() {
        exit::ROWS_FAILED
    } else {
        exit::OK
    };
    Ok((code, None))
}
