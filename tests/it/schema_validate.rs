//! Offline validation of mapped records: one test (at least) per rule, each asserting the field
//! named and the reason given.

use patron_etl::systems::schema::{validate, Violation};
use patron_etl::systems::System;
use serde_json::{json, Value};

/// The violations for `record`, as `(field, reason)` pairs.
fn check(system: System, record: Value) -> Vec<(String, String)> {
    validate(system, &record)
        .into_iter()
        .map(|Violation { field, reason, .. }| (field.unwrap_or_default(), reason))
        .collect()
}

/// Asserts exactly one violation, on `field`, whose reason contains every one of `needles`.
fn one(system: System, record: Value, field: &str, needles: &[&str]) {
    let v = check(system, record);
    assert_eq!(v.len(), 1, "expected one violation, got {v:?}");
    assert_eq!(v[0].0, field, "{v:?}");
    for n in needles {
        assert!(v[0].1.contains(n), "reason {:?} lacks {n:?}", v[0].1);
    }
}

fn folio_ok() -> Value {
    json!({
        "username": "jnunez",
        "externalSystemId": "S0012345",
        "barcode": "2100000012345",
        "active": true,
        "type": "patron",
        "patronGroup": "undergrad",
        "departments": ["History"],
        "expirationDate": "2027-05-31",
        "preferredEmailCommunication": ["Support", "Programs"],
        "tags": {"tagList": ["fall-load"]},
        "personal": {
            "lastName": "Núñez",
            "firstName": "José",
            "email": "jnunez@example.edu",
            "preferredContactTypeId": "002",
            "addresses": [
                {"addressTypeId": "Home", "addressLine1": "12 Elm St, Apt 3", "city": "Springfield",
                 "region": "IL", "postalCode": "62701", "countryId": "US", "primaryAddress": true},
                {"addressTypeId": "Work", "addressLine1": "1 University Ave"}
            ]
        },
        "customFields": {"classLevel": "opt_2", "optIn": true}
    })
}

fn with(mut base: Value, path: &[&str], v: Value) -> Value {
    let mut cur = &mut base;
    for p in &path[..path.len() - 1] {
        cur = &mut cur[*p];
    }
    cur[path[path.len() - 1]] = v;
    base
}

fn without(mut base: Value, path: &[&str]) -> Value {
    let mut cur = &mut base;
    for p in &path[..path.len() - 1] {
        cur = &mut cur[*p];
    }
    if let Some(o) = cur.as_object_mut() {
        o.remove(path[path.len() - 1]);
    }
    base
}

// ---------------------------------------------------------------- FOLIO

#[test]
fn folio_valid_record_passes() {
    assert_eq!(check(System::Folio, folio_ok()), vec![]);
}

#[test]
fn folio_non_object_record() {
    let v = check(System::Folio, json!(["x"]));
    assert_eq!(v.len(), 1);
    assert!(v[0].1.contains("not a JSON object"));
}

#[test]
fn folio_last_name_required() {
    one(
        System::Folio,
        without(folio_ok(), &["personal", "lastName"]),
        "personal.lastName",
        &["requires a last name"],
    );
    one(
        System::Folio,
        with(folio_ok(), &["personal", "lastName"], json!("  ")),
        "personal.lastName",
        &["blank"],
    );
    // No personal object at all: still required.
    one(
        System::Folio,
        json!({"username": "x"}),
        "personal.lastName",
        &["requires a last name"],
    );
}

#[test]
fn folio_type_enum() {
    one(
        System::Folio,
        with(folio_ok(), &["type"], json!("Patron")),
        "type",
        &[
            "\"Patron\"",
            "patron, staff, shadow, system, dcb",
            "did you mean \"patron\"",
        ],
    );
}

#[test]
fn folio_email_syntax() {
    one(
        System::Folio,
        with(folio_ok(), &["personal", "email"], json!("jnunez@example")),
        "personal.email",
        &["not a valid e-mail", "\"jnunez@example\""],
    );
}

#[test]
fn folio_dates_must_be_iso() {
    one(
        System::Folio,
        with(folio_ok(), &["expirationDate"], json!("05/31/2027")),
        "expirationDate",
        &["ISO date", "\"05/31/2027\""],
    );
    one(
        System::Folio,
        with(
            folio_ok(),
            &["personal", "dateOfBirth"],
            json!("2004-02-30"),
        ),
        "personal.dateOfBirth",
        &["\"2004-02-30\""],
    );
    one(
        System::Folio,
        with(
            folio_ok(),
            &["personal", "dateOfBirth"],
            json!("0000-12-31"),
        ),
        "personal.dateOfBirth",
        &["0001-01-01"],
    );
    // A full FOLIO timestamp is accepted.
    assert_eq!(
        check(
            System::Folio,
            with(
                folio_ok(),
                &["enrollmentDate"],
                json!("2025-09-01T00:00:00.000+00:00")
            )
        ),
        vec![]
    );
}

