//! `sandbox`: the emulators on loopback.

use super::Ran;
use patron_etl::exit;
use patron_etl::sandbox::{self};
use std::path::PathBuf;

/// Runs `sandbox`.
pub fn run(args: patron_etl::sandbox::SandboxArgs, _home: PathBuf) -> anyhow::Result<Ran> {
    sandbox::run(&args)?;
    Ok((exit::OK, None))
}
