//! [`ReadSide`]: see the module docs of [`super`].

/// The read side of a system (see [`super::Connector`]).
pub trait ReadSide: Send + Sync + 'static {}
