//! FOLIO's 303 sample users (tests/fixtures/folio-users, copied from folio-org/mod-users
//! `sample-data/users`; see its README) migrated with the shipped mappings: FOLIO → Libib →
//! FOLIO and FOLIO → ILLiad. Status, addresses and user names survive, and every field a
//! destination is not sent is listed in the summary with its count.

use crate::harness::export::*;
use crate::harness::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The sandbox's address-type ids (src/sandbox/ref-data/addresstypes-*.json).
const HOME: &str = "93d3d88d-499b-45d0-9bc7-ac73c3a19880";
const WORK: &str = "1c4b225f-f669-4e9b-afcd-ebc0e273a34e";

/// The user's only address and whether it is a Work address.
fn address(u: &Value) -> Option<(&Value, bool)> {
    let a = u["personal"]["addresses"].as_array()?.first()?;
    Some((a, a["addressTypeId"] == WORK))
}

/// `left out: FIELD (N users) — reason` lines of a run's output, as FIELD → N.
fn left_out(out: &str) -> BTreeMap<String, u64> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("left out: "))
        .filter_map(|l| {
            let (field, rest) = l.split_once(" (")?;
            let n = rest.split_once(' ')?.0.parse().ok()?;
            Some((field.to_string(), n))
        })
        .collect()
}

/// Users of `users` with a non-empty value at the JSON pointer.
fn having(users: &[Value], pointer: &str) -> u64 {
    users
        .iter()
        .filter(|u| match u.pointer(pointer) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        })
        .count() as u64
}

/// Checks the summary against the source data: each FOLIO field a mapping does not send is
/// listed with the number of users that have it; the fields in `sent` are not listed.
fn assert_left_out_folio(
    summary: &BTreeMap<String, u64>,
    users: &[Value],
    out: &str,
    sent: &[&str],
) {
    for (field, pointer) in [
        ("id", "/id"),
        ("expirationDate", "/expirationDate"),
        ("enrollmentDate", "/enrollmentDate"),
        ("personal.dateOfBirth", "/personal/dateOfBirth"),
        ("personal.middleName", "/personal/middleName"),
        (
            "personal.preferredContactTypeIds",
            "/personal/preferredContactTypeIds",
        ),
    ] {
        if sent.contains(&field) {
            assert!(!summary.contains_key(field), "{field} is sent\n{out}");
            continue;
        }
        assert_eq!(
            summary.get(field).copied(),
            Some(having(users, pointer)),
            "left out: {field}\n{out}"
        );
    }
    let primary = |ty: &str| {
        users
            .iter()
            .filter(|u| {
                address(u).is_some_and(|(a, _)| {
                    a["addressTypeId"] == ty && a["primaryAddress"].as_bool().is_some()
                })
            })
            .count() as u64
    };
    assert_eq!(
        summary
            .get("personal.addresses.Home.primaryAddress")
            .copied(),
        Some(primary(HOME)),
        "{out}"
    );
    assert_eq!(
        summary
            .get("personal.addresses.Work.primaryAddress")
            .copied(),
        Some(primary(WORK)),
        "{out}"
    );
}

