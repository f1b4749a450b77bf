//! FOLIO linked records end to end (systems/folio/linked/): request preferences and
//! service-points-users loaded with their users, re-run unchanged with zero writes, one
//! preference changed alone, a row without preference columns leaving the stored one alone,
//! undo putting every linked record back, an unknown service point rejected before any write,
//! export → folio-reimport.toml → export the identity, and requests per user for a first load.

use crate::harness::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// FOLIO's reference service points the sandbox seeds (folio-org/mod-inventory-storage
/// `reference-data/service-points/circulation-desk-1.json`, `circulation-desk-2.json`).
const CD1: &str = "3a40852d-49fd-4df2-a1f9-6e2641a6e91f";
const CD2: &str = "c4c90014-c8c9-4ade-8f24-b5e313319f4b";

const MAPPING: &str = r#"system = "folio"
match = "externalSystemId"
on_blank = "keep"
[fields]
externalSystemId = "ID"
username = { template = "{ID}", transform = ["lower"] }
"personal.lastName" = "Last"
patronGroup = { value = "undergrad" }
"requestPreference.holdShelf" = "Hold"
"requestPreference.delivery" = "Delivery"
"requestPreference.defaultServicePointId" = "Pickup"
"servicePointsUser.servicePointsIds" = { column = "Desks", split = ";" }
"servicePointsUser.defaultServicePointId" = "Home desk"
"#;

const HEADER: &str = "ID,Last,Hold,Delivery,Pickup,Desks,Home desk\n";

fn setup(dir: &Workdir) -> Sandbox {
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    sb.folio_config(d, "rate = 1000\nconcurrency = 8\n");
    std::fs::write(d.join("linked.toml"), MAPPING).unwrap();
    sb
}

fn import(d: &Path, file: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import", file, "--mapping", "linked.toml", "--to", "sb"];
    args.extend_from_slice(extra);
    run_in(d, &args)
}

/// An authenticated GET of a FOLIO collection, its `key` array.
fn folio_list(sb: &Sandbox, path: &str, key: &str) -> Vec<Value> {
    let token = sb.folio_token();
    let c = reqwest::blocking::Client::new();
    let v: Value = with_retries(path, || {
        c.get(format!("{}/folio{path}", sb.base))
            .query(&[("limit", "100000")])
            .header("X-Okapi-Tenant", "diku")
            .header("X-Okapi-Token", &token)
            .send()
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?
            .json()
            .map_err(|e| e.to_string())
    });
    v[key].as_array().cloned().unwrap_or_default()
}

fn prefs(sb: &Sandbox) -> Vec<Value> {
    folio_list(
        sb,
        "/request-preference-storage/request-preference",
        "requestPreferences",
    )
}

fn spus(sb: &Sandbox) -> Vec<Value> {
    folio_list(sb, "/service-points-users", "servicePointsUsers")
}

/// externalSystemId → user id.
fn ids(sb: &Sandbox) -> HashMap<String, String> {
    sb.folio_users()
        .iter()
        .filter_map(|u| {
            Some((
                u["externalSystemId"].as_str()?.to_string(),
                u["id"].as_str()?.to_string(),
            ))
        })
        .collect()
}

fn of<'a>(records: &'a [Value], user: &str) -> Option<&'a Value> {
    records.iter().find(|r| r["userId"] == user)
}

