//! `patron-etl migrate`: FOLIO's 303 sample users moved into Libib (pacing shortened) through the
//! shipped mappings/folio-to-libib.toml, straight from export to import; every user is accounted for,
//! with the requests to Libib bounded (the snapshot path: its patrons paged once, no lookup per user).

use crate::harness::export::*;
use crate::harness::*;
use std::collections::HashMap;

/// Every Libib patron in the sandbox, by e-mail (waiting out the sandbox's pacing).
fn libib_patrons(sb: &Sandbox) -> HashMap<String, serde_json::Value> {
    sb.libib_patrons().into_iter().collect()
}

#[test]
fn folio_sample_users_migrate_to_libib_none_lost() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&["--libib-interval-ms", "2"]);
    let users = sample_users();
    assert_eq!(users.len(), 303);
    load_folio_users(&sb, &users);
    write_fast_config(&sb, d);
    let mapping = root().join("mappings/folio-to-libib.toml");
    let m = mapping.to_str().unwrap();

    // Preview: nothing written, every user has an outcome.
    let (w0, _) = sb.counts("/libib");
    let o = run_in(
        d,
        &[
            "migrate",
            "--from",
            "sb",
            "--to",
            "lib",
            "--mapping",
            m,
            "--report",
            "preview.csv",
        ],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    let (w1, r1) = sb.counts("/libib");
    assert_eq!(w1, w0, "a preview writes nothing");
    let preview = read_report(&d.join("preview.csv"));
    assert_eq!(preview.len(), 303, "one line per FOLIO user");

    let o = run_in(
        d,
        &[
            "migrate",
            "--from",
            "sb",
            "--to",
            "lib",
            "--mapping",
            m,
            "--commit",
            "--report",
            "r.csv",
        ],
    );
    let rows = read_report(&d.join("r.csv"));
    assert_eq!(rows.len(), 303, "one line per FOLIO user: {}", text(&o));
    // Issue 19: the migration takes the snapshot path like a file import (the target's patrons
    // paged once, no lookup per patron): at most one request per created patron, plus a few.
    let (_, r_load) = sb.counts("/libib");
    let load_requests = r_load - r1;
    assert!(
        load_requests <= 310,
        "first load: {load_requests} requests to Libib for 303 users"
    );
    let mut by: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        *by.entry(r["outcome"].as_str()).or_default() += 1;
    }
    let created = by.get("created").copied().unwrap_or(0);
    let rejected = by.get("rejected").copied().unwrap_or(0);
    assert_eq!(created + rejected, 303, "{by:?}\n{}", text(&o));
    assert!(created > 200, "most users migrate: {by:?}");
    for r in rows.iter().filter(|r| r["outcome"] == "rejected") {
        assert!(!r["reason"].is_empty(), "a rejected user says why: {r:?}");
    }
    assert_eq!(o.status.code(), Some(if rejected > 0 { 1 } else { 0 }));

    // The sandbox holds exactly the created users, with FOLIO's data.
    let patrons = libib_patrons(&sb);
    assert_eq!(patrons.len(), created);
    let by_email: HashMap<String, &serde_json::Value> = users
        .iter()
        .filter_map(|u| Some((u["personal"]["email"].as_str()?.to_lowercase(), u)))
        .collect();
    for r in rows.iter().filter(|r| r["outcome"] == "created") {
        let p = &patrons[&r["key"]];
        let u = by_email[&r["key"]];
        assert_eq!(p["last_name"], u["personal"]["lastName"], "{r:?}");
        assert_eq!(
            p["barcode"].as_str(),
            u["barcode"]
                .as_str()
                .or(r.get("target_id").map(|s| s.as_str()))
        );
        assert_eq!(r["target_id"], p["barcode"].as_str().unwrap());
    }

    // A second migration changes nothing.
    let (w2, r2_before) = sb.counts("/libib");
    let o = run_in(
        d,
        &[
            "migrate",
            "--from",
            "sb",
            "--to",
            "lib",
            "--mapping",
            m,
            "--commit",
            "--report",
            "again.csv",
        ],
    );
    let again = read_report(&d.join("again.csv"));
    assert_eq!(
        again.iter().filter(|r| r["outcome"] == "unchanged").count(),
        created,
        "{}",
        text(&o)
    );
    let (w3, r3) = sb.counts("/libib");
    assert_eq!(w3, w2, "the re-run writes nothing");
    // The unchanged re-run pages the target once (50 a page) instead of looking up 303 patrons.
    assert!(
        r3 - r2_before <= 10,
        "unchanged re-run: {} requests to Libib for 303 users",
        r3 - r2_before
    );
}

