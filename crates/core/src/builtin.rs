//! Built-in sandbox targets (`sandbox:folio`, `sandbox:illiad`, `sandbox:libib`): the emulator
//! started in-process on an ephemeral loopback port, state under `<home>/sandbox/` (default `.patron-etl/sandbox/`), so
//! imports and exports against them need nothing else running.
//!
//! `PATRON_ETL_SANDBOX_LIBIB_INTERVAL_MS` shortens the built-in Libib's pacing (real Libib: 2000)
//! and the client's pacer with it (one request per 1.25 × the interval), so tests and demos need
//! not wait 2.05 s a request.

use crate::sandbox::{SandboxConfig, SandboxHandle};
use crate::secret::Secret;
use crate::systems::System;
use crate::target::{default_pacing, Target, TargetEntry};
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

/// Environment variable that shortens the built-in Libib's pacing, in milliseconds.
pub const LIBIB_INTERVAL_ENV: &str = "PATRON_ETL_SANDBOX_LIBIB_INTERVAL_MS";

/// The Libib interval override from [`LIBIB_INTERVAL_ENV`], if set to a positive number.
pub fn libib_interval_override() -> anyhow::Result<Option<Duration>> {
    match std::env::var(LIBIB_INTERVAL_ENV) {
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms))),
            _ => Err(crate::exit::UsageError(format!(
                "{LIBIB_INTERVAL_ENV}={v:?}: expected a positive number of milliseconds"
            ))
            .into()),
        },
        Err(_) => Ok(None),
    }
}

/// Starts the built-in sandbox and describes it as a target.
pub async fn start(system: System, home: &Path) -> anyhow::Result<(Target, BuiltinSandbox)> {
    let mut config = SandboxConfig::builtin(home);
    if let Some(i) = libib_interval_override()? {
        config.libib_interval = i;
    }
    let handle = crate::sandbox::start(config).await?;
    let sandbox = BuiltinSandbox { handle };
    let target = sandbox.target(system)?;
    Ok((target, sandbox))
}

impl BuiltinSandbox {
    /// This sandbox's `system` emulator as a target (a migration between two built-in systems
    /// uses one sandbox for both ends).
    pub fn target(&self, system: System) -> anyhow::Result<Target> {
        let connector = crate::systems::registry::connector(system);
        let access = connector.sandbox_target(&self.handle)?.ok_or_else(|| {
            crate::exit::UsageError(format!("the built-in sandbox has no {system} emulator"))
        })?;
        let (rate, concurrency) = default_pacing(system);
        Ok(Target {
            name: format!("sandbox:{system}"),
            system,
            url: access.entry.url.trim_end_matches('/').to_string(),
            password: access.password,
            api_key: access.api_key,
            // The sandbox's own settings as a `[targets]` table would give them; each system
            // reads its part.
            system_config: crate::systems::registry::schema(system).target_config(&access.entry),
            rate: access.rate.unwrap_or(rate),
            concurrency,
            timeout: Duration::from_secs(30),
            retry: crate::http::RetryPolicy::default(),
        })
    }
}

/// How a system's emulator in the built-in sandbox is reached: what a `[targets]` table and its
/// secret would say (see `Connector::sandbox_target`).
pub struct SandboxAccess {
    /// The settings (`url` and the system's own keys).
    pub entry: TargetEntry,
    /// The password, for a system that logs in with one.
    pub password: Option<Secret>,
    /// The API key, for a system that takes one.
    pub api_key: Option<Secret>,
    /// Pacing other than the system's default (requests per second), if the sandbox needs it.
    pub rate: Option<f64>,
}

/// The target `tref` names, ready to use: a configured target as it is, or the built-in sandbox
/// started for its system (keep the returned handle alive for the run). `rate` and `concurrency`
/// (from the command line) override the target's own.
pub async fn open(
    tref: crate::target::TargetRef,
    home: &Path,
    rate: Option<f64>,
    concurrency: Option<usize>,
) -> anyhow::Result<(Target, Option<BuiltinSandbox>)> {
    let (mut target, sandbox) = match tref {
        crate::target::TargetRef::Configured(t) => (*t, None),
        crate::target::TargetRef::Sandbox(system) => {
            let (t, h) = start(system, home).await?;
            (t, Some(h))
        }
    };
    if let Some(r) = rate {
        target.rate = r;
    }
    if let Some(c) = concurrency {
        target.concurrency = c.max(1);
    }
    Ok((target, sandbox))
}
