//! The built-in emulators live in the `patron-sandbox` crate (`crates/sandbox`); this module
//! re-exports it as `patron_etl::sandbox` and runs it for the `patron-etl sandbox` command.

pub use patron_sandbox::*;

/// Runs the sandbox until Ctrl-C (or SIGTERM): prints base URLs and credentials, then persists
/// the state on exit.
pub fn run(options: &SandboxOptions) -> anyhow::Result<()> {
    let config = SandboxConfig::from_options(options)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let h = start(config).await?;
        for line in h.banner() {
            crate::outln!("{line}");
        }
        wait_for_stop_signal().await?;
        h.shutdown().await
    })
}
