//! Field catalogues: fixed and pattern fields, id_like flags, enumerations, and the shipped
//! mapping files' `[fields]` keys.

use patron_etl::systems::folio::schema::{
    folio_address_field, FOLIO_DEFAULT_ADDRESS_TYPES, FOLIO_DEFAULT_PATRON_GROUPS,
};
use patron_etl::systems::schema::{
    field_names, field_patterns, lookup_field, match_fields, max_length, FieldKind,
};
use patron_etl::systems::System;
use std::path::Path;

const ALL: [System; 3] = [System::Folio, System::Illiad, System::Libib];

#[test]
fn folio_fixed_fields_have_their_kinds() {
    let kind = |n: &str| lookup_field(System::Folio, n).map(|f| f.kind);
    assert_eq!(kind("personal.lastName"), Some(FieldKind::Text));
    assert_eq!(kind("active"), Some(FieldKind::Bool));
    assert_eq!(kind("expirationDate"), Some(FieldKind::Date));
    assert_eq!(kind("enrollmentDate"), Some(FieldKind::Date));
    assert_eq!(kind("personal.dateOfBirth"), Some(FieldKind::Date));
    assert_eq!(kind("departments"), Some(FieldKind::List));
    assert_eq!(kind("tags"), Some(FieldKind::List));
    assert_eq!(kind("preferredEmailCommunication"), Some(FieldKind::List));
    assert_eq!(kind("patronGroup"), Some(FieldKind::Text));
}

#[test]
fn folio_enumerations() {
    let allowed = |n: &str| lookup_field(System::Folio, n).and_then(|f| f.allowed);
    assert_eq!(
        allowed("type"),
        Some(vec![
            "patron".to_string(),
            "staff".into(),
            "shadow".into(),
            "system".into(),
            "dcb".into()
        ])
    );
    assert_eq!(
        allowed("preferredEmailCommunication"),
        Some(vec![
            "Support".to_string(),
            "Programs".into(),
            "Services".into()
        ])
    );
    assert_eq!(
        allowed("personal.preferredContactTypeId").map(|a| a.len()),
        Some(5)
    );
    assert_eq!(allowed("personal.firstName"), None);
    assert_eq!(max_length(System::Folio, "personal.pronouns"), Some(300));
}

#[test]
fn folio_address_pattern_fields() {
    let f = lookup_field(System::Folio, "personal.addresses.Home.addressLine1").unwrap();
    assert_eq!(f.name, "personal.addresses.Home.addressLine1");
    assert_eq!(f.kind, FieldKind::Text);
    let p = lookup_field(
        System::Folio,
        "personal.addresses.Campus Mail.primaryAddress",
    )
    .unwrap();
    assert_eq!(p.kind, FieldKind::Bool);
    assert_eq!(
        folio_address_field("personal.addresses.Work.postalCode"),
        Some(("Work", "postalCode"))
    );
    // Unknown part, missing type, blank type.
    assert!(lookup_field(System::Folio, "personal.addresses.Home.street").is_none());
    assert!(lookup_field(System::Folio, "personal.addresses.city").is_none());
    assert!(lookup_field(System::Folio, "personal.addresses..city").is_none());
    assert!(lookup_field(System::Folio, "personal.addresses. Home.city").is_none());
}

#[test]
fn folio_custom_field_pattern() {
    let f = lookup_field(System::Folio, "customFields.classLevel").unwrap();
    assert_eq!(f.name, "customFields.classLevel");
    assert_eq!(f.kind, FieldKind::Text);
    assert!(lookup_field(System::Folio, "customFields.").is_none());
    assert!(lookup_field(System::Folio, "customFields.a.b").is_none());
}

#[test]
fn unknown_fields_return_none() {
    assert!(lookup_field(System::Folio, "lastName").is_none());
    assert!(lookup_field(System::Folio, "personal.lastname").is_none());
    assert!(lookup_field(System::Folio, "metadata").is_none());
    assert!(lookup_field(System::Illiad, "PlainTextPassword").is_none());
    assert!(lookup_field(System::Illiad, "NotificationPreferences").is_none());
    assert!(lookup_field(System::Illiad, "first_name").is_none());
    assert!(lookup_field(System::Libib, "password").is_none());
    assert!(lookup_field(System::Libib, "FirstName").is_none());
    assert!(lookup_field(System::Libib, "").is_none());
}

