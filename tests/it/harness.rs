//! The shared harness of the integration tests, in the style of xsv/qsv's `Workdir`: each test
//! gets a [`Workdir`] (a temp dir that is the binary's current dir, so the run home is its
//! `.patron-etl/`), runs the real binary there with [`Workdir::command`] / [`cmd_in`], starts the
//! sandbox as a separate process on 127.0.0.1 (port 0) and talks to it over a real socket, and
//! reads what a run left: its `report.csv` and `summary.json`.
//!
//! All tests share this process: a command's environment is set on the command (the sandbox
//! secrets, `PATRON_ETL_HOME` removed), never with `std::env::set_var`.
#![allow(dead_code)]

pub mod export;
pub mod proxy;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The binary under test, with this process's `PATRON_ETL_HOME` removed (runs live in the
/// command's current dir unless a test says otherwise).
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_patron-etl"));
    c.env_remove("PATRON_ETL_HOME");
    c
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// stdout + stderr as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The one runner every test builds on: the binary with `args` in `dir`, with every sandbox
/// secret (FOLIO password `admin`, the Libib and ILLiad keys) in the command's own environment.
/// A test that needs another value sets it on the returned command (a later `env` wins).
pub fn cmd_in(dir: &Path, args: &[&str]) -> Command {
    let mut c = bin();
    c.args(args)
        .current_dir(dir)
        .env("SB_FOLIO_PASSWORD", "admin")
        .env("SB_LIBIB_KEY", "sandbox-libib-key")
        .env("SB_ILLIAD_KEY", "sandbox-illiad-key");
    c
}

/// Runs [`cmd_in`] to completion.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    cmd_in(dir, args).output().expect("binary runs")
}

/// Starts [`cmd_in`] without waiting; its output is captured (for `wait_with_output`) or
/// discarded.
pub fn spawn_in(dir: &Path, args: &[&str], capture: bool) -> Child {
    let out = || {
        if capture {
            Stdio::piped()
        } else {
            Stdio::null()
        }
    };
    cmd_in(dir, args)
        .stdout(out())
        .stderr(out())
        .spawn()
        .expect("binary starts")
}

/// A test's own directory (removed on drop): the binary's current dir, so its run home is
/// `.patron-etl/` inside it.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    /// A fresh, empty directory.
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The run home the binary uses here (`./.patron-etl`).
    pub fn home(&self) -> PathBuf {
        self.path().join(".patron-etl")
    }

    /// The binary with `args`, run here ([`cmd_in`]).
    pub fn command(&self, args: &[&str]) -> Command {
        cmd_in(self.path(), args)
    }

    /// Runs the binary here to completion ([`run_in`]).
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("binary runs")
    }

    /// Starts the binary here without waiting ([`spawn_in`]).
    pub fn spawn(&self, args: &[&str], capture: bool) -> Child {
        spawn_in(self.path(), args, capture)
    }

    /// Starts a sandbox whose state file is in this directory.
    pub fn sandbox(&self, flags: &[&str]) -> Sandbox {
        Sandbox::start(self.path(), flags)
    }

    /// A run folder's `report.csv` as rows of (header → value).
    pub fn report(&self, run: &Path) -> Vec<HashMap<String, String>> {
        read_report(&run.join("report.csv"))
    }

    /// A run folder's `summary.json`.
    pub fn summary(&self, run: &Path) -> serde_json::Value {
        let s = std::fs::read_to_string(run.join("summary.json")).expect("summary.json");
        serde_json::from_str(&s).expect("summary is JSON")
    }
}

/// A sandbox server running as its own process; killed on drop.
pub struct Sandbox {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The FOLIO admin password the sandbox was started with.
    pub folio_password: String,
}

