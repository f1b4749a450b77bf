//! FOLIO export end to end: FOLIO's 303 sample users loaded into a sandbox (a separate process,
//! over its real API), exported to CSV and XLSX, imported into an empty sandbox with the shipped
//! mappings/folio-reimport.toml, and compared field by field.

mod common;
#[path = "common/export.rs"]
mod export_common;

use common::*;
use export_common::*;
use serde_json::Value;
use std::collections::BTreeMap;

fn by_id(users: &[Value]) -> BTreeMap<String, Value> {
    users
        .iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), normalise(u)))
        .collect()
}

fn reimport(file: &std::path::Path, original: &BTreeMap<String, Value>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let target = Sandbox::start(d, &[]);
    write_config(&target, d);
    assert!(target.folio_users().is_empty());
    let mapping = root().join("mappings/folio-reimport.toml");
    let o = run(
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
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let source = Sandbox::start(d, &[]);
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

    for out in ["patrons.csv", "patrons.xlsx"] {
        let o = run(d, &["export", "--from", "sb", "--out", out]);
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
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sb = Sandbox::start(d, &[]);
    write_config(&sb, d);
    load_folio_users(&sb, &sample_users()[..60]);
    // The roster mapping, read in reverse: its column names, its map and date format reversed.
    let mapping = root().join("mappings/folio.toml");
    let o = run(
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
