//! Runs the sandbox like `patron-etl sandbox` would (same flags), for scripts that should not
//! depend on the CLI wiring: `cargo run --example sandbox -- --listen 127.0.0.1:8765`.

use clap::Parser;
use patron_etl::sandbox::{run, SandboxArgs};

/// `sandbox` example: the `patron-etl sandbox` flags.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: SandboxArgs,
}

fn main() -> anyhow::Result<()> {
    run(&Cli::parse().args)
}
