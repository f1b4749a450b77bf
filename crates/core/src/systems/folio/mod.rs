//! FOLIO (mod-users): client with Okapi auth, CQL, reference data, and record merging.

pub mod client;
mod connector;

pub use connector::FolioConnector;
pub mod cql;
pub mod merge;
pub mod refdata;
