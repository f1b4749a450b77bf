//! Command-line interface: argument definitions (clap derive) and dispatch to the library.

use crate::check::{self, CheckOptions};
use crate::exit;
use crate::export::{self, ExportOptions};
use crate::import::{self, ImportOptions};
use crate::init::{self, InitOptions};
use crate::journal::interrupt::Halt;
use crate::journal::{JournalOptions, ResumeFrom};
use crate::migrate::MigrateSource;
use crate::notify::Notify;
use crate::read::ReadOptions;
use crate::runs_cmd;
use crate::sandbox::{self, SandboxArgs};
use crate::sync::MissingPolicy;
use crate::systems::System;
use crate::undo::{self, UndoOptions};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Load, sync, back up and migrate library patron records in bulk (FOLIO, ILLiad, Libib).
///
/// Writing commands preview by default and change nothing without --commit.
/// Credentials come from environment variables or a config file, never the command line.
#[derive(Debug, Parser)]
#[command(name = "patron-etl", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    /// Where the journal, run folders and built-in sandbox state live (default: ./.patron-etl).
    #[arg(long, value_name = "DIR", env = crate::runs::HOME_ENV, global = true)]
    pub home: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// More log detail (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes, as `--help` lists them (see `exit.rs`).
const EXIT_CODES: &str = "Exit codes:
  0  every row ok (or nothing to do)
  1  some rows were rejected, conflicted, failed or were skipped (including after Ctrl-C)
  2  usage, configuration, mapping or unreadable input; another run writing to the target;
     a damaged journal
  3  target unreachable or authentication failed (a run that lost its target mid-way still
     writes its report and prints the resume command), or a call that must succeed answered
     with garbage or kept failing until the retries ran out
  130  interrupted before any row was processed, or a second Ctrl-C quit at once";

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a roster offline against a mapping: what each row becomes, and what is wrong.
    ///
    /// Example:
    ///   patron-etl check samples/roster.csv --mapping mappings/folio.toml --report check.xlsx --out payloads.jsonl
    ///
    /// Rows are mapped on every core; the report is the same as on one thread.
    /// PATRON_ETL_WORKERS=N sets the number of worker threads (0: everything on one thread).
    #[command(verbatim_doc_comment)]
    Check(CheckArgs),
    /// Load a roster into a system: preview by default, apply with --commit.
    ///
    /// Every row gets one outcome in the report (created, updated, unchanged, rejected, conflict,
    /// failed, skipped; in preview would_create / would_update with each changed field).
    ///
    /// Examples:
    ///   patron-etl import samples/roster.csv --mapping mappings/folio.toml --to sandbox:folio
    ///   patron-etl import fall.xlsx --mapping mappings/folio.toml --to campus --commit --report fall-report.xlsx
    ///
    /// Targets other than sandbox:folio|illiad|libib are [targets.NAME] tables in patron-etl.toml
    /// (or --config PATH); passwords and API keys come from the environment or a file named there.
    #[command(verbatim_doc_comment)]
    Import(ImportArgs),
    /// Print a starter mapping for a roster: columns matched to the system's fields by name.
    ///
    /// Example:
    ///   patron-etl init samples/roster.csv --system folio > mappings/my-roster.toml
    #[command(verbatim_doc_comment)]
    Init(InitArgs),
    /// Export every patron of a system to a CSV, XLSX or JSON Lines file (nothing is changed).
    ///
    /// The columns import back: FOLIO exports re-import with mappings/folio-reimport.toml.
    /// --mapping M writes the columns of mapping M instead (its map and date read in reverse).
    /// ILLiad's API cannot list users: give user names or external ids with --ids FILE
    /// (one per line); ids that match no user are listed at the end.
    ///
    /// Examples:
    ///   patron-etl export --from sandbox:folio --out patrons.xlsx
    ///   patron-etl export --from campus --out patrons.csv --excel
    ///   patron-etl export --from illiad-prod --ids netids.txt --out illiad.csv
    ///   patron-etl export --from campus --out backup.jsonl      # native backup
    ///
    /// A .jsonl export is a native backup: a header line (source, time, tool and format
    /// version), then each patron record exactly as the API returned it, passwords left out;
    /// `patron-etl restore` puts it back. An existing --out file is replaced only with --force.
    #[command(verbatim_doc_comment)]
    Export(ExportArgs),
    /// Move patrons from one system to another: an export streamed into an import, no file between.
    ///
    /// Same preview (default), report, rejects and exit codes as import; the mapping's columns
    /// are the export's column names (see mappings/folio-to-libib.toml and friends).
    ///
    /// Examples:
    ///   patron-etl migrate --from sandbox:folio --to sandbox:libib --mapping mappings/folio-to-libib.toml
    ///   patron-etl migrate --from campus --to libib --mapping mappings/folio-to-libib.toml --commit
    #[command(verbatim_doc_comment)]
    Migrate(MigrateArgs),
    /// Serve the FOLIO, ILLiad and Libib emulators on loopback for rehearsals and tests.
    ///
    /// Example:
    ///   patron-etl sandbox --listen 127.0.0.1:8765 --state sandbox.json
    #[command(verbatim_doc_comment)]
    Sandbox(SandboxArgs),
    /// List recorded runs with their counts, or show one run in detail.
    ///
    /// Examples:
    ///   patron-etl runs
    ///   patron-etl runs 20261122-101500-3f2a
    #[command(verbatim_doc_comment)]
    Runs(RunsArgs),
    /// Continue an interrupted or crashed import where it stopped.
    ///
    /// Rows with a recorded outcome are not processed again; writes that were in flight are
    /// confirmed by looking the record up. Refuses when the input or the mapping changed since,
    /// unless --force. Without --commit it only shows the run.
    ///
    /// Example:
    ///   patron-etl resume 20261122-101500-3f2a --commit
    #[command(verbatim_doc_comment)]
    Resume(ResumeArgs),
    /// Undo an import or a restore: delete the records it created, put back the ones it updated.
    ///
    /// Preview by default; --commit applies. Records changed since the run are reported as
    /// conflict and left alone. ILLiad runs cannot be undone (its API has no update or delete).
    ///
    /// Example:
    ///   patron-etl undo 20261122-101500-3f2a            # preview
    ///   patron-etl undo 20261122-101500-3f2a --commit
    #[command(verbatim_doc_comment)]
    Undo(UndoArgs),
    /// Put a native backup (a .jsonl export) back: preview by default, apply with --commit.
    ///
    /// Creates the patrons that are missing, puts back the ones that differ (each changed field
    /// in the report, old → new) and leaves the equal ones alone; journaled like an import, so
    /// `patron-etl undo RUN_ID` reverses it. A backup from another system is refused (exit 2).
    /// ILLiad's API cannot update users: only missing ILLiad users are restored.
    ///
    /// Examples:
    ///   patron-etl restore backup.jsonl --to campus              # preview
    ///   patron-etl restore backup.jsonl --to campus --commit
    ///   patron-etl restore backup.jsonl --to campus --only-missing --commit
    #[command(verbatim_doc_comment)]
    Restore(RestoreArgs),
}

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
    /// Requests per second (default per system: FOLIO 10, ILLiad 5, Libib 0.4).
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Requests in flight (default: FOLIO 4, ILLiad 2, Libib 1).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
}

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

