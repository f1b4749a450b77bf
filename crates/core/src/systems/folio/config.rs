//! FOLIO's part of a target's configuration: the Okapi tenant and the login name (the password
//! is the target's secret). Source: reference/folio-api.md §1.1 (`X-Okapi-Tenant` on every
//! request; `POST /authn/login-with-expiry` with `username` and `password`).

use crate::target::{SystemConfig, TargetEntry};
use std::any::Any;
use std::sync::Arc;

/// A FOLIO target's own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolioConfig {
    /// Okapi tenant (`tenant`).
    pub tenant: String,
    /// Login name (`username`).
    pub username: String,
}

impl SystemConfig for FolioConfig {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The settings `entry` gives a FOLIO target (absent ones blank, as before the split).
pub(crate) fn from_entry(entry: &TargetEntry) -> Arc<dyn SystemConfig> {
    Arc::new(FolioConfig {
        tenant: entry.tenant.clone().unwrap_or_default(),
        username: entry.username.clone().unwrap_or_default(),
    })
}
