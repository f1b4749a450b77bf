//! The built-in sandbox: emulators of the FOLIO (under `/folio`), ILLiad (under
//! `/illiad/ILLiadWebPlatform`) and Libib (under `/libib`) APIs on loopback, answering with the
//! real APIs' status codes, error shapes, uniqueness rules, paging, auth and pacing, plus seeded
//! fault injection, request stats (`GET /_sandbox/stats`), reset (`POST /_sandbox/reset`), an end
//! to every FOLIO session with the login refused from then on (`POST /_sandbox/folio/revoke`, as a
//! password changed mid-run) and state persisted atomically to a JSON file.
//!
//! Use [`start`] to serve in a background task (tests, built-in `sandbox:*` targets, and the
//! `patron-etl sandbox` command with [`SandboxHandle::banner`] and [`wait_for_stop_signal`]).
//! Credentials are sandbox-only defaults and are printed.
//!
//! This crate depends on nothing of patron-etl's core: every rule comes from the real service's
//! source or documents (cited where it is applied), never from the client it is there to test.
//!
//! Where the public sources are silent the sandbox picks one documented-in-code answer: Libib
//! error bodies are `{"status":"error","message":…}`, its 429 carries `Retry-After`, an unknown
//! Libib id answers 200 with null fields (as observed by users of the real API); ILLiad's
//! `ExternalUserId` maps to `UserName` (the vendor's default; configurable); a duplicate `username` containing "id" gets
//! mod-users' "User with this id already exists" (a real classification quirk).

// Handlers return `Result<_, Response>` so an early error answer is a plain `?`/`return`.
#![allow(clippy::result_large_err)]

mod cql;
mod faults;
mod folio;
mod illiad;
mod jackson;
mod libib;
mod server;
mod state;
mod stats;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use faults::FaultConfig;
pub use stats::Stats;

/// `patron-etl sandbox` options, plain (the command line's clap mirror is the core's `cli.rs`);
/// [`Default`] is what the command does with no flags.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxOptions {
    /// Address to listen on.
    pub listen: String,
    /// File the sandbox state is written to (atomically) and reloaded from.
    pub state: Option<PathBuf>,
    /// Seed for the fault decisions (same seed, same faults for a sequential client).
    pub seed: u64,
    /// Answering time of every API request in milliseconds: no answer leaves sooner than
    /// this after its request arrived (the sandbox's own work included).
    pub latency_ms: u64,
    /// Probability (0–1) of answering 500 without applying the request.
    pub fail_rate: f64,
    /// Probability (0–1) of answering 429 with `Retry-After`.
    pub throttle_rate: f64,
    /// Probability (0–1) of closing the connection without a response (not applied).
    pub drop_rate: f64,
    /// Probability (0–1) that a write is applied and then the connection is closed.
    pub apply_then_drop_rate: f64,
    /// Requests per second across the server; 429 beyond.
    pub rate_limit: Option<u32>,
    /// Close the connection of the first N API requests without answering (e.g. the login).
    pub drop_first: u32,
    /// The `Retry-After` (seconds) of an injected or rate-limit 429 (default 1).
    pub throttle_retry_after: Option<u64>,
    /// Minimum interval between Libib requests per account, in milliseconds (real Libib: 2000).
    pub libib_interval_ms: u64,
    /// FOLIO tenant.
    pub folio_tenant: String,
    /// FOLIO login user name.
    pub folio_username: String,
    /// FOLIO login password.
    pub folio_password: String,
    /// FOLIO access-token lifetime in seconds (real default: 600).
    pub folio_token_ttl_secs: u64,
    /// ILLiad `ApiKey`.
    pub illiad_api_key: String,
    /// ILLiad NVTGC values the sandbox accepts (repeatable).
    pub illiad_nvtgcs: Vec<String>,
    /// Libib `x-api-key`.
    pub libib_api_key: String,
    /// Libib `x-api-user`.
    pub libib_api_user: String,
    /// Longest FOLIO request line (`GET /users?query=… HTTP/1.1`) in bytes; longer ones get 414
    /// (real: Vert.x `maxInitialLineLength`, 4096 by default).
    pub folio_max_request_line: usize,
    /// The ILLiad field `ExternalUserId` maps to (the API key's ExternalUserIDMapping; the
    /// vendor's default is `UserName`).
    pub illiad_external_id_field: String,
    /// A permission the FOLIO login user lacks (repeatable; e.g. `users.item.post`): requests
    /// that need it get 403, to rehearse a first run with a half-configured service account.
    pub folio_denied_permissions: Vec<String>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            listen: "127.0.0.1:8765".into(),
            state: None,
            seed: 0,
            latency_ms: 0,
            fail_rate: 0.0,
            throttle_rate: 0.0,
            drop_rate: 0.0,
            apply_then_drop_rate: 0.0,
            rate_limit: None,
            drop_first: 0,
            throttle_retry_after: None,
            libib_interval_ms: 2000,
            folio_tenant: "diku".into(),
            folio_username: "diku_admin".into(),
            folio_password: "admin".into(),
            folio_token_ttl_secs: 600,
            illiad_api_key: "sandbox-illiad-key".into(),
            illiad_nvtgcs: vec!["ILL".into()],
            libib_api_key: "sandbox-libib-key".into(),
            libib_api_user: "sandbox-user".into(),
            folio_max_request_line: DEFAULT_MAX_REQUEST_LINE,
            illiad_external_id_field: "UserName".into(),
            folio_denied_permissions: Vec::new(),
        }
    }
}

