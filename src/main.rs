//! The `patron-etl` binary: parse arguments, set up logging, run, map errors to exit codes.

use clap::Parser;
mod cli;
mod cmd;

use cli::{Cli, LogFormat};
use patron_etl::exit;
use patron_etl::runlog::RunLogWriter;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

fn init_logging(format: LogFormat, verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Everything at info and above also goes to the run folder's run.log once a run has one.
    let file = tracing_subscriber::fmt::layer()
        .with_writer(RunLogWriter)
        .with_ansi(false)
        .with_target(false)
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    // Colour only for a person at a terminal: never in piped or cron logs, nor with NO_COLOR.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let registry = tracing_subscriber::registry().with(file);
    match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr)
                    .with_target(false)
                    .with_filter(filter),
            )
            .init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(ansi)
                    .with_target(false)
                    .with_filter(filter),
            )
            .init(),
    }
}

/// The error and its causes on one line, skipping a cause whose text the message already holds
/// (many errors quote their source: "x.csv: cannot open: No such file").
fn error_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, cli.verbose);
    match cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {}", error_text(&err));
            ExitCode::from(exit::code_for(&err))
        }
    }
}