fn last_run(d: &Path) -> String {
    let db = rusqlite::Connection::open(d.join(".patron-etl/journal.sqlite")).unwrap();
    db.query_row(
        "SELECT id FROM runs WHERE command = 'import' AND commit_mode = 1 ORDER BY started_at DESC, rowid DESC LIMIT 1",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// Linked records without what the server sets (for before/after comparisons).
fn plain(records: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = records
        .into_iter()
        .map(|mut r| {
            if let Some(o) = r.as_object_mut() {
                o.remove("metadata");
            }
            r
        })
        .collect();
    out.sort_by_key(|r| r["userId"].as_str().unwrap_or_default().to_string());
    out
}

#[test]
fn preferences_and_service_points_load_rerun_unchanged_change_alone_and_undo() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = setup(&dir);
    std::fs::write(
        d.join("r1.csv"),
        format!(
            "{HEADER}L1,Alpha,true,false,cd2,cd1;cd2,cd1\nL2,Beta,yes,yes,Circ Desk 1,,\nL3,Gamma,,,,,\n"
        ),
    )
    .unwrap();

    // Preview: the linked fields in the plan, nothing written.
    let o = import(d, "r1.csv", &["--report", "preview.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.counts("/folio").0, 0, "a preview writes nothing");

    let o = import(d, "r1.csv", &["--commit", "--report", "first.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let first = read_report(&d.join("first.csv"));
    assert!(first.iter().all(|r| r["outcome"] == "created"), "{first:?}");
    let id = ids(&sb);
    let p = prefs(&sb);
    assert_eq!(p.len(), 2, "L3 maps no preference: {p:?}");
    let p1 = of(&p, &id["L1"]).expect("L1's preference");
    assert_eq!(
        (
            &p1["holdShelf"],
            &p1["delivery"],
            &p1["defaultServicePointId"]
        ),
        (&Value::Bool(true), &Value::Bool(false), &Value::from(CD2))
    );
    let p2 = of(&p, &id["L2"]).expect("L2's preference");
    assert_eq!(p2["delivery"], true);
    assert_eq!(p2["defaultServicePointId"], CD1, "by name");
    let s = spus(&sb);
    assert_eq!(s.len(), 1, "{s:?}");
    let s1 = of(&s, &id["L1"]).expect("L1's service points");
    assert_eq!(s1["servicePointsIds"], serde_json::json!([CD1, CD2]));
    assert_eq!(s1["defaultServicePointId"], CD1);
    let loaded_prefs = plain(prefs(&sb));
    let loaded_spus = plain(spus(&sb));
    let first_run = last_run(d);

    // Re-run: unchanged, zero writes anywhere.
    let (w0, _) = sb.counts("/folio");
    let o = import(d, "r1.csv", &["--commit", "--report", "again.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let again = read_report(&d.join("again.csv"));
    assert!(
        again.iter().all(|r| r["outcome"] == "unchanged"),
        "{again:?}"
    );
    assert_eq!(
        sb.counts("/folio").0,
        w0,
        "an unchanged re-run writes nothing"
    );

    // L1's delivery changes alone; L2's row has no preference columns at all: its preference
    // stays as it was.
    std::fs::write(
        d.join("r2.csv"),
        format!("{HEADER}L1,Alpha,true,true,cd2,cd1;cd2,cd1\nL2,Beta,,,,,\n"),
    )
    .unwrap();
    let o = import(d, "r2.csv", &["--report", "preview2.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let preview = read_report(&d.join("preview2.csv"));
    assert_eq!(preview[0]["outcome"], "would_update", "{preview:?}");
    assert_eq!(
        preview[0]["changed_fields"],
        "requestPreference.delivery: false → true"
    );
    assert_eq!(preview[1]["outcome"], "unchanged", "{preview:?}");
    let (users0, _) = sb.counts("/folio/users");
    let (prefs0, _) = sb.counts("/folio/request-preference-storage");
    let (spus0, _) = sb.counts("/folio/service-points-users");
    let o = import(d, "r2.csv", &["--commit", "--report", "second.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let second = read_report(&d.join("second.csv"));
    assert_eq!(second[0]["outcome"], "updated", "{second:?}");
    assert_eq!(sb.counts("/folio/users").0, users0, "the user is not sent");
    assert_eq!(sb.counts("/folio/request-preference-storage").0, prefs0 + 1);
    assert_eq!(sb.counts("/folio/service-points-users").0, spus0);
    let p = prefs(&sb);
    assert_eq!(of(&p, &id["L1"]).unwrap()["delivery"], true);
    assert_eq!(of(&p, &id["L1"]).unwrap()["defaultServicePointId"], CD2);
    assert_eq!(
        plain(vec![of(&p, &id["L2"]).unwrap().clone()]),
        plain(vec![p2.clone()]),
        "a row with no preference columns leaves the preference alone"
    );

    // Undo the change: L1's preference is back as loaded.
    let change_run = last_run(d);
    let o = dir.run(&["undo", &change_run, "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(plain(prefs(&sb)), loaded_prefs);
    assert_eq!(plain(spus(&sb)), loaded_spus);

    // Undo the first load: users and every linked record gone.
    let o = dir.run(&["undo", &first_run, "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(sb.folio_users().is_empty());
    assert!(prefs(&sb).is_empty(), "{:?}", prefs(&sb));
    assert!(spus(&sb).is_empty(), "{:?}", spus(&sb));
}

#[test]
fn an_existing_user_gains_a_preference_and_undo_removes_only_that() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = setup(&dir);
    std::fs::write(d.join("r1.csv"), format!("{HEADER}L1,Alpha,,,,,\n")).unwrap();
    let o = import(d, "r1.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let users = sb.folio_users();
    std::fs::write(
        d.join("r2.csv"),
        format!("{HEADER}L1,Alpha,true,false,cd1,Online,Online\n"),
    )
    .unwrap();
    let o = import(d, "r2.csv", &["--commit", "--report", "r2.report.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = read_report(&d.join("r2.report.csv"));
    assert_eq!(r[0]["outcome"], "updated", "{r:?}");
    assert!(
        r[0]["changed_fields"]
            .contains("servicePointsUser.defaultServicePointId: (none) → \"Online\""),
        "{r:?}"
    );
    assert_eq!(prefs(&sb).len(), 1);
    assert_eq!(spus(&sb).len(), 1);
    let o = dir.run(&["undo", &last_run(d), "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(prefs(&sb).is_empty(), "the run created it: undo deletes it");
    assert!(spus(&sb).is_empty());
    let strip = |v: Vec<Value>| -> Vec<Value> {
        v.into_iter()
            .map(|mut u| {
                if let Some(o) = u.as_object_mut() {
                    for k in ["metadata", "updatedDate"] {
                        o.remove(k);
                    }
                }
                u
            })
            .collect()
    };
    assert_eq!(
        strip(sb.folio_users()),
        strip(users),
        "the user is as it was"
    );
}

#[test]
fn an_unknown_service_point_is_rejected_in_preview_listing_the_codes_before_any_write() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = setup(&dir);
    std::fs::write(
        d.join("bad.csv"),
        format!("{HEADER}L1,Alpha,true,false,nowhere,,\n"),
    )
    .unwrap();
    for extra in [&[][..], &["--commit"][..]] {
        let mut args = vec!["--report", "bad.report.csv"];
        args.extend_from_slice(extra);
        let o = import(d, "bad.csv", &args);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let r = read_report(&d.join("bad.report.csv"));
        assert_eq!(r[0]["outcome"], "rejected", "{r:?}");
        assert!(
            r[0]["reason"].contains(
                "requestPreference.defaultServicePointId (column \"Pickup\"): unknown service point \"nowhere\" (valid codes: Online, cd1, cd2)"
            ),
            "{r:?}"
        );
    }
    assert_eq!(sb.counts("/folio").0, 0, "nothing was written");
    assert!(sb.folio_users().is_empty());
}

#[test]
fn a_new_preference_without_hold_shelf_and_delivery_is_rejected_with_the_rule() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = setup(&dir);
    std::fs::write(d.join("r.csv"), format!("{HEADER}L1,Alpha,,,cd1,,\n")).unwrap();
    let o = import(d, "r.csv", &["--commit", "--report", "r.report.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = read_report(&d.join("r.report.csv"));
    assert_eq!(r[0]["outcome"], "rejected", "{r:?}");
    assert!(r[0]["reason"].contains("holdShelf and delivery"), "{r:?}");
    assert_eq!(sb.counts("/folio").0, 0);
}

#[test]
fn export_reimport_export_is_the_identity_with_linked_records() {
    let dir = Workdir::new();
    let d = dir.path();
    let _sb = setup(&dir);
    std::fs::write(
        d.join("r1.csv"),
        format!(
            "{HEADER}L1,Alpha,true,false,cd2,cd1;cd2,cd1\nL2,Beta,true,true,cd1,,\nL3,Gamma,,,,Online,Online\n"
        ),
    )
    .unwrap();
    let o = import(d, "r1.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let export = |dir: &Path, out: &str| {
        let o = run_in(
            dir,
            &[
                "export",
                "--from",
                "sb",
                "--out",
                out,
                "--all-columns",
                "--headers",
                "fields",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        std::fs::read_to_string(dir.join(out)).unwrap()
    };
    let first = export(d, "one.csv");
    let header = first.lines().next().unwrap_or_default().to_string();
    for col in [
        "requestPreference.holdShelf",
        "requestPreference.defaultServicePointId",
        "servicePointsUser.servicePointsIds",
    ] {
        assert!(header.contains(col), "{header}");
    }
    assert!(
        first.contains("cd1; cd2"),
        "service points read as codes: {first}"
    );

    let tdir = Workdir::new();
    let t = tdir.path();
    let target = tdir.sandbox(&[]);
    target.folio_config(t, "rate = 1000\nconcurrency = 8\n");
    let mapping = root().join("mappings/folio-reimport.toml");
    let file = d.join("one.csv");
    let o = run_in(
        t,
        &[
            "import",
            file.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--to",
            "sb",
            "--commit",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(prefs(&target).len(), 2);
    assert_eq!(spus(&target).len(), 2);
    let second = export(t, "two.csv");
    assert_eq!(second, first, "export → reimport → export is the identity");
}

#[test]
fn a_first_load_with_preference_and_service_points_takes_at_most_3_1_requests_per_user() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = setup(&dir);
    let mut csv = String::from(HEADER);
    for i in 0..200 {
        csv.push_str(&format!("P{i:04},Last{i},true,false,cd1,cd1;cd2,cd2\n"));
    }
    std::fs::write(d.join("big.csv"), csv).unwrap();
    let (_, a0) = sb.counts("/folio");
    let o = import(d, "big.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (w1, a1) = sb.counts("/folio");
    let per_user = (a1 - a0) as f64 / 200.0;
    eprintln!("requests per user, first load with preference and service points: {per_user:.3} ({w1} writes)");
    assert_eq!(w1, 600, "one write per record");
    assert!(per_user <= 3.1, "{per_user}");
    assert_eq!(prefs(&sb).len(), 200);
    assert_eq!(spus(&sb).len(), 200);
}

#[test]
fn the_shipped_folio_full_mapping_loads_the_sample_roster_with_request_preferences() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = setup(&dir);
    std::fs::copy(root().join("samples/roster.csv"), d.join("roster.csv")).unwrap();
    let mapping = root().join("mappings/folio-full.toml");
    let m = mapping.to_str().unwrap();
    let args = [
        "import",
        "roster.csv",
        "--mapping",
        m,
        "--to",
        "sb",
        "--commit",
        "--report",
        "full.csv",
    ];
    let o = run_in(d, &args);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the sample has bad rows: {}",
        text(&o)
    );
    let report = read_report(&d.join("full.csv"));
    let created: Vec<&HashMap<String, String>> = report
        .iter()
        .filter(|r| r["outcome"] == "created")
        .collect();
    assert!(created.len() >= 40, "{report:?}");
    let p = prefs(&sb);
    assert_eq!(p.len(), created.len(), "one preference per loaded patron");
    let users = sb.folio_users();
    let graduate = "ad0bc554-d5bc-463c-85d1-5562127ae91b";
    for u in &users {
        let pref = of(&p, u["id"].as_str().unwrap()).expect("a preference");
        assert_eq!(pref["holdShelf"], true);
        assert_eq!(pref["fulfillment"], "Hold Shelf");
        let desk = if u["patronGroup"] == graduate {
            CD2
        } else {
            CD1
        };
        assert_eq!(pref["defaultServicePointId"], desk, "{u}");
        // The custom field: students (undergrad, graduate) are checked.
        let undergrad = "bdc2b6d4-5ceb-4a12-ab46-249b9a68473e";
        let student = u["patronGroup"] == graduate || u["patronGroup"] == undergrad;
        assert_eq!(u["customFields"]["isStudent"], student, "{u}");
        // The roster's departments were created (create_missing) and are held by id.
        let ds = u["departments"].as_array().cloned().unwrap_or_default();
        assert!(
            !ds.is_empty() && ds.iter().all(|d| d.as_str().is_some_and(|d| d.len() == 36)),
            "{u}"
        );
    }
    let names: Vec<Value> = folio_list(&sb, "/departments", "departments")
        .into_iter()
        .map(|d| d["name"].clone())
        .collect();
    assert!(
        names.contains(&Value::from("History")) && names.contains(&Value::from("Physics")),
        "{names:?}"
    );
    // Re-run: unchanged, nothing written.
    let (w0, _) = sb.counts("/folio");
    let o = run_in(d, &args);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(sb.counts("/folio").0, w0);
}

#[test]
fn a_native_backup_restores_the_linked_records_with_their_users() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = setup(&dir);
    std::fs::write(
        d.join("r1.csv"),
        format!("{HEADER}L1,Alpha,true,false,cd2,cd1;cd2,cd1\nL2,Beta,,,,,\n"),
    )
    .unwrap();
    let o = import(d, "r1.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run_in(d, &["export", "--from", "sb", "--out", "backup.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let tdir = Workdir::new();
    let t = tdir.path();
    let target = tdir.sandbox(&[]);
    target.folio_config(t, "rate = 1000\nconcurrency = 8\n");
    let b = d.join("backup.jsonl");
    let o = run_in(
        t,
        &["restore", b.to_str().unwrap(), "--to", "sb", "--commit"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        plain(prefs(&target)),
        plain(prefs(&sb)),
        "same ids, same fields"
    );
    assert_eq!(plain(spus(&target)), plain(spus(&sb)));
    // Restoring again: every record as the backup has it, nothing written.
    let (w0, _) = target.counts("/folio");
    let o = run_in(
        t,
        &["restore", b.to_str().unwrap(), "--to", "sb", "--commit"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(target.counts("/folio").0, w0, "{}", text(&o));
}

#[test]
fn create_missing_departments_are_previewed_created_once_and_undone() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = setup(&dir);
    let mapping = format!(
        "{MAPPING}departments = {{ column = \"Dept\", split = \";\", create_missing = true }}\n"
    );
    std::fs::write(d.join("dept.toml"), mapping).unwrap();
    std::fs::write(
        d.join("r.csv"),
        "ID,Last,Hold,Delivery,Pickup,Desks,Home desk,Dept\nD1,Alpha,,,,,,Linked Studies\nD2,Beta,,,,,,Linked Studies; Rare Books\nD3,Gamma,,,,,,\n",
    )
    .unwrap();
    let import = |extra: &[&str]| {
        let mut args = vec!["import", "r.csv", "--mapping", "dept.toml", "--to", "sb"];
        args.extend_from_slice(extra);
        run_in(d, &args)
    };
    let depts = || folio_list(&sb, "/departments", "departments");
    let seeded = depts().len();
    let o = import(&["--report", "p.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let p = read_report(&d.join("p.csv"));
    assert_eq!(
        p[0]["changed_fields"], "would_create department \"Linked Studies\"",
        "{p:?}"
    );
    assert_eq!(
        p[1]["changed_fields"],
        "would_create department \"Linked Studies\"; would_create department \"Rare Books\"",
        "{p:?}"
    );
    assert_eq!(depts().len(), seeded, "a preview creates nothing");

    let o = import(&["--commit", "--report", "c.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let all = depts();
    assert_eq!(all.len(), seeded + 2, "each new name once: {all:?}");
    let linked = all
        .iter()
        .find(|x| x["name"] == "Linked Studies")
        .expect("created");
    assert_eq!(linked["code"], "LINKED_STUDIES");
    let users = sb.folio_users();
    let held = |ext: &str| -> Value {
        users.iter().find(|u| u["externalSystemId"] == ext).unwrap()["departments"].clone()
    };
    assert_eq!(held("D1"), serde_json::json!([linked["id"]]));
    assert_eq!(held("D2").as_array().map(Vec::len), Some(2));
    // Re-run: the departments are known now; nothing changes.
    let (w0, _) = sb.counts("/folio");
    let o = import(&["--commit", "--report", "again.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        sb.counts("/folio").0,
        w0,
        "{:?}",
        read_report(&d.join("again.csv"))
    );

    // Undo: the users, then the departments the run created.
    let run: String = rusqlite::Connection::open(d.join(".patron-etl/journal.sqlite"))
        .unwrap()
        .query_row(
            "SELECT id FROM runs WHERE command = 'import' AND commit_mode = 1 ORDER BY started_at, rowid LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let o = dir.run(&["undo", &run]);
    assert!(text(&o).contains("would_delete"), "{}", text(&o));
    assert_eq!(depts().len(), seeded + 2);
    let o = dir.run(&["undo", &run, "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(sb.folio_users().is_empty());
    assert_eq!(depts().len(), seeded, "{:?}", depts());
}

#[test]
fn create_missing_is_refused_on_a_field_whose_names_cannot_be_created() {
    let dir = Workdir::new();
    let d = dir.path();
    let _sb = setup(&dir);
    let mapping = MAPPING.replace(
        "patronGroup = { value = \"undergrad\" }",
        "patronGroup = { value = \"undergrad\", create_missing = true }",
    );
    std::fs::write(d.join("bad.toml"), mapping).unwrap();
    std::fs::write(d.join("r.csv"), format!("{HEADER}L1,Alpha,,,,,\n")).unwrap();
    let o = run_in(d, &["check", "r.csv", "--mapping", "bad.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("create_missing = true is only for"),
        "{}",
        text(&o)
    );
}

#[test]
fn under_faults_every_linked_record_is_written_exactly_once() {
    let dir = Workdir::new();
    let d = dir.path();
    // Answers lost after the write was applied, 500s and dropped connections on every route.
    let sb = Sandbox::start(
        d,
        &[
            "--seed",
            "11",
            "--fail-rate",
            "0.10",
            "--drop-rate",
            "0.05",
            "--apply-then-drop-rate",
            "0.15",
        ],
    );
    sb.folio_config(
        d,
        "rate = 2000\nconcurrency = 8\ntimeout_secs = 5\n\
         retries = 8\nretry_base_ms = 5\nretry_cap_ms = 50\n",
    );
    std::fs::write(d.join("linked.toml"), MAPPING).unwrap();
    let mut csv = String::from(HEADER);
    for i in 0..60 {
        csv.push_str(&format!(
            "F{i:03},Last{i},true,{},cd2,cd1;cd2,cd1\n",
            i % 2 == 0
        ));
    }
    std::fs::write(d.join("f.csv"), csv).unwrap();
    let o = import(d, "f.csv", &["--commit", "--report", "f.report.csv"]);
    let rows = read_report(&d.join("f.report.csv"));
    // A create may be "confirmed by lookup after an interrupted create"; a linked record is
    // never refused (a POST whose answer was lost is looked up and adopted).
    let bad: Vec<_> = rows
        .iter()
        .filter(|r| r["outcome"] != "created" || r["reason"].contains("refused"))
        .collect();
    assert!(bad.is_empty(), "{bad:?}\n{}", text(&o));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let id = ids(&sb);
    assert_eq!(id.len(), 60);
    let p = prefs(&sb);
    let s = spus(&sb);
    assert_eq!((p.len(), s.len()), (60, 60), "exactly one of each per user");
    for i in 0..60 {
        let user = &id[&format!("F{i:03}")];
        assert_eq!(of(&p, user).unwrap()["delivery"], i % 2 == 0);
        assert_eq!(of(&s, user).unwrap()["defaultServicePointId"], CD1);
    }
}

#[test]
fn check_rejects_a_fulfillment_or_hold_shelf_folio_cannot_hold_offline() {
    let dir = Workdir::new();
    let d = dir.path();
    let mapping = format!("{MAPPING}\"requestPreference.fulfillment\" = \"Fulfil\"\n");
    std::fs::write(d.join("m.toml"), mapping).unwrap();
    std::fs::write(
        d.join("r.csv"),
        "ID,Last,Hold,Delivery,Pickup,Desks,Home desk,Fulfil\nC1,Alpha,true,false,cd1,,,Pickup\nC2,Beta,maybe,false,cd1,,,Delivery\nC3,Gamma,true,true,cd1,,,Hold Shelf\n",
    )
    .unwrap();
    let o = run_in(
        d,
        &["check", "r.csv", "--mapping", "m.toml", "--report", "c.csv"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = read_report(&d.join("c.csv"));
    assert_eq!(r[0]["outcome"], "rejected", "{r:?}");
    assert!(
        r[0]["reason"].contains("requestPreference.fulfillment"),
        "{r:?}"
    );
    assert!(
        r[0]["reason"].contains("Hold Shelf"),
        "the valid values are listed: {r:?}"
    );
    assert_eq!(r[1]["outcome"], "rejected", "{r:?}");
    assert!(
        r[1]["reason"].contains("requestPreference.holdShelf"),
        "{r:?}"
    );
    assert_eq!(r[2]["outcome"], "ok", "{r:?}");
}

#[test]
fn an_export_from_a_tenant_without_linked_records_only_probes_for_them() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = setup(&dir);
    std::fs::write(
        d.join("r.csv"),
        format!("{HEADER}E1,Alpha,,,,,\nE2,Beta,,,,,\n"),
    )
    .unwrap();
    let o = import(d, "r.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (_, p0) = sb.counts("/folio/request-preference-storage");
    let (_, s0) = sb.counts("/folio/service-points-users");
    let o = run_in(
        d,
        &["export", "--from", "sb", "--out", "e.csv", "--all-columns"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (_, p1) = sb.counts("/folio/request-preference-storage");
    let (_, s1) = sb.counts("/folio/service-points-users");
    assert_eq!(
        (p1 - p0, s1 - s0),
        (1, 1),
        "one probe each, no per-page lookups"
    );
}

#[test]
fn a_mapping_without_linked_fields_needs_no_permission_for_them() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[
        "--folio-deny-permission",
        "inventory-storage.service-points.collection.get",
        "--folio-deny-permission",
        "request-storage.request-preferences.collection.get",
        "--folio-deny-permission",
        "inventory-storage.service-points-users.collection.get",
    ]);
    sb.folio_config(d, "rate = 1000\nconcurrency = 8\n");
    let plain = "system = \"folio\"\nmatch = \"externalSystemId\"\n[fields]\nexternalSystemId = \"ID\"\n\"personal.lastName\" = \"Last\"\n";
    std::fs::write(d.join("plain.toml"), plain).unwrap();
    std::fs::write(d.join("r.csv"), "ID,Last\nN1,Alpha\n").unwrap();
    let o = run_in(
        d,
        &[
            "import",
            "r.csv",
            "--mapping",
            "plain.toml",
            "--to",
            "sb",
            "--commit",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A mapping that names a service point needs it, and says which permission is missing.
    std::fs::write(d.join("linked.toml"), MAPPING).unwrap();
    std::fs::write(
        d.join("l.csv"),
        format!("{HEADER}N2,Beta,true,false,cd1,,\n"),
    )
    .unwrap();
    let o = import(d, "l.csv", &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("inventory-storage.service-points.collection.get"),
        "{}",
        text(&o)
    );
}

#[test]
fn check_to_the_target_names_unknown_service_points_and_accepts_departments_it_would_create() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = setup(&dir);
    let mapping = format!(
        "{MAPPING}departments = {{ column = \"Dept\", split = \";\", create_missing = true }}\n"
    );
    std::fs::write(d.join("dept.toml"), mapping).unwrap();
    std::fs::write(
        d.join("r.csv"),
        "ID,Last,Hold,Delivery,Pickup,Desks,Home desk,Dept\nK1,Alpha,true,false,nowhere,,,\nK2,Beta,true,false,cd1,cd2,cd2,Brand New Dept\n",
    )
    .unwrap();
    let args = [
        "check",
        "r.csv",
        "--mapping",
        "dept.toml",
        "--to",
        "sb",
        "--report",
        "k.csv",
    ];
    let o = run_in(d, &args);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = read_report(&d.join("k.csv"));
    assert_eq!(r[0]["outcome"], "rejected", "{r:?}");
    assert!(
        r[0]["reason"]
            .contains("unknown service point \"nowhere\" (valid codes: Online, cd1, cd2)"),
        "{r:?}"
    );
    assert_eq!(r[1]["outcome"], "ok", "{r:?}");
    assert_eq!(sb.counts("/folio").0, 0, "check writes nothing");
}

#[test]
fn an_export_whose_login_cannot_read_linked_records_exports_the_users_and_says_so() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = setup(&dir);
    std::fs::write(
        d.join("r.csv"),
        format!("{HEADER}X1,Alpha,true,false,cd1,,\n"),
    )
    .unwrap();
    let o = import(d, "r.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The same tenant, read by a login without the request-preference permission.
    let mut sb = sb;
    sb.terminate();
    let denied = Sandbox::start(
        d,
        &[
            "--folio-deny-permission",
            "request-storage.request-preferences.collection.get",
        ],
    );
    denied.folio_config(d, "rate = 1000\nconcurrency = 8\n");
    let o = run_in(
        d,
        &[
            "export",
            "--from",
            "sb",
            "--out",
            "e.csv",
            "--all-columns",
            "--headers",
            "fields",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("requestPreference records are not exported"),
        "{}",
        text(&o)
    );
    let csv = std::fs::read_to_string(d.join("e.csv")).unwrap();
    assert!(csv.contains("X1"), "{csv}");
}

/// Users, request preferences and service points by externalSystemId, without what the server
/// sets (ids, metadata, dates): two sandboxes' end states compare equal.
fn end_state(sb: &Sandbox) -> HashMap<String, Value> {
    let (p, s) = (prefs(sb), spus(sb));
    sb.folio_users()
        .into_iter()
        .filter_map(|u| {
            let ext = u["externalSystemId"].as_str()?.to_string();
            let id = u["id"].as_str()?.to_string();
            let strip = |v: Option<&Value>| {
                let mut v = v.cloned().unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    for k in ["id", "userId", "metadata", "createdDate", "updatedDate"] {
                        o.remove(k);
                    }
                }
                v
            };
            let user = strip(Some(&u));
            Some((
                ext,
                serde_json::json!({"user": user, "pref": strip(of(&p, &id)), "spu": strip(of(&s, &id))}),
            ))
        })
        .collect()
}

fn outcomes_by_key(report: &[HashMap<String, String>]) -> HashMap<String, String> {
    report
        .iter()
        .map(|r| (r["key"].clone(), r["outcome"].clone()))
        .collect()
}

const KILL_ROWS: &str = "K1,Alpha,true,false,cd2,cd1;cd2,cd1\nK2,Beta,yes,yes,Circ Desk 1,cd2,cd2\nK3,Gamma,false,false,cd1,cd1,cd1\n";

#[test]
fn a_run_killed_between_a_user_and_its_linked_records_resumes_to_the_uninterrupted_end_state() {
    // Reference: the same rows, uninterrupted, on a sandbox of its own.
    let ref_dir = Workdir::new();
    let rd = ref_dir.path();
    let reference = setup(&ref_dir);
    std::fs::write(rd.join("k.csv"), format!("{HEADER}{KILL_ROWS}")).unwrap();
    let o = import(rd, "k.csv", &["--commit", "--report", "r.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let expected = outcomes_by_key(&read_report(&rd.join("r.csv")));
    let want = end_state(&reference);
    assert_eq!(want.len(), 3);

    // One write at a time, each answered 150 ms late: the SIGKILL lands right after K1's
    // `POST /users` is answered, while its request preference is in flight and before its
    // service points are sent.
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&["--latency-ms", "150"]);
    sb.folio_config(d, "rate = 1000\nconcurrency = 1\n");
    std::fs::write(d.join("linked.toml"), MAPPING).unwrap();
    std::fs::write(d.join("k.csv"), format!("{HEADER}{KILL_ROWS}")).unwrap();
    let args = [
        "import",
        "k.csv",
        "--mapping",
        "linked.toml",
        "--to",
        "sb",
        "--commit",
    ];
    let mut child = spawn_in(d, &args, true);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while sb.counts("/folio/users").0 < 1
        && child.try_wait().unwrap().is_none()
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    child.kill().unwrap(); // SIGKILL
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), None, "killed mid-run: {}", text(&out));
    let id = ids(&sb);
    assert!(id.contains_key("K1"), "K1's user was written: {id:?}");
    assert!(
        of(&spus(&sb), &id["K1"]).is_none(),
        "the kill left K1 without its service points"
    );

    // Resume: K1 is completed (its linked records written), the rest written as usual.
    let (spu_writes, _) = sb.counts("/folio/service-points-users");
    let mut resume = args.to_vec();
    resume.extend(["--resume", "--report", "final.csv"]);
    let o = run_in(d, &resume);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report = read_report(&d.join("final.csv"));
    assert_eq!(outcomes_by_key(&report), expected, "{report:?}");
    assert_eq!(
        end_state(&sb),
        want,
        "same end state as the uninterrupted run"
    );
    assert_eq!(
        sb.counts("/folio/service-points-users").0,
        spu_writes + 3,
        "each service-points-user written once"
    );
    assert_eq!(sb.folio_users().len(), 3, "no user created twice");

    // K1 stays under its one create intent (now naming the user), resolved applied.
    let run = last_run(d);
    let db = rusqlite::Connection::open(d.join(".patron-etl/journal.sqlite")).unwrap();
    let k1: Vec<(String, String, Option<String>)> = db
        .prepare("SELECT op, state, target_id FROM intents WHERE run_id = ?1 AND key = 'K1' AND state != 'superseded'")
        .unwrap()
        .query_map([&run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        k1,
        [(
            "create".to_string(),
            "applied".to_string(),
            Some(id["K1"].clone())
        )]
    );

    // Undo afterwards: every user and linked record gone.
    let o = dir.run(&["undo", &run, "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(sb.folio_users().is_empty(), "{:?}", sb.folio_users());
    assert!(prefs(&sb).is_empty(), "{:?}", prefs(&sb));
    assert!(spus(&sb).is_empty(), "{:?}", spus(&sb));
}

/// An orphaned request preference: its user was deleted and the preference left behind, as
/// mod-users' `DELETE /users/{id}` does not delete it (folio-org/mod-users
/// `src/main/java/org/folio/rest/impl/UsersAPI.java` `deleteUsersByUserId`: the user row only).
const ORPHAN: &str = "5b0a2d3e-4c1f-4e6a-9d8b-7f6e5d4c3b2a";

#[test]
fn a_linked_write_refused_after_its_user_is_counted_partial_and_exits_1() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = setup(&dir);
    let token = sb.folio_token();
    let r = reqwest::blocking::Client::new()
        .post(format!(
            "{}/folio/request-preference-storage/request-preference",
            sb.base
        ))
        .header("X-Okapi-Tenant", "diku")
        .header("X-Okapi-Token", &token)
        .json(&serde_json::json!({"userId": ORPHAN, "holdShelf": false, "delivery": false}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{:?}", r.text());
    // P1 is created with the orphan's user id: its preference is refused (one per user,
    // `user_request_preference` unique `userId`) after the user was written.
    let mapping = format!("{MAPPING}id = \"UUID\"\n");
    std::fs::write(d.join("p.toml"), mapping).unwrap();
    std::fs::write(
        d.join("p.csv"),
        format!(
            "ID,Last,Hold,Delivery,Pickup,Desks,Home desk,UUID\nP1,Alpha,true,true,cd2,cd1,cd1,{ORPHAN}\nP2,Beta,yes,yes,cd1,,,\n"
        ),
    )
    .unwrap();
    let o = run_in(
        d,
        &[
            "import",
            "p.csv",
            "--mapping",
            "p.toml",
            "--to",
            "sb",
            "--commit",
            "--report",
            "p-report.csv",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "a partial row fails the run: {}",
        text(&o)
    );
    let report = read_report(&d.join("p-report.csv"));
    assert_eq!(
        report[0]["outcome"], "created",
        "P1 keeps its outcome: {report:?}"
    );
    assert!(
        report[0]["reason"]
            .starts_with("user written, but the request preference was refused: HTTP 422"),
        "{report:?}"
    );
    assert!(
        report[0]["reason"].contains("Request preference for specified user already exists"),
        "{report:?}"
    );
    assert_eq!(report[1]["outcome"], "created");
    assert_eq!(report[1]["reason"], "");
    let summary = text(&o);
    assert!(summary.contains("partial"), "{summary}");
    assert!(summary.contains("linked_failed"), "{summary}");
    let run = last_run(d);
    let s = dir.summary(&d.join(".patron-etl/runs").join(&run));
    assert_eq!(s["reasons"]["linked_failed"], 1, "{s}");
    assert_eq!(s["outcomes"]["created"], 2, "{s}");
    let id = ids(&sb);
    assert_eq!(id["P1"], ORPHAN);
    assert_eq!(
        of(&prefs(&sb), ORPHAN).unwrap()["holdShelf"],
        false,
        "left as it was"
    );
    assert!(
        of(&spus(&sb), ORPHAN).is_some(),
        "P1's service points were written"
    );
    // The rejects file carries the row, to load again once the orphan is dealt with.
    let rejects =
        std::fs::read_to_string(d.join(".patron-etl/runs").join(&run).join("rejects.csv"))
            .unwrap_or_default();
    assert!(
        rejects.contains("P1") && !rejects.contains("P2"),
        "{rejects}"
    );

    // Undo sees the write: both users and what the run wrote with them are gone.
    let o = dir.run(&["undo", &run, "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        !sb.folio_users().iter().any(|u| u["externalSystemId"]
            .as_str()
            .is_some_and(|e| e.starts_with('P'))),
        "{:?}",
        sb.folio_users()
    );
    assert!(spus(&sb).is_empty());
}

/// An authenticated POST to the sandbox's FOLIO API; the answer's status.
fn folio_post(sb: &Sandbox, path: &str, body: Value) -> u16 {
    reqwest::blocking::Client::new()
        .post(format!("{}/folio{path}", sb.base))
        .header("X-Okapi-Tenant", "diku")
        .header("X-Okapi-Token", sb.folio_token())
        .json(&body)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn undo_deletes_only_the_departments_the_run_created_and_journals_each_delete() {
    let dir = Workdir::new();
    let d = dir.path();
    // One write at a time, each answered 150 ms late: "Late Dept" is created by someone else
    // after the run planned it (to create) and before the row that names it is written.
    let sb = dir.sandbox(&["--latency-ms", "150"]);
    sb.folio_config(d, "rate = 1000\nconcurrency = 1\n");
    let mapping =
        format!("{MAPPING}departments = {{ column = \"Dept\", create_missing = true }}\n");
    std::fs::write(d.join("dept.toml"), mapping).unwrap();
    std::fs::write(
        d.join("r.csv"),
        "ID,Last,Hold,Delivery,Pickup,Desks,Home desk,Dept\nE1,Alpha,true,false,cd2,cd1,cd1,\nE2,Beta,true,true,cd1,cd1,cd1,Own Dept\nE3,Gamma,,,,,,Late Dept\n",
    )
    .unwrap();
    let args = [
        "import",
        "r.csv",
        "--mapping",
        "dept.toml",
        "--to",
        "sb",
        "--commit",
    ];
    let child = spawn_in(d, &args, true);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while sb.counts("/folio/users").0 < 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    assert_eq!(
        folio_post(
            &sb,
            "/departments",
            serde_json::json!({"name": "Late Dept", "code": "LATE"})
        ),
        201
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let depts = || folio_list(&sb, "/departments", "departments");
    let late = depts()
        .into_iter()
        .find(|x| x["name"] == "Late Dept")
        .expect("someone else's department");
    assert_eq!(late["code"], "LATE", "not created again by the run");
    let users = sb.folio_users();
    let e3 = users
        .iter()
        .find(|u| u["externalSystemId"] == "E3")
        .unwrap();
    assert_eq!(e3["departments"], serde_json::json!([late["id"]]));
    assert!(depts().iter().any(|x| x["name"] == "Own Dept"));

    // Undo: the users go; "Own Dept" (the run's) is deleted under a journaled intent;
    // "Late Dept" is not the run's and stays, reported.
    let run = last_run(d);
    let o = dir.run(&["undo", &run, "--commit"]);
    let t = text(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a department left alone is a conflict: {t}"
    );
    assert!(t.contains("does not record creating it"), "{t}");
    assert!(sb.folio_users().is_empty(), "{:?}", sb.folio_users());
    let names: Vec<Value> = depts().into_iter().map(|x| x["name"].clone()).collect();
    assert!(names.contains(&Value::from("Late Dept")), "{names:?}");
    assert!(!names.contains(&Value::from("Own Dept")), "{names:?}");
    let db = rusqlite::Connection::open(d.join(".patron-etl/journal.sqlite")).unwrap();
    let undo_run: String = db
        .query_row(
            "SELECT id FROM runs WHERE command = 'undo' AND parent = ?1",
            [&run],
            |r| r.get(0),
        )
        .unwrap();
    let intents: Vec<(String, String, String)> = db
        .prepare("SELECT op, key, state FROM intents WHERE run_id = ?1 AND key LIKE 'department%'")
        .unwrap()
        .query_map([&undo_run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        intents,
        [(
            "delete".to_string(),
            "department \"Own Dept\"".to_string(),
            "applied".to_string()
        )]
    );
}