#[test]
fn id_like_flags() {
    let id = |s: System, n: &str| lookup_field(s, n).map(|f| f.id_like);
    for n in ["username", "externalSystemId", "barcode"] {
        assert_eq!(id(System::Folio, n), Some(true), "{n}");
    }
    assert_eq!(id(System::Folio, "personal.email"), Some(false));
    assert_eq!(id(System::Folio, "patronGroup"), Some(false));
    for n in ["UserName", "ExternalUserId", "SSN"] {
        assert_eq!(id(System::Illiad, n), Some(true), "{n}");
    }
    assert_eq!(id(System::Illiad, "LastName"), Some(false));
    assert_eq!(id(System::Libib, "barcode"), Some(true));
    assert_eq!(id(System::Libib, "email"), Some(false));
}

#[test]
fn illiad_names_are_case_insensitive_and_canonicalised() {
    let f = lookup_field(System::Illiad, "EmailAddress").unwrap();
    assert_eq!(f.name, "EMailAddress");
    assert_eq!(
        lookup_field(System::Illiad, "username").unwrap().name,
        "UserName"
    );
    assert_eq!(
        lookup_field(System::Illiad, "Cleared")
            .unwrap()
            .allowed
            .unwrap(),
        vec!["Yes", "No", "New", "DIS", "B", "BO", "BX"]
    );
    assert_eq!(
        lookup_field(System::Illiad, "LoanDeliveryMethod")
            .unwrap()
            .allowed
            .unwrap(),
        vec!["Hold for Pickup", "Mail to Address"]
    );
    assert_eq!(
        lookup_field(System::Illiad, "Web").unwrap().kind,
        FieldKind::Bool
    );
    assert_eq!(
        lookup_field(System::Illiad, "UserRequestLimit")
            .unwrap()
            .kind,
        FieldKind::Integer
    );
    assert_eq!(max_length(System::Illiad, "State"), Some(2));
    assert_eq!(max_length(System::Illiad, "Status"), Some(15));
    assert_eq!(max_length(System::Illiad, "Country"), None);
}

#[test]
fn libib_fields() {
    assert_eq!(
        lookup_field(System::Libib, "notification_emails")
            .unwrap()
            .kind,
        FieldKind::List
    );
    assert_eq!(
        lookup_field(System::Libib, "freeze").unwrap().kind,
        FieldKind::Bool
    );
    assert_eq!(
        lookup_field(System::Libib, "zip").unwrap().kind,
        FieldKind::Text
    );
}

#[test]
fn field_names_are_complete_and_resolvable() {
    for s in ALL {
        let names = field_names(s);
        assert!(!names.is_empty(), "{s}");
        for n in &names {
            let f = lookup_field(s, n).unwrap_or_else(|| panic!("{s} {n}"));
            assert_eq!(&f.name, n);
        }
        for m in match_fields(s) {
            assert!(names.iter().any(|n| n == m), "{s} match field {m}");
        }
    }
    assert_eq!(field_names(System::Libib).len(), 15);
    assert!(field_names(System::Illiad).contains(&"NVTGC".to_string()));
    assert!(field_patterns(System::Folio)
        .iter()
        .any(|p| p.starts_with("personal.addresses.<TypeName>.")));
    assert!(field_patterns(System::Libib).is_empty());
}

/// Every `[fields]` key and every `protect` entry of each shipped mapping resolves in its
/// system's catalogue, and `match` is a valid match field that the file maps.
#[test]
fn shipped_mappings_use_catalogue_fields() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings");
    let mut checked = 0;
    for (file, expected) in [
        ("folio.toml", System::Folio),
        ("illiad.toml", System::Illiad),
        ("libib.toml", System::Libib),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let doc: toml::Value = toml::from_str(&text).unwrap();
        let system = System::parse(doc["system"].as_str().unwrap()).unwrap();
        assert_eq!(system, expected, "{file}");
        let fields = doc["fields"].as_table().unwrap();
        assert!(fields.len() >= 5, "{file}");
        for (name, spec) in fields {
            let f = lookup_field(system, name)
                .unwrap_or_else(|| panic!("{file}: [fields] {name} is not a {system} field"));
            assert_eq!(&f.name, name, "{file}: use the canonical spelling");
            assert!(
                spec.is_str() || spec.is_table(),
                "{file}: {name} must be a column name or a table"
            );
            checked += 1;
        }
        let m = doc["match"].as_str().unwrap();
        assert!(match_fields(system).contains(&m), "{file}: match {m}");
        assert!(
            fields.contains_key(m),
            "{file}: match field {m} is not mapped"
        );
        if let Some(protect) = doc.get("protect").and_then(|p| p.as_array()) {
            for p in protect {
                let p = p.as_str().unwrap();
                assert!(fields.contains_key(p), "{file}: protect {p} is not mapped");
            }
        }
    }
    assert!(checked > 30);
}

