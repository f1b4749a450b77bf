//! Libib patrons API: client (`x-api-key`/`x-api-user`, query-string writes, one global pacer)
//! and the conversion of mapped records to Libib's query parameters.

pub mod client;
pub mod config;
pub mod connect;
mod connector;
pub mod export;
mod init;
pub mod plan;
mod schema;
pub mod session;
pub mod sync;
pub mod undo;
pub mod write;

pub use connector::LibibConnector;

/// The fields of a Libib patron as the API returns them, in its order; `barcode` first, since it
/// addresses the patron (`POST /patrons/{barcode}`). Source: `reference/seeds/libib-patrons-client-docs.txt`.
pub const PATRON_FIELDS: [&str; 15] = [
    "barcode",
    "first_name",
    "last_name",
    "email",
    "notification_emails",
    "tags",
    "patron_id",
    "phone",
    "address1",
    "address2",
    "city",
    "state",
    "country",
    "zip",
    "freeze",
];

/// The patron fields other than the barcode: what an update can change.
pub const EDITABLE_FIELDS: &[&str] = PATRON_FIELDS.split_at(1).1;

impl super::System {
    /// Libib (`system = "libib"`).
    #[allow(non_upper_case_globals)]
    pub const Libib: super::System = super::System("libib");
}