/// `undo` options.
#[derive(Debug, Clone, Args)]
pub struct UndoArgs {
    /// The import run to undo (see `patron-etl runs`).
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

/// Options shared by every command that reads roster files.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Roster files (CSV, XLSX, XLS or ODS).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Reader options.
    #[command(flatten)]
    pub reader: ReaderArgs,
}

impl InputArgs {
    /// Turns the flags into reader options.
    pub fn read_options(&self) -> Result<ReadOptions, exit::UsageError> {
        self.reader.read_options()
    }
}

/// How roster files are read (CSV dialect, spreadsheet sheet and header row).
#[derive(Debug, Clone, Args)]
pub struct ReaderArgs {
    /// CSV delimiter: one character, or comma|semicolon|tab|pipe (default: detected).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// CSV encoding, e.g. utf-8, utf-16, windows-1252, latin1 (default: detected).
    #[arg(long, value_name = "LABEL")]
    pub encoding: Option<String>,
    /// Spreadsheet sheet, by name or 1-based index (default: the first sheet).
    #[arg(long, value_name = "NAME|INDEX")]
    pub sheet: Option<String>,
    /// Spreadsheet row that holds the header (1-based; default 1).
    #[arg(long, value_name = "N")]
    pub header_row: Option<u32>,
}

impl ReaderArgs {
    /// Turns the flags into reader options.
    pub fn read_options(&self) -> Result<ReadOptions, exit::UsageError> {
        let delimiter = match self.delimiter.as_deref() {
            None => None,
            Some(d) => Some(parse_delimiter(d)?),
        };
        Ok(ReadOptions {
            delimiter,
            encoding: self.encoding.clone(),
            sheet: self.sheet.clone(),
            header_row: self.header_row,
        })
    }
}