/// The roster header the shipped mappings are written for.
fn roster_header() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/roster.csv");
    let mut r = csv::Reader::from_path(path).unwrap();
    r.headers().unwrap().iter().map(str::to_string).collect()
}

/// The shipped mappings follow MAPPING-SPEC's shape: known keys only, exactly one source per
/// field, every referenced column exists in samples/roster.csv, and FOLIO reference names are
/// FOLIO's default reference data.
#[test]
fn shipped_mappings_follow_the_spec_and_the_roster() {
    const TOP: &[&str] = &[
        "system", "match", "protect", "on_blank", "defaults", "fields",
    ];
    const KEYS: &[&str] = &[
        "column",
        "template",
        "value",
        "transform",
        "required",
        "default",
        "map",
        "map_default",
        "date",
        "split",
        "on_blank",
    ];
    let header = roster_header();
    let placeholder = regex::Regex::new(r"\{([^{}]+)\}").unwrap();
    for file in ["folio.toml", "illiad.toml", "libib.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("mappings")
            .join(file);
        let doc: toml::Value = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for k in doc.as_table().unwrap().keys() {
            assert!(TOP.contains(&k.as_str()), "{file}: top-level key {k}");
        }
        if let Some(b) = doc.get("on_blank") {
            assert!(["keep", "clear"].contains(&b.as_str().unwrap()), "{file}");
        }
        for (name, spec) in doc["fields"].as_table().unwrap() {
            let columns: Vec<String> = match spec {
                toml::Value::String(c) => vec![c.clone()],
                toml::Value::Table(t) => {
                    for k in t.keys() {
                        assert!(KEYS.contains(&k.as_str()), "{file}: {name}: key {k}");
                    }
                    let sources = ["column", "template", "value"]
                        .iter()
                        .filter(|k| t.contains_key(**k))
                        .count();
                    assert_eq!(sources, 1, "{file}: {name}: exactly one source");
                    if let Some(c) = t.get("column") {
                        vec![c.as_str().unwrap().to_string()]
                    } else if let Some(tpl) = t.get("template") {
                        placeholder
                            .captures_iter(tpl.as_str().unwrap())
                            .map(|c| c[1].to_string())
                            .collect()
                    } else {
                        vec![]
                    }
                }
                other => panic!("{file}: {name}: {other:?}"),
            };
            for c in columns {
                assert!(
                    header.contains(&c),
                    "{file}: {name}: no column {c:?} in roster"
                );
            }
            // Constant and mapped outputs respect the field's enumeration and width.
            let system = System::parse(doc["system"].as_str().unwrap()).unwrap();
            let f = lookup_field(system, name).unwrap();
            let mut outputs: Vec<String> = Vec::new();
            if let Some(toml::Value::String(v)) = spec.get("value") {
                outputs.push(v.clone());
            }
            if let Some(m) = spec.get("map").and_then(|m| m.as_table()) {
                outputs.extend(m.values().map(|v| v.as_str().unwrap().to_string()));
            }
            for out in outputs {
                if let Some(allowed) = &f.allowed {
                    assert!(allowed.contains(&out), "{file}: {name} = {out:?}");
                }
                if let Some(max) = max_length(system, name) {
                    assert!(out.chars().count() <= max, "{file}: {name} = {out:?}");
                }
            }
        }
    }
    let folio: toml::Value = toml::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/folio.toml"))
            .unwrap(),
    )
    .unwrap();
    let fields = folio["fields"].as_table().unwrap();
    let groups = fields["patronGroup"]["map"].as_table().unwrap();
    assert_eq!(groups.len(), 4);
    for g in groups.values() {
        assert!(
            FOLIO_DEFAULT_PATRON_GROUPS.contains(&g.as_str().unwrap()),
            "{g}"
        );
    }
    for name in fields.keys() {
        if let Some((ty, _)) = folio_address_field(name) {
            assert!(FOLIO_DEFAULT_ADDRESS_TYPES.contains(&ty), "{name}");
        }
    }
    // ILLiad's site code comes from [defaults].
    let illiad: toml::Value = toml::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/illiad.toml"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(illiad["defaults"]["nvtgc"].as_str(), Some("ILL"));
}
