//! One module per subcommand: its arguments (clap) and the call into the library.

pub mod check;
pub mod export;
pub mod import;
pub mod init;
pub mod migrate;
pub mod restore;
pub mod resume;
pub mod runs;
pub mod sandbox;
pub mod undo;

/// What a command ends with: the exit code, and the run folder if it made one.
pub type Ran = (u8, Option<std::path::PathBuf>);
