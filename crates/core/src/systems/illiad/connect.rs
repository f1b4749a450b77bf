//! Connecting to an ILLiad target: its URL and API key. Shared by import, restore and export.

use crate::connect::api_key;
use crate::exit::TargetError;
use crate::http::Governed;
use crate::systems::illiad::client::IlliadClient;
use crate::target::Target;

/// Checks the ILLiad URL and key (`GET SystemInfo/SecurePlatformVersion`).
pub async fn illiad(target: &Target, http: Governed) -> anyhow::Result<IlliadClient> {
    IlliadClient::connect(http, &target.url, api_key(target)?)
        .await
        .map_err(TargetError::into_run_error)
}
