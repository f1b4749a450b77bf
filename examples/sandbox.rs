//! Runs the sandbox like `patron-etl sandbox` would (same flags: it includes the command's own
//! `src/cmd/sandbox.rs`), for scripts that should not depend on the CLI wiring:
//! `cargo run --example sandbox -- --listen 127.0.0.1:8765`.

use clap::Parser;

/// What a command ends with (`src/cmd/mod.rs`), for the included command module.
type Ran = (u8, Option<std::path::PathBuf>);

#[path = "../src/cmd/sandbox.rs"]
mod cmd;

/// `sandbox` example: the `patron-etl sandbox` flags.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: cmd::SandboxArgs,
}

fn main() -> anyhow::Result<()> {
    cmd::run(Cli::parse().args, std::path::PathBuf::new()).map(|_| ())
}