#[test]
fn migrate_between_builtin_sandboxes_and_bad_source() {
    let dir = Workdir::new();
    let d = dir.path();
    // Load the sample roster into the built-in FOLIO, then migrate it to the built-in ILLiad.
    let o = bin()
        .args(["import"])
        .arg(root().join("samples/roster.csv"))
        .arg("--mapping")
        .arg(root().join("mappings/folio.toml"))
        .args(["--to", "sandbox:folio", "--commit"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = bin()
        .args([
            "migrate",
            "--from",
            "sandbox:folio",
            "--to",
            "sandbox:illiad",
            "--commit",
            "--report",
            "r.csv",
            "--mapping",
        ])
        .arg(root().join("mappings/folio-to-illiad.toml"))
        .current_dir(d)
        .output()
        .unwrap();
    let rows = read_report(&d.join("r.csv"));
    assert!(rows.len() >= 40, "{}", text(&o));
    // The summary says it was a migration, naming both ends (not "import into …").
    assert!(
        text(&o).contains("migrate from sandbox:folio into sandbox:illiad — run "),
        "{}",
        text(&o)
    );
    let created = rows.iter().filter(|r| r["outcome"] == "created").count();
    assert!(created >= 40, "{}", text(&o));
    // Unknown source: usage error before anything runs.
    let o = bin()
        .args([
            "migrate",
            "--from",
            "nowhere",
            "--to",
            "sandbox:illiad",
            "--mapping",
        ])
        .arg(root().join("mappings/folio-to-illiad.toml"))
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// A migration is journaled with its intents like an import, so `undo` takes it back: the
/// patrons it created in the destination are deleted, and a second migration creates them again.
#[test]
fn a_migration_can_be_undone() {
    let dir = Workdir::new();
    let d = dir.path();
    let env = ("PATRON_ETL_SANDBOX_LIBIB_INTERVAL_MS", "20");
    let o = bin()
        .args(["import"])
        .arg(root().join("samples/roster.csv"))
        .arg("--mapping")
        .arg(root().join("mappings/folio.toml"))
        .args(["--to", "sandbox:folio", "--commit"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let migrate = |extra: &[&str]| {
        bin()
            .args([
                "migrate",
                "--from",
                "sandbox:folio",
                "--to",
                "sandbox:libib",
                "--mapping",
            ])
            .arg(root().join("mappings/folio-to-libib.toml"))
            .args(extra)
            .env(env.0, env.1)
            .current_dir(d)
            .output()
            .unwrap()
    };
    let o = migrate(&["--commit", "--report", "m.csv"]);
    let created = read_report(&d.join("m.csv"))
        .iter()
        .filter(|r| r["outcome"] == "created")
        .count();
    assert!(created >= 40, "{}", text(&o));
    let id = String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.split("— run ").nth(1).map(|s| s.trim().to_string()))
        .expect("run id");
    let o = bin().args(["runs", &id]).current_dir(d).output().unwrap();
    assert!(
        text(&o).contains(&format!("undo with:     patron-etl undo {id}")),
        "{}",
        text(&o)
    );
    let undo = |extra: &[&str]| {
        let mut args = vec!["undo", id.as_str()];
        args.extend_from_slice(extra);
        bin()
            .args(&args)
            .env(env.0, env.1)
            .current_dir(d)
            .output()
            .unwrap()
    };
    let o = undo(&["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let deleted = String::from_utf8_lossy(&o.stdout).lines().find_map(|l| {
        l.trim()
            .strip_prefix("deleted")
            .map(|n| n.trim().to_string())
    });
    assert_eq!(deleted, Some(created.to_string()), "{}", text(&o));
    // Every patron it created is gone: the same migration creates them all again.
    let o = migrate(&["--report", "again.csv"]);
    let again = read_report(&d.join("again.csv"))
        .iter()
        .filter(|r| r["outcome"] == "would_create")
        .count();
    assert_eq!(again, created, "{}", text(&o));
}
