//! FOLIO user-record fields beyond `/users` itself, end to end against the sandbox: custom
//! fields by display name or refId with option labels (the sandbox seeds "Class Year", "Is
//! student" and "Campus box", `crates/sandbox/src/state.rs` `seed_custom_fields`), and the
//! expiry rules `group_offset` and `extend_only`.

use crate::harness::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;

const HEAD: &str = "system = \"folio\"\nmatch = \"externalSystemId\"\n[fields]\n\
externalSystemId = \"ID\"\nusername = \"NetID\"\n\"personal.lastName\" = \"Last\"\n\
patronGroup = \"Group\"\n";

/// A work folder with a sandbox and `patron-etl.toml` naming its FOLIO `sb`.
fn folio_dir() -> (Workdir, Sandbox) {
    let dir = Workdir::new();
    let sb = dir.sandbox(&[]);
    sb.folio_config(dir.path(), "");
    (dir, sb)
}

/// The mapping of a select by display name and a custom field no tenant defines.
const WITH_LOCKER: &str =
    "\"customFields.Class Year\" = \"Year\"\n\"customFields.Locker\" = \"Locker\"\n";

fn write(d: &Path, name: &str, text: &str) {
    std::fs::write(d.join(name), text).unwrap();
}

fn import(dir: &Workdir, roster: &str, mapping: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import", roster, "--mapping", mapping, "--to", "sb"];
    args.extend_from_slice(extra);
    dir.run(&args)
}

fn by_key(rows: &[HashMap<String, String>]) -> HashMap<String, HashMap<String, String>> {
    rows.iter().map(|r| (r["key"].clone(), r.clone())).collect()
}

