//! Targets: the built-in sandbox (`sandbox:folio`, `sandbox:illiad`, `sandbox:libib`) or a named
//! entry of `patron-etl.toml`. Secrets come from environment variables or files, never flags.

use crate::exit::UsageError;
use crate::http::RetryPolicy;
use crate::secret::Secret;
use crate::systems::connector::TargetSecret;
use crate::systems::System;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// One `[targets.NAME]` table, as the config file writes it (every system's keys; each system
/// reads its own into its config, see [`SystemConfig`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetEntry {
    /// folio | illiad | libib.
    pub system: String,
    /// Base URL (https; plain http only to loopback).
    pub url: String,
    /// FOLIO tenant.
    pub tenant: Option<String>,
    /// FOLIO login name.
    pub username: Option<String>,
    /// Environment variable holding the FOLIO password.
    pub password_env: Option<String>,
    /// File holding the FOLIO password.
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the ILLiad or Libib API key.
    pub api_key_env: Option<String>,
    /// File holding the ILLiad or Libib API key.
    pub api_key_file: Option<PathBuf>,
    /// Libib `x-api-user`.
    pub api_user: Option<String>,
    /// Libib `x-api-ultimate` (Ultimate accounts), if any.
    pub api_ultimate: Option<String>,
    /// ILLiad site code sent as NVTGC when the mapping gives none.
    pub nvtgc: Option<String>,
    /// Requests per second.
    pub rate: Option<f64>,
    /// Requests in flight.
    pub concurrency: Option<usize>,
    /// Per-request timeout in seconds.
    pub timeout_secs: Option<u64>,
    /// Retries after a request's first attempt (see [`crate::http::retry`]).
    pub retries: Option<u32>,
    /// First backoff ceiling between retries, in milliseconds.
    pub retry_base_ms: Option<u64>,
    /// Largest backoff ceiling between retries, in milliseconds (raised to the base if lower).
    pub retry_cap_ms: Option<u64>,
}

impl TargetEntry {
    /// The target's retry policy: each of `retries`, `retry_base_ms`, `retry_cap_ms` that is set,
    /// the rest from [`RetryPolicy::default`] (`PATRON_ETL_RETRY`, else 6 retries from 200 ms to
    /// 20 s).
    fn retry(&self) -> RetryPolicy {
        let d = RetryPolicy::default();
        let base = self.retry_base_ms.map_or(d.base, Duration::from_millis);
        RetryPolicy {
            max_retries: self.retries.unwrap_or(d.max_retries),
            base,
            cap: self
                .retry_cap_ms
                .map_or(d.cap, Duration::from_millis)
                .max(base),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    targets: BTreeMap<String, TargetEntry>,
    /// `[notify]`: the command that receives each run's summary (see `notify.rs`).
    #[serde(default)]
    notify: Option<crate::notify::NotifyTable>,
}

/// Parses a config file's text (errors name the file and line).
fn parse_config(path: &Path, text: &str) -> Result<ConfigFile, UsageError> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        UsageError(format!(
            "{}{}: {}",
            path.display(),
            line.map(|l| format!(":{l}")).unwrap_or_default(),
            e.message()
        ))
    })
}

/// The `[notify]` table of the config file at `path`, if it has one.
pub fn notify_table(path: &Path) -> Result<Option<crate::notify::NotifyTable>, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "{}: cannot read the config file: {e}",
            path.display()
        ))
    })?;
    Ok(parse_config(path, &text)?.notify)
}

/// A resolved, ready-to-use target.
#[derive(Debug, Clone)]
pub struct Target {
    /// The name the user gave.
    pub name: String,
    /// The system behind it.
    pub system: System,
    /// Base URL, without a trailing slash.
    pub url: String,
    /// The password (a system whose target secret is a password: FOLIO).
    pub password: Option<Secret>,
    /// The API key (a system whose target secret is an API key: ILLiad, Libib).
    pub api_key: Option<Secret>,
    /// The system's own settings (its config struct, in `systems/<system>/config.rs`); read them
    /// with [`Target::config`].
    pub system_config: Arc<dyn SystemConfig>,
    /// Requests per second.
    pub rate: f64,
    /// Requests in flight.
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// How requests are retried (`retries`, `retry_base_ms`, `retry_cap_ms`).
    pub retry: RetryPolicy,
}

