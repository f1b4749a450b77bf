//! What holds personal data is owner-only, and the journal is trusted only when it is whole:
//! `init --out` writes 0600; loose `.patron-etl/`, `runs/` and journal permissions are tightened
//! with a notice; a damaged journal stops `--commit` before any write; a missing or empty
//! journal beside run folders is refused, not replaced; a killed run shows as `interrupted`.

use crate::harness::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_out_is_owner_only() {
    let dir = Workdir::new();
    let out = dir.path().join("folio.toml");
    let o = bin()
        .arg("init")
        .arg(root().join("samples/roster.csv"))
        .args(["--system", "folio", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        std::fs::read_to_string(&out).unwrap().contains("900100231"),
        "sample values"
    );
    assert_eq!(mode(&out), 0o600);
}

fn preview(d: &Path) -> std::process::Output {
    let mapping = root().join("mappings/folio.toml");
    run_in(
        d,
        &[
            "import",
            "roster.csv",
            "--mapping",
            mapping.to_str().unwrap(),
            "--to",
            "sandbox:folio",
        ],
    )
}

#[test]
fn loose_folders_and_journal_are_tightened_with_a_notice() {
    let dir = Workdir::new();
    let d = dir.path();
    write_roster(&d.join("roster.csv"), (0..3).map(|i| (i, None)));
    let o = preview(d);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let root_dir = d.join(".patron-etl");
    let journal = root_dir.join("journal.sqlite");
    assert_eq!(mode(&root_dir), 0o700);
    assert_eq!(mode(&journal), 0o600);
    for (p, m) in [
        (&root_dir, 0o755),
        (&root_dir.join("runs"), 0o755),
        (&journal, 0o644),
    ] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }
    let o = preview(d);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(mode(&root_dir), 0o700);
    assert_eq!(mode(&root_dir.join("runs")), 0o700);
    assert_eq!(mode(&journal), 0o600);
    let t = text(&o);
    assert!(
        t.contains("made it owner-only") && t.contains(".patron-etl"),
        "{t}"
    );
}

#[test]
fn a_damaged_journal_stops_commit_before_any_write() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    sb.folio_config(d, "rate = 1000\n");
    write_roster(&d.join("roster.csv"), (0..400).map(|i| (i, None)));
    let o = import_folio(d, "roster.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let journal = d.join(".patron-etl/journal.sqlite");
    let mut bytes = std::fs::read(&journal).unwrap();
    assert!(
        bytes.len() > 16 * 4096,
        "a journal of several pages: {}",
        bytes.len()
    );
    // Garbage in the middle of the file (not the header, so SQLite still opens it).
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 8192] {
        *b = 0x5a;
    }
    std::fs::write(&journal, &bytes).unwrap();
    write_roster(&d.join("more.csv"), (400..410).map(|i| (i, None)));
    let (w0, _) = sb.counts("/folio/users");
    let o = import_folio(d, "more.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("damaged"), "{}", text(&o));
    let (w1, _) = sb.counts("/folio/users");
    assert_eq!(w1, w0, "nothing written");
    assert_eq!(sb.folio_users().len(), 400);
}

#[test]
fn an_empty_or_missing_journal_beside_run_folders_is_reported_not_replaced() {
    let dir = Workdir::new();
    let d = dir.path();
    write_roster(&d.join("roster.csv"), (0..3).map(|i| (i, None)));
    assert_eq!(preview(d).status.code(), Some(0));
    let journal = d.join(".patron-etl/journal.sqlite");
    std::fs::write(&journal, b"").unwrap();
    for args in [vec!["runs"], vec![]] {
        let o = if args.is_empty() {
            preview(d)
        } else {
            dir.run(&args)
        };
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            text(&o).contains("is empty but 1 run folder(s) exist"),
            "{}",
            text(&o)
        );
        assert_eq!(
            std::fs::metadata(&journal).unwrap().len(),
            0,
            "not replaced"
        );
    }
    std::fs::remove_file(&journal).unwrap();
    let o = preview(d);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is missing"), "{}", text(&o));
    assert!(!journal.exists());
}

