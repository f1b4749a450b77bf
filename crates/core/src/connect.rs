//! Connecting to a configured [`Target`]: what every system's connection shares. Each system's
//! login is in its folder (`systems/<system>/connect.rs`) and is reached through
//! [`crate::systems::connector::WriteSide::connect`]. The errors a run ends with: an unreachable
//! target or refused credentials is exit 3; a missing credential in the target's configuration
//! is a usage error, exit 2.

use crate::exit::UsageError;
use crate::secret::Secret;
use crate::target::Target;

/// The API key of `target` (ILLiad, Libib).
pub fn api_key(target: &Target) -> Result<Secret, UsageError> {
    target
        .api_key
        .clone()
        .ok_or_else(|| UsageError(format!("target {} has no API key", target.name)))
}
