//! The built-in sandbox: emulators of the FOLIO, ILLiad and Libib APIs on loopback, with fault
//! injection (STUB: being written).

use std::path::PathBuf;

/// `patron-etl sandbox` options.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub listen: String,
    /// File the sandbox state is written to (atomically) and reloaded from.
    #[arg(long)]
    pub state: Option<PathBuf>,
}

/// Runs the sandbox server until Ctrl-C.
pub fn run(args: &SandboxArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("sandbox not yet implemented")
}
