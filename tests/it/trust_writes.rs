//! Trust nothing it is told: the real binary through a small in-test proxy (127.0.0.1) in front
//! of the sandbox. A 2xx that is not the system's success shape creates nothing and claims
//! nothing; a server echoing the request leaks no key, token, password or query string into any
//! output; `Retry-After` as an HTTP date is honoured and nothing is sent inside a 429's wait.

use crate::harness::proxy;
use crate::harness::*;
use proxy::{reply, Answer};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

const PW: &str = "Pw-9f3kq!x7";
const ILLIAD_KEY: &str = "sandbox-illiad-key";
const LIBIB_KEY: &str = "sandbox-libib-key";

fn config(dir: &Path, base: &str) {
    std::fs::write(
        dir.join("patron-etl.toml"),
        format!(
            "[targets.sb]\nsystem = \"folio\"\nurl = \"{base}/folio\"\ntenant = \"diku\"\n\
             username = \"diku_admin\"\npassword_env = \"SB_FOLIO_PASSWORD\"\nrate = 50\n\
             concurrency = 4\n\
             [targets.ill]\nsystem = \"illiad\"\nurl = \"{base}/illiad/ILLiadWebPlatform\"\n\
             api_key_env = \"SB_ILLIAD_KEY\"\nnvtgc = \"ILL\"\nrate = 50\nconcurrency = 2\n\
             [targets.lib]\nsystem = \"libib\"\nurl = \"{base}/libib\"\napi_key_env = \"SB_LIBIB_KEY\"\n\
             api_user = \"sandbox-user\"\nrate = 50\n"
        ),
    )
    .unwrap();
}

fn import(dir: &Path, to: &str, mapping: &str, extra: &[&str]) -> Output {
    let mapping = root().join("mappings").join(mapping);
    bin()
        .args(["import", "roster.csv", "--mapping"])
        .arg(mapping)
        .args(["--to", to, "--report", "r.csv"])
        .args(extra)
        .current_dir(dir)
        .env("SB_FOLIO_PASSWORD", PW)
        .env("SB_ILLIAD_KEY", ILLIAD_KEY)
        .env("SB_LIBIB_KEY", LIBIB_KEY)
        .output()
        .expect("binary runs")
}

fn is_create(r: &proxy::Seen) -> bool {
    r.method == "POST"
        && (r.target.starts_with("/folio/users")
            || r.target.starts_with("/illiad/ILLiadWebPlatform/Users")
            || r.target == "/libib/patrons"
            || r.target.starts_with("/libib/patrons?"))
}

fn setup(n: usize) -> (Workdir, Sandbox) {
    let dir = Workdir::new();
    let sb = Sandbox::start(
        dir.path(),
        &["--folio-password", PW, "--libib-interval-ms", "0"],
    );
    write_roster(&dir.path().join("roster.csv"), (0..n).map(|i| (i, None)));
    (dir, sb)
}

#[test]
fn an_html_200_to_every_create_creates_nothing_and_claims_nothing() {
    for (to, mapping) in [
        ("sb", "folio.toml"),
        ("ill", "illiad.toml"),
        ("lib", "libib.toml"),
    ] {
        let (dir, sb) = setup(5);
        let d = dir.path();
        let p = proxy::start(&sb.base, |r, _| {
            if is_create(r) {
                reply(
                    200,
                    "text/html",
                    "<html><body>Down for maintenance</body></html>",
                )
            } else {
                Answer::Forward
            }
        });
        config(d, &p.base);
        let o = import(d, to, mapping, &["--commit"]);
        assert_ne!(o.status.code(), Some(0), "{to}: {}", text(&o));
        assert_eq!(o.status.code(), Some(1), "{to}: {}", text(&o));
        let rows = read_report(&d.join("r.csv"));
        assert_eq!(rows.len(), 5, "{to}");
        for r in &rows {
            assert_eq!(r["outcome"], "failed", "{to}: {r:?}");
            assert!(
                r["reason"].contains("text/html") && r["reason"].contains("not created"),
                "{to}: {r:?}"
            );
            assert_eq!(r["target_id"], "", "{to}: nothing claimed: {r:?}");
        }
        let creates = p
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| is_create(r))
            .count();
        assert_eq!(creates, 5, "{to}: each create sent once, never again");
        // Nothing on the server.
        let stored = match to {
            "sb" => sb.folio_users().len(),
            "ill" => (0..5)
                .filter(|i| illiad_user_exists(&sb, &format!("gen{i}")))
                .count(),
            _ => libib_total(&sb) as usize,
        };
        assert_eq!(stored, 0, "{to}");
    }
}