#[test]
fn folio_bool_kind() {
    one(
        System::Folio,
        with(folio_ok(), &["active"], json!("yes")),
        "active",
        &["true or false", "\"yes\""],
    );
}

#[test]
fn folio_preferred_email_communication_rules() {
    let v = check(
        System::Folio,
        with(
            folio_ok(),
            &["preferredEmailCommunication"],
            json!(["Support", "Programs", "Services", "Support"]),
        ),
    );
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v.iter().all(|(f, _)| f == "preferredEmailCommunication"));
    assert!(v.iter().any(|(_, r)| r.contains("at most 3")));
    assert!(v
        .iter()
        .any(|(_, r)| r.contains("\"Support\" more than once")));
    one(
        System::Folio,
        with(
            folio_ok(),
            &["preferredEmailCommunication"],
            json!(["Newsletters"]),
        ),
        "preferredEmailCommunication",
        &["\"Newsletters\"", "Support, Programs, Services"],
    );
}

#[test]
fn folio_contact_type_codes_only() {
    one(
        System::Folio,
        with(
            folio_ok(),
            &["personal", "preferredContactTypeId"],
            json!("email"),
        ),
        "personal.preferredContactTypeId",
        &["\"email\"", "001, 002, 003, 004, 005"],
    );
}

#[test]
fn folio_address_needs_type() {
    let rec = with(
        folio_ok(),
        &["personal", "addresses"],
        json!([{"addressLine1": "1 Main St"}]),
    );
    one(
        System::Folio,
        rec,
        "personal.addresses",
        &["address 1 has no address type"],
    );
}

#[test]
fn folio_one_address_per_type() {
    let rec = with(
        folio_ok(),
        &["personal", "addresses"],
        json!([{"addressTypeId": "Home", "city": "A"}, {"addressTypeId": "home", "city": "B"}]),
    );
    one(
        System::Folio,
        rec,
        "personal.addresses.home",
        &["more than one address of type \"home\""],
    );
}

#[test]
fn folio_at_most_one_primary_address() {
    let rec = with(
        folio_ok(),
        &["personal", "addresses"],
        json!([
            {"addressTypeId": "Home", "primaryAddress": true},
            {"addressTypeId": "Work", "primaryAddress": true},
            {"addressTypeId": "Claim", "primaryAddress": false}
        ]),
    );
    one(
        System::Folio,
        rec,
        "personal.addresses",
        &["2 addresses are marked primaryAddress = true (Home, Work)"],
    );
}

#[test]
fn folio_address_parts_checked() {
    let rec = with(
        folio_ok(),
        &["personal", "addresses"],
        json!([{"addressTypeId": "Home", "street": "x", "primaryAddress": "yes"}]),
    );
    let v = check(System::Folio, rec);
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v.contains(&(
        "personal.addresses.Home.street".into(),
        "not a FOLIO address field; use one of: addressLine1, addressLine2, city, region, postalCode, countryId, primaryAddress".into()
    )));
    assert_eq!(v[1].0, "personal.addresses.Home.primaryAddress");
}

#[test]
fn folio_unknown_fields() {
    let v = check(System::Folio, with(folio_ok(), &["lastName"], json!("x")));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].0, "lastName");
    let v = check(
        System::Folio,
        with(folio_ok(), &["personal", "nickname"], json!("x")),
    );
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].0, "personal.nickname");
}

#[test]
fn folio_departments_unique_and_list_shape() {
    one(
        System::Folio,
        with(folio_ok(), &["departments"], json!(["History", "history"])),
        "departments",
        &["more than once"],
    );
    one(
        System::Folio,
        with(folio_ok(), &["departments"], json!("History")),
        "departments",
        &["expected a list"],
    );
}

#[test]
fn folio_id_must_be_uuid() {
    one(
        System::Folio,
        with(folio_ok(), &["id"], json!("12345")),
        "id",
        &["not a UUID", "\"12345\""],
    );
    assert_eq!(
        check(
            System::Folio,
            with(
                folio_ok(),
                &["id"],
                json!("bdc2b6d4-5ceb-4a12-ab46-249b9a68473e")
            )
        ),
        vec![]
    );
}

#[test]
fn folio_tags_shape_and_custom_fields() {
    one(
        System::Folio,
        with(folio_ok(), &["tags"], json!(["a"])),
        "tags",
        &["tagList"],
    );
    one(
        System::Folio,
        with(folio_ok(), &["customFields", "bad"], json!({"x": 1})),
        "customFields.bad",
        &["custom field holds"],
    );
}

