//! Values from issue 14 that used to change or crash without a word, each with its documented
//! outcome: a stored record holding `2027-06-3é` (a byte-10 cut panicked the planner), phones
//! with extensions (merged into the number), a phone too wide for ILLiad, a Libib `patron_id`
//! repeated in the file or already held by another patron, and an XLSX formula with no saved
//! value or a 17-digit number (read as blank / altered).

use crate::harness::export::*;
use crate::harness::*;
use serde_json::json;

#[test]
fn a_stored_value_like_2027_06_3e_is_compared_not_crashed_on() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    write_config(&sb, d);
    load_folio_users(
        &sb,
        &[json!({
            "id": "00000000-0000-4000-8000-000000000001",
            "username": "ann",
            "active": true,
            "personal": {"lastName": "2027-06-3é", "middleName": "x"},
        })],
    );
    std::fs::write(
        d.join("m.toml"),
        "system = \"folio\"\nmatch = \"username\"\n[fields]\nusername = \"NetID\"\n\
         \"personal.lastName\" = \"Last\"\n\"personal.middleName\" = \"Middle\"\n",
    )
    .unwrap();
    std::fs::write(d.join("r.csv"), "NetID,Last,Middle\nann,2027-06-3é,y\n").unwrap();
    let o = run_in(
        d,
        &[
            "import",
            "r.csv",
            "--mapping",
            "m.toml",
            "--to",
            "sb",
            "--commit",
            "--report",
            "out.csv",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows = read_report(&d.join("out.csv"));
    assert_eq!(rows[0]["outcome"], "updated", "{rows:?}");
    let u = &sb.folio_users()[0];
    assert_eq!(u["personal"]["lastName"], "2027-06-3é");
    assert_eq!(u["personal"]["middleName"], "y");
}

#[test]
fn phone_extensions_are_kept_and_a_phone_too_wide_for_illiad_is_rejected_saying_so() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    write_config(&sb, d);
    let roster = std::fs::read_to_string(root().join("samples/roster.csv")).unwrap();
    let mut lines: Vec<String> = roster.lines().map(str::to_string).collect();
    lines[1] = lines[1].replace("(608) 555-0142", "(619)645-7533 x5934");
    lines[2] = lines[2].replace("608.555.0187", "555-010-1001 ext. 12");
    std::fs::write(d.join("roster.csv"), lines.join("\n") + "\n").unwrap();
    let o = import_folio(d, "roster.csv", &["--commit"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let phones: Vec<String> = sb
        .folio_users()
        .iter()
        .filter_map(|u| u["personal"]["phone"].as_str().map(str::to_string))
        .collect();
    assert!(
        phones.contains(&"619-645-7533 x5934".to_string()),
        "{phones:?}"
    );
    assert!(
        phones.contains(&"555-010-1001 x12".to_string()),
        "{phones:?}"
    );
    assert!(!phones.iter().any(|p| p == "61964575335934"), "{phones:?}");

    // ILLiad's Phone holds 15 characters: the row is rejected naming the field and the width.
    let o = run_in(
        d,
        &[
            "check",
            "roster.csv",
            "--mapping",
            root().join("mappings/illiad.toml").to_str().unwrap(),
            "--report",
            "ill.csv",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let rows = read_report(&d.join("ill.csv"));
    let r = rows.iter().find(|r| r["line"] == "2").unwrap();
    assert_eq!(r["outcome"], "rejected", "{r:?}");
    assert!(
        r["reason"].contains("Phone") && r["reason"].contains("15"),
        "{r:?}"
    );
    assert!(!r["reason"].contains("16 characters"), "{r:?}");
}

#[test]
fn libib_patron_id_repeats_and_holders_are_reported() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&["--libib-interval-ms", "2"]);
    write_fast_config(&sb, d);
    std::fs::write(
        d.join("m.toml"),
        "system = \"libib\"\nmatch = \"email\"\n[fields]\nemail = \"Email\"\n\
         patron_id = \"ID\"\nfirst_name = \"First\"\nlast_name = \"Last\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("a.csv"),
        "ID,Email,First,Last\n9001,a@x.edu,Ann,Lee\n9002,b@x.edu,Bo,Kim\n9001,c@x.edu,Cy,Day\n",
    )
    .unwrap();
    let import = |file: &str, report: &str| {
        run_in(
            d,
            &[
                "import",
                file,
                "--mapping",
                "m.toml",
                "--to",
                "lib",
                "--commit",
                "--report",
                report,
            ],
        )
    };
    // In the file: the second 9001 is rejected, naming the first.
    let o = import("a.csv", "a-out.csv");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let rows = read_report(&d.join("a-out.csv"));
    assert_eq!(rows[0]["outcome"], "created");
    assert_eq!(rows[1]["outcome"], "created");
    assert_eq!(rows[2]["outcome"], "rejected", "{rows:?}");
    assert!(
        rows[2]["reason"].contains("patron_id") && rows[2]["reason"].contains("line 2"),
        "{rows:?}"
    );
    // Already in Libib: a new e-mail with a patron_id another patron holds is a conflict, not a
    // second patron with the same id.
    std::fs::write(
        d.join("b.csv"),
        "ID,Email,First,Last\n9002,new@x.edu,Bo,Kim\n",
    )
    .unwrap();
    let o = import("b.csv", "b-out.csv");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let rows = read_report(&d.join("b-out.csv"));
    assert_eq!(rows[0]["outcome"], "conflict", "{rows:?}");
    assert!(
        rows[0]["reason"].contains("patron_id \"9002\" already belongs to another Libib patron"),
        "{rows:?}"
    );
}

#[test]
fn uncached_formula_and_17_digit_number_reject_their_rows_in_check() {
    let dir = Workdir::new();
    let d = dir.path();
    std::fs::write(
        d.join("m.toml"),
        "system = \"folio\"\nmatch = \"externalSystemId\"\n[fields]\n\
         externalSystemId = \"Student ID\"\n\"personal.lastName\" = \"Last Name\"\n\
         expirationDate = \"Expires\"\n",
    )
    .unwrap();
    let fixture = root().join("tests/fixtures/read/formulas.xlsx");
    let o = run_in(
        d,
        &[
            "check",
            fixture.to_str().unwrap(),
            "--mapping",
            "m.toml",
            "--report",
            "r.csv",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let rows = read_report(&d.join("r.csv"));
    let outcome = |line: &str| rows.iter().find(|r| r["line"] == line).unwrap();
    assert_eq!(outcome("2")["outcome"], "ok");
    assert_eq!(outcome("5")["outcome"], "ok");
    // Not created without an expiry date: rejected, naming the cell and what to do.
    assert_eq!(outcome("3")["outcome"], "rejected");
    assert!(
        outcome("3")["reason"]
            .contains("cell C3 (column 'Expires') is a formula with no saved value"),
        "{rows:?}"
    );
    // Not altered to 12345678901234568: rejected like scientific notation.
    assert_eq!(outcome("4")["outcome"], "rejected");
    assert!(
        outcome("4")["reason"].contains("more than 15 significant digits"),
        "{rows:?}"
    );
}
