//! The integration tests: one test binary (one link, one process) with a module per area and a
//! shared harness ([`harness`]: a `Workdir` per test, the real binary, the sandbox as its own
//! process, the run folder and its report/summary). A new test goes in the module of its area, or
//! in a new `mod` here (see ARCHITECTURE.md, "Tests").
//!
//! Everything here shares one process, so no test may touch process-wide state: no
//! `std::env::set_var` / `set_current_dir` (a command gets its env and current dir per call, see
//! [`harness::Workdir::command`]), no fixed ports (the sandbox and the proxy listen on port 0), and a
//! child is waited for by its own pid only (`limits` reads its peak RSS with `wait4(pid)`).

mod harness;

mod check_cli;
mod exact_values;
mod export_folio;
mod export_identity;
mod export_misc;
mod fake_connector;
mod folio_custom;
mod folio_linked;
mod import_folio;
mod import_illiad;
mod import_libib;
mod init_cli;
mod journal_resume;
mod limits;
mod mapping_load;
mod mapping_rows;
mod migrate;
mod migrate_samples;
mod one_writer;
mod private_files;
mod read_csv;
mod read_sheet;
mod report_html;
mod resolve;
mod schema_catalog;
mod schema_samples;
mod schema_validate;
mod sync_missing;
mod trust_writes;
mod undo;
mod undo_libib;
mod when_things_go_wrong;
