//! `init`: a starter mapping from a roster header.

use super::Ran;
use crate::cli::ReaderArgs;
use clap::Args;
use patron_etl::exit;
use patron_etl::init::{self, InitOptions};
use patron_etl::systems::System;
use std::path::PathBuf;

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

/// Runs `init`.
pub fn run(args: InitArgs, _home: PathBuf) -> anyhow::Result<Ran> {
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
        None => patron_etl::out!("{text}"),
        Some(path) => {
            // Owner-only: the comments quote sample values of the roster (personal data).
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            let mut f = o
                .open(path)
                .map_err(|e| exit::UsageError(format!("{}: cannot create: {e}", path.display())))?;
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
    }
    for step in next {
        eprintln!("next: {step}");
    }
    Ok((exit::OK, None))
}
