//! Export → import is the identity: generated FOLIO users whose texts start with what a
//! spreadsheet evaluates (`=`, `+`, `-`, `@`, tab) or with a real `'`, hold newlines and tabs,
//! carry tags containing `; `, addresses in any order and custom fields (a select, a checkbox, a
//! text: exported by display name and option label), are exported to CSV and XLSX and
//! imported into an empty FOLIO with mappings/folio-reimport.toml; every user comes back
//! exactly. One batch of users per file (one process per format, not per case).

use crate::harness::export::*;
use crate::harness::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The sandbox's address types (src/sandbox/ref-data/addresstypes-*.json).
const ADDRESS_TYPES: [&str; 6] = [
    "b6f4d1c6-0dfa-463c-9534-f49c4f0ae090",
    "93d3d88d-499b-45d0-9bc7-ac73c3a19880",
    "46ff3f08-8f41-485c-98d8-701ba8404f4f",
    "a3c3d60b-df9e-41d9-b7f5-983008bc1a45",
    "c42be2ab-c3fd-486c-a1fe-9e5ea0f16198",
    "1c4b225f-f669-4e9b-afcd-ebc0e273a34e",
];
/// The sandbox's patron groups (src/sandbox/ref-data/groups-*.json).
const GROUPS: [&str; 4] = [
    "503a81cd-6c26-400f-b620-14c08943697c",
    "ad0bc554-d5bc-463c-85d1-5562127ae91b",
    "3684a786-6671-4268-8ed0-9db82ebca60b",
    "bdc2b6d4-5ceb-4a12-ab46-249b9a68473e",
];

/// Text a spreadsheet would evaluate, or that looks like the guard: a start from the list, then
/// letters, digits, spaces, `;`, quotes, tabs and newlines (never blank, no outer whitespace).
fn nasty() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "",
            "",
            "'",
            "=",
            "+",
            "-",
            "@",
            "''=",
            "'+",
            "=HYPERLINK(\"x\")",
            "+1 608 ",
            "-",
            "'-",
            "\t",
        ]),
        "[A-Za-zéØ0-9][A-Za-zé0-9 ;'\"\t\n=+-]{0,10}[A-Za-z0-9]",
    )
        .prop_map(|(start, body)| format!("{start}{body}"))
}

fn user(i: usize) -> impl Strategy<Value = Value> {
    (
        nasty(),
        nasty(),
        nasty(),
        prop::collection::vec(nasty(), 0..4),
        Just(()).prop_perturb(|_, mut rng| {
            // A random subset of the address types, in random order.
            let mut types: Vec<&str> = ADDRESS_TYPES.to_vec();
            for k in (1..types.len()).rev() {
                types.swap(k, (rng.next_u32() as usize) % (k + 1));
            }
            types.truncate((rng.next_u32() as usize) % 4);
            types
        }),
        prop::collection::vec(nasty(), 4),
        any::<bool>(),
        0..GROUPS.len(),
        nasty(),
    )
        .prop_map(
            move |(last, first, phone, tags, types, lines, active, group, campus_box)| {
                let addresses: Vec<Value> = types
                    .iter()
                    .enumerate()
                    .map(|(k, ty)| {
                        json!({
                            "addressTypeId": ty,
                            "addressLine1": lines[k % lines.len()],
                            "city": format!("City {k}"),
                            "primaryAddress": k == 0,
                        })
                    })
                    .collect();
                let mut tags: Vec<String> =
                    tags.into_iter().map(|t| t.trim().to_string()).collect();
                tags.dedup();
                let tags_empty = tags.is_empty();
                let mut u = json!({
                    "id": format!("00000000-0000-4000-8000-{i:012}"),
                    "username": format!("{}-{i}", first.trim()),
                    "barcode": format!("{}{i}", if i.is_multiple_of(3) { "-" } else { "=" }),
                    "active": active,
                    "type": "patron",
                    "patronGroup": GROUPS[group],
                    "tags": { "tagList": tags },
                    "personal": {
                        "lastName": last,
                        "firstName": first,
                        "phone": phone,
                        "email": format!("u{i}@example.edu"),
                        "addresses": addresses,
                    }
                });
                // The sandbox's seeded custom fields (crates/sandbox/src/state.rs): a select (by
                // option id), a checkbox and a text; exported by display name and option label.
                let mut custom = json!({"classYear": format!("opt_{}", i % 4)});
                if !i.is_multiple_of(3) {
                    custom["isStudent"] = json!(i.is_multiple_of(2));
                    custom["campusBox"] = json!(campus_box);
                }
                u["customFields"] = custom;
                // An export cannot tell an empty list from none: a user without tags or addresses has
                // none.
                if let (true, Some(o)) = (tags_empty, u.as_object_mut()) {
                    o.remove("tags");
                }
                if let Some(Value::Object(p)) = u.get_mut("personal") {
                    if p["addresses"].as_array().is_some_and(Vec::is_empty) {
                        p.remove("addresses");
                    }
                }
                u
            },
        )
}

/// A user as compared: server-managed fields dropped, addresses in their stored order.
fn comparable(u: &Value) -> Value {
    let mut u = u.clone();
    if let Some(o) = u.as_object_mut() {
        for k in ["metadata", "createdDate", "updatedDate"] {
            o.remove(k);
        }
    }
    if let Some(Value::Array(a)) = u.pointer_mut("/personal/addresses") {
        for addr in a {
            if let Some(o) = addr.as_object_mut() {
                o.remove("id");
            }
        }
    }
    u
}

#[test]
fn generated_users_survive_export_and_reimport_exactly() {
    let mut runner = TestRunner::deterministic();
    let users: Vec<Value> = (0..40)
        .map(|i| user(i).new_tree(&mut runner).expect("generate").current())
        .collect();
    let dir = Workdir::new();
    let d = dir.path();
    let source = dir.sandbox(&[]);
    write_config(&source, d);
    load_folio_users(&source, &users);
    let original: BTreeMap<String, Value> = source
        .folio_users()
        .iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), comparable(u)))
        .collect();
    assert_eq!(original.len(), users.len());
    let mapping = root().join("mappings/folio-reimport.toml");
    for out in ["patrons.csv", "patrons.xlsx"] {
        // The fixed layout with field names is what folio-reimport.toml reads.
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
        if out.ends_with(".csv") {
            // Custom fields by display name, select values by option label.
            let rows = read_report(&d.join(out));
            let labels: Vec<&str> = rows
                .iter()
                .map(|r| r["customFields.Class Year"].as_str())
                .collect();
            assert!(labels.contains(&"Second year"), "{labels:?}");
            assert!(!labels.iter().any(|l| l.starts_with("opt_")), "{labels:?}");
            assert!(rows.iter().any(|r| r["customFields.Is student"] == "true"));
        }
        let tdir = Workdir::new();
        let t = tdir.path();
        let target = Sandbox::start(t, &[]);
        write_config(&target, t);
        let file = d.join(out);
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
                "--rate",
                "1000",
                "--concurrency",
                "8",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{out}: {}", text(&o));
        let back: BTreeMap<String, Value> = target
            .folio_users()
            .iter()
            .map(|u| (u["id"].as_str().unwrap().to_string(), comparable(u)))
            .collect();
        assert_eq!(back.len(), original.len(), "{out}");
        for (id, want) in &original {
            assert_eq!(&back[id], want, "{out}: user {id} changed");
        }
    }
}
