//! The resolve step: a usage error found in the options (`--missing` with `--limit`, a mapping
//! for another system, `--missing` without `[scope]` or on a migration) creates no run folder, no
//! journal row, starts no sandbox and sends no request. Checked against an external
//! `patron-etl sandbox` (its stats count every request) and an empty home.

mod common;
use common::*;
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

fn setup() -> (tempfile::TempDir, Sandbox) {
    let dir = tempfile::tempdir().unwrap();
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