/// Retries a request made by a test helper: a sandbox started with fault injection fails, throttles
/// and drops the tests' own requests too (only `/_sandbox/*` is exempt).
pub fn with_retries<T>(what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let mut last = String::new();
    for _ in 0..50 {
        match f() {
            Ok(v) => return v,
            Err(e) => last = e,
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{what}: {last}")
}

impl Sandbox {
    /// Starts `patron-etl sandbox` with extra flags on an ephemeral port.
    pub fn start(dir: &Path, flags: &[&str]) -> Sandbox {
        let mut child = bin()
            .args(["sandbox", "--listen", "127.0.0.1:0", "--state"])
            .arg(dir.join("sandbox-state.json"))
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sandbox starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut base = None;
        for line in lines.by_ref() {
            let line = line.expect("line");
            if let Some(i) = line.find("http://127.0.0.1:") {
                let rest = &line[i..];
                let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
                base = Some(rest[..end].trim_end_matches('/').to_string());
                break;
            }
        }
        // keep draining stdout so the server never blocks on a full pipe
        std::thread::spawn(move || for _ in lines {});
        let folio_password = flags
            .iter()
            .position(|f| *f == "--folio-password")
            .and_then(|i| flags.get(i + 1))
            .unwrap_or(&"admin")
            .to_string();
        Sandbox {
            child,
            base: base.expect("sandbox printed its URL"),
            folio_password,
        }
    }

    /// Writes a `patron-etl.toml` in `dir` with target `sb` pointing at this sandbox's FOLIO.
    pub fn folio_config(&self, dir: &Path, extra: &str) -> PathBuf {
        let p = dir.join("patron-etl.toml");
        std::fs::write(
            &p,
            format!(
                "[targets.sb]\nsystem = \"folio\"\nurl = \"{}/folio\"\ntenant = \"diku\"\nusername = \"diku_admin\"\npassword_env = \"SB_FOLIO_PASSWORD\"\n{extra}",
                self.base
            ),
        )
        .unwrap();
        p
    }

    /// Writes `patron-etl.toml` with target `lib` pointing at this sandbox's Libib (API key from
    /// `SB_LIBIB_KEY`), paced at `rate` requests per second.
    pub fn libib_config(&self, dir: &Path, rate: &str) -> PathBuf {
        let p = dir.join("patron-etl.toml");
        std::fs::write(
            &p,
            format!(
                "[targets.lib]\nsystem = \"libib\"\nurl = \"{}/libib\"\napi_key_env = \"SB_LIBIB_KEY\"\napi_user = \"sandbox-user\"\nrate = {rate}\n",
                self.base
            ),
        )
        .unwrap();
        p
    }

    /// GET a JSON document from the sandbox.
    pub fn get(&self, path: &str) -> serde_json::Value {
        let c = reqwest::blocking::Client::new();
        with_retries(path, || {
            c.get(format!("{}{path}", self.base))
                .send()
                .and_then(|r| r.error_for_status())
                .map_err(|e| e.to_string())?
                .json()
                .map_err(|e| e.to_string())
        })
    }

    /// Logs in to the sandbox FOLIO (with the password it was started with) and returns a token.
    pub fn folio_token(&self) -> String {
        let c = reqwest::blocking::Client::new();
        with_retries("login", || {
            let r = c
                .post(format!("{}/folio/authn/login-with-expiry", self.base))
                .header("X-Okapi-Tenant", "diku")
                .json(
                    &serde_json::json!({"username": "diku_admin", "password": self.folio_password}),
                )
                .send()
                .map_err(|e| e.to_string())?;
            let cookie = r
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| v.starts_with("folioAccessToken="))
                .ok_or_else(|| format!("no token cookie (HTTP {})", r.status()))?;
            Ok(cookie["folioAccessToken=".len()..]
                .split(';')
                .next()
                .unwrap_or_default()
                .to_string())
        })
    }

    /// Every FOLIO user in the sandbox.
    pub fn folio_users(&self) -> Vec<serde_json::Value> {
        let token = self.folio_token();
        let c = reqwest::blocking::Client::new();
        let v: serde_json::Value = with_retries("users", || {
            let r = c
                .get(format!("{}/folio/users", self.base))
                .query(&[("query", "cql.allRecords=1 sortBy id"), ("limit", "100000")])
                .header("X-Okapi-Tenant", "diku")
                .header("X-Okapi-Token", &token)
                .send()
                .map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(format!("HTTP {}", r.status()));
            }
            r.json().map_err(|e| e.to_string())
        });
        v["users"].as_array().cloned().unwrap_or_default()
    }

    /// Total write requests (POST/PUT/PATCH/DELETE) and all requests seen under a path prefix,
    /// from `/_sandbox/stats`.
    pub fn counts(&self, prefix: &str) -> (u64, u64) {
        let stats = self.get("/_sandbox/stats");
        let mut writes = 0;
        let mut all = 0;
        if let Some(routes) = stats["requests"].as_object() {
            for (route, n) in routes {
                let n = n.as_u64().unwrap_or(0);
                let mut parts = route.splitn(2, ' ');
                let method = parts.next().unwrap_or("");
                let path = parts.next().unwrap_or("");
                if !path.starts_with(prefix) {
                    continue;
                }
                all += n;
                if matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
                    && !path.contains("/authn/")
                {
                    writes += n;
                }
            }
        }
        (writes, all)
    }
}

