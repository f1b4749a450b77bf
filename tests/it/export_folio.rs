//! FOLIO export end to end: FOLIO's 303 sample users loaded into a sandbox (a separate process,
//! over its real API), exported to CSV and XLSX, imported into an empty sandbox with the shipped
//! mappings/folio-reimport.toml, and compared field by field.

use crate::harness::export::*;
use crate::harness::*;
use serde_json::Value;
use std::collections::BTreeMap;

fn by_id(users: &[Value]) -> BTreeMap<String, Value> {
    users
        .iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), normalise(u)))
        .collect()
}

fn reimport(file: &std::path::Path, original: &BTreeMap<String, Value>) {
    let dir = Workdir::new();
    let d = dir.path();
    let target = dir.sandbox(&[]);
    write_config(&target, d);
    assert!(target.folio_users().is_empty());
    let mapping = root().join("mappings/folio-reimport.toml");
    let o = run_in(
        d,
        &[
            "import",
            file.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--to",
            "sb",
            "--commit",
            "--rate",
            "1000",
            "--concurrency",
            "8",
            "--report",
            "report.csv",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let back = by_id(&target.folio_users());
    assert_eq!(back.len(), original.len(), "every user comes back");
    for (id, want) in original {
        let got = back.get(id).unwrap_or_else(|| panic!("user {id} missing"));
        assert_eq!(got, want, "user {id} differs after {}", file.display());
    }
}

#[test]
fn sample_users_round_trip_through_csv_and_xlsx() {
    let dir = Workdir::new();
    let d = dir.path();
    let source = dir.sandbox(&[]);
    write_config(&source, d);
    let mut users = sample_users();
    assert_eq!(users.len(), 303);
    // Values a spreadsheet would take for formulas must survive the neutralising quote.
    users[0]["personal"]["phone"] = Value::from("+1 608 555 0142");
    users[1]["personal"]["addresses"][0]["addressLine1"] = Value::from("-12 Minus Street");
    users[2]["personal"]["middleName"] = Value::from("=HYPERLINK(\"http://x\")");
    load_folio_users(&source, &users);
    let original = by_id(&source.folio_users());
    assert_eq!(original.len(), 303);
    // The fixture exercises names (not UUIDs), time-of-day dates and the master-only field.
    let sample = &original["2205005b-ca51-4a04-87fd-938eefa8f6de"];
    assert_eq!(
        sample["enrollmentDate"], "2020-10-07T04:00:00.000+00:00",
        "{sample}"
    );

    // The fixed layout with field names imports back (folio-reimport.toml names every column).
    for out in ["patrons.csv", "patrons.xlsx"] {
        let o = run_in(
            d,
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
        assert!(
            text(&o).contains("rows written          303"),
            "{}",
            text(&o)
        );
    }
    let (header, rows) = read_csv(&d.join("patrons.csv"));
    assert_eq!(rows.len(), 303);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let groups: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r[col("patronGroup")].as_str())
        .collect();
    assert!(
        groups
            .iter()
            .all(|g| ["faculty", "graduate", "staff", "undergrad"].contains(g)),
        "patron groups are names: {groups:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r[col("personal.addresses.Work.city")] == "Florence"),
        "addresses are keyed by type name"
    );
    // A phone is data, written as is; a formula gets the guard, which the import takes off.
    assert!(rows
        .iter()
        .any(|r| r[col("personal.phone")] == "+1 608 555 0142"));
    assert!(rows
        .iter()
        .any(|r| r[col("personal.middleName")] == "'=HYPERLINK(\"http://x\")"));

    reimport(&d.join("patrons.csv"), &original);
    reimport(&d.join("patrons.xlsx"), &original);
}

#[test]
fn export_mapping_chooses_columns_and_jsonl_streams_objects() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    write_config(&sb, d);
    load_folio_users(&sb, &sample_users()[..60]);
    // The roster mapping, read in reverse: its column names, its map and date format reversed.
    let mapping = root().join("mappings/folio.toml");
    let o = run_in(
        d,
        &[
            "export",
            "--from",
            "sb",
            "--out",
            "roster.jsonl",
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let lines: Vec<Value> = std::fs::read_to_string(d.join("roster.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 60);
    let janae = lines
        .iter()
        .find(|l| l["NetID"] == "janae")
        .expect("username goes to the NetID column");
    assert_eq!(
        janae["Class"], "GR",
        "graduate mapped back to its roster code"
    );
    assert_eq!(
        janae["Expires"], "11/27/2019",
        "date in the mapping's format"
    );
    assert_eq!(janae["Last Name"], "Hilll");
    assert_eq!(janae["Card"], "344058867767195");
    assert!(janae.get("patronGroup").is_none());
}

/// The run id in a command's summary ("… — run ID").
fn run_id(out: &str) -> String {
    out.split("— run ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no run id in {out}"))
        .to_string()
}

/// A native backup: its header, and its records by id.
fn read_backup(path: &std::path::Path) -> (Value, BTreeMap<String, Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let records = lines
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|u| (u["id"].as_str().unwrap().to_string(), u))
        .collect();
    (header, records)
}

/// A record without FOLIO's server-set fields.
fn unstamped(u: &Value) -> Value {
    let mut u = u.clone();
    for f in ["metadata", "createdDate", "updatedDate"] {
        u.as_object_mut().unwrap().remove(f);
    }
    u
}

fn folio_write(sb: &Sandbox, method: reqwest::Method, path: &str, body: Option<&Value>) {
    let mut r = client()
        .request(method, format!("{}/folio{path}", sb.base))
        .header("X-Okapi-Tenant", "diku")
        .header("X-Okapi-Token", sb.folio_token());
    if let Some(b) = body {
        r = r.json(b);
    }
    let r = r.send().unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

#[test]
fn native_backup_restores_exactly_and_undo_returns_to_the_edited_state() {
    let dir = Workdir::new();
    let d = dir.path();
    let source = dir.sandbox(&[]);
    write_config(&source, d);
    let mut users = sample_users();
    assert_eq!(users.len(), 303);
    // Custom fields (FOLIO's `customFields` object) travel in the record itself.
    for (i, u) in users.iter_mut().enumerate().take(20) {
        u["customFields"] =
            serde_json::json!({"sierraCode": format!("ç-{i}"), "tags2": ["opt_0", "opt_1"]});
    }
    // FOLIO takes a custom-field value only when the field is defined (mod-users validates
    // values against /custom-fields): the source tenant and the restore's target both have them.
    define_custom_fields(&source);
    load_folio_users(&source, &users);
    let held: BTreeMap<String, Value> = source
        .folio_users()
        .into_iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), u))
        .collect();

    let o = dir.run(&["export", "--from", "sb", "--out", "backup.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("format         native"), "{}", text(&o));
    let (header, backup) = read_backup(&d.join("backup.jsonl"));
    assert_eq!(header["system"], "folio");
    assert_eq!(header["source"], "sb");
    assert_eq!(header["patron_etl_backup"], 1);
    assert_eq!(header["tool_version"], env!("CARGO_PKG_VERSION"));
    assert!(header["exported_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(backup, held, "each record exactly as the API returned it");
    assert!(backup
        .values()
        .any(|u| u["customFields"]["sierraCode"] == "ç-3"));

    // Restore into an empty FOLIO: preview writes nothing, --commit creates all 303.
    let tdir = Workdir::new();
    let t = tdir.path();
    let target = Sandbox::start(t, &[]);
    write_config(&target, t);
    define_custom_fields(&target);
    let b = d.join("backup.jsonl");
    let b = b.to_str().unwrap();
    let o = run_in(t, &["restore", b, "--to", "sb"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("would_create"), "{}", text(&o));
    assert!(target.folio_users().is_empty(), "a preview writes nothing");
    let fast = ["--rate", "1000", "--concurrency", "8"];
    let o = run_in(
        t,
        &[&["restore", b, "--to", "sb", "--commit"][..], &fast].concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run_in(t, &["export", "--from", "sb", "--out", "again.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (_, again) = read_backup(&t.join("again.jsonl"));
    assert_eq!(again.len(), 303);
    for (id, u) in &backup {
        assert_eq!(unstamped(&again[id]), unstamped(u), "user {id}");
    }

    // Delete 5 and edit 3; a restore recreates the 5 and puts back the 3, nothing else.
    let ids: Vec<&String> = backup.keys().collect();
    for id in &ids[..5] {
        folio_write(
            &target,
            reqwest::Method::DELETE,
            &format!("/users/{id}"),
            None,
        );
    }
    let mut edited = BTreeMap::new();
    for id in &ids[5..8] {
        let mut u = unstamped(&again[*id]);
        u["personal"]["lastName"] = Value::from("Edited");
        u["active"] = Value::from(false);
        folio_write(
            &target,
            reqwest::Method::PUT,
            &format!("/users/{id}"),
            Some(&u),
        );
        edited.insert(id.to_string(), u);
    }
    let o = run_in(t, &["restore", b, "--to", "sb", "--report", "preview.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report = read_report(&t.join("preview.csv"));
    let count = |k: &str| report.iter().filter(|r| r["outcome"] == k).count();
    assert_eq!((count("would_create"), count("would_update")), (5, 3));
    assert_eq!(count("unchanged"), 295);
    let upd = report
        .iter()
        .find(|r| r["outcome"] == "would_update")
        .unwrap();
    assert!(
        upd["changed_fields"].contains("personal.lastName: \"Edited\" → ")
            && upd["changed_fields"].contains("active: false → true"),
        "{upd:?}"
    );
    // --only-missing recreates the 5 and leaves the 3 edited users alone, listing how they differ.
    let o = run_in(
        t,
        &[
            "restore",
            b,
            "--to",
            "sb",
            "--only-missing",
            "--report",
            "only.csv",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let only = read_report(&t.join("only.csv"));
    let n = |k: &str| only.iter().filter(|r| r["outcome"] == k).count();
    assert_eq!(
        (n("would_create"), n("exists"), n("would_update")),
        (5, 3, 0)
    );
    let (writes_before, _) = target.counts("/folio/users");
    let o = run_in(
        t,
        &[&["restore", b, "--to", "sb", "--commit"][..], &fast].concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let restore_run = run_id(&text(&o));
    let (writes_after, _) = target.counts("/folio/users");
    assert_eq!(
        writes_after - writes_before,
        8,
        "5 creates and 3 updates, nothing else"
    );
    let now: BTreeMap<String, Value> = target
        .folio_users()
        .into_iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), u))
        .collect();
    assert_eq!(now.len(), 303);
    for (id, u) in &backup {
        assert_eq!(
            unstamped(&now[id]),
            unstamped(u),
            "user {id} after the restore"
        );
    }

    // The restore is listed in `runs` and undone like an import: back to the edited state.
    let o = run_in(t, &["runs"]);
    let listed = text(&o);
    assert!(
        listed.lines().any(|l| l.starts_with(&restore_run)
            && l.contains(" restore ")
            && l.contains("created 5")
            && l.contains("updated 3")
            && l.contains("unchanged 295")),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.contains(" export ") && l.contains("exported 303")),
        "{listed}"
    );
    let o = run_in(t, &["undo", &restore_run, "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let now: BTreeMap<String, Value> = target
        .folio_users()
        .into_iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), u))
        .collect();
    assert_eq!(now.len(), 298, "the 5 recreated are deleted again");
    for id in &ids[..5] {
        assert!(!now.contains_key(*id));
    }
    for (id, u) in &edited {
        assert_eq!(&unstamped(&now[id]), u, "user {id} back to its edit");
    }
}

/// Defines the two custom fields the backup test's users carry (a text field and a
/// multi-select), as a tenant administrator would before loading them.
fn define_custom_fields(sb: &Sandbox) {
    let defs = [
        serde_json::json!({"name": "Sierra code", "refId": "sierraCode", "type": "TEXTBOX_SHORT",
            "entityType": "user", "textField": {"fieldFormat": "TEXT"}}),
        serde_json::json!({"name": "Tags 2", "refId": "tags2", "type": "MULTI_SELECT_DROPDOWN",
            "entityType": "user", "selectField": {"multiSelect": true, "options": {"values": [
                {"id": "opt_0", "value": "a"}, {"id": "opt_1", "value": "b"}]}}}),
    ];
    for def in defs {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/folio/custom-fields", sb.base))
            .header("X-Okapi-Tenant", "diku")
            .header("X-Okapi-Token", sb.folio_token())
            .header("X-Okapi-Module-Id", "mod-users-19.6.0")
            .json(&def)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().unwrap_or_default());
    }
}