/// Vert.x `HttpServerOptions.DEFAULT_MAX_INITIAL_LINE_LENGTH` (eclipse-vertx/vert.x @ d9e1080b4
/// `vertx-core/src/main/java/io/vertx/core/http/HttpServerOptions.java` line 82): the longest request line Okapi and
/// mod-users accept before answering 414.
pub const DEFAULT_MAX_REQUEST_LINE: usize = 4096;

/// Credentials the emulators accept (sandbox-only defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// FOLIO tenant (`X-Okapi-Tenant`).
    pub folio_tenant: String,
    /// FOLIO user name for `/authn/login*`.
    pub folio_username: String,
    /// FOLIO password.
    pub folio_password: String,
    /// ILLiad `ApiKey` header value.
    pub illiad_api_key: String,
    /// Libib `x-api-key`.
    pub libib_api_key: String,
    /// Libib `x-api-user`.
    pub libib_api_user: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            folio_tenant: "diku".into(),
            folio_username: "diku_admin".into(),
            folio_password: "admin".into(),
            illiad_api_key: "sandbox-illiad-key".into(),
            libib_api_key: "sandbox-libib-key".into(),
            libib_api_user: "sandbox-user".into(),
        }
    }
}

/// How to run a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Address to bind (port 0 = ephemeral).
    pub listen: SocketAddr,
    /// State file: loaded at start (seeded state when missing), saved atomically while running
    /// and at shutdown. `None` = memory only.
    pub state: Option<PathBuf>,
    /// Faults to inject.
    pub faults: FaultConfig,
    /// Minimum interval between Libib requests per account (real: 2 s).
    pub libib_interval: Duration,
    /// Accepted credentials.
    pub credentials: Credentials,
    /// FOLIO access-token lifetime (real default 10 minutes).
    pub folio_token_ttl: Duration,
    /// Whether legacy `POST /authn/login` is enabled (otherwise 404, as on newer systems).
    pub folio_legacy_login: bool,
    /// NVTGC values ILLiad accepts.
    pub illiad_nvtgcs: Vec<String>,
    /// The ILLiad field `ExternalUserId` maps to for this API key (the vendor's default,
    /// `"UserName"`, unless set; illiad-libib-api.md, "ExternalUserId").
    pub illiad_external_id_field: String,
    /// Longest FOLIO request line accepted ([`DEFAULT_MAX_REQUEST_LINE`]); longer: 414.
    pub folio_max_request_line: usize,
    /// Permissions the FOLIO login user lacks (requests needing one get 403).
    pub folio_denied_permissions: Vec<String>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Seed for fault decisions.
    pub seed: u64,
    /// Save the state before answering each write (the built-in sandbox), not only every 500 ms.
    pub persist_each_write: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            state: None,
            faults: FaultConfig::default(),
            libib_interval: Duration::from_secs(2),
            credentials: Credentials::default(),
            folio_token_ttl: Duration::from_secs(600),
            folio_legacy_login: true,
            illiad_nvtgcs: vec!["ILL".into()],
            illiad_external_id_field: "UserName".into(),
            folio_max_request_line: DEFAULT_MAX_REQUEST_LINE,
            folio_denied_permissions: Vec::new(),
            max_body_bytes: 8 * 1024 * 1024,
            seed: 0,
            persist_each_write: false,
        }
    }
}

