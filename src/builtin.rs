//! Built-in sandbox targets (`sandbox:folio`, `sandbox:illiad`, `sandbox:libib`): the emulator
//! started in-process on an ephemeral loopback port, state under `.patron-etl/sandbox/`.

use crate::systems::System;
use crate::target::Target;
use std::path::Path;

/// A running in-process sandbox.
pub struct BuiltinSandbox {
    _private: (),
}

impl BuiltinSandbox {
    /// Stops the sandbox, persisting its state.
    pub async fn shutdown(self) {}
}

/// Starts the built-in sandbox and describes it as a target.
pub async fn start(system: System, workdir: &Path) -> anyhow::Result<(Target, BuiltinSandbox)> {
    let _ = (system, workdir);
    anyhow::bail!("the built-in sandbox is not available yet")
}
