//! Libib import end to end: the real binary against the sandbox (a separate process, or the
//! built-in one), with the sandbox enforcing Libib's pacing (shortened to 20 ms per request).

use crate::harness::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

const INTERVAL_MS: &str = "20";
/// One request per 25 ms: 1.25 × the sandbox's interval, as the default 2.5 s is to Libib's 2 s.
const RATE: &str = "40";

/// Writes a roster of `n` valid rows shaped like samples/roster.csv.
fn generated_roster(path: &Path, n: usize) {
    write_roster(path, (0..n).map(|i| (i, None)));
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    cmd_in(dir, args)
        .envs(env.iter().copied())
        .output()
        .expect("binary runs")
}

fn import(dir: &Path, file: &str, to: &str, extra: &[&str]) -> Output {
    let mapping = root().join("mappings/libib.toml");
    let mut args = vec![
        "import",
        file,
        "--mapping",
        mapping.to_str().unwrap(),
        "--to",
        to,
    ];
    args.extend_from_slice(extra);
    run(
        dir,
        &args,
        &[("PATRON_ETL_SANDBOX_LIBIB_INTERVAL_MS", INTERVAL_MS)],
    )
}

fn outcomes(rows: &[HashMap<String, String>]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for r in rows {
        *m.entry(r["outcome"].clone()).or_default() += 1;
    }
    m
}

/// A Libib API call from the test itself, waiting out the sandbox's pacing.
fn libib(sb: &Sandbox, method: reqwest::Method, path: &str) -> Value {
    let c = reqwest::blocking::Client::new();
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(25));
        let r = c
            .request(method.clone(), format!("{}/libib{path}", sb.base))
            .header("x-api-key", "sandbox-libib-key")
            .header("x-api-user", "sandbox-user")
            .send()
            .expect("sandbox answers");
        if r.status().as_u16() == 429 {
            continue;
        }
        assert!(r.status().is_success(), "{path}: {}", r.status());
        return r.json().expect("json");
    }
    panic!("{path}: still throttled")
}

/// Every patron in the sandbox, by barcode.
fn patrons(sb: &Sandbox) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    let mut page = 1;
    loop {
        let v = libib(sb, reqwest::Method::GET, &format!("/patrons?page={page}"));
        for p in v["patrons"].as_array().cloned().unwrap_or_default() {
            out.insert(p["barcode"].as_str().unwrap().to_string(), p);
        }
        if page >= v["pages"].as_u64().unwrap_or(0) {
            return out;
        }
        page += 1;
    }
}

