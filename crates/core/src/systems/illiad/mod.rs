//! ILLiad Web Platform (`Users` API): client with `ApiKey` auth, preflight, lookups and create.
//! The API cannot update, delete or list users.

pub mod client;
mod connector;

pub use connector::IlliadConnector;
