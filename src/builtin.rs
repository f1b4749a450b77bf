//! Built-in sandbox targets (`sandbox:folio`, `sandbox:illiad`, `sandbox:libib`): the emulator
//! started in-process on an ephemeral loopback port, state under `.patron-etl/sandbox/`, so
//! imports and exports against them need nothing else running.

use crate::sandbox::{SandboxConfig, SandboxHandle};
use crate::secret::Secret;
use crate::systems::System;
use crate::target::{default_pacing, Target};
use std::path::Path;
use std::time::Duration;

/// A running in-process sandbox.
pub struct BuiltinSandbox {
    handle: SandboxHandle,
}

impl BuiltinSandbox {
    /// Stops the sandbox, persisting its state.
    pub async fn shutdown(self) {
        if let Err(e) = self.handle.shutdown().await {
            tracing::warn!("could not save the sandbox state: {e:#}");
        }
    }
}

/// Starts the built-in sandbox and describes it as a target.
pub async fn start(system: System, workdir: &Path) -> anyhow::Result<(Target, BuiltinSandbox)> {
    let config = SandboxConfig::builtin(workdir);
    let handle = crate::sandbox::start(config).await?;
    let c = handle.credentials().clone();
    let (rate, concurrency) = default_pacing(system);
    let (url, password, api_key, api_user) = match system {
        System::Folio => (
            handle.folio_url(),
            Some(Secret::new(c.folio_password.clone())),
            None,
            None,
        ),
        System::Illiad => (
            handle.illiad_url(),
            None,
            Some(Secret::new(c.illiad_api_key.clone())),
            None,
        ),
        System::Libib => (
            handle.libib_url(),
            None,
            Some(Secret::new(c.libib_api_key.clone())),
            Some(c.libib_api_user.clone()),
        ),
    };
    let target = Target {
        name: format!("sandbox:{system}"),
        system,
        url: url.trim_end_matches('/').to_string(),
        tenant: c.folio_tenant.clone(),
        username: c.folio_username.clone(),
        password,
        api_key,
        api_user,
        api_ultimate: None,
        nvtgc: None,
        rate,
        concurrency,
        timeout: Duration::from_secs(30),
    };
    Ok((target, BuiltinSandbox { handle }))
}