/// Parses a `--delimiter` value.
pub fn parse_delimiter(d: &str) -> Result<u8, exit::UsageError> {
    match d.to_ascii_lowercase().as_str() {
        "comma" | "," => Ok(b','),
        "semicolon" | ";" => Ok(b';'),
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "pipe" | "|" => Ok(b'|'),
        other if other.len() == 1 && other.is_ascii() => Ok(other.as_bytes()[0]),
        other => Err(exit::UsageError(format!(
            "--delimiter {other:?}: use one ASCII character or comma, semicolon, tab, pipe"
        ))),
    }
}

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

/// `init` options.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The roster whose header (and first rows, for sample values) is read.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The system the mapping is for: folio, illiad or libib.
    #[arg(long, value_name = "SYSTEM")]
    pub system: String,
    /// Write the mapping to this file instead of stdout (refuses to overwrite).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Reader options.
    #[command(flatten)]
    pub reader: ReaderArgs,
}

/// Options of every command that writes to a target (import, migrate).
#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// Config file with [targets.NAME] tables (default: ./patron-etl.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Apply the changes. Without it nothing is written (preview).
    #[arg(long, conflicts_with = "dry_run")]
    pub commit: bool,
    /// Preview only (the default; accepted as the explicit spelling).
    #[arg(long)]
    pub dry_run: bool,
    /// Also write the report here (.csv, .xlsx, .json or .html); report.csv and report.html are
    /// always in the run folder too.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Requests per second (default per system: FOLIO 10, ILLiad 5, Libib 0.4).
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Requests in flight (default: FOLIO 4, ILLiad 2, Libib 1).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Stop writing after this many failed rows; the rest are reported as skipped.
    #[arg(long, value_name = "N")]
    pub max_errors: Option<u64>,
    /// When the run ends, run CMD (through the shell) with the summary JSON on stdin, e.g.
    /// 'mail -s "patron-etl run" staff@example.edu' (default: [notify] command in the config).
    #[arg(long, value_name = "CMD")]
    pub notify_command: Option<String>,
}

/// Parses `--rate`: a positive, finite number of requests per second.
fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r > 0.0 && r.is_finite() => Ok(r),
        _ => Err(format!("{s:?}: --rate must be a positive number")),
    }
}

impl WriteArgs {
    /// Import options for `to` with these flags; the caller fills what is specific to it.
    fn import_options(
        self,
        mapping: PathBuf,
        to: String,
        home: PathBuf,
    ) -> anyhow::Result<ImportOptions> {
        Ok(ImportOptions {
            files: Vec::new(),
            mapping,
            read: ReadOptions::default(),
            to,
            config: self.config,
            commit: self.commit,
            report: self.report,
            rate: self.rate,
            concurrency: self.concurrency,
            max_errors: self.max_errors,
            limit: None,
            home,
            source: None,
            missing: MissingPolicy::Ignore,
            max_missing: 0.0,
            force: false,
            allow_incomplete_roster: false,
            journal: JournalOptions {
                resume: None,
                force: false,
            },
        })
    }
}

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
    #[arg(long, value_enum, default_value_t = MissingPolicy::Ignore)]
    pub missing: MissingPolicy,
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
    /// Requests per second (default per system: FOLIO 10, ILLiad 5, Libib 0.4).
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Requests in flight (default: FOLIO 4, ILLiad 2, Libib 1).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// native: each record as the system holds it, after a header line (a backup for
    /// `restore`; the default for .jsonl without --mapping); columns: the export's columns.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<export::ExportFormat>,
    /// Replace the output file if it exists (otherwise exit 2 and the file is left as it is).
    #[arg(long)]
    pub force: bool,
    /// CSV/XLSX header text: labels ("Last name", "Home address — city") or fields
    /// (`personal.lastName`, what mappings name). Default: labels for .xlsx, fields for .csv.
    #[arg(long, value_enum, value_name = "KIND")]
    pub headers: Option<export::human::Headers>,
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

