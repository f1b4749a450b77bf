//! Command-line interface: argument definitions (clap derive) and dispatch to the library.

use crate::cmd::{self, Ran};
use clap::{Args, Parser, Subcommand, ValueEnum};
use patron_etl::exit;
use patron_etl::import::ImportOptions;
use patron_etl::journal::JournalOptions;
use patron_etl::notify::Notify;
use patron_etl::read::ReadOptions;
use patron_etl::sync::MissingPolicy;
use std::path::PathBuf;

/// Load, sync, back up and migrate library patron records in bulk (FOLIO, ILLiad, Libib).
///
/// Writing commands preview by default and change nothing without --commit.
/// Credentials come from environment variables or a config file, never the command line.
#[derive(Debug, Parser)]
#[command(name = "patron-etl", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    /// Where the journal, run folders and built-in sandbox state live (default: ./.patron-etl).
    #[arg(long, value_name = "DIR", env = patron_etl::runs::HOME_ENV, global = true)]
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
  1  some rows were rejected, conflicted, failed or were skipped (including after Ctrl-C),
     or were written only in part (a FOLIO linked record refused: linked_failed)
  2  usage, configuration, mapping or unreadable input; another run writing to the target;
     a damaged journal
  3  target unreachable or authentication failed (a run that lost its target mid-way still
     writes its report and prints the resume command), or a call that must succeed answered
     with garbage or kept failing until the retries ran out, or the FOLIO login user lacks a
     permission (FOLIO's 403, reported once, naming the permission)
  4  internal or I/O error: the journal (SQLite) refused, or files under the home could not be
     written (an unwritable home, a journal that is not a database, a full disk)
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
    Check(cmd::check::CheckArgs),
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
    Import(cmd::import::ImportArgs),
    /// Print a starter mapping for a roster: columns matched to the system's fields by name.
    ///
    /// Example:
    ///   patron-etl init samples/roster.csv --system folio > mappings/my-roster.toml
    #[command(verbatim_doc_comment)]
    Init(cmd::init::InitArgs),
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
    Export(cmd::export::ExportArgs),
    /// Move patrons from one system to another: an export streamed into an import, no file between.
    ///
    /// Same preview (default), report, rejects and exit codes as import; the mapping's columns
    /// are the export's column names (see mappings/folio-to-libib.toml and friends).
    ///
    /// Examples:
    ///   patron-etl migrate --from sandbox:folio --to sandbox:libib --mapping mappings/folio-to-libib.toml
    ///   patron-etl migrate --from campus --to libib --mapping mappings/folio-to-libib.toml --commit
    #[command(verbatim_doc_comment)]
    Migrate(cmd::migrate::MigrateArgs),
    /// Serve the FOLIO, ILLiad and Libib emulators on loopback for rehearsals and tests.
    ///
    /// Example:
    ///   patron-etl sandbox --listen 127.0.0.1:8765 --state sandbox.json
    #[command(verbatim_doc_comment)]
    Sandbox(cmd::sandbox::SandboxArgs),
    /// List recorded runs with their counts, or show one run in detail.
    ///
    /// Examples:
    ///   patron-etl runs
    ///   patron-etl runs 20261122-101500-3f2a
    #[command(verbatim_doc_comment)]
    Runs(cmd::runs::RunsArgs),
    /// Continue an interrupted or crashed import where it stopped.
    ///
    /// Rows with a recorded outcome are not processed again; writes that were in flight are
    /// confirmed by looking the record up. Refuses when the input or the mapping changed since,
    /// unless --force. Without --commit it only shows the run.
    ///
    /// Example:
    ///   patron-etl resume 20261122-101500-3f2a --commit
    #[command(verbatim_doc_comment)]
    Resume(cmd::resume::ResumeArgs),
    /// Undo an import, migration or restore: delete the records it created, put back the ones it updated.
    ///
    /// Preview by default; --commit applies. Records changed since the run are reported as
    /// conflict and left alone. ILLiad runs cannot be undone (its API has no update or delete).
    ///
    /// Example:
    ///   patron-etl undo 20261122-101500-3f2a            # preview
    ///   patron-etl undo 20261122-101500-3f2a --commit
    #[command(verbatim_doc_comment)]
    Undo(cmd::undo::UndoArgs),
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
    Restore(cmd::restore::RestoreArgs),
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
    /// Requests per second (default per system: FOLIO 10, ILLiad 5, Libib 0.488 = one per 2.05 s).
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
pub(crate) fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r > 0.0 && r.is_finite() => Ok(r),
        _ => Err(format!("{s:?}: --rate must be a positive number")),
    }
}

