//! Writer stage: applies planned actions with retries, under the target's shared governor.
//! It is only ever constructed for `--commit` runs.

pub mod folio;
pub mod illiad;
pub mod libib;
pub mod retry;