/// The notify command of a run command (`--notify-command`, else `[notify]` in the config), with
/// the command's name; `None` for commands that are not runs.
fn notify_for(command: &Command) -> anyhow::Result<Option<(&'static str, Notify)>> {
    let (name, flag, config) = match command {
        Command::Import(a) => ("import", &a.write.notify_command, &a.write.config),
        Command::Migrate(a) => ("migrate", &a.write.notify_command, &a.write.config),
        Command::Export(a) => ("export", &a.notify_command, &a.config),
        Command::Restore(a) => ("restore", &a.notify_command, &a.config),
        Command::Undo(a) => ("undo", &a.notify_command, &a.config),
        Command::Resume(a) if a.commit => ("resume", &a.notify_command, &a.config),
        _ => return Ok(None),
    };
    Ok(Notify::resolve(flag.clone(), config.as_deref())?.map(|n| (name, n)))
}

/// Runs the parsed command line; returns the exit code. A run command with a notify command
/// sends its summary (or its error) there when it ends.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let notify = notify_for(&cli.command)?;
    let result = dispatch(cli);
    if let Some((name, n)) = notify {
        let json = match &result {
            Ok((code, Some(folder))) => Notify::run_summary(name, folder, *code),
            Ok((code, None)) => serde_json::json!({ "command": name, "exit_code": code }),
            Err(e) => Notify::error_summary(name, e),
        };
        if let Err(e) = n.send(&json) {
            eprintln!("warning: {e}");
        }
    }
    result.map(|(code, _)| code)
}

