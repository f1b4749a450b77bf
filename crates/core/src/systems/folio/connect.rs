//! Connecting to a FOLIO target: login, and the reference data that turns names into ids.
//! Shared by import, restore, export and undo.

use crate::exit::{TargetError, UsageError};
use crate::http::Governed;
use crate::systems::folio::client::FolioClient;
use crate::systems::folio::config::FolioConfig;
use crate::systems::folio::refdata::RefData;
use crate::target::Target;

/// Logs in to FOLIO (`POST /authn/login-with-expiry`).
pub async fn folio(target: &Target, http: Governed) -> anyhow::Result<FolioClient> {
    let password = target
        .password
        .clone()
        .ok_or_else(|| UsageError(format!("target {} has no password", target.name)))?;
    let config = target.config::<FolioConfig>()?;
    FolioClient::login(
        http,
        &target.url,
        &config.tenant,
        &config.username,
        password,
    )
    .await
    .map_err(TargetError::into_run_error)
}

/// Logs in to FOLIO and loads the reference data that turns names into ids (patron groups,
/// address types, departments).
pub async fn folio_with_names(
    target: &Target,
    http: Governed,
) -> anyhow::Result<(FolioClient, RefData)> {
    let client = folio(target, http).await?;
    let names = RefData::fetch(&client)
        .await
        .map_err(TargetError::into_run_error)?;
    Ok((client, names))
}
