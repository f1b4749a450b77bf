//! `export`: every patron of a system to a file.

use super::Ran;
use clap::Args;
use patron_etl::exit;
use patron_etl::export::{self, ExportOptions};
use patron_etl::import::{self};
use std::path::PathBuf;

/// `export` options.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Source: sandbox:folio, sandbox:illiad, sandbox:libib, or a name from patron-etl.toml.
    #[arg(long, value_name = "TARGET")]
    pub from: String,
    /// Output file: .csv, .xlsx or .jsonl.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Export mapping (TOML): write that mapping's columns instead of the default ones.
    #[arg(long, short = 'm', value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// File of user names or external ids, one per line (required for ILLiad).
    #[arg(long, value_name = "FILE")]
    pub ids: Option<PathBuf>,
    /// Start the CSV with a byte-order mark so Excel reads it as UTF-8.
    #[arg(long)]
    pub excel: bool,
    /// Config file with [targets.NAME] tables (default: ./patron-etl.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Requests per second (default per system: FOLIO 10, ILLiad 5, Libib 0.488 = one per 2.05 s).
    #[arg(long, value_name = "N", value_parser = crate::cli::parse_rate)]
    pub rate: Option<f64>,
    /// Requests in flight (default: FOLIO 4, ILLiad 2, Libib 1).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// native: each record as the system holds it, after a header line (a backup for
    /// `restore`; the default for .jsonl without --mapping); columns: the export's columns.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<crate::cli::FormatArg>,
    /// Replace the output file if it exists (otherwise exit 2 and the file is left as it is).
    #[arg(long)]
    pub force: bool,
    /// CSV/XLSX header text: labels ("Last name", "Home address — city") or fields
    /// (`personal.lastName`, what mappings name). Default: labels for .xlsx, fields for .csv.
    #[arg(long, value_enum, value_name = "KIND")]
    pub headers: Option<crate::cli::HeadersArg>,
    /// CSV/XLSX: keep every column of the layout, even those empty in every row (by default
    /// they are left out). Use it (and --headers fields for XLSX) to import the file back.
    #[arg(long)]
    pub all_columns: bool,
    /// Export at most N patrons (a sample).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Active patrons only (FOLIO `active`, Libib: not frozen).
    #[arg(long)]
    pub active_only: bool,
    /// FOLIO: patrons of this patron group (by name).
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
    /// FOLIO: patrons matching this CQL query, e.g. 'personal.lastName=="Smith*"'.
    #[arg(long, value_name = "CQL")]
    pub query: Option<String>,
    /// Patrons carrying this tag (FOLIO `tags.tagList`, Libib `tags`).
    #[arg(long, value_name = "NAME")]
    pub tag: Option<String>,
    /// When the run ends, run CMD (through the shell) with the summary JSON on stdin, e.g.
    /// 'mail -s "patron-etl run" staff@example.edu' (default: [notify] command in the config).
    #[arg(long, value_name = "CMD")]
    pub notify_command: Option<String>,
}

/// Runs `export`.
pub fn run(args: ExportArgs, home: PathBuf) -> anyhow::Result<Ran> {
    let opts = ExportOptions {
        from: args.from,
        config: args.config,
        out: args.out,
        mapping: args.mapping,
        ids: args.ids,
        excel: args.excel,
        rate: args.rate,
        concurrency: args.concurrency,
        home,
        format: args.format.map(Into::into),
        force: args.force,
        headers: args.headers.map(Into::into),
        all_columns: args.all_columns,
        filter: export::filter::Filter {
            limit: args.limit,
            active_only: args.active_only,
            group: args.group,
            query: args.query,
            tag: args.tag,
        },
    };
    let res = export::run(&opts)?;
    patron_etl::out!("{}", res.render(&opts));
    patron_etl::outln!(
        "  html report: {}",
        res.run.file(import::REPORT_HTML).display()
    );
    let code = if res.complete() {
        exit::OK
    } else {
        exit::ROWS_FAILED
    };
    Ok((code, Some(res.run.path)))
}
