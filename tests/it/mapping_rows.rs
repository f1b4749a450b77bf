//! Mapping rows end to end: fixture mapping files bound to a header, rows built by hand.
//!
//! These assertions hold both with the catalogue stub and with the real FOLIO/ILLiad/Libib
//! catalogues (no assertion depends on a field's kind unless the mapping fixes it, e.g. `split`).

use patron_etl::mapping::{BoundMapping, Mapped, Mapping};
use patron_etl::read::SourceRow;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

fn bound(name: &str, headers: &[&str]) -> BoundMapping {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mapping")
        .join(name);
    let m = Mapping::load(&path).expect("fixture loads");
    let h: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
    m.bind(&h).expect("binds")
}

fn row(line: u64, cells: &[&str]) -> SourceRow {
    SourceRow {
        file: Arc::from("fall.csv"),
        sheet: None,
        line,
        cells: cells.iter().map(|s| s.to_string()).collect(),
    }
}

const FOLIO_HEADERS: &[&str] = &[
    "Student ID",
    "NetID",
    "Card",
    "Class",
    "Expires",
    "Name",
    "Email",
    "Phone",
    "Street 1",
    "City",
    "Dorm",
    "Room",
    "Dept",
    "Tags",
];

fn folio_row(cells: [&str; 14]) -> Mapped {
    bound("folio.toml", FOLIO_HEADERS).map_row(&row(12, &cells))
}

#[test]
fn folio_full_row_builds_nested_record() {
    let m = folio_row([
        " S0042 ",
        " JDoe ",
        "12-345",
        "UG",
        "5/31/2027",
        "Doe, Jane Q",
        " Jane.Doe@Example.EDU ",
        "(555) 123-4567",
        "1 Main St",
        "Springfield",
        "Oak",
        "101",
        "Math; Physics",
        "vip|athlete",
    ]);
    assert_eq!(m.issues, vec![], "{:?}", m.issues);
    assert_eq!(m.line, 12);
    assert_eq!(m.key.as_deref(), Some("S0042"));
    assert_eq!(m.clear, Vec::<String>::new());
    assert_eq!(
        m.record,
        json!({
            "externalSystemId": "S0042",
            "username": "jdoe",
            "barcode": "00000012345",
            "patronGroup": "undergrad",
            "expirationDate": "2027-05-31",
            "personal": {
                "lastName": "Doe",
                "firstName": "Jane",
                "middleName": "Q",
                "email": "jane.doe@example.edu",
                "phone": "555-123-4567",
                "addresses": [
                    {"addressTypeId": "Home", "addressLine1": "1 Main St", "city": "Springfield"},
                    {"addressTypeId": "Campus", "addressLine1": "Oak Hall, Room 101"}
                ]
            },
            "departments": ["Math", "Physics"],
            "tags": {"tagList": ["vip", "athlete"]},
            "customFields": {"studentLevel": "UG"}
        })
    );
}

#[test]
fn folio_blanks_are_omitted_and_clear_policy_reported() {
    let m = folio_row([
        "S1",
        "",
        "",
        "GR",
        "",
        "Smith, Ann",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]);
    assert_eq!(m.issues, vec![], "{:?}", m.issues);
    assert_eq!(m.clear, vec!["personal.email".to_string()]);
    assert_eq!(
        m.record,
        json!({
            "externalSystemId": "S1",
            "patronGroup": "graduate",
            "personal": {"lastName": "Smith", "firstName": "Ann"},
            "customFields": {"studentLevel": "GR"}
        })
    );
}

#[test]
fn folio_map_default_applies_to_unmapped_value() {
    let m = folio_row([
        "S2", "", "", "FAC", "", "Lee, Kim", "", "", "", "", "", "", "", "",
    ]);
    assert_eq!(m.record["patronGroup"], json!("staff"));
    assert_eq!(m.record["customFields"]["studentLevel"], json!("FAC"));
}

#[test]
fn folio_row_issues_name_field_column_and_value() {
    let m = folio_row([
        "",
        "x",
        "1",
        "UG",
        "31/12/2027",
        ",",
        "jane@",
        "12",
        "",
        "",
        "",
        "",
        "",
        "",
    ]);
    assert_eq!(m.key, None);
    let found = |field: &str| {
        m.issues
            .iter()
            .find(|i| i.field.as_deref() == Some(field))
            .unwrap_or_else(|| panic!("no issue for {field}: {:?}", m.issues))
    };
    let i = found("externalSystemId");
    assert_eq!(i.reason, "match key externalSystemId is blank");
    assert_eq!(i.column.as_deref(), Some("Student ID"));
    let i = found("expirationDate");
    assert_eq!(i.column.as_deref(), Some("Expires"));
    assert!(i.reason.contains("\"31/12/2027\""), "{}", i.reason);
    let i = found("personal.lastName");
    assert_eq!(i.reason, "required field personal.lastName is blank");
    assert_eq!(i.column.as_deref(), Some("Name"));
    let i = found("personal.email");
    assert!(
        i.reason.contains("not a valid e-mail address: \"jane@\""),
        "{}",
        i.reason
    );
    let i = found("personal.phone");
    assert!(i.reason.contains("\"12\""), "{}", i.reason);
    // Fields with issues are left out of the record.
    assert!(m.record.get("expirationDate").is_none());
    assert!(m.record["personal"].get("email").is_none());
}

