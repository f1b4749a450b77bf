//! ILLiad Web Platform (`Users` API): client with `ApiKey` auth, preflight, lookups and create.
//! The API cannot update, delete or list users.

pub mod client;
pub mod config;
pub mod connect;
mod connector;
pub mod export;
mod init;
pub mod plan;
mod schema;
pub mod session;
pub mod write;

pub use connector::IlliadConnector;

impl super::System {
    /// Illiad (`system = "illiad"`).
    #[allow(non_upper_case_globals)]
    pub const Illiad: super::System = super::System("illiad");
}
