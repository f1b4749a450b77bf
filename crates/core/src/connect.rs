//! Connecting to a configured [`Target`]: its credentials, its system's client, and the errors a
//! run ends with (an unreachable target or refused credentials is exit 3; a missing credential in
//! the target's configuration is a usage error, exit 2). Shared by import, export and undo.

use crate::exit::{TargetError, UsageError};
use crate::http::Governed;
use crate::secret::Secret;
use crate::systems::folio::client::FolioClient;
use crate::systems::folio::refdata::RefData;
use crate::systems::illiad::client::IlliadClient;
use crate::systems::libib::client::{LibibClient, Page};
use crate::target::Target;

/// The ILLiad or Libib API key of `target`.
pub fn api_key(target: &Target) -> Result<Secret, UsageError> {
    target
        .api_key
        .clone()
        .ok_or_else(|| UsageError(format!("target {} has no API key", target.name)))
}

/// Logs in to FOLIO (`POST /authn/login-with-expiry`).
pub async fn folio(target: &Target, http: Governed) -> anyhow::Result<FolioClient> {
    let password = target
        .password
        .clone()
        .ok_or_else(|| UsageError(format!("target {} has no password", target.name)))?;
    FolioClient::login(
        http,
        &target.url,
        &target.tenant,
        &target.username,
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

/// Checks the ILLiad URL and key (`GET SystemInfo/SecurePlatformVersion`).
pub async fn illiad(target: &Target, http: Governed) -> anyhow::Result<IlliadClient> {
    IlliadClient::connect(http, &target.url, api_key(target)?)
        .await
        .map_err(TargetError::into_run_error)
}

/// Checks the Libib credentials by fetching the first page of patrons, returned with the client.
pub async fn libib(target: &Target, http: Governed) -> anyhow::Result<(LibibClient, Page)> {
    let user = target
        .api_user
        .clone()
        .ok_or_else(|| UsageError(format!("target {} has no api_user", target.name)))?;
    LibibClient::connect(
        http,
        &target.url,
        api_key(target)?,
        user,
        target.api_ultimate.clone(),
    )
    .await
    .map_err(TargetError::into_run_error)
}