#[test]
fn template_needs_at_least_one_non_blank_column() {
    let m = folio_row([
        "S3", "", "", "UG", "", "Roe, Al", "", "", "", "", "", "", "", "",
    ]);
    // "{Dorm} Hall, Room {Room}" with both blank is blank, not " Hall, Room ".
    assert!(
        m.record["personal"].get("addresses").is_none(),
        "{}",
        m.record
    );
}

#[test]
fn short_rows_read_missing_cells_as_blank() {
    let b = bound("folio.toml", FOLIO_HEADERS);
    let m = b.map_row(&row(3, &["S9", "", "", "UG", "", "Poe, Ed"]));
    assert_eq!(m.key.as_deref(), Some("S9"));
    assert_eq!(m.record["personal"]["lastName"], json!("Poe"));
    let m = b.map_row(&row(4, &[]));
    assert_eq!(m.key, None);
    assert!(!m.issues.is_empty());
}

#[test]
fn headers_match_case_insensitively_and_trimmed() {
    let b = bound("libib.toml", &[" name ", "E-MAIL", "phone", "Unused"]);
    let m = b.map_row(&row(
        2,
        &["o'brien, MARY", "Mary@X.edu", "5551234567", "zzz"],
    ));
    assert_eq!(m.issues, vec![], "{:?}", m.issues);
    assert_eq!(m.key.as_deref(), Some("mary@x.edu"));
    assert_eq!(
        m.record,
        json!({
            "first_name": "Mary",
            "last_name": "O'Brien",
            "email": "mary@x.edu",
            "phone": "555-123-4567"
        })
    );
}

#[test]
fn illiad_record_is_flat_with_constant_and_strict_map() {
    let b = bound(
        "illiad.toml",
        &["NetID", "Last Name", "First Name", "Email", "Type", "Phone"],
    );
    let m = b.map_row(&row(
        5,
        &[
            " JDoe",
            "Doe",
            "Jane",
            "jd@x.edu",
            "fac",
            "+44 20 7946 0958",
        ],
    ));
    assert_eq!(m.issues, vec![], "{:?}", m.issues);
    assert_eq!(m.key.as_deref(), Some("jdoe"));
    assert_eq!(
        m.record,
        json!({
            "UserName": "jdoe",
            "LastName": "Doe",
            "FirstName": "Jane",
            "EMailAddress": "jd@x.edu",
            "NVTGC": "ILL",
            "Status": "Faculty",
            "Phone": "+442079460958"
        })
    );
    let m = b.map_row(&row(6, &["kk", "K", "K", "kk@x.edu", "GR", ""]));
    let i = m
        .issues
        .iter()
        .find(|i| i.field.as_deref() == Some("Status"))
        .expect("unmapped status is an issue");
    assert_eq!(i.column.as_deref(), Some("Type"));
    assert_eq!(i.reason, "\"GR\" is not one of the mapped values: UG, FAC");
}

/// Throughput probe (not a timed test): `cargo test --release --test mapping_rows -- --ignored
/// --nocapture throughput`.
#[test]
#[ignore]
fn throughput_probe() {
    let src = "system = \"folio\"\nmatch = \"externalSystemId\"\n[fields]\nexternalSystemId = { column = \"ID\", transform = [\"trim\"] }\nusername = { column = \"NetID\", transform = [\"lower\"] }\nbarcode = \"Card\"\npatronGroup = { column = \"Class\", map = { UG = \"undergrad\", GR = \"graduate\" } }\n\"personal.lastName\" = \"Last\"\n\"personal.firstName\" = \"First\"\n\"personal.email\" = { column = \"Email\", transform = [\"email\"] }\n";
    let m = Mapping::parse(std::path::Path::new("bench.toml"), src).expect("compiles");
    let h: Vec<String> = ["ID", "NetID", "Card", "Class", "Last", "First", "Email"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let folio = m.bind(&h).expect("binds");
    let r = row(
        1,
        &[
            "S000123",
            "JDoe",
            "21234000056789",
            "UG",
            "Doe",
            "Jane",
            "jdoe@example.edu",
        ],
    );
    let n = 1_000_000u64;
    let start = std::time::Instant::now();
    let mut ok = 0u64;
    for _ in 0..n {
        ok += u64::from(folio.map_row(&r).issues.is_empty());
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(ok, n);
    println!("7-field FOLIO mapping: {:.0} rows/s", n as f64 / secs);
    // Floor for comparison: just building and dropping an equivalent JSON object.
    let start = std::time::Instant::now();
    let keys = [
        "externalSystemId",
        "username",
        "barcode",
        "patronGroup",
        "personal",
    ];
    let mut total = 0usize;
    for _ in 0..n {
        let mut rec = serde_json::Map::with_capacity(5);
        for (k, v) in keys.iter().zip(&r.cells) {
            rec.insert((*k).to_string(), serde_json::Value::String(v.clone()));
        }
        let mut p = serde_json::Map::new();
        for (k, v) in ["lastName", "firstName", "email"].iter().zip(&r.cells[4..]) {
            p.insert((*k).to_string(), serde_json::Value::String(v.clone()));
        }
        rec.insert("personal".to_string(), serde_json::Value::Object(p));
        total += rec.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "baseline object build: {:.0} rows/s ({total})",
        n as f64 / secs
    );
}
