//! Connecting to a Libib target: its API user and key, and its pacing. Shared by import,
//! restore, export and undo.

use crate::connect::api_key;
use crate::exit::{TargetError, UsageError};
use crate::http::Governed;
use crate::systems::libib::client::{LibibClient, Page};
use crate::systems::libib::config::LibibConfig;
use crate::target::Target;

/// Checks the Libib credentials by fetching the first page of patrons, returned with the client.
pub async fn libib(target: &Target, http: Governed) -> anyhow::Result<(LibibClient, Page)> {
    let config = target.config::<LibibConfig>()?;
    let user = config
        .api_user
        .clone()
        .ok_or_else(|| UsageError(format!("target {} has no api_user", target.name)))?;
    // Every Libib client is paced by the adaptive interval (see `super::pacing`).
    LibibClient::connect(
        http.with_pacer(super::pacing(target.rate)),
        &target.url,
        api_key(target)?,
        user,
        config.api_ultimate.clone(),
    )
    .await
    .map_err(TargetError::into_run_error)
}
