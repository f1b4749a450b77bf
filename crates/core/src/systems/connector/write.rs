//! [`WriteSide`]: see the module docs of [`super`].

/// The write side of a system (see [`super::Connector`]).
pub trait WriteSide: Send + Sync + 'static {}
