//! `patron-etl undo` for Libib runs: the real binary against the sandbox in a separate process,
//! pacing shortened to 5 ms per request (and the client's rate to match).

use crate::harness::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

const INTERVAL_MS: &str = "5";
/// One request per 6.7 ms: a little slower than the sandbox allows, as the default is to Libib.
const RATE: &str = "150";

/// Writes a roster shaped like samples/roster.csv, one row per `(i, city)`.
fn roster(path: &Path, rows: &[(usize, &str)]) {
    write_roster(path, rows.iter().map(|(i, c)| (*i, Some(*c))));
}

/// mappings/libib.toml, with `extra` fields appended to `[fields]` (its last table).
fn mapping(dir: &Path, extra: &str) -> String {
    let base = std::fs::read_to_string(root().join("mappings/libib.toml")).unwrap();
    let p = dir.join("libib.toml");
    std::fs::write(&p, format!("{base}\n{extra}\n")).unwrap();
    p.to_str().unwrap().to_string()
}

fn import(dir: &Path, file: &str, fields: &str) -> Output {
    let m = mapping(dir, fields);
    let args = vec![
        "import",
        file,
        "--mapping",
        &m,
        "--to",
        "lib",
        "--commit",
        "--report",
        "import.csv",
    ];
    run_in(dir, &args)
}

