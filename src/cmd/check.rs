//! `check`: the offline pipeline over a roster.

use super::Ran;
use crate::cli::InputArgs;
use clap::Args;
use patron_etl::check::{self, CheckOptions, CheckTarget};
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
    /// Also check the names rows use (FOLIO patron groups, address types, departments, custom
    /// fields and option labels) against this target; reads them once, writes nothing. Exit 3
    /// when the target is unreachable or refuses a read (login, or a missing permission, named).
    #[arg(long, value_name = "TARGET")]
    pub to: Option<String>,
    /// Config file with [targets.NAME] tables, for --to (default: ./patron-etl.toml).
    #[arg(long, value_name = "FILE", requires = "to")]
    pub config: Option<PathBuf>,
}

/// Runs `check`.
pub fn run(args: CheckArgs, home: PathBuf) -> anyhow::Result<Ran> {
    let against = args.to.map(|to| CheckTarget {
        to,
        config: args.config,
        home,
    });
    let opts = CheckOptions {
        against,
        read: args.input.read_options()?,
        files: args.input.files,
        mapping: args.mapping,
        out: args.out,
        report: args.report,
    };
    let summary = check::run(&opts)?;
    patron_etl::out!("{}", summary.render("check summary"));
    if let Some(a) = &opts.against {
        patron_etl::outln!("  names checked against target {}", a.to);
    }
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
