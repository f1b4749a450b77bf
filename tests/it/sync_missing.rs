//! Roster sync (`--missing`): in-scope patrons absent from the roster are deactivated, exactly
//! those and no one outside the scope; a roster missing too many is refused with nothing written.

use crate::harness::*;
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

fn setup() -> (Workdir, Sandbox) {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
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
    // The preview's run counts its absent patrons as its report lists them.
    let o = run_in(d, &["runs"]);
    let newest = text(&o).lines().nth(1).unwrap_or_default().to_string();
    assert!(newest.contains("would_deactivate 5"), "{}", text(&o));

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
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
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
    // ILLiad cannot list users: that is the reason given, not a missing [scope] (which an
    // ILLiad mapping cannot have).
    let o = run_in(
        d,
        &[
            "import",
            root().join("samples/roster.csv").to_str().unwrap(),
            "--mapping",
            root().join("mappings/illiad.toml").to_str().unwrap(),
            "--to",
            "sandbox:illiad",
            "--missing",
            "deactivate",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--missing is not available for ILLiad: its API cannot list users"),
        "{}",
        text(&o)
    );
}

/// Starts an import of `file` with `--missing deactivate --commit` and the extra flags, and kills
/// it (SIGKILL) once the sandbox has seen `writes` more user writes.
fn import_killed_after(sb: &Sandbox, d: &Path, file: &str, extra: &[&str], writes: u64) {
    let (start, _) = sb.counts("/folio/users");
    let mut args = vec![
        "import",
        file,
        "--mapping",
        "m.toml",
        "--to",
        "sb",
        "--missing",
        "deactivate",
        "--commit",
    ];
    args.extend_from_slice(extra);
    let mut child = bin()
        .args(&args)
        .current_dir(d)
        .env("SB_FOLIO_PASSWORD", "admin")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while sb.counts("/folio/users").0 < start + writes && std::time::Instant::now() < deadline {
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The id of the one import run that did not finish.
fn unfinished_run(d: &Path) -> String {
    let db = rusqlite::Connection::open(d.join(".patron-etl/journal.sqlite")).unwrap();
    db.query_row(
        "SELECT id FROM runs WHERE command = 'import' AND status != 'finished'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn resumed_roster_sync_still_deactivates_the_absent() {
    let (dir, sb) = setup();
    let d = dir.path();
    let gone = [5, 50, 95];
    // Every remaining student is renamed, so the rows themselves need writes to be cut short.
    let mut w = csv::Writer::from_path(d.join("renamed.csv")).unwrap();
    w.write_record(["ID", "User", "Group", "Last"]).unwrap();
    for i in (0..100).filter(|i| !gone.contains(i)) {
        w.write_record([
            format!("S{i:04}"),
            format!("stu{i}"),
            "UG".into(),
            format!("Renamed{i}"),
        ])
        .unwrap();
    }
    w.flush().unwrap();

    // Killed (SIGKILL) after a few row writes, before the absent patrons are reached.
    import_killed_after(
        &sb,
        d,
        "renamed.csv",
        &["--max-missing", "5", "--rate", "25"],
        10,
    );
    let active = active_by_key(&sb);
    assert!(
        gone.iter().all(|i| active[&format!("S{i:04}")]),
        "killed before the absent patrons were reached"
    );

    let run = unfinished_run(d);
    let o = run_in(d, &["resume", &run, "--commit", "--report", "resumed.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let active = active_by_key(&sb);
    for i in 0..100 {
        let key = format!("S{i:04}");
        assert_eq!(active[&key], !gone.contains(&i), "{key}");
    }
    assert!(
        (0..10).all(|i| active[&format!("T{i:04}")]),
        "staff untouched"
    );
    let renamed = sb
        .folio_users()
        .iter()
        .filter(|u| {
            u["personal"]["lastName"]
                .as_str()
                .is_some_and(|l| l.starts_with("Renamed"))
        })
        .count();
    assert_eq!(renamed, 97);
    let report = read_report(&d.join("resumed.csv"));
    let mut deactivated: Vec<&str> = report
        .iter()
        .filter(|r| r["outcome"] == "deactivated" && r["file"] == "(absent from roster)")
        .map(|r| r["key"].as_str())
        .collect();
    deactivated.sort_unstable();
    assert_eq!(deactivated, ["S0005", "S0050", "S0095"]);
}

#[test]
fn roster_sync_killed_among_the_deactivations_resumes_without_losing_any() {
    let (dir, sb) = setup();
    let d = dir.path();
    let gone = [3, 17, 42, 77, 99];
    roster(&d.join("spring.csv"), &gone, false);
    // The rows are unchanged (no writes): the kill lands among the deactivations.
    import_killed_after(&sb, d, "spring.csv", &["--rate", "3"], 2);
    let still_active = gone
        .iter()
        .filter(|i| active_by_key(&sb)[&format!("S{i:04}")])
        .count();
    assert!(
        (1..=3).contains(&still_active),
        "killed among the deactivations ({still_active} of 5 left)"
    );

    let run = unfinished_run(d);
    let o = run_in(d, &["resume", &run, "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let active = active_by_key(&sb);
    assert!(gone.iter().all(|i| !active[&format!("S{i:04}")]));
    assert_eq!(active.values().filter(|a| **a).count(), 105);
    // Each deactivation keeps its own journal row (undo needs them all).
    let db = rusqlite::Connection::open(d.join(".patron-etl/journal.sqlite")).unwrap();
    let rows: i64 = db
        .query_row(
            "SELECT count(DISTINCT key) FROM row_outcomes WHERE run_id = ?1 \
             AND file = '(absent from roster)' AND outcome = 'deactivated'",
            [&run],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 5);
}

/// A mapping whose key needs `pad_left`: rosters give `ID` without its leading zeros.
const PADDED: &str = r#"system = "folio"
match = "externalSystemId"
[scope]
patron_groups = ["undergrad"]
[fields]
externalSystemId = { column = "ID", required = true, transform = ["trim", { pad_left = 6, char = "0" }] }
username = { column = "User" }
patronGroup = { column = "Group", map = { UG = "undergrad" } }
active = { value = true }
"personal.lastName" = { column = "Last", required = true }
"#;

fn padded_roster(path: &Path, n: usize, edit: impl Fn(usize, String) -> String) {
    let mut text = String::from("ID,User,Group,Last\n");
    for i in 0..n {
        text.push_str(&edit(i, format!("{i},stu{i},UG,Student{i}\n")));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_quote_left_open_at_line_1901_deactivates_no_one() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    sb.folio_config(d, "rate = 1000\nconcurrency = 4\n");
    std::fs::write(d.join("m.toml"), PADDED).unwrap();
    padded_roster(&d.join("all.csv"), 2000, |_, l| l);
    let o = import(d, "all.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(active_by_key(&sb).values().filter(|a| **a).count(), 2000);

    // Line 1,901 (row 1,899) opens a quote it never closes: the last 100 rows become one field.
    padded_roster(&d.join("open.csv"), 2000, |i, l| {
        if i == 1899 {
            l.replacen(",Student", ",\"Student", 1)
        } else {
            l
        }
    });
    let (w0, _) = sb.counts("/folio/users");
    let o = import(d, "open.csv", &["--missing", "deactivate", "--commit"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("may be incomplete") && t.contains("ends inside a quoted field"),
        "{t}"
    );
    assert!(t.contains("--allow-incomplete-roster"), "{t}");
    let (w1, _) = sb.counts("/folio/users");
    assert_eq!(w1, w0, "nothing written");
    assert_eq!(active_by_key(&sb).values().filter(|a| **a).count(), 2000);
}

#[test]
fn a_malformed_row_whose_key_needs_pad_left_keeps_its_patron() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    sb.folio_config(d, "rate = 1000\nconcurrency = 4\n");
    std::fs::write(d.join("m.toml"), PADDED).unwrap();
    padded_roster(&d.join("all.csv"), 20, |_, l| l);
    let o = import(d, "all.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Row 7 has an extra field (unreadable as a row); row 12 is really gone.
    padded_roster(&d.join("bad.csv"), 20, |i, l| match i {
        7 => l.replace("Student7", "Student7,extra"),
        12 => String::new(),
        _ => l,
    });
    let o = import(d, "bad.csv", &["--missing", "deactivate", "--commit"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "refused without the flag: {}",
        text(&o)
    );
    assert!(
        text(&o).contains("line 9 could not be read"),
        "{}",
        text(&o)
    );
    let o = import(
        d,
        "bad.csv",
        &[
            "--missing",
            "deactivate",
            "--commit",
            "--allow-incomplete-roster",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let active = active_by_key(&sb);
    assert_eq!(
        active.get("000007"),
        Some(&true),
        "the malformed row's patron stays"
    );
    assert_eq!(active.get("000012"), Some(&false), "the absent one goes");
    assert_eq!(active.values().filter(|a| !**a).count(), 1);
}

const TAG_MAPPING: &str = r#"system = "folio"
match = "externalSystemId"
[scope]
tag = "registrar-roster"
[fields]
externalSystemId = { column = "ID", required = true }
username = { column = "User" }
patronGroup = { value = "undergrad" }
active = { value = true }
tags = { column = "Tags" }
"personal.lastName" = { column = "Last", required = true }
"#;

/// `(id, tag)` rows: 50 tagged `registrar-roster` (in scope), 5 tagged `registrar-roster-2025`
/// (a longer tag FOLIO's `=` also finds, out of scope) and 5 untagged, minus `skip`; only the
/// tagged ones when `all` is false.
fn tag_roster(path: &Path, skip: &[usize], all: bool) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(["ID", "User", "Last", "Tags"]).unwrap();
    for i in 0..60 {
        if skip.contains(&i) || (!all && i >= 50) {
            continue;
        }
        let tag = match i {
            0..=49 => "registrar-roster",
            50..=54 => "registrar-roster-2025",
            _ => "",
        };
        w.write_record([
            format!("G{i:04}"),
            format!("tag{i}"),
            format!("Tagged{i}"),
            tag.into(),
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

/// Real FOLIO compares `tags.tagList=="x"` with the array's JSON text and finds no one
/// (CQL2PgJSON `queryByLike` on `jsonb->'tags'->>'tagList'`); the sandbox does the same, so this
/// passes only with the scope query in the form FOLIO matches (`=`, phrase over the text) and
/// the exact-tag filter after it.
#[test]
fn tag_scope_deactivates_exactly_the_absent_tagged_patrons() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    sb.folio_config(d, "rate = 1000\nconcurrency = 4\n");
    std::fs::write(d.join("m.toml"), TAG_MAPPING).unwrap();
    tag_roster(&d.join("full.csv"), &[], true);
    let o = import(d, "full.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(active_by_key(&sb).values().filter(|a| **a).count(), 60);

    tag_roster(&d.join("spring.csv"), &[4, 26, 49], false);
    let o = import(d, "spring.csv", &["--missing", "deactivate", "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let active = active_by_key(&sb);
    let mut inactive: Vec<&str> = active
        .iter()
        .filter(|(_, a)| !**a)
        .map(|(k, _)| k.as_str())
        .collect();
    inactive.sort();
    assert_eq!(inactive, ["G0004", "G0026", "G0049"]);
    assert_eq!(active.values().filter(|a| **a).count(), 57);
}
