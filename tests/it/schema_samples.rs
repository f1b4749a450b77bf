//! The shipped sample roster: the deliberately bad rows are where `samples/README.md` says, and
//! `roster.xlsx` holds the same data (text cards, real date cells).

use calamine::{open_workbook, Data, DataType, Reader, Xlsx};
use chrono::NaiveDate;
use patron_etl::systems::schema::is_valid_email;
use std::path::{Path, PathBuf};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// (physical line, cells) of every CSV record, header included.
///
/// The file has CRLF line ends (as Excel writes them). The csv crate's `Position::line()` lags by
/// one on CRLF input (the `\n` of the previous line is counted only when the next record starts),
/// so the line is computed from the byte offset instead: the newlines up to and including it.
fn csv_records() -> Vec<(u64, Vec<String>)> {
    let bytes = std::fs::read(samples().join("roster.csv")).unwrap();
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let at = usize::try_from(rec.position().unwrap().byte()).unwrap();
            let line = 1 + bytes[..=at].iter().filter(|b| **b == b'\n').count() as u64;
            (line, rec.iter().map(str::to_string).collect())
        })
        .collect()
}

fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

#[test]
fn bad_rows_are_where_the_readme_says() {
    let recs = csv_records();
    let header = &recs[0].1;
    assert_eq!(header.len(), 17);
    assert_eq!(recs.len(), 51, "header + 50 rows");
    let row = |line: u64| &recs.iter().find(|(l, _)| *l == line).unwrap().1;
    let cell = |line: u64, name: &str| row(line)[col(header, name)].clone();

    // Wrong number of fields: only line 43.
    let wrong: Vec<u64> = recs
        .iter()
        .filter(|(_, c)| c.len() != 17)
        .map(|(l, _)| *l)
        .collect();
    assert_eq!(wrong, vec![43]);
    assert_eq!(row(43).len(), 18);

    assert_eq!(cell(11, "Last Name"), "");
    assert!(!is_valid_email(&cell(20, "Email")));
    assert_eq!(cell(28, "Class"), "VIS");
    assert!(NaiveDate::parse_from_str(&cell(29, "Expires"), "%m/%d/%Y").is_err());
    assert_eq!(cell(37, "Card"), "2.10E+12");
    assert_eq!(cell(47, "Student ID"), cell(12, "Student ID"));
    assert_eq!(
        (cell(51, "State"), cell(51, "Country")),
        ("TEX".into(), "US".into())
    );

    // Every other row is clean on those counts.
    let bad = [11, 20, 28, 29, 37, 43, 47, 51];
    let mut ids = std::collections::HashSet::new();
    for (line, cells) in recs.iter().skip(1).filter(|(l, _)| !bad.contains(l)) {
        let c = |n: &str| cells[col(header, n)].as_str();
        assert!(!c("Last Name").is_empty(), "line {line}");
        assert!(is_valid_email(c("Email")), "line {line}");
        assert!(
            ["UG", "GR", "FAC", "STAFF"].contains(&c("Class")),
            "line {line}"
        );
        assert!(
            NaiveDate::parse_from_str(c("Expires"), "%m/%d/%Y").is_ok(),
            "line {line}"
        );
        assert!(c("Card").bytes().all(|b| b.is_ascii_digit()), "line {line}");
        assert!(c("Country") != "US" || c("State").len() == 2, "line {line}");
        assert!(ids.insert(c("Student ID").to_string()), "line {line}");
    }
}

#[test]
fn xlsx_matches_csv_with_text_cards_and_date_cells() {
    let recs = csv_records();
    let header = &recs[0].1;
    let mut wb: Xlsx<_> = open_workbook(samples().join("roster.xlsx")).unwrap();
    assert_eq!(wb.sheet_names(), vec!["Roster".to_string()]);
    let range = wb.worksheet_range("Roster").unwrap();
    assert_eq!(range.height(), recs.len());
    let (card, expires) = (col(header, "Card"), col(header, "Expires"));
    let mut dates = 0;
    for (i, (line, cells)) in recs.iter().enumerate() {
        for (j, text) in cells.iter().enumerate() {
            let got = range.get((i, j)).cloned().unwrap_or(Data::Empty);
            if i > 0 && j == expires && cells.len() == 17 {
                if let Ok(d) = NaiveDate::parse_from_str(text, "%m/%d/%Y") {
                    assert!(matches!(got, Data::DateTime(_)), "line {line}: {got:?}");
                    assert_eq!(got.as_date(), Some(d), "line {line}");
                    dates += 1;
                    continue;
                }
            }
            if text.is_empty() {
                assert_eq!(got, Data::Empty, "line {line} col {j}");
            } else {
                assert_eq!(got, Data::String(text.clone()), "line {line} col {j}");
            }
        }
    }
    assert_eq!(
        dates, 48,
        "every well-formed row but the bad date has a date cell"
    );
    // Leading zeros survive in the Card column.
    assert_eq!(
        range.get((4, card)),
        Some(&Data::String("0000004815162".into()))
    );
}
