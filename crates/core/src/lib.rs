//! patron-etl: load, sync, back up and migrate library patron records in bulk
//! across FOLIO, ILLiad and Libib.
//!
//! The pipeline (see `DESIGN.md`): [`read`] streams [`read::SourceRow`]s from CSV/XLSX →
//! [`mapping`] turns each row into a [`mapping::Mapped`] record in one system's shape →
//! (planner, writer) → [`report`] writes one [`outcome::Outcome`] per input row.
//! Row failures are data ([`outcome::Outcome`]); `Err` is for run-fatal problems.

pub mod builtin;
pub mod check;
pub mod connect;
pub mod dedupe;
pub mod exit;
pub mod export;
pub mod http;
pub mod import;
pub mod init;
pub mod journal;
pub mod mapping;
pub mod migrate;
pub mod notify;
pub mod outcome;
pub mod output;
pub mod plan;
pub mod progress;
pub mod read;
pub mod redact;
pub mod report;
pub mod resolve;
pub mod restore;
pub mod runlog;
pub mod runs;
pub mod runs_cmd;
pub mod sandbox;
pub mod secret;
pub mod sync;
pub mod systems;
pub mod target;
pub mod text;
pub use patron_unaccent as unaccent;
pub mod undo;
pub mod write;
