//! ILLiad's part of a target's configuration: the site code (NVTGC) sent with a new user when the
//! mapping gives none (reference/illiad-libib-api.md §2.3). The API key is the target's secret.

use crate::target::{SystemConfig, TargetEntry};
use std::any::Any;
use std::sync::Arc;

/// An ILLiad target's own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IlliadConfig {
    /// Site code sent as NVTGC when the mapping gives none (`nvtgc`).
    pub nvtgc: Option<String>,
}

impl SystemConfig for IlliadConfig {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The settings `entry` gives an ILLiad target.
pub(crate) fn from_entry(entry: &TargetEntry) -> Arc<dyn SystemConfig> {
    Arc::new(IlliadConfig {
        nvtgc: entry.nvtgc.clone(),
    })
}