fn illiad_user_exists(sb: &Sandbox, name: &str) -> bool {
    let r = reqwest::blocking::Client::new()
        .get(format!("{}/illiad/ILLiadWebPlatform/Users/{name}", sb.base))
        .header("ApiKey", ILLIAD_KEY)
        .send()
        .expect("sandbox answers");
    r.status().as_u16() == 200
}

fn libib_total(sb: &Sandbox) -> u64 {
    let v: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/libib/patrons?page=1", sb.base))
        .header("x-api-key", LIBIB_KEY)
        .header("x-api-user", "sandbox-user")
        .send()
        .and_then(|r| r.json())
        .expect("sandbox answers");
    v["total"].as_u64().expect("total")
}

#[test]
fn an_html_200_to_every_update_updates_nothing_and_claims_nothing() {
    let (dir, sb) = setup(4);
    let d = dir.path();
    let p = proxy::start(&sb.base, |r, _| {
        if r.method == "PUT" && r.target.starts_with("/folio/users/") {
            reply(200, "text/html", "<html>Maintenance</html>")
        } else {
            Answer::Forward
        }
    });
    config(d, &p.base);
    let o = import(d, "sb", "folio.toml", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    write_roster(
        &d.join("roster.csv"),
        (0..4).map(|i| (i, Some("Springfield"))),
    );
    let o = import(d, "sb", "folio.toml", &["--commit"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    for r in read_report(&d.join("r.csv")) {
        assert_eq!(r["outcome"], "failed", "{r:?}");
        assert!(
            r["reason"].contains("text/html") && r["reason"].contains("not updated"),
            "{r:?}"
        );
    }
    let puts = p
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 4, "each update sent once");
    for u in sb.folio_users() {
        let city = u["personal"]["addresses"][0]["city"]
            .as_str()
            .unwrap_or_default();
        assert_ne!(city, "Springfield", "{u}");
    }
}

/// Every output file under `d` and the terminal, checked for each secret.
fn assert_nowhere(d: &Path, o: &Output, secrets: &[String]) {
    let terminal = text(o);
    let files = proxy::files_text(d);
    for s in secrets {
        assert!(
            !terminal.contains(s.as_str()),
            "{s:?} on the terminal:\n{terminal}"
        );
        for (path, body) in &files {
            if path
                .file_name()
                .is_some_and(|n| n == "patron-etl.toml" || n == "roster.csv")
            {
                continue; // inputs, not outputs
            }
            if path.ends_with("sandbox-state.json") {
                continue; // the server's own store
            }
            assert!(!body.contains(s.as_str()), "{s:?} in {}", path.display());
        }
    }
}

fn echo_500(r: &proxy::Seen) -> Answer {
    reply(
        500,
        "text/plain",
        format!("Internal error while handling:\n{}", r.echo()),
    )
}

/// Imports `rows` rows into `to` through a proxy answering every request `echo(request)` picks
/// with a 500 that echoes the request.
fn echo_run(
    rows: usize,
    to: &str,
    mapping: &str,
    echo: fn(&proxy::Seen) -> bool,
) -> (Workdir, Sandbox, proxy::Proxy, Output) {
    let (dir, sb) = setup(rows);
    let p = proxy::start(&sb.base, move |r, _| {
        if echo(r) {
            echo_500(r)
        } else {
            Answer::Forward
        }
    });
    config(dir.path(), &p.base);
    let o = import(dir.path(), to, mapping, &["--commit"]);
    (dir, sb, p, o)
}

#[test]
fn an_echoing_500_leaks_no_key_token_password_or_query_string() {
    // FOLIO: the token (seen by the proxy on the create) and the password.
    let t = Instant::now();
    let (dir, _sb, p, o) = echo_run(2, "sb", "folio.toml", is_create);
    let d = dir.path();
    assert!(t.elapsed() < Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let rows = read_report(&d.join("r.csv"));
    assert!(
        rows.iter()
            .all(|r| r["outcome"] == "failed" && r["reason"].contains("HTTP 500")),
        "{rows:?}"
    );
    let token = p
        .seen
        .lock()
        .unwrap()
        .iter()
        .find_map(|r| r.header("x-okapi-token").map(str::to_string))
        .expect("a token was sent");
    assert!(
        rows.iter().any(|r| r["reason"].contains("Internal error")),
        "the message is kept"
    );
    assert_nowhere(d, &o, &[token, PW.to_string()]);

    // FOLIO login answering 500 with the request (and so the password).
    let (dir, _sb, _p, o) = echo_run(1, "sb", "folio.toml", |r| r.target.contains("/authn/"));
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("login"), "{}", text(&o));
    assert_nowhere(dir.path(), &o, &[PW.to_string()]);

    // Libib: the API key and the patron fields of the query string.
    let (dir, _sb, p, o) = echo_run(1, "lib", "libib.toml", is_create);
    let d = dir.path();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let create = p
        .seen
        .lock()
        .unwrap()
        .iter()
        .find(|r| is_create(r))
        .cloned()
        .expect("a create was sent");
    let query = create
        .target
        .split_once('?')
        .map(|(_, q)| q.to_string())
        .unwrap_or_default();
    assert!(query.contains("gen0"), "{query}");
    assert_nowhere(d, &o, &[LIBIB_KEY.to_string(), query.clone()]);
    // The patron's fields: the journal's intents keep what was sent (for undo) by design, and the
    // e-mail is the report's key; no reason, log line or terminal line repeats them.
    let values: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(_, v)| v.into_owned())
        .filter(|v| v.len() >= 6)
        .collect();
    assert!(!values.is_empty());
    let rows = read_report(&d.join("r.csv"));
    assert!(rows[0]["reason"].contains("HTTP 500"), "{rows:?}");
    let conn = rusqlite::Connection::open(d.join(".patron-etl/journal.sqlite")).unwrap();
    let reasons: Vec<String> = conn
        .prepare("SELECT COALESCE(reason, '') FROM row_outcomes")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(reasons.len(), 1);
    let logs: Vec<String> = proxy::files_text(d)
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "log"))
        .map(|(_, t)| t)
        .collect();
    assert!(!logs.is_empty(), "a run log");
    for v in &values {
        for r in reasons
            .iter()
            .chain([&rows[0]["reason"], &text(&o)])
            .chain(&logs)
        {
            assert!(!r.contains(v.as_str()), "{v:?} in {r}");
        }
    }

    // ILLiad: the ApiKey header.
    let (dir, _sb, p, o) = echo_run(1, "ill", "illiad.toml", is_create);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(p.seen.lock().unwrap().iter().any(is_create));
    assert_nowhere(dir.path(), &o, &[ILLIAD_KEY.to_string()]);
}