/// Runs one command; returns the exit code and the run folder, if the command made one.
fn dispatch(cli: Cli) -> anyhow::Result<(u8, Option<PathBuf>)> {
    let home = crate::runs::home(cli.home.as_deref())?;
    match cli.command {
        Command::Check(args) => {
            let opts = CheckOptions {
                read: args.input.read_options()?,
                files: args.input.files,
                mapping: args.mapping,
                out: args.out,
                report: args.report,
            };
            let summary = check::run(&opts)?;
            crate::out!("{}", summary.render("check summary"));
            if let Some(r) = &opts.report {
                crate::outln!("  report: {}", r.display());
            }
            if let Some(o) = &opts.out {
                crate::outln!("  payloads: {}", o.display());
            }
            let code = if summary.any_failed() {
                exit::ROWS_FAILED
            } else {
                exit::OK
            };
            Ok((code, None))
        }
        Command::Import(args) => {
            let mut opts = args.write.import_options(args.mapping, args.to, home)?;
            opts.read = args.input.read_options()?;
            opts.files = args.input.files;
            opts.limit = args.limit;
            opts.missing = args.missing;
            opts.max_missing = args.max_missing;
            opts.force = args.force;
            opts.allow_incomplete_roster = args.allow_incomplete_roster;
            opts.journal = JournalOptions {
                resume: args.resume.then_some(ResumeFrom::Latest),
                force: args.force,
            };
            run_import(&opts)
        }
        Command::Init(args) => {
            let system = System::parse(&args.system).ok_or_else(|| {
                exit::UsageError(format!(
                    "--system {:?}: expected folio, illiad or libib",
                    args.system
                ))
            })?;
            let opts = InitOptions {
                read: args.reader.read_options()?,
                file: args.file,
                system,
                out: args.out.clone(),
            };
            let init::Starter { text, next } = init::run(&opts)?;
            match &args.out {
                None => crate::out!("{text}"),
                Some(path) => {
                    // Owner-only: the comments quote sample values of the roster (personal data).
                    let mut o = std::fs::OpenOptions::new();
                    o.write(true).create_new(true);
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::OpenOptionsExt;
                        o.mode(0o600);
                    }
                    let mut f = o.open(path).map_err(|e| {
                        exit::UsageError(format!("{}: cannot create: {e}", path.display()))
                    })?;
                    std::io::Write::write_all(&mut f, text.as_bytes())?;
                    eprintln!("wrote {}", path.display());
                }
            }
            for step in next {
                eprintln!("next: {step}");
            }
            Ok((exit::OK, None))
        }
        Command::Export(args) => {
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
                format: args.format,
                force: args.force,
                headers: args.headers,
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
            crate::out!("{}", res.render(&opts));
            crate::outln!(
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
        Command::Migrate(args) => {
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
            run_import(&opts)
        }
        Command::Sandbox(args) => {
            sandbox::run(&args)?;
            Ok((exit::OK, None))
        }
        Command::Runs(args) => {
            let dir = home;
            match &args.run_id {
                Some(id) => crate::out!("{}", runs_cmd::show(&dir, id)?),
                None => crate::out!("{}", runs_cmd::list(&dir, args.limit)?),
            }
            Ok((exit::OK, None))
        }
        Command::Resume(args) => {
            let dir = home;
            if !args.commit {
                crate::out!("{}", runs_cmd::show(&dir, &args.run_id)?);
                crate::outln!("nothing written; add --commit to continue the run");
                return Ok((exit::OK, None));
            }
            let mut opts =
                runs_cmd::resume_options(&dir, &args.run_id, true, args.force, args.config)?;
            opts.report = args.report;
            run_import(&opts)
        }
        Command::Restore(args) => {
            let opts = crate::restore::RestoreOptions {
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
            let res = crate::restore::run(&opts)?;
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
            crate::out!("{}", res.summary.render(&title));
            crate::outln!(
                "  requests sent  {:>10} ({} writes)",
                res.requests,
                res.writes
            );
            crate::outln!("  run folder: {}", res.run.path.display());
            if let Some(r) = &opts.report {
                crate::outln!("  report: {}", r.display());
            }
            for (field, n) in &res.not_restorable {
                crate::outln!(
                    "  not restored: {field} (in {n} records; {}'s API cannot set it)",
                    opts.to
                );
            }
            if opts.commit && res.undoable {
                crate::outln!("  undo it with: patron-etl undo {} --commit", res.run.id);
            }
            let code = match &res.halt {
                Some(Halt::Unreachable(why)) => {
                    crate::outln!("  stopped early: {why}");
                    exit::UNREACHABLE
                }
                Some(Halt::Interrupted) => exit::ROWS_FAILED,
                None if res.summary.any_failed() => exit::ROWS_FAILED,
                None => exit::OK,
            };
            Ok((code, Some(res.run.path)))
        }
        Command::Undo(args) => {
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
            crate::outln!("{title}");
            crate::outln!("  {:<14} {:>10}", "records", res.outcomes.len());
            for (k, n) in res.counts() {
                crate::outln!("  {:<14} {:>10}", k.name(), n);
            }
            for o in res.outcomes.iter().filter(|o| o.kind.is_failure()).take(20) {
                crate::outln!(
                    "  {} {} (line {}, {}): {}",
                    o.kind.name(),
                    o.target_id.as_deref().unwrap_or("?"),
                    o.line,
                    o.action,
                    o.reason.as_deref().unwrap_or("")
                );
            }
            crate::outln!("  run folder: {}", res.run.path.display());
            crate::outln!(
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
    }
}

/// Runs an import (new or resumed) and prints its summary; returns the exit code (3 when the
/// target was lost mid-run, after the report, summary and resume hint are written) and the run
/// folder.
fn run_import(opts: &ImportOptions) -> anyhow::Result<(u8, Option<PathBuf>)> {
    let res = import::run(opts)?;
    let title = if opts.commit {
        format!("import into {} — run {}", opts.to, res.run.id)
    } else {
        format!(
            "PREVIEW (nothing written; add --commit to apply) for {} — run {}",
            opts.to, res.run.id
        )
    };
    crate::out!("{}", res.summary.render(&title));
    crate::outln!(
        "  requests sent  {:>10} ({} writes)",
        res.requests,
        res.writes
    );
    crate::outln!("  run folder: {}", res.run.path.display());
    crate::outln!(
        "  html report: {}",
        res.run.file(import::REPORT_HTML).display()
    );
    if let Some(r) = &opts.report {
        crate::outln!("  report: {}", r.display());
    }
    if let Some(Halt::Unreachable(why)) = &res.halt {
        crate::outln!("  stopped early: {why}");
    }
    if res.status != "finished" && opts.commit && opts.source.is_some() {
        crate::outln!(
            "  run {} is {}; continue it by running the same migrate command again \
             (patrons already written are found and reported unchanged)",
            res.run.id,
            res.status
        );
    } else if res.status != "finished" && opts.commit {
        crate::outln!(
            "  run {} is {}; continue it with: patron-etl resume {} --commit",
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
