//! One writing run per target: a second `import --commit` into a target that a live run is
//! writing refuses (exit 2) naming the holder; the first completes, every patron created once.

use crate::harness::*;
use std::time::{Duration, Instant};

#[test]
fn two_concurrent_imports_one_refuses_and_the_other_creates_each_patron_once() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&["--latency-ms", "15"]);
    sb.folio_config(d, "rate = 1000\nconcurrency = 2\n");
    write_roster(&d.join("roster.csv"), (0..150).map(|i| (i, None)));
    let mapping = root().join("mappings/folio.toml");
    let m = mapping.to_str().unwrap();
    let args = |report: &'static str| {
        [
            "import",
            "roster.csv",
            "--mapping",
            m,
            "--to",
            "sb",
            "--commit",
            "--report",
            report,
        ]
    };
    let a = dir.spawn(&args("a.csv"), true);
    // Wait until the first run holds the lease under its run id.
    let journal = d.join(".patron-etl/journal.sqlite");
    let start = Instant::now();
    let holder = loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "run A never took the lease"
        );
        let row = rusqlite::Connection::open(&journal).ok().and_then(|c| {
            c.query_row("SELECT run_id, pid FROM leases", [], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .ok()
        });
        match row {
            Some((run, pid)) if run != "(starting)" => break (run, pid),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    assert_eq!(holder.1, i64::from(a.id()));
    let b = dir.run(&args("b.csv"));
    let out_a = a.wait_with_output().unwrap();
    assert_eq!(out_a.status.code(), Some(0), "{}", text(&out_a));
    assert_eq!(b.status.code(), Some(2), "{}", text(&b));
    let tb = text(&b);
    assert!(
        tb.contains(&format!("being written by run {}", holder.0))
            && tb.contains(&format!("process {}", holder.1)),
        "{tb}"
    );
    assert!(!d.join("b.csv").exists(), "the refused run wrote no report");
    let rows = read_report(&d.join("a.csv"));
    assert_eq!(rows.len(), 150);
    assert!(rows.iter().all(|r| r["outcome"] == "created"), "{rows:?}");
    let users = sb.folio_users();
    assert_eq!(users.len(), 150);
    let mut ids: Vec<&str> = users
        .iter()
        .filter_map(|u| u["externalSystemId"].as_str())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 150, "every patron created once");
    let claimed: std::collections::HashSet<&str> =
        rows.iter().map(|r| r["target_id"].as_str()).collect();
    assert_eq!(claimed.len(), 150, "each claimed by one row of one run");
    let runs: i64 = rusqlite::Connection::open(&journal)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, 1, "the refused run left no run behind");
    let leases: i64 = rusqlite::Connection::open(&journal)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM leases", [], |r| r.get(0))
        .unwrap();
    assert_eq!(leases, 0, "released at the end");
}

#[test]
fn an_undo_waits_its_turn_too() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&["--latency-ms", "15"]);
    sb.folio_config(d, "rate = 1000\nconcurrency = 2\n");
    write_roster(&d.join("first.csv"), (0..5).map(|i| (i, None)));
    write_roster(&d.join("second.csv"), (100..250).map(|i| (i, None)));
    let o = import_folio(d, "first.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let journal = d.join(".patron-etl/journal.sqlite");
    let first: String = rusqlite::Connection::open(&journal)
        .unwrap()
        .query_row("SELECT id FROM runs", [], |r| r.get(0))
        .unwrap();
    let mapping = root().join("mappings/folio.toml");
    let m = mapping.to_str().unwrap();
    let args = [
        "import",
        "second.csv",
        "--mapping",
        m,
        "--to",
        "sb",
        "--commit",
    ];
    let b = dir.spawn(&args, true);
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "run B never took the lease"
        );
        let held = rusqlite::Connection::open(&journal)
            .ok()
            .and_then(|c| {
                c.query_row("SELECT pid FROM leases", [], |r| r.get::<_, i64>(0))
                    .ok()
            })
            .is_some_and(|pid| pid == i64::from(b.id()));
        if held {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let u = dir.run(&["undo", &first, "--commit"]);
    assert_eq!(u.status.code(), Some(2), "{}", text(&u));
    assert!(
        text(&u).contains(&format!("process {}", b.id())),
        "{}",
        text(&u)
    );
    let out_b = b.wait_with_output().unwrap();
    assert_eq!(out_b.status.code(), Some(0));
    assert_eq!(
        sb.folio_users().len(),
        155,
        "the refused undo deleted nothing"
    );
    let u = dir.run(&["undo", &first, "--commit"]);
    assert_eq!(u.status.code(), Some(0), "{}", text(&u));
    assert_eq!(sb.folio_users().len(), 150);
}

/// A committing run that stops before its first write (here `resume` of a finished run) gives
/// the lease back: the next run does not announce that it is "taking over" from a process that
/// is "gone".
#[test]
fn a_run_that_ends_early_gives_the_lease_back() {
    let dir = Workdir::new();
    let d = dir.path();
    write_roster(&d.join("roster.csv"), (0..3).map(|i| (i, None)));
    let mapping = root().join("mappings/folio.toml");
    let m = mapping.to_str().unwrap();
    let args = [
        "import",
        "roster.csv",
        "--mapping",
        m,
        "--to",
        "sandbox:folio",
        "--commit",
    ];
    let o = dir.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let id = String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.split("— run ").nth(1).map(|s| s.trim().to_string()))
        .expect("run id");
    let o = dir.run(&["resume", &id, "--commit"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("nothing to resume"), "{}", text(&o));
    let o = dir.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains("taking over the lease"), "{}", text(&o));
}
