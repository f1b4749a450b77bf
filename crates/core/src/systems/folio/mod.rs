//! FOLIO (mod-users): client with Okapi auth, CQL, reference data, and record merging.

pub mod client;
pub mod config;
pub mod connect;
mod connector;
pub mod custom;
pub mod export;
mod init;
pub mod linked;
pub mod plan;
pub mod schema;
pub mod session;
pub mod sync;
pub mod undo;
pub mod write;

pub use connector::FolioConnector;
pub mod cql;
pub mod merge;
pub mod refdata;

impl super::System {
    /// Folio (`system = "folio"`).
    #[allow(non_upper_case_globals)]
    pub const Folio: super::System = super::System("folio");
}
