//! Loading mapping files: each kind of mistake is reported with the file name, the line of the
//! offending key and, for misspelt names, the nearest valid one.

use patron_etl::mapping::{Mapping, MappingError, OnBlank};
use patron_etl::systems::System;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mapping")
        .join(name)
}

fn load_err(name: &str) -> MappingError {
    match Mapping::load(&fixture(name)) {
        Ok(_) => panic!("{name} should not load"),
        Err(e) => e,
    }
}

/// Asserts the error's line and that its text names the file, the line and every `needles` item.
fn assert_error(name: &str, line: usize, needles: &[&str]) {
    let e = load_err(name);
    let text = e.to_string();
    assert_eq!(e.line, Some(line), "{text}");
    assert!(text.contains(&format!("{name}:{line}: ")), "{text}");
    for n in needles {
        assert!(text.contains(n), "expected {n:?} in {text}");
    }
    assert!(!text.contains('\n'), "one-line message expected: {text}");
}

#[test]
fn toml_syntax_error_names_line() {
    let e = load_err("syntax_error.toml");
    let text = e.to_string();
    assert!(text.contains("syntax_error.toml:6: "), "{text}");
}

#[test]
fn unknown_top_level_key_suggests_nearest() {
    assert_error(
        "unknown_top_key.toml",
        3,
        &["`on_blnk`", "did you mean `on_blank`?"],
    );
}

#[test]
fn unknown_field_key_suggests_column() {
    assert_error(
        "unknown_field_key.toml",
        6,
        &["`colum`", "did you mean `column`?"],
    );
}

#[test]
fn unknown_transform_suggests_lower() {
    assert_error(
        "unknown_transform.toml",
        8,
        &["unknown transform \"lowercase\" (did you mean \"lower\"?)"],
    );
}

#[test]
fn unknown_key_in_table_form_field_names_its_own_line() {
    assert_error(
        "table_form_bad_key.toml",
        9,
        &[
            "`transfrom`",
            "field `username`",
            "did you mean `transform`?",
        ],
    );
}

#[test]
fn unquoted_dotted_field_names_are_accepted() {
    let m = Mapping::load(&fixture("dotted_keys.toml")).expect("loads");
    let names: Vec<&str> = m.fields().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        vec![
            "externalSystemId",
            "personal.lastName",
            "personal.firstName",
            "personal.addresses.Home.city",
            "username"
        ]
    );
    assert_eq!(
        m.columns(),
        vec!["Student ID", "Last", "First", "City", "NetID"]
    );
}

#[test]
fn invalid_regex_is_a_load_error() {
    assert_error("bad_regex.toml", 5, &["invalid regex \"(\\d+\""]);
}

#[test]
fn invalid_system_suggests_folio() {
    assert_error(
        "invalid_system.toml",
        2,
        &["unknown system \"foli\" (did you mean \"folio\"?)"],
    );
}

#[test]
fn bad_match_field_suggests_valid_one() {
    assert_error(
        "bad_match.toml",
        2,
        &["`externalId`", "did you mean `externalSystemId`?"],
    );
}

#[test]
fn match_field_must_be_mapped() {
    assert_error("match_not_mapped.toml", 2, &["`barcode`", "not mapped"]);
}

#[test]
fn two_sources_in_one_field() {
    assert_error(
        "two_sources.toml",
        6,
        &["`username`", "more than one source (column, template)"],
    );
}

#[test]
fn field_without_source() {
    assert_error("no_source.toml", 7, &["`username`", "no source"]);
}

#[test]
fn bad_date_format_points_at_date_key() {
    assert_error("bad_date_format.toml", 9, &["%m/%Y", "year, month and day"]);
}

#[test]
fn protect_must_name_mapped_field() {
    assert_error(
        "protect_unmapped.toml",
        4,
        &["`personal.emial`", "did you mean `personal.email`?"],
    );
}

#[test]
fn bad_on_blank_value_suggests_clear() {
    assert_error("bad_on_blank.toml", 6, &["`clr`", "did you mean `clear`?"]);
}