#[test]
fn folio_pronouns_max_length() {
    one(
        System::Folio,
        with(
            folio_ok(),
            &["personal", "pronouns"],
            json!("x".repeat(301)),
        ),
        "personal.pronouns",
        &["301 characters", "at most 300"],
    );
}

// ---------------------------------------------------------------- ILLiad

fn illiad_ok() -> Value {
    json!({
        "UserName": "jnunez",
        "ExternalUserId": "S0012345",
        "LastName": "Núñez",
        "FirstName": "José",
        "EMailAddress": "jnunez@example.edu",
        "Status": "Undergraduate",
        "NVTGC": "ILL",
        "Cleared": "Yes",
        "NotificationMethod": "Electronic",
        "DeliveryMethod": "Hold for Pickup",
        "LoanDeliveryMethod": "Mail to Address",
        "AuthType": "Default",
        "Web": true,
        "State": "IL",
        "Zip": "62701",
        "ExpirationDate": "2027-05-31T00:00:00",
        "UserRequestLimit": 25
    })
}

#[test]
fn illiad_valid_record_passes() {
    assert_eq!(check(System::Illiad, illiad_ok()), vec![]);
}

#[test]
fn illiad_username_required() {
    one(
        System::Illiad,
        without(illiad_ok(), &["UserName"]),
        "UserName",
        &["requires UserName"],
    );
}

#[test]
fn illiad_nvtgc_required() {
    one(
        System::Illiad,
        without(illiad_ok(), &["NVTGC"]),
        "NVTGC",
        &["requires NVTGC", "[defaults] nvtgc"],
    );
}

#[test]
fn illiad_keys_are_case_insensitive() {
    let rec = json!({"Username": "bdoe", "EmailAddress": "bailey@test.com", "nvtgc": "ILL"});
    assert_eq!(check(System::Illiad, rec), vec![]);
    let rec = json!({"Username": "bdoe", "UserName": "bdoe", "NVTGC": "ILL"});
    let v = check(System::Illiad, rec);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].0, "UserName");
    assert!(v[0].1.contains("given twice"));
}

#[test]
fn illiad_enumerations() {
    for (field, bad, list) in [
        ("Cleared", "Maybe", "Yes, No, New, DIS, B, BO, BX"),
        ("NotificationMethod", "E-Mail", "Electronic, Phone, Mail"),
        (
            "DeliveryMethod",
            "Pickup",
            "Hold for Pickup, Mail to Address",
        ),
        (
            "LoanDeliveryMethod",
            "Mail",
            "Hold for Pickup, Mail to Address",
        ),
        ("AuthType", "LDAP", "Default, ILLiad"),
    ] {
        one(
            System::Illiad,
            with(illiad_ok(), &[field], json!(bad)),
            field,
            &[&format!("\"{bad}\""), list],
        );
    }
    one(
        System::Illiad,
        with(illiad_ok(), &["Cleared"], json!("yes")),
        "Cleared",
        &["did you mean \"Yes\""],
    );
}

#[test]
fn illiad_max_lengths() {
    one(
        System::Illiad,
        with(illiad_ok(), &["State"], json!("TEX")),
        "State",
        &["3 characters", "at most 2", "\"TEX\""],
    );
    one(
        System::Illiad,
        with(illiad_ok(), &["Status"], json!("Graduate Student")),
        "Status",
        &["16 characters", "at most 15"],
    );
    one(
        System::Illiad,
        with(illiad_ok(), &["LastName"], json!("Ø".repeat(41))),
        "LastName",
        &["41 characters", "at most 40"],
    );
    // Characters, not bytes: 40 accented letters fit.
    assert_eq!(
        check(
            System::Illiad,
            with(illiad_ok(), &["LastName"], json!("Ø".repeat(40)))
        ),
        vec![]
    );
}

#[test]
fn illiad_email_and_kinds() {
    one(
        System::Illiad,
        with(illiad_ok(), &["EMailAddress"], json!("jnunez.example.edu")),
        "EMailAddress",
        &["not a valid e-mail", "\"jnunez.example.edu\""],
    );
    one(
        System::Illiad,
        with(illiad_ok(), &["ExpirationDate"], json!("13/01/2027")),
        "ExpirationDate",
        &["ISO date"],
    );
    one(
        System::Illiad,
        with(illiad_ok(), &["UserRequestLimit"], json!("ten")),
        "UserRequestLimit",
        &["whole number"],
    );
    one(
        System::Illiad,
        with(illiad_ok(), &["Web"], json!("Yes")),
        "Web",
        &["true or false"],
    );
}

