//! ILLiad import end to end: the real binary against the sandbox in a separate process.

use crate::harness::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

fn illiad_config(sb: &Sandbox, dir: &Path, path: &str) {
    std::fs::write(
        dir.join("patron-etl.toml"),
        format!(
            "[targets.ill]\nsystem = \"illiad\"\nurl = \"{}{path}\"\napi_key_env = \"SB_ILLIAD_KEY\"\nnvtgc = \"ILL\"\nrate = 200\nconcurrency = 4\n",
            sb.base
        ),
    )
    .unwrap();
}

fn import(dir: &Path, mapping: &Path, key: &str, extra: &[&str]) -> Output {
    bin()
        .args(["import", "roster.csv", "--mapping"])
        .arg(mapping)
        .args(["--to", "ill"])
        .args(extra)
        .current_dir(dir)
        .env("SB_ILLIAD_KEY", key)
        .output()
        .expect("binary runs")
}

fn outcomes(rows: &[HashMap<String, String>]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for r in rows {
        *m.entry(r["outcome"].clone()).or_default() += 1;
    }
    m
}

/// `GET Users/{name}`, retrying the sandbox's injected 500s and dropped connections.
fn user(sb: &Sandbox, name: &str) -> Option<Value> {
    let c = reqwest::blocking::Client::new();
    for _ in 0..20 {
        let Ok(r) = c
            .get(format!("{}/illiad/ILLiadWebPlatform/Users/{name}", sb.base))
            .header("ApiKey", "sandbox-illiad-key")
            .send()
        else {
            continue;
        };
        match r.status().as_u16() {
            200 => return Some(r.json().expect("json")),
            404 => return None,
            _ => continue,
        }
    }
    panic!("the sandbox kept failing")
}

fn posts(sb: &Sandbox) -> u64 {
    sb.get("/_sandbox/stats")["requests"]["POST /illiad/ILLiadWebPlatform/Users"]
        .as_u64()
        .unwrap_or(0)
}

const KEY: &str = "sandbox-illiad-key";

/// The sample mapping is written for an API key mapping ExternalUserId to SSN.
const SSN_KEY: &[&str] = &["--illiad-external-id-field", "SSN"];

