//! `migrate`: an export streamed into an import.

use super::Ran;
use crate::cli::WriteArgs;
use clap::Args;
use patron_etl::export::{self};
use patron_etl::migrate::MigrateSource;
use std::path::PathBuf;

/// `migrate` options.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// Source: sandbox:folio, sandbox:illiad, sandbox:libib, or a name from patron-etl.toml.
    #[arg(long, value_name = "TARGET")]
    pub from: String,
    /// Destination, like --from.
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// Mapping from the source's export columns to the destination system.
    #[arg(long, short = 'm', value_name = "FILE")]
    pub mapping: PathBuf,
    /// ILLiad sources: file of user names or external ids, one per line.
    #[arg(long, value_name = "FILE")]
    pub ids: Option<PathBuf>,
    /// Writing options (for the destination).
    #[command(flatten)]
    pub write: WriteArgs,
    /// Migrate only the first N patrons.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
}

/// Runs `migrate`.
pub fn run(args: MigrateArgs, home: PathBuf) -> anyhow::Result<Ran> {
    let ids = match &args.ids {
        Some(p) => Some(export::read_ids(p)?),
        None => None,
    };
    let mut opts = args.write.import_options(args.mapping, args.to, home)?;
    opts.limit = args.limit;
    opts.source = Some(MigrateSource {
        from: args.from,
        ids,
    });
    super::import::run_import(&opts)
}