fn user(sb: &Sandbox, ext: &str) -> Value {
    sb.folio_users()
        .into_iter()
        .find(|u| u["externalSystemId"] == ext)
        .unwrap_or_else(|| panic!("user {ext} in the sandbox"))
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

fn plus(day: chrono::NaiveDate, days: i64) -> String {
    (day + chrono::TimeDelta::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The day a run took as "today", read from a date it set `offset` days after it: one of the
/// days the test saw just before and just after the run (they differ only across midnight).
fn run_day(seen: [chrono::NaiveDate; 2], offset: i64, set: &str) -> chrono::NaiveDate {
    seen.into_iter()
        .find(|d| set.starts_with(&plus(*d, offset)))
        .unwrap_or_else(|| panic!("{set} is not {offset} days after {seen:?}"))
}

#[test]
fn a_roster_with_a_select_by_label_and_a_checkbox_loads_then_reruns_unchanged() {
    let (dir, sb) = folio_dir();
    let d = dir.path();
    write(
        d,
        "m.toml",
        &format!(
            "{HEAD}\"customFields.Class Year\" = \"Year\"\n\"customFields.isStudent\" = \"Student\"\n\
             \"customFields.Campus box\" = \"Box\"\n"
        ),
    );
    // Labels in another case and spacing; a checkbox as yes/no.
    write(
        d,
        "r.csv",
        "ID,NetID,Last,Group,Year,Student,Box\n\
         C1,cf1,Ames,faculty,second  YEAR,yes,B-12\n\
         C2,cf2,Bell,staff,Fourth year,No,\n",
    );
    let o = import(
        &dir,
        "r.csv",
        "m.toml",
        &["--commit", "--report", "first.csv"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let first = by_key(&read_report(&d.join("first.csv")));
    assert_eq!(first["C1"]["outcome"], "created", "{first:?}");
    assert_eq!(first["C2"]["outcome"], "created", "{first:?}");
    // The label matched ignoring case and spaces is shown as it was read; exact ones are not.
    assert!(
        first["C1"]["changed_fields"]
            .contains("customFields.Class Year: \"second  YEAR\" read as option \"Second year\""),
        "{first:?}"
    );
    assert_eq!(first["C2"]["changed_fields"], "", "{first:?}");
    // Stored as mod-users keeps them: refIds, option ids, booleans.
    assert_eq!(
        user(&sb, "C1")["customFields"],
        json!({"classYear": "opt_1", "isStudent": true, "campusBox": "B-12"})
    );
    assert_eq!(
        user(&sb, "C2")["customFields"],
        json!({"classYear": "opt_3", "isStudent": false})
    );

    // Re-run: unchanged, zero writes.
    let (w0, _) = sb.counts("/folio/users");
    let o = import(
        &dir,
        "r.csv",
        "m.toml",
        &["--commit", "--report", "second.csv"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (w1, _) = sb.counts("/folio/users");
    assert_eq!(w1 - w0, 0, "an unchanged re-run sends no writes");
    for r in read_report(&d.join("second.csv")) {
        assert_eq!(r["outcome"], "unchanged", "{r:?}");
    }

    // One label changed: an update of that field only, shown by name in the preview.
    write(
        d,
        "r2.csv",
        "ID,NetID,Last,Group,Year,Student,Box\nC1,cf1,Ames,faculty,Third year,yes,B-12\n",
    );
    let o = import(&dir, "r2.csv", "m.toml", &["--report", "p.csv"]);
    assert_eq!(o.status.code(), Some(0), "a preview: {}", text(&o));
    let p = by_key(&read_report(&d.join("p.csv")));
    assert_eq!(p["C1"]["outcome"], "would_update");
    // By display name and option label, not refId and option id.
    assert_eq!(
        p["C1"]["changed_fields"],
        "customFields.Class Year: \"Second year\" → \"Third year\""
    );
    let (w2, _) = sb.counts("/folio/users");
    assert_eq!(w2 - w1, 0, "a preview sends no writes");
}

#[test]
fn an_unknown_option_label_or_custom_field_is_rejected_in_preview_listing_valid_names() {
    let (dir, sb) = folio_dir();
    let d = dir.path();
    write(d, "m.toml", &format!("{HEAD}{WITH_LOCKER}"));
    write(
        d,
        "m1.toml",
        &format!("{HEAD}\"customFields.Class Year\" = \"Year\"\n"),
    );
    write(
        d,
        "r.csv",
        "ID,NetID,Last,Group,Year,Locker\nU1,u1,Ames,faculty,Fifth year,\nU2,u2,Bell,faculty,First year,\nU3,u3,Cole,faculty,First year,L-7\n",
    );
    let (w0, _) = sb.counts("/folio/");
    let o = import(&dir, "r.csv", "m1.toml", &["--report", "p1.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let p = by_key(&read_report(&d.join("p1.csv")));
    assert_eq!(p["U1"]["outcome"], "rejected");
    assert!(
        p["U1"]["reason"].contains("unknown option \"Fifth year\"")
            && p["U1"]["reason"]
                .contains("valid: First year, Second year, Third year, Fourth year"),
        "{:?}",
        p["U1"]
    );
    assert_eq!(p["U2"]["outcome"], "would_create");

    // A custom field the tenant does not have: its rows are rejected naming the valid fields.
    let o = import(&dir, "r.csv", "m.toml", &["--commit", "--report", "c.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let c = by_key(&read_report(&d.join("c.csv")));
    assert_eq!(c["U3"]["outcome"], "rejected", "{:?}", c["U3"]);
    assert!(
        c["U3"]["reason"].contains("no custom field \"Locker\"")
            && c["U3"]["reason"]
                .contains("Class Year (classYear), Is student (isStudent), Campus box (campusBox)"),
        "{:?}",
        c["U3"]
    );
    // U2 has no Locker value, so it loads; the rejected rows sent nothing.
    assert_eq!(c["U2"]["outcome"], "created");
    let (w1, _) = sb.counts("/folio/");
    assert_eq!(w1 - w0, 1, "only U2 was written");
}

#[test]
fn group_offset_sets_the_groups_expiry_and_extend_only_keeps_a_later_one() {
    let (dir, sb) = folio_dir();
    let d = dir.path();
    write(
        d,
        "dated.toml",
        &format!("{HEAD}expirationDate = \"Expires\"\n"),
    );
    write(
        d,
        "offset.toml",
        &format!("{HEAD}expirationDate = {{ from = \"group_offset\", extend_only = true }}\n"),
    );
    // E1 already expires in 2031 (later than any offset from today), E2 in 2020.
    write(
        d,
        "seed.csv",
        "ID,NetID,Last,Group,Expires\nE1,e1,Ames,staff,2031-06-30\nE2,e2,Bell,faculty,2020-01-31\n",
    );
    let o = import(&dir, "seed.csv", "dated.toml", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // E3 is new (faculty: 365 days), E4 an undergrad (the group sets no offset).
    write(
        d,
        "r.csv",
        "ID,NetID,Last,Group\nE1,e1,Ames,staff\nE2,e2,Bell,faculty\nE3,e3,Cole,faculty\nE4,e4,Dunn,undergrad\n",
    );
    let o = import(&dir, "r.csv", "offset.toml", &["--report", "p.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let p = by_key(&read_report(&d.join("p.csv")));
    // The preview shows the kept expiry too.
    assert_eq!(p["E1"]["outcome"], "unchanged", "{:?}", p["E1"]);
    assert!(
        p["E1"]["changed_fields"].contains("kept later expiry 2031-06-30"),
        "{:?}",
        p["E1"]
    );

    let (w0, _) = sb.counts("/folio/users");
    let before = today();
    let o = import(
        &dir,
        "r.csv",
        "offset.toml",
        &["--commit", "--report", "c.csv"],
    );
    let after = today();
    assert_eq!(o.status.code(), Some(1), "E4 is rejected: {}", text(&o));
    // The run's "today" (before's or after's, should it cross midnight), and every date the
    // run set is that many days from the same day.
    let day = run_day(
        [before, after],
        365,
        user(&sb, "E3")["expirationDate"]
            .as_str()
            .unwrap_or_default(),
    );
    let c = by_key(&read_report(&d.join("c.csv")));
    assert_eq!(c["E1"]["outcome"], "unchanged", "{:?}", c["E1"]);
    assert_eq!(
        c["E1"]["changed_fields"],
        format!(
            "expirationDate: kept later expiry 2031-06-30 (the row gives {}; extend_only)",
            plus(day, 730)
        )
    );
    assert!(user(&sb, "E1")["expirationDate"]
        .as_str()
        .is_some_and(|e| e.starts_with("2031-06-30")));
    // E2's stored expiry is earlier: it is extended to the group's offset.
    assert_eq!(c["E2"]["outcome"], "updated", "{:?}", c["E2"]);
    assert!(user(&sb, "E2")["expirationDate"]
        .as_str()
        .is_some_and(|e| e.starts_with(&plus(day, 365))));
    assert_eq!(c["E3"]["outcome"], "created");
    assert!(user(&sb, "E3")["expirationDate"]
        .as_str()
        .is_some_and(|e| e.starts_with(&plus(day, 365))));
    assert_eq!(c["E4"]["outcome"], "rejected");
    assert!(
        c["E4"]["reason"].contains("patron group \"undergrad\" has no expirationOffsetInDays"),
        "{:?}",
        c["E4"]
    );
    let (w1, _) = sb.counts("/folio/users");
    assert_eq!(w1 - w0, 2, "E2 updated, E3 created; E1 kept, E4 rejected");
}

#[test]
fn check_with_a_target_rejects_unknown_labels_fields_and_groups_sending_no_write() {
    let (dir, sb) = folio_dir();
    let d = dir.path();
    write(d, "m.toml", &format!("{HEAD}{WITH_LOCKER}"));
    write(
        d,
        "r.csv",
        "ID,NetID,Last,Group,Year,Locker\nK1,k1,Ames,faculty,first YEAR,\nK2,k2,Bell,faculty,Fifth year,\n\
         K3,k3,Cole,alumni,First year,\nK4,k4,Dunn,staff,,L-7\n",
    );
    // Offline, every row's shape is fine and no request is sent.
    let (_, all0) = sb.counts("/folio/");
    let o = dir.run(&[
        "check",
        "r.csv",
        "--mapping",
        "m.toml",
        "--report",
        "off.csv",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (_, all1) = sb.counts("/folio/");
    assert_eq!(all1, all0, "check without --to sends nothing");

    let (w0, _) = sb.counts("/folio/");
    let o = dir.run(&[
        "check",
        "r.csv",
        "--mapping",
        "m.toml",
        "--to",
        "sb",
        "--report",
        "on.csv",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("names checked against target sb"),
        "{}",
        text(&o)
    );
    let r = by_key(&read_report(&d.join("on.csv")));
    assert_eq!(r["K1"]["outcome"], "ok", "{:?}", r["K1"]);
    assert_eq!(r["K2"]["outcome"], "rejected");
    assert!(
        r["K2"]["reason"].contains("unknown option \"Fifth year\"")
            && r["K2"]["reason"].contains("valid: First year, Second year"),
        "{:?}",
        r["K2"]
    );
    assert!(
        r["K3"]["reason"].contains("unknown patron group \"alumni\""),
        "{:?}",
        r["K3"]
    );
    assert!(
        r["K4"]["reason"].contains("no custom field \"Locker\"")
            && r["K4"]["reason"].contains("Class Year (classYear)"),
        "{:?}",
        r["K4"]
    );
    // group_offset: a row whose group sets no expiry offset is refused by check --to too.
    write(
        d,
        "g.toml",
        &format!("{HEAD}expirationDate = {{ from = \"group_offset\" }}\n"),
    );
    write(
        d,
        "g.csv",
        "ID,NetID,Last,Group\nG1,g1,Ames,faculty\nG2,g2,Bell,undergrad\n",
    );
    let o = dir.run(&[
        "check",
        "g.csv",
        "--mapping",
        "g.toml",
        "--to",
        "sb",
        "--report",
        "g.csv.report.csv",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let g = by_key(&read_report(&d.join("g.csv.report.csv")));
    assert_eq!(g["G1"]["outcome"], "ok");
    assert!(
        g["G2"]["reason"].contains("patron group \"undergrad\" has no expirationOffsetInDays"),
        "{:?}",
        g["G2"]
    );
    let (w1, _) = sb.counts("/folio/");
    assert_eq!(w1 - w0, 0, "check --to writes nothing");
    assert!(sb.folio_users().is_empty());
}

#[test]
fn a_custom_field_named_by_display_name_is_protected_and_cleared_by_that_name() {
    let (dir, sb) = folio_dir();
    let d = dir.path();
    let mapping = HEAD.replace(
        "match = \"externalSystemId\"\n",
        "match = \"externalSystemId\"\nprotect = [\"customFields.Campus box\"]\n",
    );
    write(
        d,
        "m.toml",
        &format!(
            "{mapping}\"customFields.Class Year\" = {{ column = \"Year\", on_blank = \"clear\" }}\n\
             \"customFields.Campus box\" = \"Box\"\n"
        ),
    );
    write(
        d,
        "a.csv",
        "ID,NetID,Last,Group,Year,Box\nP1,p1,Ames,faculty,First year,B-1\n",
    );
    let o = import(&dir, "a.csv", "m.toml", &["--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    write(
        d,
        "b.csv",
        "ID,NetID,Last,Group,Year,Box\nP1,p1,Ames,faculty,,B-2\n",
    );
    let o = import(
        &dir,
        "b.csv",
        "m.toml",
        &["--commit", "--report", "b-report.csv"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = by_key(&read_report(&d.join("b-report.csv")));
    assert_eq!(r["P1"]["outcome"], "updated", "{:?}", r["P1"]);
    assert_eq!(
        r["P1"]["changed_fields"],
        "customFields.Class Year: \"First year\" → (none)"
    );
    // Cleared by its display name; the protected box kept its stored value.
    assert_eq!(user(&sb, "P1")["customFields"], json!({"campusBox": "B-1"}));
}

#[test]
fn userdata_fields_load_and_values_outside_their_enumerations_are_rejected() {
    let (dir, sb) = folio_dir();
    let d = dir.path();
    // mod-users userdata.json: `type` (UserType.java), `preferredEmailCommunication` (enum,
    // at most 3), `personal.pronouns` (maxLength 300), `personal.profilePictureLink`.
    write(
        d,
        "m.toml",
        &format!(
            "{HEAD}type = \"Type\"\npreferredEmailCommunication = {{ column = \"Mail\", split = \";\" }}\n\
             \"personal.pronouns\" = \"Pronouns\"\n\"personal.profilePictureLink\" = \"Picture\"\n"
        ),
    );
    write(
        d,
        "r.csv",
        "ID,NetID,Last,Group,Type,Mail,Pronouns,Picture\n\
         T1,t1,Ames,staff,staff,Support;Services,they/them,https://example.edu/p/t1.png\n\
         T2,t2,Bell,staff,employee,Programs,,\n\
         T3,t3,Cole,staff,patron,Newsletters,,\n",
    );
    let o = import(&dir, "r.csv", "m.toml", &["--commit", "--report", "c.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let c = by_key(&read_report(&d.join("c.csv")));
    assert_eq!(c["T1"]["outcome"], "created", "{:?}", c["T1"]);
    let u = user(&sb, "T1");
    assert_eq!(u["type"], "staff");
    assert_eq!(
        u["preferredEmailCommunication"],
        json!(["Support", "Services"])
    );
    assert_eq!(u["personal"]["pronouns"], "they/them");
    assert_eq!(
        u["personal"]["profilePictureLink"],
        "https://example.edu/p/t1.png"
    );
    assert_eq!(c["T2"]["outcome"], "rejected");
    assert!(
        c["T2"]["reason"].contains("patron, staff, shadow, system, dcb"),
        "{:?}",
        c["T2"]
    );
    assert_eq!(c["T3"]["outcome"], "rejected");
    assert!(
        c["T3"]["reason"].contains("Support, Programs, Services"),
        "{:?}",
        c["T3"]
    );
}

/// A login without `user-settings.custom-fields.collection.get` (mod-users
/// `descriptors/ModuleDescriptor-template.json` lines 194-197; the sandbox answers 403 as
/// mod-authtoken does): a mapping with a custom field stops before any write, exit 3, naming the
/// permission and never the password; `check --to` with a mapping that maps no custom field
/// does not read them, so it still checks the rest.
#[test]
fn without_the_custom_fields_permission_a_mapped_custom_field_stops_the_run_naming_it() {
    const PW: &str = "Tr0ub4dor-cf-9";
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[
        "--folio-password",
        PW,
        "--folio-deny-permission",
        "user-settings.custom-fields.collection.get",
    ]);
    sb.folio_config(d, "");
    let run = |args: &[&str]| {
        dir.command(args)
            .env("SB_FOLIO_PASSWORD", PW)
            .output()
            .expect("binary runs")
    };
    write(
        d,
        "m.toml",
        &format!("{HEAD}\"customFields.Class Year\" = \"Year\"\n"),
    );
    write(d, "plain.toml", HEAD);
    write(
        d,
        "r.csv",
        "ID,NetID,Last,Group,Year\nP1,p1,Ames,faculty,First year\n",
    );
    for args in [
        &[
            "import",
            "r.csv",
            "--mapping",
            "m.toml",
            "--to",
            "sb",
            "--commit",
        ][..],
        &["check", "r.csv", "--mapping", "m.toml", "--to", "sb"][..],
    ] {
        let o = run(args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {out}");
        assert!(
            out.contains("lacks the permission user-settings.custom-fields.collection.get"),
            "{args:?}: {out}"
        );
        assert!(!out.contains(PW), "{args:?}: {out}");
    }
    assert!(sb.folio_users().is_empty(), "nothing written");
    let (_, cf0) = sb.counts("/folio/custom-fields");
    assert!(
        cf0 >= 2,
        "the runs with a custom field asked for them: {cf0}"
    );
    let o = run(&[
        "check",
        "r.csv",
        "--mapping",
        "plain.toml",
        "--to",
        "sb",
        "--report",
        "plain.csv",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(read_report(&d.join("plain.csv"))[0]["outcome"], "ok");
    let (_, cf1) = sb.counts("/folio/custom-fields");
    assert_eq!(
        cf1, cf0,
        "a mapping without custom fields does not read them"
    );
}

#[test]
fn a_misused_custom_field_wildcard_is_refused_when_the_mapping_loads() {
    let dir = Workdir::new();
    let d = dir.path();
    write(d, "roster.csv", "ID,NetID,Last,Group,Box\n1,a,A,staff,12\n");
    for (file, line, says) in [
        // The wildcard with a column of its own would compile as a custom field "*".
        (
            "m.toml",
            "\"customFields.*\" = \"Box\"",
            "`customFields.*` maps every `customFields.<name>` column",
        ),
        // The wildcard's column as the source of one named field maps nothing.
        (
            "n.toml",
            "\"customFields.campusBox\" = \"customFields.*\"",
            "only the wildcard field",
        ),
    ] {
        write(d, file, &format!("{HEAD}{line}\n"));
        let o = dir.run(&["check", "roster.csv", "--mapping", file]);
        assert_eq!(o.status.code(), Some(2), "{file}: {}", text(&o));
        let t = text(&o);
        // Line 8: the key after HEAD's seven lines.
        assert!(
            t.contains(&format!("{file}:8: ")),
            "names the file and line: {t}"
        );
        assert!(t.contains(says), "says why: {t}");
    }
}

/// A JSON report's rows by key: (outcome, code, reason).
fn codes(path: &Path) -> HashMap<String, (String, String, String)> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let s = |r: &Value, k: &str| r[k].as_str().unwrap_or_default().to_string();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (s(r, "key"), (s(r, "outcome"), s(r, "code"), s(r, "reason"))))
        .collect()
}

#[test]
fn each_planner_refusal_carries_the_code_of_its_kind_in_import_and_check() {
    let (dir, sb) = folio_dir();
    let d = dir.path();
    write(
        d,
        "m.toml",
        &format!(
            "{HEAD}{WITH_LOCKER}\"customFields.isStudent\" = \"Student\"\n\
             \"customFields.Campus box\" = \"Box\"\n\
             expirationDate = {{ from = \"group_offset\" }}\n"
        ),
    );
    let long = "x".repeat(151);
    write(
        d,
        "r.csv",
        &format!(
            "ID,NetID,Last,Group,Year,Locker,Student,Box\n\
             R1,r1,Ames,faculty,Fifth year,,,\n\
             R2,r2,Bell,faculty,,L-7,,\n\
             R3,r3,Cole,faculty,,,maybe,\n\
             R4,r4,Dunn,faculty,,,,{long}\n\
             R5,r5,Eddy,alumni,,,,\n\
             R6,r6,Ford,undergrad,,,,\n\
             R7,r7,Gray,faculty,First year,,yes,B-1\n"
        ),
    );
    let want = [
        ("R1", "rejected", "unknown_value"),
        ("R2", "rejected", "unknown_field"),
        ("R3", "rejected", "wrong_type"),
        ("R4", "rejected", "too_long"),
        ("R5", "rejected", "unknown_reference"),
        ("R6", "rejected", "no_group_offset"),
    ];
    let o = import(&dir, "r.csv", "m.toml", &["--report", "p.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let p = codes(&d.join("p.json"));
    for (key, outcome, code) in want {
        assert_eq!((&*p[key].0, &*p[key].1), (outcome, code), "import {key}");
    }
    assert_eq!(p["R7"].0, "would_create", "{:?}", p["R7"]);
    // check --to refuses the same rows with the same codes.
    let o = dir.run(&[
        "check",
        "r.csv",
        "--mapping",
        "m.toml",
        "--to",
        "sb",
        "--report",
        "c.json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let c = codes(&d.join("c.json"));
    for (key, outcome, code) in want {
        assert_eq!(
            (&*c[key].0, &*c[key].1),
            (outcome, code),
            "check --to {key}"
        );
    }
    assert_eq!(c["R7"].0, "ok", "{:?}", c["R7"]);
    // Like the mapping stage's, the reasons name the column the field was read from.
    for rows in [&p, &c] {
        for (key, says) in [
            (
                "R1",
                "customFields.Class Year (column \"Year\"): unknown option \"Fifth year\"",
            ),
            (
                "R2",
                "customFields.Locker (column \"Locker\"): no custom field \"Locker\"",
            ),
            (
                "R5",
                "patronGroup (column \"Group\"): unknown patron group \"alumni\"",
            ),
            (
                "R6",
                "group_offset (patron group from column \"Group\"): patron group \"undergrad\" has no",
            ),
        ] {
            assert!(rows[key].2.contains(says), "{key}: {:?}", rows[key]);
        }
    }
    assert!(
        sb.folio_users().is_empty(),
        "a preview and a check write nothing"
    );
}