impl Sandbox {
    /// Every Libib patron as (e-mail, patron), page by page, waiting out the sandbox's pacing.
    pub fn libib_patrons(&self) -> Vec<(String, serde_json::Value)> {
        let c = reqwest::blocking::Client::new();
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let v: serde_json::Value = loop {
                let r = c
                    .get(format!("{}/libib/patrons?page={page}", self.base))
                    .header("x-api-key", "sandbox-libib-key")
                    .header("x-api-user", "sandbox-user")
                    .send()
                    .expect("sandbox answers");
                if r.status().as_u16() == 429 {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                }
                break r.json().expect("json");
            };
            for p in v["patrons"].as_array().cloned().unwrap_or_default() {
                out.push((p["email"].as_str().unwrap_or("").to_string(), p));
            }
            if page >= v["pages"].as_u64().unwrap_or(0) {
                return out;
            }
            page += 1;
        }
    }

    /// Stops the sandbox as `kill PID` would (SIGTERM: it persists its state and exits), and
    /// waits for it to be gone.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a CSV report into rows of (header → value) maps.
pub fn read_report(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).expect("report");
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Writes a roster shaped like samples/roster.csv (its first row as template), one row per
/// `(i, city)`: Student ID, NetID, Email, Card and Last Name made unique from `i`, City replaced
/// when `city` is given.
pub fn write_roster<'a>(path: &Path, rows: impl IntoIterator<Item = (usize, Option<&'a str>)>) {
    let sample = std::fs::read_to_string(root().join("samples/roster.csv")).unwrap();
    let mut r = csv::Reader::from_reader(sample.as_bytes());
    let headers = r.headers().unwrap().clone();
    let template = r.records().next().unwrap().unwrap();
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(&headers).unwrap();
    for (i, city) in rows {
        let rec: Vec<String> = headers
            .iter()
            .zip(template.iter())
            .map(|(h, v)| match h {
                "Student ID" => format!("8{i:08}"),
                "NetID" => format!("gen{i}"),
                "Email" => format!("gen{i}@example.edu"),
                "Card" => format!("31{i:011}"),
                "Last Name" => format!("Gen{i}"),
                "City" => city.unwrap_or(v).to_string(),
                _ => v.to_string(),
            })
            .collect();
        w.write_record(&rec).unwrap();
    }
    w.flush().unwrap();
}

/// Runs `import FILE --mapping mappings/folio.toml --to sb` plus `extra` in `dir`.
pub fn import_folio(dir: &Path, file: &str, extra: &[&str]) -> Output {
    let mapping = root().join("mappings/folio.toml");
    let mut args = vec![
        "import",
        file,
        "--mapping",
        mapping.to_str().unwrap(),
        "--to",
        "sb",
    ];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}