/// A system's own part of a target's configuration (FOLIO's tenant, ILLiad's NVTGC, …). Each
/// system defines its struct in its folder and builds it from the [`TargetEntry`]
/// (`SchemaSide::target_config`); its own code reads it back with [`Target::config`].
pub trait SystemConfig: std::fmt::Debug + Send + Sync + 'static {
    /// The struct itself, for [`Target::config`].
    fn as_any(&self) -> &dyn std::any::Any;
}

impl Target {
    /// This target's system settings as `T` (its system's config struct); a usage error naming
    /// the target when they are of another system.
    pub fn config<T: SystemConfig>(&self) -> Result<&T, UsageError> {
        self.system_config
            .as_any()
            .downcast_ref::<T>()
            .ok_or_else(|| {
                UsageError(format!(
                    "target {}: its settings are not those of a {} target",
                    self.name, self.system
                ))
            })
    }
}

/// What `--to`/`--from` names.
#[derive(Debug, Clone)]
pub enum TargetRef {
    /// The built-in in-process sandbox for one system.
    Sandbox(System),
    /// A configured target.
    Configured(Box<Target>),
}

/// Default pacing per system (each system's `default_pacing` gives its source).
pub fn default_pacing(system: System) -> (f64, usize) {
    crate::systems::registry::schema(system).default_pacing()
}

fn read_secret(
    env: &Option<String>,
    file: &Option<PathBuf>,
    what: &str,
    target: &str,
) -> Result<Option<Secret>, UsageError> {
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
            _ => Err(UsageError(format!(
                "target {target}: the {what} is to come from environment variable {var}, which is not set"
            ))),
        };
    }
    if let Some(path) = file {
        return match std::fs::read_to_string(path) {
            Ok(v) => Ok(Some(Secret::new(v.trim_end_matches(['\r', '\n'])))),
            Err(e) => Err(UsageError(format!(
                "target {target}: cannot read the {what} file {}: {e}",
                path.display()
            ))),
        };
    }
    Ok(None)
}

/// Whether a URL is plain http to somewhere other than loopback (refused: credentials would
/// travel in clear text).
fn insecure(url: &url::Url) -> bool {
    if url.scheme() != "http" {
        return false;
    }
    match url.host() {
        Some(url::Host::Domain(d)) => d != "localhost",
        Some(url::Host::Ipv4(ip)) => !ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => !ip.is_loopback(),
        None => true,
    }
}

