//! `patron-etl undo`: the real binary against the sandbox in a separate process.

use crate::harness::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Writes a roster shaped like samples/roster.csv, one row per `(i, city)`.
fn roster(path: &Path, rows: &[(usize, &str)]) {
    write_roster(path, rows.iter().map(|(i, c)| (*i, Some(*c))));
}

/// Every user by id, without what the server manages (dates, metadata).
fn state(sb: &Sandbox) -> BTreeMap<String, Value> {
    sb.folio_users()
        .into_iter()
        .map(|mut u| {
            let id = u["id"].as_str().unwrap_or("").to_string();
            if let Some(m) = u.as_object_mut() {
                for k in ["metadata", "createdDate", "updatedDate"] {
                    m.remove(k);
                }
            }
            (id, u)
        })
        .collect()
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

fn count(report: &[std::collections::HashMap<String, String>], outcome: &str) -> usize {
    report.iter().filter(|r| r["outcome"] == outcome).count()
}

/// Puts a user with one field changed, as another librarian would.
fn edit(sb: &Sandbox, id: &str, f: impl FnOnce(&mut Value)) {
    let token = sb.folio_token();
    let c = reqwest::blocking::Client::new();
    let url = format!("{}/folio/users/{id}", sb.base);
    let mut u: Value = c
        .get(&url)
        .header("X-Okapi-Tenant", "diku")
        .header("X-Okapi-Token", &token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    f(&mut u);
    let r = c
        .put(&url)
        .header("X-Okapi-Tenant", "diku")
        .header("X-Okapi-Token", &token)
        .json(&u)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
}

#[test]
fn undo_of_50_creates_and_20_updates_restores_the_exact_prior_state() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    sb.folio_config(d, "rate = 200\nconcurrency = 4\n");
    // 30 existing patrons; the import updates 20 of them and creates 50.
    let seed: Vec<(usize, &str)> = (0..30).map(|i| (i, "Seedville")).collect();
    roster(&d.join("seed.csv"), &seed);
    assert_eq!(
        import_folio(d, "seed.csv", &["--commit", "--report", "import.csv"])
            .status
            .code(),
        Some(0)
    );
    let before = state(&sb);
    let rows: Vec<(usize, &str)> = (10..80).map(|i| (i, "Changedville")).collect();
    roster(&d.join("load.csv"), &rows);
    let o = import_folio(d, "load.csv", &["--commit", "--report", "import.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report = read_report(&d.join("import.csv"));
    assert_eq!(count(&report, "created"), 50);
    assert_eq!(count(&report, "updated"), 20);
    let after_import = state(&sb);
    assert_ne!(after_import, before);
    let run = last_run(d);

    // Preview: says what it would do, writes nothing.
    let (w0, _) = sb.counts("/folio/users");
    let o = dir.run(&["undo", &run]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("PREVIEW"), "{t}");
    assert!(t.contains("would_delete") && t.contains("50"), "{t}");
    assert!(t.contains("would_restore") && t.contains("20"), "{t}");
    assert_eq!(sb.counts("/folio/users").0, w0, "a preview writes nothing");
    assert_eq!(state(&sb), after_import);

    // Commit: the sandbox is exactly as before the import.
    let o = dir.run(&["undo", &run, "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("deleted") && t.contains("restored"), "{t}");
    assert_eq!(state(&sb), before, "exact prior state");
    assert_eq!(sb.counts("/folio/users").0 - w0, 70, "one write per record");

    // The journal knows; a second undo finds nothing left to do.
    let o = dir.run(&["runs", &run]);
    assert!(text(&o).contains("undone by"), "{}", text(&o));
    let o = dir.run(&["undo", &run, "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("already_undone"), "{}", text(&o));
    assert_eq!(state(&sb), before);
}

#[test]
fn undo_reports_records_changed_since_as_conflicts_and_leaves_them() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    sb.folio_config(d, "rate = 200\nconcurrency = 4\n");
    roster(&d.join("seed.csv"), &[(0, "Seedville"), (1, "Seedville")]);
    assert_eq!(
        import_folio(d, "seed.csv", &["--commit", "--report", "import.csv"])
            .status
            .code(),
        Some(0)
    );
    roster(
        &d.join("load.csv"),
        &[(0, "Changedville"), (1, "Changedville"), (2, "X"), (3, "X")],
    );
    assert_eq!(
        import_folio(d, "load.csv", &["--commit", "--report", "import.csv"])
            .status
            .code(),
        Some(0)
    );
    let report = read_report(&d.join("import.csv"));
    let id_of = |key: &str| {
        report
            .iter()
            .find(|r| r["key"] == key)
            .map(|r| r["target_id"].clone())
            .unwrap()
    };
    let run = last_run(d);
    // Someone edits one updated and one created record after the import.
    let (updated, created) = (id_of("800000000"), id_of("800000002"));
    edit(&sb, &updated, |u| {
        u["personal"]["phone"] = "555-0100".into()
    });
    edit(&sb, &created, |u| {
        u["personal"]["firstName"] = "Edited".into()
    });
    let edited = state(&sb);

    let o = dir.run(&["undo", &run, "--commit"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "conflicts fail the run: {}",
        text(&o)
    );
    let t = text(&o);
    assert!(t.contains("conflict"), "{t}");
    assert!(t.contains("personal.phone"), "names the changed field: {t}");
    let now = state(&sb);
    assert_eq!(now[&updated], edited[&updated], "left alone");
    assert_eq!(now[&created], edited[&created], "left alone");
    assert!(
        !now.contains_key(&id_of("800000003")),
        "the other create is undone"
    );
    assert_eq!(
        now[&id_of("800000001")]["personal"]["addresses"][0]["city"],
        "Seedville",
        "the other update is undone"
    );
    // A run with conflicts is not marked undone.
    let o = dir.run(&["runs", &run]);
    assert!(!text(&o).contains("undone by"), "{}", text(&o));
}
