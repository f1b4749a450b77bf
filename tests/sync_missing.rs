//! Roster sync (`--missing`): in-scope patrons absent from the roster are deactivated, exactly
//! those and no one outside the scope; a roster missing too many is refused with nothing written.

mod common;
use common::*;
use std::collections::HashMap;
use std::path::Path;

const MAPPING: &str = r#"system = "folio"
match = "externalSystemId"
[scope]
patron_groups = ["undergrad"]
[fields]
externalSystemId = { column = "ID", required = true }
username = { column = "User" }
patronGroup = { column = "Group", map = { UG = "undergrad", ST = "staff" } }
active = { value = true }
"personal.lastName" = { column = "Last", required = true }
"#;

/// 100 students (in scope) and 10 staff (out of scope), minus the listed students; no staff
/// when `staff` is false.
fn roster(path: &Path, skip: &[usize], staff: bool) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(["ID", "User", "Group", "Last"]).unwrap();
    for i in 0..100 {
        if !skip.contains(&i) {
            w.write_record([
                format!("S{i:04}"),
                format!("stu{i}"),
                "UG".into(),
                format!("Student{i}"),
            ])
            .unwrap();
        }
    }
    if staff {
        for i in 0..10 {
            w.write_record([
                format!("T{i:04}"),
                format!("staff{i}"),
                "ST".into(),
                format!("Staff{i}"),
            ])
            .unwrap();
        }
    }
    w.flush().unwrap();
}

fn import(d: &Path, file: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "import",
        file,
        "--mapping",
        "m.toml",
        "--to",
        "sb",
        "--report",
        "r.csv",
    ];
    args.extend_from_slice(extra);
    run_in(d, &args)
}

fn active_by_key(sb: &Sandbox) -> HashMap<String, bool> {
    sb.folio_users()
        .iter()
        .filter_map(|u| {
            Some((
                u["externalSystemId"].as_str()?.to_string(),
                u["active"].as_bool().unwrap_or(false),
            ))
        })
        .collect()
}

fn setup() -> (tempfile::TempDir, Sandbox) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sb = Sandbox::start(d, &[]);
    sb.folio_config(d, "rate = 1000\nconcurrency = 4\n");
    std::fs::write(d.join("m.toml"), MAPPING).unwrap();
    roster(&d.join("full.csv"), &[], true);
    let o = import(d, "full.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(active_by_key(&sb).values().filter(|a| **a).count(), 110);
    (dir, sb)
}

#[test]
fn missing_five_students_deactivates_exactly_those_five() {
    let (dir, sb) = setup();
    let d = dir.path();
    let gone = [3, 17, 42, 77, 99];
    // The new roster has no staff at all: they are out of scope and must stay active.
    roster(&d.join("spring.csv"), &gone, false);

    let (w0, _) = sb.counts("/folio/users");
    let o = import(d, "spring.csv", &["--missing", "deactivate"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (w1, _) = sb.counts("/folio/users");
    assert_eq!(w1, w0, "a preview writes nothing");
    let rows = read_report(&d.join("r.csv"));
    let listed: Vec<&str> = rows
        .iter()
        .filter(|r| r["outcome"] == "would_deactivate")
        .map(|r| r["key"].as_str())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["S0003", "S0017", "S0042", "S0077", "S0099"],
        "{rows:?}"
    );

    let o = import(d, "spring.csv", &["--missing", "deactivate", "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows = read_report(&d.join("r.csv"));
    let deactivated: Vec<&HashMap<String, String>> = rows
        .iter()
        .filter(|r| r["outcome"] == "deactivated")
        .collect();
    assert_eq!(deactivated.len(), 5, "{rows:?}");
    for r in &deactivated {
        assert_eq!(r["file"], "(absent from roster)");
        assert!(
            r["changed_fields"].contains("active"),
            "{}",
            r["changed_fields"]
        );
    }
    assert_eq!(
        rows.iter().filter(|r| r["outcome"] == "unchanged").count(),
        95
    );
    let active = active_by_key(&sb);
    for i in 0..100 {
        let k = format!("S{i:04}");
        assert_eq!(active[&k], !gone.contains(&i), "{k}");
    }
    for i in 0..10 {
        assert!(active[&format!("T{i:04}")], "staff are out of scope");
    }
    // The deactivations are journaled: undo brings the five back.
    let out = text(&o);
    let run_id = out
        .split("— run ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("run id in the summary")
        .to_string();
    let u = run_in(d, &["undo", &run_id, "--commit"]);
    assert_eq!(u.status.code(), Some(0), "{}", text(&u));
    let active = active_by_key(&sb);
    assert!(
        (0..100).all(|i| active[&format!("S{i:04}")]),
        "undo reactivated the five: {}",
        text(&u)
    );
    let o = import(d, "spring.csv", &["--missing", "deactivate", "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A second sync finds nobody new to deactivate.
    let o = import(d, "spring.csv", &["--missing", "deactivate", "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows = read_report(&d.join("r.csv"));
    assert_eq!(
        rows.iter()
            .filter(|r| r["outcome"] == "deactivated")
            .count(),
        0
    );
}

#[test]
fn roster_missing_half_is_refused_without_force_and_nothing_is_written() {
    let (dir, sb) = setup();
    let d = dir.path();
    let half: Vec<usize> = (0..50).collect();
    roster(&d.join("truncated.csv"), &half, true);
    let (w0, _) = sb.counts("/folio/users");
    let o = import(d, "truncated.csv", &["--missing", "expire", "--commit"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let msg = text(&o);
    assert!(msg.contains("refusing to deactivate 50 of 100"), "{msg}");
    assert!(msg.contains("--force"), "{msg}");
    let (w1, _) = sb.counts("/folio/users");
    assert_eq!(w1, w0, "nothing written");
    assert_eq!(active_by_key(&sb).values().filter(|a| **a).count(), 110);

    // With --force and expire: the 50 are inactive and expire today.
    let o = import(
        d,
        "truncated.csv",
        &["--missing", "expire", "--commit", "--force"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let users = sb.folio_users();
    let expired: Vec<_> = users.iter().filter(|u| u["active"] == false).collect();
    assert_eq!(expired.len(), 50);
    assert!(expired
        .iter()
        .all(|u| u["expirationDate"].as_str().is_some()));
}

#[test]
fn missing_without_scope_or_with_limit_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sb = Sandbox::start(d, &[]);
    sb.folio_config(d, "");
    std::fs::write(
        d.join("m.toml"),
        MAPPING.replace("[scope]\npatron_groups = [\"undergrad\"]\n", ""),
    )
    .unwrap();
    roster(&d.join("full.csv"), &[], true);
    let o = import(d, "full.csv", &["--missing", "deactivate"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("[scope]"));
    std::fs::write(d.join("m.toml"), MAPPING).unwrap();
    let o = import(d, "full.csv", &["--missing", "deactivate", "--limit", "5"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--limit"));
}