#[test]
fn folio_samples_to_libib_and_back_keep_status_addresses_and_user_names() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&["--libib-interval-ms", "2"]);
    let users = sample_users();
    assert_eq!(users.len(), 303);
    load_folio_users(&sb, &users);
    write_fast_config(&sb, d);
    let by_barcode: HashMap<&str, &Value> = users
        .iter()
        .filter_map(|u| Some((u["barcode"].as_str()?, u)))
        .collect();

    // FOLIO → Libib.
    let m = root().join("mappings/folio-to-libib.toml");
    let args = [
        "migrate",
        "--from",
        "sb",
        "--to",
        "lib",
        "--commit",
        "--report",
        "to-libib.csv",
        "--mapping",
    ];
    let o = dir.run(&[&args[..], &[m.to_str().unwrap()]].concat());
    let out = text(&o);
    let rows = read_report(&d.join("to-libib.csv"));
    assert_eq!(rows.len(), 303, "{out}");
    let patrons: HashMap<String, Value> = sb
        .libib_patrons()
        .into_iter()
        .map(|(_, p)| (p["barcode"].as_str().unwrap_or("").to_string(), p))
        .collect();
    let created: Vec<&HashMap<String, String>> =
        rows.iter().filter(|r| r["outcome"] == "created").collect();
    assert!(created.len() > 250, "{out}");
    let (mut frozen, mut work_only) = (0, 0);
    for r in &created {
        let p = &patrons[&r["target_id"]];
        let u = by_barcode[r["target_id"].as_str()];
        // Inactive FOLIO users are frozen Libib patrons; active ones are not.
        let inactive = u["active"] == false;
        assert_eq!(p["freeze"] == 1, inactive, "{u}\n{p}");
        frozen += usize::from(inactive);
        // Work-only users keep their address (Libib holds one).
        if let Some((a, is_work)) = address(u) {
            assert_eq!(p["address1"], a["addressLine1"], "{u}\n{p}");
            assert_eq!(p["city"], a["city"], "{u}\n{p}");
            work_only += usize::from(is_work);
        }
        // An extension is kept, never merged into the number.
        if let Some(ph) = u["personal"]["phone"].as_str().filter(|s| s.contains(" x")) {
            let ext = ph.rsplit(" x").next().unwrap();
            assert!(
                p["phone"].as_str().unwrap().ends_with(&format!(" x{ext}")),
                "{ph} → {}",
                p["phone"]
            );
        }
    }
    assert!(
        frozen > 80,
        "the 93 inactive users arrive frozen ({frozen})"
    );
    assert!(
        work_only > 120,
        "the Work-only users have an address ({work_only})"
    );
    let summary = left_out(&out);
    assert_left_out_folio(&summary, &users, &out, &[]);
    // Libib has one phone: the mobile phone of a user who also has a phone is left out.
    let both = users
        .iter()
        .filter(|u| {
            having(std::slice::from_ref(u), "/personal/phone") == 1
                && having(std::slice::from_ref(u), "/personal/mobilePhone") == 1
        })
        .count() as u64;
    assert_eq!(summary.get("personal.mobilePhone"), Some(&both), "{out}");
    assert!(
        out.contains("— libib `phone` holds one value: the first filled of personal.phone, personal.mobilePhone is sent"),
        "{out}"
    );
    assert_eq!(summary.get("username"), Some(&303), "{out}");
    // Every user has one address, and Libib holds one: no address is left out.
    assert!(
        !summary
            .keys()
            .any(
                |k| k.starts_with("personal.addresses.Home") && !k.ends_with("primaryAddress")
                    || k == "personal.addresses"
            ),
        "{out}"
    );

    // Libib → FOLIO: the same users come back onto themselves (matched by barcode).
    let export = dir.run(&["export", "--from", "lib", "--out", "libib.csv"]);
    assert_eq!(export.status.code(), Some(0), "{}", text(&export));
    let m = root().join("mappings/libib-to-folio.toml");
    let args = [
        "migrate",
        "--from",
        "lib",
        "--to",
        "sb",
        "--commit",
        "--report",
        "back.csv",
        "--mapping",
    ];
    let o = dir.run(&[&args[..], &[m.to_str().unwrap()]].concat());
    let out = text(&o);
    let back = read_report(&d.join("back.csv"));
    assert_eq!(back.len(), created.len(), "{out}");
    assert!(
        back.iter()
            .all(|r| matches!(r["outcome"].as_str(), "updated" | "unchanged")),
        "every patron found again, none created twice: {out}"
    );
    let now: HashMap<String, Value> = sb
        .folio_users()
        .into_iter()
        .map(|u| (u["barcode"].as_str().unwrap_or("").to_string(), u))
        .collect();
    for r in &created {
        let before = by_barcode[r["target_id"].as_str()];
        let after = &now[&r["target_id"]];
        // User names are protected (single sign-on), status survives the round trip.
        assert_eq!(after["username"], before["username"], "{after}");
        assert_eq!(after["active"], before["active"], "{after}");
        // The user's own address is still there under its type.
        if let Some((a, _)) = address(before) {
            let kept = after["personal"]["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["addressTypeId"] == a["addressTypeId"] && b["city"] == a["city"]);
            assert!(kept, "{before}\n{after}");
        }
        // Tags are merged, not replaced.
        let tags: Vec<&str> = after["tags"]["tagList"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(tags.contains(&"migrated-from-libib"), "{after}");
    }
    // What FOLIO is not sent from Libib is listed too (Libib's notification e-mails are blank
    // in these patrons, so nothing is left out unless a column has values).
    assert!(!out.contains("left out: barcode"), "{out}");
}

#[test]
fn folio_samples_to_illiad_keep_status_addresses_and_user_names() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    let mut users = sample_users();
    // A custom field: the export carries it (by its display name, issue 16), the ILLiad mapping
    // does not read it, and the summary says so.
    users[0]["customFields"] = serde_json::json!({"level": "gold"});
    // FOLIO takes a custom-field value only when the field is defined (mod-users validates
    // values against /custom-fields).
    let r = client()
        .post(format!("{}/folio/custom-fields", sb.base))
        .header("X-Okapi-Tenant", "diku")
        .header("X-Okapi-Token", sb.folio_token())
        .header("X-Okapi-Module-Id", "mod-users-19.6.0")
        .json(
            &serde_json::json!({"name": "Level", "refId": "level", "type": "TEXTBOX_SHORT",
            "entityType": "user", "textField": {"fieldFormat": "TEXT"}}),
        )
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    load_folio_users(&sb, &users);
    write_fast_config(&sb, d);
    let m = root().join("mappings/folio-to-illiad.toml");
    let args = [
        "migrate",
        "--from",
        "sb",
        "--to",
        "ill",
        "--commit",
        "--report",
        "to-illiad.csv",
        "--mapping",
    ];
    let o = dir.run(&[&args[..], &[m.to_str().unwrap()]].concat());
    let out = text(&o);
    let rows = read_report(&d.join("to-illiad.csv"));
    assert_eq!(rows.len(), 303, "{out}");
    let by_name: HashMap<&str, &Value> = users
        .iter()
        .filter_map(|u| Some((u["username"].as_str()?, u)))
        .collect();
    let c = client();
    let (mut created, mut not_cleared, mut work_only) = (0, 0, 0);
    for r in &rows {
        let u = by_name[r["key"].as_str()];
        if r["outcome"] != "created" {
            // The only rejections: a phone that does not fit ILLiad's 15 characters even
            // without separators, said so.
            assert_eq!(r["outcome"], "rejected", "{r:?}");
            assert!(r["reason"].contains("15"), "{r:?}");
            continue;
        }
        created += 1;
        let iu: Value = c
            .get(format!(
                "{}/illiad/ILLiadWebPlatform/Users/{}",
                sb.base, r["key"]
            ))
            .header("ApiKey", "sandbox-illiad-key")
            .send()
            .unwrap()
            .json()
            .unwrap();
        // The user name is FOLIO's, unchanged.
        assert_eq!(iu["UserName"], u["username"], "{iu}");
        // Inactive users are not cleared to request.
        let cleared = if u["active"] == false { "No" } else { "Yes" };
        assert_eq!(iu["Cleared"], cleared, "{u}\n{iu}");
        not_cleared += usize::from(cleared == "No");
        if let Some((a, is_work)) = address(u) {
            assert_eq!(iu["Address"], a["addressLine1"], "{u}\n{iu}");
            work_only += usize::from(is_work);
        }
        if let Some(m) = u["personal"]["mobilePhone"].as_str() {
            let digits: String = m.chars().filter(char::is_ascii_digit).collect();
            let sent: String = iu["MobilePhone"]
                .as_str()
                .unwrap_or("")
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            // Every digit and the extension arrive; only NANP's country code 1 may be dropped.
            assert!(
                sent == digits || format!("1{sent}") == digits,
                "{m} → {}",
                iu["MobilePhone"]
            );
        }
    }
    assert!(created > 150, "{out}");
    assert!(
        not_cleared > 40,
        "inactive users arrive not cleared ({not_cleared})"
    );
    assert!(
        work_only > 60,
        "Work-only users have an address ({work_only})"
    );
    let summary = left_out(&out);
    assert_left_out_folio(&summary, &users, &out, &["expirationDate"]);
    assert!(!summary.contains_key("personal.mobilePhone"), "{out}");
    assert!(
        out.contains(
            "left out: customFields.Level (1 user) — no field of the illiad mapping reads it"
        ),
        "{out}"
    );
}