#[test]
fn first_import_creates_every_valid_row_and_a_rerun_is_all_exists_without_posts() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(SSN_KEY);
    illiad_config(&sb, d, "/illiad/ILLiadWebPlatform");
    std::fs::copy(root().join("samples/roster.csv"), d.join("roster.csv")).unwrap();
    let mapping = root().join("mappings/illiad.toml");

    let o = import(d, &mapping, KEY, &["--report", "preview.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(posts(&sb), 0, "a preview sends no POST");
    let preview = read_report(&d.join("preview.csv"));
    let valid = outcomes(&preview)["would_create"];
    assert_eq!(valid, 44, "{:?}", outcomes(&preview));

    let o = import(d, &mapping, KEY, &["--commit", "--report", "first.csv"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the sample has bad rows: {}",
        text(&o)
    );
    let first = read_report(&d.join("first.csv"));
    assert_eq!(first.len(), 50, "one line per row");
    assert_eq!(outcomes(&first)["created"], valid, "{:?}", outcomes(&first));
    assert_eq!(posts(&sb), valid as u64);
    let u = user(&sb, "jnunez").expect("created");
    assert_eq!(u["NVTGC"], "ILL");
    assert_eq!(u["Cleared"], "Yes");
    assert_eq!(u["ExternalUserId"], "900100231");
    assert!(u["ExpirationDate"]
        .as_str()
        .unwrap()
        .starts_with("2027-05-31"));

    let o = import(d, &mapping, KEY, &["--commit", "--report", "second.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(posts(&sb), valid as u64, "a re-run sends no POST");
    let second = read_report(&d.join("second.csv"));
    assert_eq!(
        outcomes(&second)["exists"],
        valid,
        "{:?}",
        outcomes(&second)
    );
    assert!(second
        .iter()
        .filter(|r| r["outcome"] == "exists")
        .all(|r| r["changed_fields"].is_empty() && r["target_id"] == r["key"]));

    // A changed phone: still `exists` (no update API), with the difference listed.
    let roster = std::fs::read_to_string(d.join("roster.csv")).unwrap();
    std::fs::write(
        d.join("roster.csv"),
        roster.replace("(608) 555-0142", "(608) 555-9999"),
    )
    .unwrap();
    let o = import(
        d,
        &mapping,
        KEY,
        &["--commit", "--limit", "1", "--report", "third.csv"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let third = read_report(&d.join("third.csv"));
    assert_eq!(third[0]["outcome"], "exists");
    assert_eq!(
        third[0]["changed_fields"],
        "Phone: \"608-555-0142\" → \"608-555-9999\""
    );
    assert_eq!(posts(&sb), valid as u64);

    // Matching on ExternalUserId: lines 12 and 47 share a Student ID. The in-file check rejects
    // line 47; ILLiad, which holds both users from the UserName run, reports line 12's id as
    // "Could not find unique user" → conflict.
    let by_ext = std::fs::read_to_string(&mapping)
        .unwrap()
        .replace("match = \"UserName\"", "match = \"ExternalUserId\"");
    std::fs::write(d.join("by-ext.toml"), by_ext).unwrap();
    let o = import(d, &d.join("by-ext.toml"), KEY, &["--report", "fourth.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let fourth = read_report(&d.join("fourth.csv"));
    let conflicts: Vec<&str> = fourth
        .iter()
        .filter(|r| r["outcome"] == "conflict")
        .map(|r| r["line"].as_str())
        .collect();
    assert_eq!(conflicts, ["12"], "{:?}", outcomes(&fourth));
    assert!(fourth[10]["reason"].contains("Could not find unique user"));
    assert_eq!(fourth[45]["outcome"], "rejected");
    assert!(fourth[45]["reason"].contains("duplicate match key"));
}

#[test]
fn bad_key_or_url_exits_3_before_any_row() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(SSN_KEY);
    std::fs::copy(root().join("samples/roster.csv"), d.join("roster.csv")).unwrap();
    let mapping = root().join("mappings/illiad.toml");

    illiad_config(&sb, d, "/illiad/ILLiadWebPlatform");
    let o = import(d, &mapping, "not-the-key", &["--commit"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("API key"), "{}", text(&o));
    assert!(!text(&o).contains("not-the-key"), "the key is never shown");

    illiad_config(&sb, d, "/illiad/NotTheWebPlatform");
    let o = import(d, &mapping, KEY, &["--commit"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));

    let stats = sb.get("/_sandbox/stats");
    let routes: Vec<&String> = stats["requests"].as_object().unwrap().keys().collect();
    assert!(
        routes.iter().all(|r| !r.contains("Users")),
        "no row was looked up or sent: {routes:?}"
    );
}

#[test]
fn interrupted_creates_never_duplicate_or_misreport() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = Sandbox::start(
        d,
        &[
            "--illiad-external-id-field",
            "SSN",
            "--apply-then-drop-rate",
            "0.3",
            "--fail-rate",
            "0.1",
            "--seed",
            "3",
        ],
    );
    illiad_config(&sb, d, "/illiad/ILLiadWebPlatform");
    std::fs::copy(root().join("samples/roster.csv"), d.join("roster.csv")).unwrap();
    let mapping = root().join("mappings/illiad.toml");
    let o = import(d, &mapping, KEY, &["--commit", "--report", "r.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let rows = read_report(&d.join("r.csv"));
    let oc = outcomes(&rows);
    assert_eq!(
        (oc.get("created"), oc.get("rejected")),
        (Some(&44), Some(&6)),
        "every valid row is reported created, none exists/failed: {oc:?}"
    );
    let stats = sb.get("/_sandbox/stats");
    assert!(
        stats["statuses"]["dropped"].as_u64().unwrap_or(0) > 0,
        "{stats}"
    );
    for r in rows.iter().filter(|r| r["outcome"] == "created") {
        assert!(user(&sb, &r["key"]).is_some(), "{} exists", r["key"]);
    }
    // Every confirmed-by-lookup row really was applied before its connection dropped.
    assert!(rows
        .iter()
        .any(|r| r["reason"].contains("confirmed by lookup")));
}