fn commit(d: &Path) -> std::process::Output {
    let mapping = root().join("mappings/folio.toml");
    run_in(
        d,
        &[
            "import",
            "roster.csv",
            "--mapping",
            mapping.to_str().unwrap(),
            "--to",
            "sandbox:folio",
            "--commit",
        ],
    )
}

/// A committing run takes its lease before it opens the journal: the lease must create the
/// journal owner-only (no "was readable by others" note on a newcomer's first run) and must not
/// replace a missing journal beside run folders.
#[test]
fn a_first_commit_creates_the_journal_owner_only_and_the_lease_never_replaces_a_lost_one() {
    let dir = Workdir::new();
    let d = dir.path();
    write_roster(&d.join("roster.csv"), (0..3).map(|i| (i, None)));
    let o = commit(d);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let journal = d.join(".patron-etl/journal.sqlite");
    assert_eq!(mode(&journal), 0o600);
    assert!(!text(&o).contains("readable by others"), "{}", text(&o));
    std::fs::remove_file(&journal).unwrap();
    let o = commit(d);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is missing"), "{}", text(&o));
    assert!(!journal.exists(), "not replaced");
}

#[test]
fn a_killed_run_is_shown_as_interrupted() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&["--latency-ms", "50"]);
    sb.folio_config(d, "rate = 1000\nconcurrency = 1\n");
    write_roster(&d.join("roster.csv"), (0..200).map(|i| (i, None)));
    let mapping = root().join("mappings/folio.toml");
    let m = mapping.to_str().unwrap();
    let mut child = spawn_in(
        d,
        &[
            "import",
            "roster.csv",
            "--mapping",
            m,
            "--to",
            "sb",
            "--commit",
        ],
        false,
    );
    let start = Instant::now();
    while sb.counts("/folio/users").0 < 3 {
        assert!(start.elapsed() < Duration::from_secs(30), "no writes");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let o = dir.run(&["runs"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let line = String::from_utf8_lossy(&o.stdout)
        .lines()
        .find(|l| l.contains(" import "))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(
        line.contains("interrupted") && !line.contains("running"),
        "{line}"
    );
}

/// The built-in sandbox saves its state before it answers a write: after a SIGKILL, every create
/// the journal recorded is in the state file (a rehearsal's resume is then truthful).
#[test]
fn the_builtin_sandbox_keeps_every_answered_write_through_a_sigkill() {
    let dir = Workdir::new();
    let d = dir.path();
    write_roster(&d.join("roster.csv"), (0..400).map(|i| (i, None)));
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
    let mut child = dir.spawn(&[&args[..], &["--rate", "300"]].concat(), false);
    let journal = d.join(".patron-etl/journal.sqlite");
    let created = |conn: &rusqlite::Connection| -> Vec<String> {
        conn.prepare("SELECT target_id FROM row_outcomes WHERE outcome = 'created'")
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))
                    .map(|rows| rows.filter_map(Result::ok).collect())
            })
            .unwrap_or_default()
    };
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no outcomes recorded"
        );
        let n = rusqlite::Connection::open(&journal)
            .map(|c| created(&c).len())
            .unwrap_or(0);
        if n >= 60 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let ids = created(&rusqlite::Connection::open(&journal).unwrap());
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join(".patron-etl/sandbox/state.json")).unwrap())
            .unwrap();
    let users = state["folio"]["users"].as_object().unwrap();
    let missing: Vec<&String> = ids.iter().filter(|id| !users.contains_key(*id)).collect();
    let first: Vec<&&String> = missing.iter().take(5).collect();
    assert!(
        missing.is_empty(),
        "{} of {} recorded creates lost, e.g. {first:?}",
        missing.len(),
        ids.len()
    );
}