fn last_run(dir: &Path) -> String {
    let db = rusqlite::Connection::open(dir.join(".patron-etl/journal.sqlite")).unwrap();
    db.query_row(
        "SELECT id FROM runs WHERE command = 'import' ORDER BY started_at DESC, rowid DESC LIMIT 1",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// A Libib API call from the test itself, waiting out the sandbox's pacing; returns the status
/// and the JSON body (if any).
fn libib(sb: &Sandbox, method: reqwest::Method, path: &str) -> (u16, Value) {
    let c = reqwest::blocking::Client::new();
    for _ in 0..200 {
        std::thread::sleep(std::time::Duration::from_millis(6));
        let r = c
            .request(method.clone(), format!("{}/libib{path}", sb.base))
            .header("x-api-key", "sandbox-libib-key")
            .header("x-api-user", "sandbox-user")
            .send()
            .expect("sandbox answers");
        let status = r.status().as_u16();
        if status == 429 {
            continue;
        }
        return (status, r.json().unwrap_or(Value::Null));
    }
    panic!("{path}: still throttled")
}

/// Every patron in the sandbox by barcode (the 15 API fields; `password` is never returned and
/// Libib manages nothing else a client could see).
fn state(sb: &Sandbox) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut page = 1;
    loop {
        let (s, v) = libib(sb, reqwest::Method::GET, &format!("/patrons?page={page}"));
        assert_eq!(s, 200);
        for p in v["patrons"].as_array().cloned().unwrap_or_default() {
            out.insert(p["barcode"].as_str().unwrap().to_string(), p);
        }
        if page >= v["pages"].as_u64().unwrap_or(0) {
            return out;
        }
        page += 1;
    }
}

fn barcode_of(state: &BTreeMap<String, Value>, email: &str) -> String {
    state
        .iter()
        .find(|(_, p)| p["email"] == email)
        .map(|(b, _)| b.clone())
        .unwrap_or_else(|| panic!("{email} not found"))
}

#[test]
fn libib_undo_previews_then_restores_updates_and_deletes_creates() {
    let started = std::time::Instant::now();
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&["--libib-interval-ms", INTERVAL_MS]);
    sb.libib_config(d, RATE);

    // 30 patrons, then a second run: 5 change city, 10 are new.
    let seed: Vec<(usize, &str)> = (0..30).map(|i| (i, "Seedville")).collect();
    roster(&d.join("seed.csv"), &seed);
    let o = import(d, "seed.csv", "");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let before = state(&sb);
    assert_eq!(before.len(), 30);

    let mut rows: Vec<(usize, &str)> = (0..30)
        .map(|i| (i, if i < 5 { "Changedville" } else { "Seedville" }))
        .collect();
    rows.extend((30..40).map(|i| (i, "Newville")));
    roster(&d.join("load.csv"), &rows);
    let o = import(d, "load.csv", "");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report = read_report(&d.join("import.csv"));
    let n = |k: &str| report.iter().filter(|r| r["outcome"] == k).count();
    assert_eq!(n("created"), 10, "{report:?}");
    assert_eq!(n("updated"), 5, "{report:?}");
    let after_import = state(&sb);
    assert_eq!(after_import.len(), 40);
    let run_id = last_run(d);

    // Preview: lists what it would do, sends no write.
    let (w0, _) = sb.counts("/libib/patrons");
    let o = dir.run(&["undo", &run_id]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("PREVIEW"), "{t}");
    assert!(t.contains("would_delete") && t.contains("10"), "{t}");
    assert!(t.contains("would_restore") && t.contains('5'), "{t}");
    assert_eq!(
        sb.counts("/libib/patrons").0,
        w0,
        "a preview writes nothing"
    );
    assert_eq!(state(&sb), after_import);

    // After the run: a librarian edits one updated patron, and a created one checks out books.
    let edited = barcode_of(&after_import, "gen1@example.edu");
    let (s, _) = libib(
        &sb,
        reqwest::Method::POST,
        &format!("/patrons/{edited}?phone=555-0100"),
    );
    assert_eq!(s, 200);
    let borrower = barcode_of(&after_import, "gen31@example.edu");
    let c = reqwest::blocking::Client::new();
    let r = c
        .post(format!(
            "{}/_sandbox/libib/checkouts/{borrower}?count=2",
            sb.base
        ))
        .send()
        .unwrap();
    assert!(r.status().is_success());
    let edited_state = state(&sb)[&edited].clone();

    let o = dir.run(&["undo", &run_id, "--commit"]);
    assert_eq!(o.status.code(), Some(1), "not all undone: {}", text(&o));
    let t = text(&o);
    assert!(t.contains("conflict"), "{t}");
    let now = state(&sb);
    assert_eq!(
        now[&edited], edited_state,
        "the edited patron is left alone"
    );
    assert!(now.contains_key(&borrower), "Libib refused to delete it");
    // Everything else is exactly as before the second import.
    let mut expected = before.clone();
    expected.insert(edited.clone(), edited_state.clone());
    expected.insert(borrower.clone(), after_import[&borrower].clone());
    assert_eq!(now, expected);

    // Both are reported with their reasons in the undo's report.
    let undo_report = undo_csv(d);
    let row = |b: &str| {
        undo_report
            .iter()
            .find(|r| r["target_id"] == b)
            .unwrap_or_else(|| panic!("{b} in undo.csv: {undo_report:?}"))
            .clone()
    };
    let e = row(&edited);
    assert_eq!(e["outcome"], "conflict", "{e:?}");
    assert!(e["reason"].contains("phone"), "names the field: {e:?}");
    let b = row(&borrower);
    assert!(
        matches!(b["outcome"].as_str(), "failed" | "conflict"),
        "reported, not skipped: {b:?}"
    );
    assert!(b["reason"].contains("checkouts"), "{b:?}");
    assert!(
        !b["reason"].contains("sandbox-libib-key") && !t.contains("?phone"),
        "no secrets or query strings: {t}"
    );

    // Once the books are back and the edit reverted, a second undo finishes the job exactly.
    let r = c
        .post(format!(
            "{}/_sandbox/libib/checkouts/{borrower}?count=0",
            sb.base
        ))
        .send()
        .unwrap();
    assert!(r.status().is_success());
    let phone = after_import[&edited]["phone"].as_str().unwrap_or("");
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("phone", phone)
        .finish();
    let (s, _) = libib(
        &sb,
        reqwest::Method::POST,
        &format!("/patrons/{edited}?{q}"),
    );
    assert_eq!(s, 200);
    let o = dir.run(&["undo", &run_id, "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("already_undone"), "{}", text(&o));
    assert_eq!(state(&sb), before, "exactly as before the second import");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

/// Freezing (what `--missing deactivate` writes for Libib: `freeze=1` as a partial update) is
/// undone through the same restore path: the patrons come back unfrozen, nothing else touched.
#[test]
fn libib_undo_unfreezes_patrons_a_run_froze() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&["--libib-interval-ms", INTERVAL_MS]);
    sb.libib_config(d, RATE);
    let seed: Vec<(usize, &str)> = (0..3).map(|i| (i, "Seedville")).collect();
    roster(&d.join("seed.csv"), &seed);
    assert_eq!(import(d, "seed.csv", "").status.code(), Some(0));
    let before = state(&sb);
    assert!(before.values().all(|p| p["freeze"].is_null()));
    let o = import(d, "seed.csv", "freeze = { value = \"1\" }");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let frozen = state(&sb);
    assert!(frozen.values().all(|p| p["freeze"] == 1), "{frozen:?}");
    let run_id = last_run(d);
    let o = dir.run(&["undo", &run_id, "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("restored"), "{}", text(&o));
    assert_eq!(state(&sb), before, "unfrozen, nothing else changed");
}

/// The most recent undo's `undo.csv`.
fn undo_csv(dir: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let db = rusqlite::Connection::open(dir.join(".patron-etl/journal.sqlite")).unwrap();
    let id: String = db
        .query_row(
            "SELECT id FROM runs WHERE command = 'undo' ORDER BY started_at DESC, rowid DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let path = walk(&dir.join(".patron-etl"), &id).expect("undo run folder");
    read_report(&path.join("undo.csv"))
}

fn walk(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == name) {
                return Some(p);
            }
            if let Some(found) = walk(&p, name) {
                return Some(found);
            }
        }
    }
    None
}