fn route_count(sb: &Sandbox, route: &str) -> u64 {
    sb.get("/_sandbox/stats")["requests"][route]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn paced_200_rows_then_unchanged_then_two_targeted_updates() {
    let dir = Workdir::new();
    let d = dir.path();
    // The sandbox enforces the (shortened) pacing with 429s; a few extra 429s are injected so
    // the run is sure to meet some.
    let sb = Sandbox::start(
        d,
        &[
            "--libib-interval-ms",
            INTERVAL_MS,
            "--throttle-rate",
            "0.01",
            "--seed",
            "5",
        ],
    );
    sb.libib_config(d, RATE);
    generated_roster(&d.join("roster.csv"), 200);

    let o = import(
        d,
        "roster.csv",
        "lib",
        &["--commit", "--report", "first.csv"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let first = read_report(&d.join("first.csv"));
    assert_eq!(first.len(), 200);
    assert_eq!(
        outcomes(&first).get("created"),
        Some(&200),
        "{:?}",
        outcomes(&first)
    );
    let throttled = sb.get("/_sandbox/stats")["statuses"]["429"]
        .as_u64()
        .unwrap_or(0);
    assert!(throttled > 0, "the run met no 429 at all");
    eprintln!("429 answers during the 200-row import: {throttled}");

    // Every assigned barcode is in the report, and it is the stored patron's.
    let stored = patrons(&sb);
    assert_eq!(stored.len(), 200, "no duplicates, none missing");
    for r in &first {
        let b = &r["target_id"];
        assert!(b.len() == 13 && b.starts_with("202"), "barcode {b:?}");
        assert_eq!(stored[b]["email"], r["key"].as_str(), "{r:?}");
    }

    // Unchanged re-run: no write at all.
    let writes_before = sb.counts("/libib").0;
    let o = import(
        d,
        "roster.csv",
        "lib",
        &["--commit", "--report", "second.csv"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let second = read_report(&d.join("second.csv"));
    assert_eq!(outcomes(&second).get("unchanged"), Some(&200));
    assert_eq!(
        sb.counts("/libib").0,
        writes_before,
        "an unchanged re-run writes nothing"
    );

    // The desk changes gen7's phone in Libib (phone is protected in the mapping); the roster
    // then changes gen7's last name and gen42's city.
    let b7 = first[7]["target_id"].clone();
    let b42 = first[42]["target_id"].clone();
    libib(
        &sb,
        reqwest::Method::POST,
        &format!("/patrons/{b7}?phone=555-0000"),
    );
    let text_in = std::fs::read_to_string(d.join("roster.csv")).unwrap();
    let mut lines: Vec<String> = text_in.lines().map(str::to_string).collect();
    lines[8] = lines[8].replace("Gen7", "Gen-Seven");
    assert!(lines[43].contains(",Madison,"));
    lines[43] = lines[43].replace(",Madison,", ",Verona,");
    std::fs::write(d.join("changed.csv"), lines.join("\n") + "\n").unwrap();

    let creates = route_count(&sb, "POST /libib/patrons");
    let updates = route_count(&sb, "POST /libib/patrons/{id}");
    let throttled = sb.get("/_sandbox/stats")["statuses"]["429"]
        .as_u64()
        .unwrap_or(0);
    let o = import(
        d,
        "changed.csv",
        "lib",
        &["--commit", "--report", "third.csv"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        route_count(&sb, "POST /libib/patrons"),
        creates,
        "no create"
    );
    // Route counts include attempts answered 429 (not applied), so allow for those.
    let sent = route_count(&sb, "POST /libib/patrons/{id}") - updates;
    let throttled = sb.get("/_sandbox/stats")["statuses"]["429"]
        .as_u64()
        .unwrap_or(0)
        - throttled;
    assert!(
        (2..=2 + throttled).contains(&sent),
        "exactly two updates were applied: {sent} sent, {throttled} throttled"
    );
    let third = read_report(&d.join("third.csv"));
    let oc = outcomes(&third);
    assert_eq!(
        (oc.get("updated"), oc.get("unchanged")),
        (Some(&2), Some(&198)),
        "{oc:?}"
    );
    let by_line: HashMap<&str, &HashMap<String, String>> =
        third.iter().map(|r| (r["line"].as_str(), r)).collect();
    assert_eq!(by_line["9"]["outcome"], "updated");
    assert_eq!(
        by_line["9"]["changed_fields"],
        "last_name: \"Gen7\" → \"Gen-Seven\""
    );
    assert_eq!(
        by_line["44"]["changed_fields"],
        "city: \"Madison\" → \"Verona\""
    );
    let stored = patrons(&sb);
    assert_eq!(stored[&b7]["last_name"], "Gen-Seven");
    assert_eq!(
        stored[&b7]["phone"], "555-0000",
        "only the changed field was sent: the desk's phone survives"
    );
    assert_eq!(stored[&b42]["city"], "Verona");
    assert_eq!(stored.len(), 200);
}

#[test]
fn builtin_limit_4_twice_created_then_unchanged_and_no_query_strings_anywhere() {
    let dir = Workdir::new();
    let d = dir.path();
    std::fs::copy(root().join("samples/roster.csv"), d.join("roster.csv")).unwrap();
    let args = ["--limit", "4", "--commit", "-v"];
    let o1 = import(
        d,
        "roster.csv",
        "sandbox:libib",
        &[&args[..], &["--report", "a.csv"]].concat(),
    );
    assert_eq!(o1.status.code(), Some(0), "{}", text(&o1));
    let a = read_report(&d.join("a.csv"));
    assert_eq!(outcomes(&a).get("created"), Some(&4), "{}", text(&o1));
    assert!(a.iter().all(|r| r["target_id"].starts_with("202")));
    let o2 = import(
        d,
        "roster.csv",
        "sandbox:libib",
        &[&args[..], &["--report", "b.csv"]].concat(),
    );
    assert_eq!(o2.status.code(), Some(0), "{}", text(&o2));
    let b = read_report(&d.join("b.csv"));
    assert_eq!(outcomes(&b).get("unchanged"), Some(&4), "{}", text(&o2));
    assert_eq!(
        a.iter().map(|r| &r["target_id"]).collect::<Vec<_>>(),
        b.iter().map(|r| &r["target_id"]).collect::<Vec<_>>()
    );
    assert!(text(&o2).contains("(0 writes)"), "{}", text(&o2));

    // Query strings (patron data) appear in no output, log or report.
    let mut everything = text(&o1) + &text(&o2);
    for entry in walk(&d.join(".patron-etl/runs")) {
        everything += &std::fs::read_to_string(entry).unwrap_or_default();
    }
    everything += &std::fs::read_to_string(d.join("a.csv")).unwrap();
    for needle in [
        "first_name=",
        "last_name=",
        "email=",
        "?page",
        "sandbox-libib-key",
    ] {
        assert!(
            !everything.contains(needle),
            "{needle} leaked:\n{everything}"
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn interrupted_creates_are_looked_up_not_duplicated() {
    let dir = Workdir::new();
    let d = dir.path();
    // Writes are applied and then the connection is dropped, or answered 500 unapplied.
    let sb = Sandbox::start(
        d,
        &[
            "--libib-interval-ms",
            INTERVAL_MS,
            "--apply-then-drop-rate",
            "0.3",
            "--fail-rate",
            "0.1",
            "--seed",
            "11",
        ],
    );
    sb.libib_config(d, RATE);
    generated_roster(&d.join("roster.csv"), 20);
    let o = import(d, "roster.csv", "lib", &["--commit", "--report", "r.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows = read_report(&d.join("r.csv"));
    assert_eq!(
        outcomes(&rows).get("created"),
        Some(&20),
        "{:?}",
        outcomes(&rows)
    );
    let dropped = sb.get("/_sandbox/stats")["statuses"]["dropped"]
        .as_u64()
        .unwrap_or(0);
    assert!(dropped > 0, "the faults were exercised");
    let stored = patrons(&sb);
    assert_eq!(stored.len(), 20, "no patron created twice");
    for r in &rows {
        assert_eq!(stored[&r["target_id"]]["email"], r["key"].as_str());
    }
}

#[test]
fn bad_credentials_exit_3_before_any_row() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&["--libib-interval-ms", INTERVAL_MS]);
    sb.libib_config(d, RATE);
    std::fs::copy(root().join("samples/roster.csv"), d.join("roster.csv")).unwrap();
    let mapping = root().join("mappings/libib.toml");
    let o = run(
        d,
        &[
            "import",
            "roster.csv",
            "--mapping",
            mapping.to_str().unwrap(),
            "--to",
            "lib",
            "--commit",
        ],
        &[("SB_LIBIB_KEY", "wrong-key")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(!text(&o).contains("wrong-key"), "{}", text(&o));
    assert_eq!(sb.counts("/libib").0, 0, "nothing written");
}