#[test]
fn illiad_unknown_and_secret_fields() {
    one(
        System::Illiad,
        with(illiad_ok(), &["PlainTextPassword"], json!("hunter2")),
        "PlainTextPassword",
        &["not an ILLiad user field"],
    );
    // The secret value is never echoed.
    let v = check(
        System::Illiad,
        with(illiad_ok(), &["PlainTextPassword"], json!("hunter2")),
    );
    assert!(!v[0].1.contains("hunter2"));
}

// ---------------------------------------------------------------- Libib

fn libib_ok() -> Value {
    json!({
        "first_name": "Zoë",
        "last_name": "Ørsted",
        "email": "zorsted@example.edu",
        "patron_id": "S0012346",
        "phone": "608-555-0142",
        "address1": "12 Elm St",
        "city": "Madison",
        "state": "WI",
        "zip": "53703",
        "country": "US",
        "tags": ["undergrad"],
        "notification_emails": ["a@example.edu", "b@example.edu", "c@example.edu"],
        "freeze": false
    })
}

#[test]
fn libib_valid_record_passes() {
    assert_eq!(check(System::Libib, libib_ok()), vec![]);
}

#[test]
fn libib_names_required() {
    one(
        System::Libib,
        without(libib_ok(), &["first_name"]),
        "first_name",
        &["requires first_name"],
    );
    one(
        System::Libib,
        with(libib_ok(), &["last_name"], json!("")),
        "last_name",
        &["requires last_name"],
    );
}

#[test]
fn libib_state_rules() {
    one(
        System::Libib,
        with(libib_ok(), &["state"], json!("TEX")),
        "state",
        &["when country is US", "USPS", "\"TEX\""],
    );
    one(
        System::Libib,
        with(libib_ok(), &["state"], json!("wi")),
        "state",
        &["upper-case", "\"wi\""],
    );
    // No country: Libib defaults to US, so the rule applies.
    one(
        System::Libib,
        without(
            with(libib_ok(), &["state"], json!("Wisconsin")),
            &["country"],
        ),
        "state",
        &["no country", "\"Wisconsin\""],
    );
    // Other countries: any state text.
    let rec = with(
        with(libib_ok(), &["country"], json!("CA")),
        &["state"],
        json!("Ontario"),
    );
    assert_eq!(check(System::Libib, rec), vec![]);
}

#[test]
fn libib_country_code() {
    for bad in ["USA", "us", "U"] {
        let rec = with(
            with(libib_ok(), &["country"], json!(bad)),
            &["state"],
            json!("x"),
        );
        let v = check(System::Libib, without(rec, &["state"]));
        assert_eq!(v.len(), 1, "{bad}: {v:?}");
        assert_eq!(v[0].0, "country");
        assert!(v[0].1.contains(&format!("\"{bad}\"")));
        assert!(v[0].1.contains("2-letter"));
    }
}

#[test]
fn libib_notification_emails() {
    one(
        System::Libib,
        with(
            libib_ok(),
            &["notification_emails"],
            json!(["a@x.edu", "b@x.edu", "c@x.edu", "d@x.edu"]),
        ),
        "notification_emails",
        &["has 4 addresses", "at most 3"],
    );
    one(
        System::Libib,
        with(
            libib_ok(),
            &["notification_emails"],
            json!(["a@x.edu", "nope"]),
        ),
        "notification_emails",
        &["not a valid e-mail", "\"nope\""],
    );
}

#[test]
fn libib_email_tags_barcode() {
    one(
        System::Libib,
        with(libib_ok(), &["email"], json!("z orsted@example.edu")),
        "email",
        &["not a valid e-mail"],
    );
    one(
        System::Libib,
        with(libib_ok(), &["tags"], json!(["a,b"])),
        "tags",
        &["contains a comma"],
    );
    one(
        System::Libib,
        with(libib_ok(), &["barcode"], json!("1234")),
        "barcode",
        &["5 to 15 digits", "\"1234\""],
    );
    one(
        System::Libib,
        with(libib_ok(), &["barcode"], json!("2.02E+12")),
        "barcode",
        &["5 to 15 digits"],
    );
    assert_eq!(
        check(
            System::Libib,
            with(libib_ok(), &["barcode"], json!("2020000000013"))
        ),
        vec![]
    );
}

#[test]
fn libib_unknown_field() {
    one(
        System::Libib,
        with(libib_ok(), &["password"], json!("secret")),
        "password",
        &["not a Libib patron field"],
    );
}

#[test]
fn violation_display_names_field() {
    let v = validate(System::Libib, &json!({"last_name": "X"}));
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].to_string(),
        "first_name: Libib requires first_name, and it is blank or missing"
    );
}
