//! FOLIO (mod-users): client with Okapi auth, CQL, reference data, and record merging.

pub mod client;
pub mod cql;
pub mod merge;
pub mod refdata;
