//! The seam test (issue 13): a fourth, test-only system (`crates/core/src/systems/memory/`, one
//! folder plus its registry line) runs `check`, `import` (preview and commit), `export` and `undo`
//! end to end through the real binary, with no stage knowing it exists.

use crate::harness::{text, Workdir};
use serde_json::Value;
use std::path::Path;

const MAPPING: &str = r#"
system = "memory"
match = "key"

[fields]
key = { column = "ID", transform = ["trim"], required = true }
name = { column = "Name", transform = ["collapse_spaces"] }
email = { column = "Email", transform = ["trim", "lower"] }
group = "Group"
"#;

fn setup(dir: &Workdir) {
    let store = dir.path().join("store.json");
    std::fs::write(
        dir.path().join("patron-etl.toml"),
        format!(
            "[targets.mem]\nsystem = \"memory\"\nurl = \"file://{}\"\napi_key_env = \"MEM_KEY\"\n",
            store.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("mem.toml"), MAPPING).unwrap();
    roster(dir.path(), "Ada  Lovelace");
}

fn roster(dir: &Path, ada: &str) {
    std::fs::write(
        dir.join("roster.csv"),
        format!(
            "ID,Name,Email,Group\n\
             a1,{ada},ADA@example.edu,staff\n\
             b2,Grace Hopper,grace@example.edu,faculty\n\
             ,No Key,nokey@example.edu,staff\n\
             c3,Alan Turing,alan@example.edu,grad\n"
        ),
    )
    .unwrap();
}

/// The binary with the test connectors on and the store's key set.
fn run(dir: &Workdir, args: &[&str]) -> std::process::Output {
    dir.command(args)
        .env("PATRON_ETL_TEST_CONNECTORS", "1")
        .env("MEM_KEY", "k")
        .output()
        .expect("binary runs")
}

fn store(dir: &Workdir) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.path().join("store.json")).unwrap_or_default();
    if text.is_empty() {
        return Vec::new();
    }
    let v: Value = serde_json::from_str(&text).unwrap();
    v["patrons"].as_array().cloned().unwrap_or_default()
}

fn run_id(out: &std::process::Output) -> String {
    let t = text(out);
    let line = t
        .lines()
        .find(|l| l.trim_start().starts_with("run folder:"))
        .unwrap_or_else(|| panic!("no run folder in {t}"));
    Path::new(line.trim_start().trim_start_matches("run folder:").trim())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn count(dir: &Workdir, run: &str, outcome: &str) -> usize {
    dir.report(&dir.home().join("runs").join(run))
        .iter()
        .filter(|r| r["outcome"] == outcome)
        .count()
}

#[test]
fn a_fourth_system_runs_check_import_export_and_undo_end_to_end() {
    let dir = Workdir::new();
    setup(&dir);

    // Hidden from users: without the switch the system is unknown (a usage error).
    let hidden = dir
        .command(&["check", "roster.csv", "--mapping", "mem.toml"])
        .output()
        .unwrap();
    assert_eq!(hidden.status.code(), Some(2), "{}", text(&hidden));

    // check: offline, the row without a key rejected with the reason, the others ok.
    let check = run(&dir, &["check", "roster.csv", "--mapping", "mem.toml"]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(text(&check).contains("key"), "{}", text(&check));

    // import preview: three would be created, nothing written.
    let preview = run(
        &dir,
        &[
            "import",
            "roster.csv",
            "--mapping",
            "mem.toml",
            "--to",
            "mem",
        ],
    );
    assert_eq!(preview.status.code(), Some(1), "{}", text(&preview));
    let first = run_id(&preview);
    assert_eq!(count(&dir, &first, "would_create"), 3);
    assert_eq!(count(&dir, &first, "rejected"), 1);
    assert!(store(&dir).is_empty());

    // import --commit: three created, with the mapping's transforms applied.
    let commit = run(
        &dir,
        &[
            "import",
            "roster.csv",
            "--mapping",
            "mem.toml",
            "--to",
            "mem",
            "--commit",
        ],
    );
    assert_eq!(commit.status.code(), Some(1), "{}", text(&commit));
    let created = run_id(&commit);
    assert_eq!(count(&dir, &created, "created"), 3);
    let patrons = store(&dir);
    assert_eq!(patrons.len(), 3);
    let ada = patrons.iter().find(|p| p["key"] == "a1").unwrap();
    assert_eq!(ada["name"], "Ada Lovelace");
    assert_eq!(ada["email"], "ada@example.edu");

    // A changed row: one update (the change listed), the rest unchanged.
    roster(dir.path(), "Ada King");
    let update = run(
        &dir,
        &[
            "import",
            "roster.csv",
            "--mapping",
            "mem.toml",
            "--to",
            "mem",
            "--commit",
        ],
    );
    let updated = run_id(&update);
    assert_eq!(count(&dir, &updated, "updated"), 1, "{}", text(&update));
    assert_eq!(count(&dir, &updated, "unchanged"), 2);
    assert!(store(&dir).iter().any(|p| p["name"] == "Ada King"));

    // export: every patron, one row each.
    let export = run(&dir, &["export", "--from", "mem", "--out", "out.csv"]);
    assert_eq!(export.status.code(), Some(0), "{}", text(&export));
    let csv = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        csv.contains("Ada King") && csv.contains("grace@example.edu"),
        "{csv}"
    );

    // undo the update (the before-image back), then the creates (deleted).
    let undo = run(&dir, &["undo", &updated, "--commit"]);
    assert_eq!(undo.status.code(), Some(0), "{}", text(&undo));
    assert!(store(&dir).iter().any(|p| p["name"] == "Ada Lovelace"));
    let undo = run(&dir, &["undo", &created, "--commit"]);
    assert_eq!(undo.status.code(), Some(0), "{}", text(&undo));
    assert!(store(&dir).is_empty(), "{:?}", store(&dir));
}
