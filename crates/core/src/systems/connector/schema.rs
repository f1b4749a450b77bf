//! [`SchemaSide`]: see the module docs of [`super`].

/// The schema side of a system (see [`super::Connector`]).
pub trait SchemaSide: Send + Sync + 'static {}