/// Where built-in `sandbox:*` targets keep state: `<home>/sandbox/state.json` (home: see
/// patron-etl's `runs::home`).
pub fn builtin_state_path(home: &Path) -> PathBuf {
    home.join("sandbox").join("state.json")
}

impl SandboxConfig {
    /// The configuration of built-in `sandbox:folio|illiad|libib` targets: loopback, ephemeral
    /// port, state in [`builtin_state_path`], real Libib pacing, no faults.
    /// ILLiad's key maps `ExternalUserId` to `SSN` here, the setup the sample mappings declare
    /// (`[defaults] external_user_id_field = "SSN"`); `patron-etl sandbox` keeps the vendor's
    /// default, `UserName`.
    pub fn builtin(home: &Path) -> SandboxConfig {
        SandboxConfig {
            state: Some(builtin_state_path(home)),
            // The run journal records a write as done once it is answered; a resume after a
            // crash is truthful only if the answered write is in the state file.
            persist_each_write: true,
            illiad_external_id_field: "SSN".into(),
            ..SandboxConfig::default()
        }
    }

    /// The configuration `patron-etl sandbox` options describe.
    pub fn from_options(args: &SandboxOptions) -> anyhow::Result<SandboxConfig> {
        let listen: SocketAddr = args.listen.parse().map_err(|e| {
            anyhow::anyhow!(
                "--listen {:?}: {e} (expected HOST:PORT, e.g. 127.0.0.1:8765)",
                args.listen
            )
        })?;
        for (name, v) in [
            ("--fail-rate", args.fail_rate),
            ("--throttle-rate", args.throttle_rate),
            ("--drop-rate", args.drop_rate),
            ("--apply-then-drop-rate", args.apply_then_drop_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                anyhow::bail!("{name} {v}: must be between 0 and 1");
            }
        }
        Ok(SandboxConfig {
            listen,
            state: args.state.clone(),
            faults: FaultConfig {
                latency_ms: args.latency_ms,
                fail_rate: args.fail_rate,
                throttle_rate: args.throttle_rate,
                drop_rate: args.drop_rate,
                apply_then_drop_rate: args.apply_then_drop_rate,
                rate_limit: args.rate_limit,
                drop_first: args.drop_first,
                throttle_retry_after: args.throttle_retry_after,
            },
            libib_interval: Duration::from_millis(args.libib_interval_ms),
            credentials: Credentials {
                folio_tenant: args.folio_tenant.clone(),
                folio_username: args.folio_username.clone(),
                folio_password: args.folio_password.clone(),
                illiad_api_key: args.illiad_api_key.clone(),
                libib_api_key: args.libib_api_key.clone(),
                libib_api_user: args.libib_api_user.clone(),
            },
            folio_token_ttl: Duration::from_secs(args.folio_token_ttl_secs),
            illiad_nvtgcs: args.illiad_nvtgcs.clone(),
            illiad_external_id_field: args.illiad_external_id_field.clone(),
            folio_max_request_line: args.folio_max_request_line,
            folio_denied_permissions: args.folio_denied_permissions.clone(),
            seed: args.seed,
            ..SandboxConfig::default()
        })
    }
}

/// A running sandbox.
pub struct SandboxHandle {
    /// The bound address.
    pub addr: SocketAddr,
    app: Arc<server::App>,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    flusher: tokio::task::JoinHandle<()>,
}