/// Resolves a target name: `sandbox:<system>` or an entry in the config file (`--config PATH`,
/// else `patron-etl.toml` in the working directory).
pub fn resolve(name: &str, config: Option<&Path>) -> Result<TargetRef, UsageError> {
    if let Some(sys) = name.strip_prefix("sandbox:") {
        return System::parse(sys).map(TargetRef::Sandbox).ok_or_else(|| {
            UsageError(format!(
                "unknown sandbox system {sys:?}: use sandbox:folio, sandbox:illiad or sandbox:libib"
            ))
        });
    }
    let path = config
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("patron-etl.toml"));
    let text = std::fs::read_to_string(&path).map_err(|e| {
        UsageError(format!(
            "target {name:?} is not a sandbox target and the config file {} cannot be read ({e}); \
             use --to sandbox:folio|illiad|libib or define [targets.{name}] there",
            path.display()
        ))
    })?;
    let file = parse_config(&path, &text)?;
    let entry = file.targets.get(name).ok_or_else(|| {
        let names: Vec<&str> = file.targets.keys().map(String::as_str).collect();
        UsageError(format!(
            "{}: no [targets.{name}] (defined: {})",
            path.display(),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ))
    })?;
    let system = System::parse(&entry.system).ok_or_else(|| {
        UsageError(format!(
            "{}: targets.{name}.system = {:?}: use folio, illiad or libib",
            path.display(),
            entry.system
        ))
    })?;
    let url = url::Url::parse(&entry.url)
        .map_err(|e| UsageError(format!("{}: targets.{name}.url: {e}", path.display())))?;
    // Never echo the URL here: it is the thing that may hold a credential.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UsageError(format!(
            "{}: targets.{name}.url carries a user name or password; remove it from the URL and \
             use password_env/password_file or api_key_env/api_key_file",
            path.display()
        )));
    }
    if url.query().is_some() {
        return Err(UsageError(format!(
            "{}: targets.{name}.url has a query string (it could carry a key); give the API root \
             only",
            path.display()
        )));
    }
    if insecure(&url) {
        return Err(UsageError(format!(
            "{}: targets.{name}.url uses plain http to a non-loopback host; use https",
            path.display()
        )));
    }
    let (rate, concurrency) = default_pacing(system);
    let password = read_secret(&entry.password_env, &entry.password_file, "password", name)?;
    let api_key = read_secret(&entry.api_key_env, &entry.api_key_file, "API key", name)?;
    let missing = match crate::systems::registry::schema(system).target_secret() {
        TargetSecret::Password => password
            .is_none()
            .then_some("password_env or password_file"),
        TargetSecret::ApiKey => api_key.is_none().then_some("api_key_env or api_key_file"),
    };
    if let Some(needed) = missing {
        return Err(UsageError(format!(
            "{}: targets.{name} needs {needed}",
            path.display()
        )));
    }
    Ok(TargetRef::Configured(Box::new(Target {
        name: name.to_string(),
        system,
        url: entry.url.trim_end_matches('/').to_string(),
        password,
        api_key,
        system_config: crate::systems::registry::schema(system).target_config(entry),
        rate: entry.rate.unwrap_or(rate),
        concurrency: entry.concurrency.unwrap_or(concurrency),
        timeout: Duration::from_secs(entry.timeout_secs.unwrap_or(30)),
        retry: entry.retry(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_names() {
        assert!(matches!(
            resolve("sandbox:folio", None),
            Ok(TargetRef::Sandbox(System::Folio))
        ));
        assert!(resolve("sandbox:koha", None).is_err());
    }

    #[test]
    fn config_targets_and_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.toml");
        std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
        std::fs::write(
            &cfg,
            format!(
                "[targets.campus]\nsystem = \"folio\"\nurl = \"https://okapi.example.edu/\"\ntenant = \"diku\"\nusername = \"etl\"\npassword_file = \"{}\"\nrate = 5\n[targets.plain]\nsystem = \"folio\"\nurl = \"http://okapi.example.edu\"\npassword_file = \"x\"\n",
                dir.path().join("pw").display()
            ),
        )
        .unwrap();
        let TargetRef::Configured(t) = resolve("campus", Some(&cfg)).unwrap() else {
            panic!("configured")
        };
        assert_eq!(t.url, "https://okapi.example.edu");
        assert_eq!(t.password.as_ref().unwrap().expose(), "s3cret");
        assert_eq!(t.rate, 5.0);
        assert_eq!(t.concurrency, 4);
        assert!(!format!("{t:?}").contains("s3cret"));
        let err = resolve("plain", Some(&cfg)).unwrap_err().0;
        assert!(err.contains("plain http"), "{err}");
        let err = resolve("nope", Some(&cfg)).unwrap_err().0;
        assert!(err.contains("campus"), "{err}");
    }

    #[test]
    fn each_system_reads_its_own_settings_from_the_target_table() {
        use crate::systems::folio::config::FolioConfig;
        use crate::systems::illiad::config::IlliadConfig;
        use crate::systems::libib::config::LibibConfig;
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.toml");
        std::env::set_var("PATRON_ETL_TEST_TARGET_KEY", "k3y");
        std::fs::write(
            &cfg,
            "[targets.f]\nsystem = \"folio\"\nurl = \"https://okapi.example.edu\"\ntenant = \"diku\"\nusername = \"etl\"\npassword_env = \"PATRON_ETL_TEST_TARGET_KEY\"\n\
             [targets.i]\nsystem = \"illiad\"\nurl = \"https://ill.example.edu\"\nnvtgc = \"ILL\"\napi_key_env = \"PATRON_ETL_TEST_TARGET_KEY\"\n\
             [targets.l]\nsystem = \"libib\"\nurl = \"https://api.libib.com\"\napi_user = \"u1\"\napi_ultimate = \"ult\"\napi_key_env = \"PATRON_ETL_TEST_TARGET_KEY\"\n\
             [targets.nokey]\nsystem = \"illiad\"\nurl = \"https://ill.example.edu\"\n",
        )
        .unwrap();
        let get = |name: &str| match resolve(name, Some(&cfg)).unwrap() {
            TargetRef::Configured(t) => t,
            TargetRef::Sandbox(_) => panic!("configured"),
        };
        let f = get("f");
        let folio = f.config::<FolioConfig>().unwrap();
        assert_eq!(
            (folio.tenant.as_str(), folio.username.as_str()),
            ("diku", "etl")
        );
        // Another system's settings are a usage error naming the target, never a panic.
        let e = f.config::<IlliadConfig>().unwrap_err().0;
        assert!(e.contains("target f"), "{e}");
        assert_eq!(
            get("i").config::<IlliadConfig>().unwrap().nvtgc.as_deref(),
            Some("ILL")
        );
        let l = get("l");
        let libib = l.config::<LibibConfig>().unwrap();
        assert_eq!(libib.api_user.as_deref(), Some("u1"));
        assert_eq!(libib.api_ultimate.as_ref().unwrap().expose(), "ult");
        assert!(!format!("{l:?}").contains("ult\""), "{l:?}");
        let e = resolve("nokey", Some(&cfg)).unwrap_err().0;
        assert!(e.contains("needs api_key_env or api_key_file"), "{e}");
    }

    #[test]
    fn the_retry_policy_is_set_per_target() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.toml");
        let key = dir.path().join("k");
        std::fs::write(&key, "key").unwrap();
        let table = |name: &str, extra: &str| {
            format!(
                "[targets.{name}]\nsystem = \"libib\"\nurl = \"https://api.libib.com\"\n\
                 api_key_file = {:?}\n{extra}",
                key.display().to_string()
            )
        };
        std::fs::write(
            &cfg,
            table(
                "quick",
                "retries = 2\nretry_base_ms = 10\nretry_cap_ms = 5\n",
            ) + &table("plain", ""),
        )
        .unwrap();
        let policy = |name: &str| match resolve(name, Some(&cfg)) {
            Ok(TargetRef::Configured(t)) => t.retry,
            other => panic!("{other:?}"),
        };
        let quick = policy("quick");
        assert_eq!(quick.max_retries, 2);
        // A cap below the base is raised to it.
        assert_eq!(
            (quick.base, quick.cap),
            (Duration::from_millis(10), Duration::from_millis(10))
        );
        assert_eq!(policy("plain"), RetryPolicy::default());
    }

    #[test]
    fn credentials_in_a_url_are_refused_without_being_shown() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.toml");
        std::fs::write(
            &cfg,
            "[targets.a]\nsystem = \"folio\"\nurl = \"https://etl:pa55word@okapi.example.edu\"\n\
             [targets.b]\nsystem = \"libib\"\nurl = \"https://api.libib.com/?key=s3cr3tkey\"\n",
        )
        .unwrap();
        let err = resolve("a", Some(&cfg)).unwrap_err().0;
        assert!(
            err.contains("user name or password") && !err.contains("pa55word"),
            "{err}"
        );
        let err = resolve("b", Some(&cfg)).unwrap_err().0;
        assert!(
            err.contains("query string") && !err.contains("s3cr3tkey"),
            "{err}"
        );
    }
}