impl WriteArgs {
    /// Import options for `to` with these flags; the caller fills what is specific to it.
    pub(crate) fn import_options(
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
fn dispatch(cli: Cli) -> anyhow::Result<Ran> {
    let home = patron_etl::runs::home(cli.home.as_deref())?;
    match cli.command {
        Command::Check(args) => cmd::check::run(args, home),
        Command::Import(args) => cmd::import::run(args, home),
        Command::Init(args) => cmd::init::run(args, home),
        Command::Export(args) => cmd::export::run(args, home),
        Command::Migrate(args) => cmd::migrate::run(args, home),
        Command::Sandbox(args) => cmd::sandbox::run(args, home),
        Command::Runs(args) => cmd::runs::run(args, home),
        Command::Resume(args) => cmd::resume::run(args, home),
        Command::Restore(args) => cmd::restore::run(args, home),
        Command::Undo(args) => cmd::undo::run(args, home),
    }
}

/// `--missing` (the library's `MissingPolicy`, spelled for the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MissingArg {
    /// Leave them alone (the default).
    Ignore,
    /// Deactivate them (FOLIO `active = false`; Libib freeze).
    Deactivate,
    /// Deactivate them and set their expiration date to today (FOLIO).
    Expire,
}

impl From<MissingArg> for MissingPolicy {
    fn from(a: MissingArg) -> MissingPolicy {
        match a {
            MissingArg::Ignore => MissingPolicy::Ignore,
            MissingArg::Deactivate => MissingPolicy::Deactivate,
            MissingArg::Expire => MissingPolicy::Expire,
        }
    }
}

/// `export --format` (the library's `ExportFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// The system's own records, one JSON object a line after a header line (a backup that
    /// `restore` puts back); `.jsonl` only.
    Native,
    /// A fixed set of columns (the default ones, or an export mapping's).
    Columns,
}

impl From<FormatArg> for patron_etl::export::ExportFormat {
    fn from(a: FormatArg) -> Self {
        match a {
            FormatArg::Native => Self::Native,
            FormatArg::Columns => Self::Columns,
        }
    }
}

/// `export --headers` (the library's `Headers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HeadersArg {
    /// Field names as mapping files name them (`personal.lastName`): imports back.
    Fields,
    /// Readable labels ("Last name", "Home address — city").
    Labels,
}

impl From<HeadersArg> for patron_etl::export::human::Headers {
    fn from(a: HeadersArg) -> Self {
        match a {
            HeadersArg::Fields => Self::Fields,
            HeadersArg::Labels => Self::Labels,
        }
    }
}

/// The mirror enums above must name every variant of the library's enum. The `From` impls catch a
/// mirror variant with no library counterpart; these reverse matches (exhaustive, no `_` arm) stop
/// the build when the library gains a variant the command line cannot reach, and the round trip
/// checks each pair maps to itself.
#[cfg(test)]
mod mirror_drift {
    use super::*;
    use patron_etl::export::human::Headers;
    use patron_etl::export::ExportFormat;

    fn missing(p: MissingPolicy) -> MissingArg {
        match p {
            MissingPolicy::Ignore => MissingArg::Ignore,
            MissingPolicy::Deactivate => MissingArg::Deactivate,
            MissingPolicy::Expire => MissingArg::Expire,
        }
    }
    fn format(f: ExportFormat) -> FormatArg {
        match f {
            ExportFormat::Native => FormatArg::Native,
            ExportFormat::Columns => FormatArg::Columns,
        }
    }
    fn headers(h: Headers) -> HeadersArg {
        match h {
            Headers::Fields => HeadersArg::Fields,
            Headers::Labels => HeadersArg::Labels,
        }
    }

    #[test]
    fn every_library_variant_round_trips_through_its_mirror() {
        for a in MissingArg::value_variants() {
            assert_eq!(missing(MissingPolicy::from(*a)), *a);
        }
        for a in FormatArg::value_variants() {
            assert_eq!(format(ExportFormat::from(*a)), *a);
        }
        for a in HeadersArg::value_variants() {
            assert_eq!(headers(Headers::from(*a)), *a);
        }
    }
}
