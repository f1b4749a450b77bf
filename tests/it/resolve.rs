//! The resolve step: a usage error found in the options (`--missing` with `--limit`, a mapping
//! for another system, `--missing` without `[scope]` or on a migration) creates no run folder, no
//! journal row, starts no sandbox and sends no request. Checked against an external
//! `patron-etl sandbox` (its stats count every request) and an empty home.

use crate::harness::*;
use std::path::Path;

const MAPPING: &str = r#"system = "folio"
match = "externalSystemId"
[scope]
patron_groups = ["undergrad"]
[fields]
externalSystemId = { column = "ID", required = true }
username = { column = "User" }
patronGroup = { column = "Group", map = { UG = "undergrad" } }
active = { value = true }
"personal.lastName" = { column = "Last", required = true }
"#;

fn roster(path: &Path) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(["ID", "User", "Group", "Last"]).unwrap();
    for i in 0..10 {
        w.write_record([
            format!("S{i:04}"),
            format!("stu{i}"),
            "UG".into(),
            format!("Student{i}"),
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

/// Every request the external sandbox has seen, on any route but its own `/_sandbox/` ones.
fn requests(sb: &Sandbox) -> u64 {
    let stats = sb.get("/_sandbox/stats");
    stats["requests"]
        .as_object()
        .map(|routes| {
            routes
                .iter()
                .filter(|(route, _)| !route.contains("/_sandbox/"))
                .map(|(_, n)| n.as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

/// Runs the binary in `d` with `--home d/home`, and asserts it failed with exit 2 saying
/// `says`, leaving the home as it was: absent.
fn refused(d: &Path, args: &[&str], says: &str) {
    let home = d.join("home");
    let mut all = vec!["--home", home.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = run_in(d, &all);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains(says), "{says:?} in: {}", text(&o));
    // No journal (so no journal row), no run folder, no built-in sandbox state: nothing at all.
    assert!(
        !home.exists(),
        "the home was created: {:?}",
        std::fs::read_dir(&home).map(|r| r.flatten().map(|e| e.path()).collect::<Vec<_>>())
    );
    assert!(!d.join(".patron-etl").exists(), "no default home either");
}

fn setup() -> (Workdir, Sandbox) {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = Sandbox::start(d, &[]);
    sb.folio_config(d, "");
    std::fs::write(d.join("m.toml"), MAPPING).unwrap();
    roster(&d.join("roster.csv"));
    (dir, sb)
}

#[test]
fn missing_with_limit_creates_nothing_and_sends_nothing() {
    let (dir, sb) = setup();
    let d = dir.path();
    for mode in [&[][..], &["--commit"][..]] {
        let mut args = vec![
            "import",
            "roster.csv",
            "--mapping",
            "m.toml",
            "--to",
            "sb",
            "--missing",
            "deactivate",
            "--limit",
            "5",
        ];
        args.extend_from_slice(mode);
        refused(d, &args, "--limit");
    }
    assert_eq!(requests(&sb), 0, "no request reached the target");
}

#[test]
fn a_mapping_for_another_system_creates_nothing_and_sends_nothing() {
    let (dir, sb) = setup();
    let d = dir.path();
    let libib = root().join("mappings/libib.toml");
    refused(
        d,
        &[
            "import",
            "roster.csv",
            "--mapping",
            libib.to_str().unwrap(),
            "--to",
            "sb",
            "--commit",
        ],
        "maps to libib but target sb is folio",
    );
    assert_eq!(requests(&sb), 0, "no request reached the target");
}

#[test]
fn missing_without_scope_starts_no_builtin_sandbox() {
    let (dir, _sb) = setup();
    let d = dir.path();
    std::fs::write(
        d.join("m.toml"),
        MAPPING.replace("[scope]\npatron_groups = [\"undergrad\"]\n", ""),
    )
    .unwrap();
    // `sandbox:folio` would start the built-in sandbox, whose state lives in the home.
    refused(
        d,
        &[
            "import",
            "roster.csv",
            "--mapping",
            "m.toml",
            "--to",
            "sandbox:folio",
            "--missing",
            "deactivate",
            "--commit",
        ],
        "[scope]",
    );
}

#[test]
fn an_incomplete_roster_for_missing_creates_nothing_and_sends_nothing() {
    let (dir, sb) = setup();
    let d = dir.path();
    // A quote left open swallows the lines after it: the roster may be incomplete.
    let mut text = std::fs::read_to_string(d.join("roster.csv")).unwrap();
    text.push_str("S9999,\"open,UG,Late\n");
    std::fs::write(d.join("roster.csv"), text).unwrap();
    refused(
        d,
        &[
            "import",
            "roster.csv",
            "--mapping",
            "m.toml",
            "--to",
            "sb",
            "--missing",
            "deactivate",
            "--commit",
        ],
        "may be incomplete",
    );
    assert_eq!(requests(&sb), 0, "no request reached the target");
}

// Exit code 4: internal or I/O errors (the journal's SQLite, the disk under the home) are not
// usage errors.

#[test]
fn an_unwritable_home_exits_4_not_2() {
    let dir = Workdir::new();
    let d = dir.path();
    std::fs::write(d.join("m.toml"), MAPPING).unwrap();
    roster(&d.join("roster.csv"));
    // A file where the home folder should be: nothing can be created under it.
    std::fs::write(d.join("home"), b"not a folder").unwrap();
    let o = run_in(
        d,
        &[
            "--home",
            "home",
            "import",
            "roster.csv",
            "--mapping",
            "m.toml",
            "--to",
            "sandbox:folio",
        ],
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("journal.sqlite"), "{}", text(&o));
    assert!(!text(&o).contains("panicked"), "{}", text(&o));
}

#[test]
fn a_journal_that_is_not_a_database_exits_4() {
    let dir = Workdir::new();
    let d = dir.path();
    std::fs::create_dir(d.join("home")).unwrap();
    std::fs::write(
        d.join("home/journal.sqlite"),
        "this is not an SQLite database\n".repeat(200),
    )
    .unwrap();
    for args in [&["runs"][..], &["runs", "20261122-101500-3f2a"][..]] {
        let mut all = vec!["--home", "home"];
        all.extend_from_slice(args);
        let o = run_in(d, &all);
        assert_eq!(o.status.code(), Some(4), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("journal.sqlite"), "{}", text(&o));
    }
    // The file is left as it was for the user to inspect.
    assert!(std::fs::read_to_string(d.join("home/journal.sqlite"))
        .unwrap()
        .starts_with("this is not"));
}

// The journal's run spec: a run recorded by the previous patron-etl (options written as
// hand-made JSON) still resumes; one whose options cannot be read gets a clear message.

/// The `options` JSON exactly as the previous version's `options_json` wrote it.
fn previous_options(files: &[String], mapping: &str, missing: &str) -> String {
    serde_json::json!({
        "files": files,
        "mapping": mapping,
        "to": "sb",
        "from": null,
        "config": null,
        "rate": null,
        "concurrency": null,
        "max_errors": null,
        "limit": null,
        "missing": missing,
        "max_missing": 0.1,
        "allow_incomplete_roster": false,
        "read": {"delimiter": null, "encoding": null, "sheet": null, "header_row": null},
    })
    .to_string()
}

/// A committed import of 10 rows, then its journal rewritten as the previous version would
/// have left it interrupted after 5 rows: options in the old hand-written shape, the last five
/// outcomes missing. Returns the run id.
fn interrupted_old_run(d: &Path, sb: &Sandbox, missing: &str) -> String {
    sb.folio_config(d, "rate = 1000\n");
    write_roster(&d.join("roster.csv"), (0..10).map(|i| (i, None)));
    let o = import_folio(d, "roster.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let db = rusqlite::Connection::open(d.join(".patron-etl/journal.sqlite")).unwrap();
    let id: String = db
        .query_row("SELECT id FROM runs", [], |r| r.get(0))
        .unwrap();
    let files = vec![std::fs::canonicalize(d.join("roster.csv"))
        .unwrap()
        .display()
        .to_string()];
    let mapping = std::fs::canonicalize(root().join("mappings/folio.toml"))
        .unwrap()
        .display()
        .to_string();
    db.execute(
        "UPDATE runs SET status = 'interrupted', finished_at = NULL, options = ?2 WHERE id = ?1",
        rusqlite::params![id, previous_options(&files, &mapping, missing)],
    )
    .unwrap();
    let n = db
        .execute(
            "DELETE FROM row_outcomes WHERE run_id = ?1 AND line > 6",
            rusqlite::params![id],
        )
        .unwrap();
    assert_eq!(n, 5);
    id
}

#[test]
fn a_run_recorded_by_the_previous_version_still_resumes() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = Sandbox::start(d, &[]);
    let id = interrupted_old_run(d, &sb, "ignore");
    let (writes, _) = sb.counts("/folio/users");
    let o = run_in(d, &["resume", &id, "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The five rows not recorded were planned again and found already written: no write, no
    // duplicate; the run is complete.
    assert_eq!(sb.counts("/folio/users").0, writes, "{}", text(&o));
    assert_eq!(sb.folio_users().len(), 10);
    let db = rusqlite::Connection::open(d.join(".patron-etl/journal.sqlite")).unwrap();
    let (status, attempts, rows): (String, i64, i64) = db
        .query_row(
            "SELECT status, attempts, (SELECT COUNT(*) FROM row_outcomes WHERE run_id = ?1) \
             FROM runs WHERE id = ?1",
            rusqlite::params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), attempts, rows), ("finished", 2, 10));
}

#[test]
fn a_recorded_run_whose_options_cannot_be_read_gets_a_clear_message() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = Sandbox::start(d, &[]);
    let id = interrupted_old_run(d, &sb, "purge");
    let (writes, all) = sb.counts("/folio");
    let o = run_in(d, &["resume", &id, "--commit"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("run {id}: its recorded options cannot be read")),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("purge"), "{}", text(&o));
    assert_eq!(sb.counts("/folio"), (writes, all), "nothing sent");
}