impl SandboxHandle {
    /// `http://ADDR` (the `/_sandbox/*` routes live here).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// FOLIO gateway URL (`http://ADDR/folio`).
    pub fn folio_url(&self) -> String {
        format!("http://{}/folio", self.addr)
    }
    /// ILLiad Web Platform base URL (`http://ADDR/illiad/ILLiadWebPlatform`).
    pub fn illiad_url(&self) -> String {
        format!("http://{}/illiad/ILLiadWebPlatform", self.addr)
    }
    /// Libib API base URL (`http://ADDR/libib`).
    pub fn libib_url(&self) -> String {
        format!("http://{}/libib", self.addr)
    }
    /// The credentials this sandbox accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.app.config.credentials
    }
    /// A snapshot of the request counters.
    pub fn stats(&self) -> Stats {
        server::lock(&self.app.stats).clone()
    }
    /// What `patron-etl sandbox` prints at start: base URLs, the sandbox-only credentials, the
    /// `/_sandbox/*` routes and the state file, one line each.
    pub fn banner(&self) -> Vec<String> {
        let c = self.credentials();
        let mut lines = vec![
            format!("patron-etl sandbox listening on {}", self.base_url()),
            format!(
                "  FOLIO   {}   tenant {}  user {}  password {}",
                self.folio_url(),
                c.folio_tenant,
                c.folio_username,
                c.folio_password
            ),
            format!(
                "  ILLiad  {}   ApiKey {}",
                self.illiad_url(),
                c.illiad_api_key
            ),
            format!(
                "  Libib   {}   x-api-key {}  x-api-user {}",
                self.libib_url(),
                c.libib_api_key,
                c.libib_api_user
            ),
            format!(
                "  stats   {}/_sandbox/stats   reset: POST {}/_sandbox/reset",
                self.base_url(),
                self.base_url()
            ),
        ];
        if let Some(p) = &self.app.config.state {
            lines.push(format!("  state   {}", p.display()));
        }
        lines.push("(sandbox-only credentials; Ctrl-C to stop)".into());
        lines
    }
    /// Saves the state file now (no-op without one).
    pub fn persist(&self) -> anyhow::Result<()> {
        self.app.persist()
    }

    /// Stops serving (waiting up to 5 s for in-flight requests) and persists the state.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(5), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
        let _ = self.flusher.await;
        // Only a sandbox that was written saves: a preview sharing the built-in state file with
        // a committing run must not put back the older state it loaded.
        if self.app.dirty.load(std::sync::atomic::Ordering::SeqCst) {
            let app = self.app.clone();
            tokio::task::spawn_blocking(move || app.persist()).await??;
        }
        Ok(())
    }
}

/// Binds `config.listen`, loads the state, and serves in a background task.
pub async fn start(config: SandboxConfig) -> anyhow::Result<SandboxHandle> {
    let data = match &config.state {
        Some(p) => state::Data::load(p)?,
        None => state::Data::seeded(),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("sandbox: cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let faults = faults::Faults::new(config.faults.clone(), config.seed);
    let app = Arc::new(server::App {
        config,
        data: Mutex::new(data),
        dirty: AtomicBool::new(false),
        write_gen: Default::default(),
        saved_gen: Default::default(),
        persist_gate: Default::default(),
        file_gen: Default::default(),
        tokens: Mutex::new(Default::default()),
        folio_revoked: AtomicBool::new(false),
        libib_last: Mutex::new(Default::default()),
        stats: Mutex::new(Stats::default()),
        faults: Mutex::new(faults),
    });
    if app.config.state.as_ref().is_some_and(|p| !p.exists()) {
        app.persist()?;
    }
    let (stop, rx) = tokio::sync::watch::channel(false);
    let mut rx_server = rx.clone();
    let router = server::router(app.clone());
    let server = tokio::spawn(server::serve(listener, router, async move {
        let _ = rx_server.changed().await;
    }));
    let flusher = tokio::spawn(server::flusher(app.clone(), Duration::from_millis(500), rx));
    Ok(SandboxHandle {
        addr,
        app,
        stop,
        server,
        flusher,
    })
}

/// Resolves on Ctrl-C (and, on Unix, SIGTERM), so `kill PID` also persists the state.
pub async fn wait_for_stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok(())
    }
}
