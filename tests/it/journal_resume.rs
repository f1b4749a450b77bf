//! Crash-safe runs: the real binary is killed (SIGKILL) or interrupted (SIGINT) mid-import
//! against the sandbox in a separate process, then resumed from the journal.

use crate::harness::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// Writes a roster of rows `start..start+n` shaped like samples/roster.csv; `city` overrides City.
fn roster(path: &Path, start: usize, n: usize, city: Option<&str>) {
    write_roster(path, (start..start + n).map(|i| (i, city)));
}

fn import_args<'a>(mapping: &'a str, file: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "import",
        file,
        "--mapping",
        mapping,
        "--to",
        "sb",
        "--commit",
    ];
    a.extend_from_slice(extra);
    a
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    spawn_in(dir, args, true)
}

/// Users keyed by externalSystemId, without what the server manages (ids, dates, metadata).
fn comparable(users: &[Value]) -> HashMap<String, Value> {
    users
        .iter()
        .map(|u| {
            let mut u = u.clone();
            if let Some(m) = u.as_object_mut() {
                for k in ["id", "metadata", "createdDate", "updatedDate"] {
                    m.remove(k);
                }
            }
            (u["externalSystemId"].as_str().unwrap_or("").to_string(), u)
        })
        .collect()
}

/// The patrons the tests' rosters create (the sandbox also holds its own seed users).
fn gen_users(sb: &Sandbox) -> Vec<Value> {
    sb.folio_users()
        .into_iter()
        .filter(|u| u["username"].as_str().is_some_and(|n| n.starts_with("gen")))
        .collect()
}

fn journal(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join(".patron-etl/journal.sqlite")).expect("journal exists")
}

fn count(db: &rusqlite::Connection, sql: &str, run: &str) -> i64 {
    db.query_row(sql, [run], |r| r.get(0)).unwrap()
}

