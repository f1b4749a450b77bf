//! Libib's part of a target's configuration: the `x-api-user` and, for Ultimate accounts, the
//! `x-api-ultimate` key (reference/seeds/libib-patrons-client-docs.txt). The API key is the
//! target's secret.

use crate::secret::Secret;
use crate::target::{SystemConfig, TargetEntry};
use std::any::Any;
use std::sync::Arc;

/// A Libib target's own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LibibConfig {
    /// `x-api-user` (`api_user`).
    pub api_user: Option<String>,
    /// `x-api-ultimate` (`api_ultimate`), if any.
    pub api_ultimate: Option<Secret>,
}

impl SystemConfig for LibibConfig {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The settings `entry` gives a Libib target.
pub(crate) fn from_entry(entry: &TargetEntry) -> Arc<dyn SystemConfig> {
    Arc::new(LibibConfig {
        api_user: entry.api_user.clone(),
        api_ultimate: entry.api_ultimate.clone().map(Secret::new),
    })
}