#[test]
fn retry_after_as_an_http_date_is_honoured_and_the_whole_target_waits() {
    let (dir, sb) = setup(12);
    let d = dir.path();
    let throttled_at: std::sync::Arc<std::sync::Mutex<Option<Instant>>> = Default::default();
    let t2 = throttled_at.clone();
    let p = proxy::start(&sb.base, move |r, _| {
        let mut t = t2.lock().unwrap();
        if is_create(r) && t.is_none() {
            // IMF-fixdate, whole seconds: 4 s from now is a wait of 3–4 s.
            let at = chrono::Utc::now() + chrono::Duration::seconds(4);
            *t = Some(Instant::now());
            return Answer::Reply(
                429,
                vec![(
                    "Retry-After".into(),
                    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
                )],
                b"slow down".to_vec(),
            );
        }
        Answer::Forward
    });
    config(d, &p.base);
    let o = import(d, "sb", "folio.toml", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.folio_users().len(), 12);
    let t429 = throttled_at.lock().unwrap().expect("a 429 was sent");
    let seen = p.seen.lock().unwrap();
    // Requests already on the wire when the 429 left may arrive just after it; none later until
    // the wait (at least 3 s) is over.
    let inside: Vec<Duration> = seen
        .iter()
        .filter(|r| r.at > t429)
        .map(|r| r.at - t429)
        .filter(|d| *d > Duration::from_millis(250) && *d < Duration::from_millis(2900))
        .collect();
    assert!(
        inside.is_empty(),
        "requests inside the 429's wait: {inside:?}"
    );
    let after = seen
        .iter()
        .filter(|r| r.at > t429 + Duration::from_millis(2900))
        .count();
    assert!(after > 0, "the run went on after the wait");
}