fn only_run(db: &rusqlite::Connection) -> String {
    db.query_row(
        "SELECT id FROM runs WHERE command = 'import' ORDER BY rowid DESC LIMIT 1",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

fn by_key(report: &[HashMap<String, String>]) -> HashMap<String, String> {
    report
        .iter()
        .map(|r| (r["key"].clone(), r["outcome"].clone()))
        .collect()
}

#[test]
fn sigkill_five_times_then_resume_matches_an_uninterrupted_run() {
    let mapping = root().join("mappings/folio.toml");
    let mapping = mapping.to_str().unwrap();
    let config = "rate = 250\nconcurrency = 8\n";

    // Reference (in parallel, on its own sandbox): seed 300 patrons, then import 2,000 rows
    // (300 updates, 1,700 creates) in one go.
    let ref_dir = Workdir::new();
    let rd = ref_dir.path().to_path_buf();
    let mapping_ref = mapping.to_string();
    let reference = std::thread::spawn(move || {
        let reference = Sandbox::start(&rd, &[]);
        reference.folio_config(&rd, config);
        roster(&rd.join("seed.csv"), 0, 300, Some("Seedville"));
        roster(&rd.join("big.csv"), 0, 2000, None);
        let o = run_in(&rd, &import_args(&mapping_ref, "seed.csv", &[]));
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let o = run_in(
            &rd,
            &import_args(&mapping_ref, "big.csv", &["--report", "r.csv"]),
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let expected = by_key(&read_report(&rd.join("r.csv")));
        (expected, comparable(&gen_users(&reference)))
    });

    // Same data, killed with SIGKILL five times at increasing write counts, resumed each time.
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    sb.folio_config(d, config);
    roster(&d.join("seed.csv"), 0, 300, Some("Seedville"));
    roster(&d.join("big.csv"), 0, 2000, None);
    let o = dir.run(&import_args(mapping, "seed.csv", &[]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (seed_writes, _) = sb.counts("/folio/users");
    let mut killed_mid_run = 0;
    for (attempt, after) in [1u64, 150, 300, 450, 600].into_iter().enumerate() {
        let extra: &[&str] = if attempt == 0 { &[] } else { &["--resume"] };
        let mut child = spawn(d, &import_args(mapping, "big.csv", extra));
        let (start, _) = sb.counts("/folio/users");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (w, _) = sb.counts("/folio/users");
            if w >= start + after || Instant::now() > deadline {
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.code().is_none() || out.status.code() == Some(0),
            "attempt {attempt}: {}",
            text(&out)
        );
    }
    assert!(
        killed_mid_run >= 4,
        "the kills landed mid-run ({killed_mid_run} of 5)"
    );
    let o = run_in(
        d,
        &import_args(mapping, "big.csv", &["--resume", "--report", "final.csv"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (expected, want) = reference.join().expect("reference run");
    assert_eq!(expected.values().filter(|o| *o == "updated").count(), 300);
    assert_eq!(expected.values().filter(|o| *o == "created").count(), 1700);

    // Every row's outcome is what the uninterrupted run reported: no duplicate, nothing lost.
    let report = read_report(&d.join("final.csv"));
    assert_eq!(report.len(), 2000);
    assert_eq!(
        by_key(&report),
        expected,
        "outcomes match the reference run"
    );
    let got = comparable(&gen_users(&sb));
    assert_eq!(got.len(), 2000);
    assert_eq!(got, want, "same sandbox state as the uninterrupted run");
    let (total_writes, _) = sb.counts("/folio/users");
    assert!(
        total_writes - seed_writes < 2000 + 5 * 60,
        "only writes in flight at a kill were sent again ({})",
        total_writes - seed_writes
    );

    // The journal holds exactly one outcome per row, and one applied write per row.
    let db = journal(d);
    let run = only_run(&db);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM row_outcomes WHERE run_id = ?1",
            &run
        ),
        2000
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM row_outcomes WHERE run_id = ?1 AND outcome NOT IN ('created', 'updated')",
            &run
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM intents WHERE run_id = ?1 AND state = 'applied'",
            &run
        ),
        2000
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(DISTINCT line) FROM intents WHERE run_id = ?1 AND state = 'applied'",
            &run
        ),
        2000
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM intents WHERE run_id = ?1 AND state = 'pending'",
            &run
        ),
        0
    );
    assert_eq!(
        count(&db, "SELECT attempts FROM runs WHERE id = ?1", &run),
        6
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM runs WHERE id = ?1 AND status = 'finished'",
            &run
        ),
        1
    );
    // Updated rows kept their before-image (the seeded city).
    let before: String = db
        .query_row(
            "SELECT before FROM intents WHERE run_id = ?1 AND op = 'update' AND state = 'applied' LIMIT 1",
            [&run],
            |r| r.get(0),
        )
        .unwrap();
    assert!(before.contains("Seedville"), "{before}");
}

#[test]
fn sigint_records_in_flight_rows_and_the_run_resumes() {
    let mapping = root().join("mappings/folio.toml");
    let mapping = mapping.to_str().unwrap();
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    sb.folio_config(d, "rate = 100\nconcurrency = 4\n");
    roster(&d.join("r.csv"), 0, 600, None);
    let child = spawn(d, &import_args(mapping, "r.csv", &[]));
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    while sb.counts("/folio/users").0 < 100 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let asked = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "stops promptly after Ctrl-C"
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "skipped rows: {t}");
    assert!(t.contains("interrupted"), "{t}");
    assert!(t.contains("patron-etl resume"), "says how to continue: {t}");

    // No half-recorded row: every row has one outcome, every intent is resolved, and the
    // sandbox holds exactly the rows recorded as created, with the recorded ids.
    let db = journal(d);
    let run = only_run(&db);
    let status: String = db
        .query_row("SELECT status FROM runs WHERE id = ?1", [&run], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(status, "interrupted");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM row_outcomes WHERE run_id = ?1",
            &run
        ),
        600
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM intents WHERE run_id = ?1 AND state = 'pending'",
            &run
        ),
        0,
        "in-flight writes were finished and recorded"
    );
    let created = count(
        &db,
        "SELECT COUNT(*) FROM row_outcomes WHERE run_id = ?1 AND outcome = 'created'",
        &run,
    );
    let skipped = count(
        &db,
        "SELECT COUNT(*) FROM row_outcomes WHERE run_id = ?1 AND outcome = 'skipped'",
        &run,
    );
    assert!(
        created >= 100 && skipped > 0,
        "{created} created, {skipped} skipped"
    );
    assert_eq!(created + skipped, 600);
    let users = gen_users(&sb);
    assert_eq!(
        users.len() as i64,
        created,
        "nothing written goes unrecorded"
    );
    let mut st = db
        .prepare(
            "SELECT key, target_id FROM row_outcomes WHERE run_id = ?1 AND outcome = 'created'",
        )
        .unwrap();
    let ids: Vec<(String, String)> = st
        .query_map([&run], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (key, id) in &ids {
        assert!(
            users
                .iter()
                .any(|u| u["id"] == id.as_str() && u["externalSystemId"] == key.as_str()),
            "{key} {id}"
        );
    }

    // The run resumes and completes; skipped rows are written once.
    let o = dir.run(&["resume", &run, "--commit", "--report", "resumed.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report = read_report(&d.join("resumed.csv"));
    assert_eq!(report.len(), 600);
    assert!(report.iter().all(|r| r["outcome"] == "created"));
    assert_eq!(gen_users(&sb).len(), 600);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM row_outcomes WHERE run_id = ?1 AND outcome = 'created'",
            &run
        ),
        600
    );
    let o = dir.run(&["runs"]);
    assert!(
        text(&o).contains(&run) && text(&o).contains("created 600"),
        "{}",
        text(&o)
    );
}

#[test]
fn resume_refuses_a_changed_input_unless_forced() {
    let mapping = root().join("mappings/folio.toml");
    let mapping = mapping.to_str().unwrap();
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    sb.folio_config(d, "rate = 200\nconcurrency = 4\n");
    roster(&d.join("r.csv"), 0, 300, None);
    let mut child = spawn(d, &import_args(mapping, "r.csv", &[]));
    let deadline = Instant::now() + Duration::from_secs(30);
    while sb.counts("/folio/users").0 < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Without --commit: no resume.
    let o = run_in(
        d,
        &[
            "import",
            "r.csv",
            "--mapping",
            mapping,
            "--to",
            "sb",
            "--resume",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    roster(&d.join("r.csv"), 0, 301, None);
    let o = dir.run(&import_args(mapping, "r.csv", &["--resume"]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("the input changed"), "{}", text(&o));
    let o = dir.run(&import_args(mapping, "r.csv", &["--resume", "--force"]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(gen_users(&sb).len(), 301);
    // A finished run is not resumed again.
    let o = dir.run(&import_args(mapping, "r.csv", &["--resume"]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
