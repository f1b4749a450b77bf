//! A test-only fourth system: patrons kept in one JSON file (`url = "file:///…/store.json"`),
//! behind the same [`Connector`](crate::systems::connector::Connector) as FOLIO, ILLiad and Libib.
//!
//! It exists to prove the seam: this folder plus one line in `systems/registry.rs` are all it
//! takes for `check`, `import` (preview and commit), `export` and `undo` to work end to end.
//! It is hidden unless `PATRON_ETL_TEST_CONNECTORS` is set (`Connector::test_only`), and it is
//! not a model of any real API: its rules are its own.
//!
//! Invariants: every write is saved to the file before it is reported (write to a temporary
//! file, then rename); a record's `id` is given by the store and never changes.

mod connector;
mod store;

pub use connector::MemoryConnector;

impl super::System {
    /// The test-only in-memory fake (`system = "memory"`).
    #[allow(non_upper_case_globals)]
    pub const Memory: super::System = super::System("memory");
}