#[test]
fn missing_file_is_an_error_without_line() {
    let e = load_err("does_not_exist.toml");
    assert_eq!(e.line, None);
    assert!(
        e.to_string().contains("does_not_exist.toml: cannot read"),
        "{e}"
    );
}

#[test]
fn missing_column_at_bind_names_line_and_nearest_header() {
    let m = Mapping::load(&fixture("missing_column.toml")).expect("loads");
    let headers: Vec<String> = ["Student ID", "First Name", "Last Name"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let e = m.bind(&headers).expect_err("missing column");
    let text = e.to_string();
    assert_eq!(e.line, Some(7), "{text}");
    assert!(text.contains("missing_column.toml:7: "), "{text}");
    assert!(text.contains("\"Last Nmae\""), "{text}");
    assert!(text.contains("did you mean \"Last Name\"?"), "{text}");
}

#[test]
fn missing_column_without_close_header_lists_headers() {
    let m = Mapping::load(&fixture("missing_column.toml")).expect("loads");
    let headers: Vec<String> = ["Student ID", "First Name", "Zip"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let e = m.bind(&headers).expect_err("missing column");
    let text = e.to_string();
    assert!(
        text.contains("\"Student ID\", \"First Name\", \"Zip\""),
        "{text}"
    );
}

#[test]
fn valid_folio_mapping_exposes_plan() {
    let m = Mapping::load(&fixture("folio.toml")).expect("loads");
    assert_eq!(m.system, System::Folio);
    assert_eq!(m.match_field, "externalSystemId");
    assert_eq!(m.protect, vec!["personal.email".to_string()]);
    assert_eq!(m.on_blank(), OnBlank::Keep);
    assert_eq!(
        m.columns(),
        vec![
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
            "Tags"
        ]
    );
    let fields: Vec<(&str, OnBlank)> = m.fields().collect();
    assert_eq!(fields.len(), 16);
    assert_eq!(fields[0], ("externalSystemId", OnBlank::Keep));
    assert!(fields.contains(&("personal.email", OnBlank::Clear)));
    assert!(m.defaults().is_empty());
}

#[test]
fn defaults_table_is_exposed_as_text() {
    let m = Mapping::load(&fixture("illiad.toml")).expect("loads");
    assert_eq!(m.system, System::Illiad);
    assert_eq!(m.defaults().get("nvtgc").map(String::as_str), Some("ILL"));
    assert_eq!(
        m.defaults().get("max_requests").map(String::as_str),
        Some("50")
    );
}

#[test]
fn inline_mapping_text_compiles_via_parse() {
    let src = "system = \"libib\"\nmatch = \"email\"\n[fields]\nemail = \"E\"\n";
    let m = Mapping::parse(std::path::Path::new("inline.toml"), src).expect("compiles");
    assert_eq!(m.system, System::Libib);
    let e = Mapping::parse(std::path::Path::new("inline.toml"), "system = \"libib\"\n")
        .expect_err("no match");
    assert!(
        e.to_string().starts_with("inline.toml: missing `match"),
        "{e}"
    );
}

#[test]
fn scope_table_is_parsed_and_checked() {
    let base = "system = \"folio\"\nmatch = \"externalSystemId\"\n[fields]\nexternalSystemId = \"ID\"\n\"personal.lastName\" = \"Last\"\n";
    let m = Mapping::parse(
        std::path::Path::new("s.toml"),
        &format!("{base}[scope]\npatron_groups = [\"undergrad\", \"graduate\"]\nexternal_id_prefix = \"9001\"\n"),
    )
    .unwrap();
    let scope = m.scope.unwrap();
    assert_eq!(scope.patron_groups, ["undergrad", "graduate"]);
    assert_eq!(scope.external_id_prefix.as_deref(), Some("9001"));
    assert!(Mapping::parse(std::path::Path::new("s.toml"), base)
        .unwrap()
        .scope
        .is_none());
    let e = Mapping::parse(std::path::Path::new("s.toml"), &format!("{base}[scope]\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("s.toml:6: [scope] is empty"), "{e}");
    let e = Mapping::parse(
        std::path::Path::new("s.toml"),
        &format!("{base}[scope]\ngroups = [\"x\"]\n"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("groups"), "{e}");
}
