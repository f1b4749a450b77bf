//! Libib patrons API: client (`x-api-key`/`x-api-user`, query-string writes, one global pacer)
//! and the conversion of mapped records to Libib's query parameters.

pub mod client;
