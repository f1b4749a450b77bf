//! Integration tests for the CSV reader through `patron_etl::read::open`, on the committed
//! fixtures in `tests/fixtures/read/` (regenerate with `make_fixtures.py`).

use std::io::Write;
use std::path::{Path, PathBuf};

use patron_etl::read::{open, BadRow, InputFormat, ReadError, ReadOptions, Record, SourceRow};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/read")
        .join(name)
}

/// Opens a file and collects its headers and records, failing the test on a ReadError.
fn read_all(path: &Path, opts: &ReadOptions) -> (Vec<String>, Vec<Record>) {
    let rdr = match open(path, opts) {
        Ok(r) => r,
        Err(e) => panic!("open {}: {e}", path.display()),
    };
    assert_eq!(rdr.format(), InputFormat::Csv);
    let headers = rdr.headers().to_vec();
    let records = rdr
        .map(|r| r.unwrap_or_else(|e| panic!("read error: {e}")))
        .collect();
    (headers, records)
}

fn rows(records: &[Record]) -> Vec<&SourceRow> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Row(row) => Some(row),
            Record::Bad(_) => None,
        })
        .collect()
}

fn bads(records: &[Record]) -> Vec<&BadRow> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Bad(b) => Some(b),
            Record::Row(_) => None,
        })
        .collect()
}

fn open_err(path: &Path, opts: &ReadOptions) -> String {
    match open(path, opts) {
        Ok(_) => panic!("{} opened but should not have", path.display()),
        Err(e) => e.to_string(),
    }
}

const ROSTER: [&str; 4] = ["Student ID", "Last Name", "First Name", "Email"];

#[test]
fn utf8_with_bom_strips_bom_from_header() {
    let (headers, records) = read_all(&fixture("utf8_bom.csv"), &ReadOptions::default());
    assert_eq!(headers, ROSTER);
    let rows = rows(&records);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].cells, ["1001", "Dupré", "Zoë", "zoe@example.edu"]);
    assert_eq!(rows[0].line, 2);
    assert!(rows[0].file.ends_with("utf8_bom.csv"));
    assert_eq!(rows[0].sheet, None);
}

#[test]
fn utf8_without_bom() {
    let (_, records) = read_all(&fixture("utf8_plain.csv"), &ReadOptions::default());
    assert_eq!(rows(&records)[0].cells[1..3], ["Müller", "Jürgen"]);
}

#[test]
fn utf16le_with_bom_and_crlf() {
    let (headers, records) = read_all(&fixture("utf16le_bom.csv"), &ReadOptions::default());
    assert_eq!(headers, ROSTER);
    let rows = rows(&records);
    assert_eq!(rows.len(), 1);
    // CRLF must not leave a stray '\r' in the last cell.
    assert_eq!(rows[0].cells, ["1003", "Façon", "Renée", "rf@example.edu"]);
    assert_eq!(rows[0].line, 2);
}

#[test]
fn windows_1252_is_sniffed() {
    let (_, records) = read_all(&fixture("windows1252.csv"), &ReadOptions::default());
    let rows = rows(&records);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].cells[1..3], ["Lefèvre", "René"]);
    // 0x92 is a curly apostrophe in Windows-1252 (not a C1 control as in strict Latin-1).
    assert_eq!(rows[1].cells[1..3], ["O\u{2019}Brien", "Seán"]);
}

#[test]
fn explicit_encoding_label() {
    let opts = ReadOptions {
        encoding: Some("latin1".into()),
        ..ReadOptions::default()
    };
    let (_, records) = read_all(&fixture("windows1252.csv"), &opts);
    assert_eq!(rows(&records)[0].cells[2], "René");

    // Forcing UTF-8 on a Windows-1252 file: rows are rejected with the line, not decoded wrongly.
    let opts = ReadOptions {
        encoding: Some("utf-8".into()),
        ..ReadOptions::default()
    };
    let (_, records) = read_all(&fixture("windows1252.csv"), &opts);
    let bad = bads(&records);
    assert_eq!(bad.len(), 2);
    assert_eq!(bad[0].line, 2);
    assert!(bad[0].reason.contains("line 2"), "{}", bad[0].reason);
    assert!(
        bad[0].reason.contains("not valid UTF-8"),
        "{}",
        bad[0].reason
    );
}

#[test]
fn unknown_encoding_label_is_named() {
    let opts = ReadOptions {
        encoding: Some("klingon-8".into()),
        ..ReadOptions::default()
    };
    let msg = open_err(&fixture("utf8_plain.csv"), &opts);
    assert!(msg.contains("unknown encoding 'klingon-8'"), "{msg}");
}

#[test]
fn semicolon_detected_and_commas_kept_in_cells() {
    let (headers, records) = read_all(&fixture("semicolon.csv"), &ReadOptions::default());
    assert_eq!(headers, ["ID", "Name", "Balance"]);
    assert_eq!(rows(&records)[0].cells, ["1", "Smith, Ann", "3,50"]);
}

#[test]
fn tab_detected_in_txt() {
    let (headers, records) = read_all(&fixture("tab.txt"), &ReadOptions::default());
    assert_eq!(headers, ["ID", "Name", "Note"]);
    assert_eq!(rows(&records)[0].cells, ["1", "Smith, Ann", "a;b"]);
}

#[test]
fn pipe_detected() {
    let (headers, records) = read_all(&fixture("pipe.csv"), &ReadOptions::default());
    assert_eq!(headers, ["ID", "Name", "Note"]);
    assert_eq!(rows(&records)[0].cells, ["1", "Smith, Ann", "x;y"]);
}

#[test]
fn explicit_delimiter_overrides_detection() {
    let opts = ReadOptions {
        delimiter: Some(b','),
        ..ReadOptions::default()
    };
    let (headers, records) = read_all(&fixture("semicolon.csv"), &opts);
    assert_eq!(headers, ["ID;Name;Balance"]);
    // "1;Smith, Ann;3,50" splits into 3 fields by comma: wrong count.
    assert_eq!(
        bads(&records)[0].reason,
        "expected 1 fields (as in the header), found 3"
    );
}

#[test]
fn crlf_quoted_commas_quotes_and_newlines() {
    let (headers, records) = read_all(&fixture("crlf_quoted.csv"), &ReadOptions::default());
    assert_eq!(headers, ["ID", "Name", "Address", "Note"]);
    let rows = rows(&records);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].cells,
        ["1", "Smith, Ann", "12 Main St\r\nApt 4", "She said \"hi\""]
    );
    assert_eq!(rows[0].line, 2);
    // The quoted newline pushes the next record to physical line 4.
    assert_eq!(rows[1].line, 4);
    assert_eq!(rows[1].cells, ["2", "Jones", "", "plain"]);
}

#[test]
fn wrong_field_count_is_a_bad_row_and_reading_goes_on() {
    let (_, records) = read_all(&fixture("wrong_fields.csv"), &ReadOptions::default());
    assert_eq!(records.len(), 4);
    let bad = bads(&records);
    assert_eq!(bad.len(), 2);
    assert_eq!(bad[0].line, 3);
    assert_eq!(
        bad[0].reason,
        "expected 7 fields (as in the header), found 5"
    );
    assert_eq!(bad[0].cells, ["1", "2", "3", "4", "5"]);
    assert_eq!(bad[1].line, 4);
    assert_eq!(
        bad[1].reason,
        "expected 7 fields (as in the header), found 8"
    );
    let good = rows(&records);
    assert_eq!(good.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 5]);
}

#[test]
fn blank_lines_are_skipped_and_lines_stay_physical() {
    let (_, records) = read_all(&fixture("blank_lines.csv"), &ReadOptions::default());
    let rows = rows(&records);
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(
        (rows[0].line, rows[0].cells.clone()),
        (3, vec!["1".into(), "Ann".into()])
    );
    assert_eq!(
        (rows[1].line, rows[1].cells.clone()),
        (7, vec!["2".into(), "Bo".into()])
    );
}

#[test]
fn empty_file_is_an_error() {
    let msg = open_err(&fixture("empty.csv"), &ReadOptions::default());
    assert!(msg.ends_with("file is empty"), "{msg}");
}

#[test]
fn header_only_file_has_no_rows() {
    let (headers, records) = read_all(&fixture("header_only.csv"), &ReadOptions::default());
    assert_eq!(headers, ["ID", "Name", "Email"]);
    assert!(records.is_empty());
}

#[test]
fn bad_headers_name_the_column() {
    let msg = open_err(&fixture("dup_header.csv"), &ReadOptions::default());
    assert!(
        msg.contains("header column 4 'Name' duplicates column 2"),
        "{msg}"
    );
    let msg = open_err(&fixture("empty_header.csv"), &ReadOptions::default());
    assert!(msg.contains("header column 2 has an empty name"), "{msg}");
}

#[test]
fn random_bytes_are_rejected_without_panic() {
    let msg = open_err(&fixture("random_bytes.csv"), &ReadOptions::default());
    assert!(msg.contains("does not look like a text CSV file"), "{msg}");
    // Same bytes under an unknown extension are sniffed as CSV and rejected the same way.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mystery.dat");
    std::fs::copy(fixture("random_bytes.csv"), &path).expect("copy");
    let msg = open_err(&path, &ReadOptions::default());
    assert!(msg.contains("does not look like a text CSV file"), "{msg}");
}

#[test]
fn missing_file_names_the_path() {
    let path = fixture("no_such_file.csv");
    match open(&path, &ReadOptions::default()) {
        Err(ReadError::Open { path: p, .. }) => assert_eq!(p, path),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("opened a missing file"),
    }
}

#[test]
fn tsv_extension_defaults_to_tab() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("one_col.tsv");
    // A single-column-looking first line with commas: detection would pick comma, .tsv says tab.
    std::fs::write(&path, "Name, full\tID\nSmith, Ann\t7\n").expect("write");
    let (headers, records) = read_all(&path, &ReadOptions::default());
    assert_eq!(headers, ["Name, full", "ID"]);
    assert_eq!(rows(&records)[0].cells, ["Smith, Ann", "7"]);
}

#[test]
fn invalid_utf8_after_the_sniffed_prefix_is_a_bad_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("late.csv");
    let mut f = std::fs::File::create(&path).expect("create");
    writeln!(f, "ID,Name").expect("write");
    // 5000 lines of ~20 bytes = ~100 KB of clean UTF-8, beyond the 64 KiB sniff window.
    for i in 0..5000 {
        writeln!(f, "{i},Zoë Ångström").expect("write");
    }
    f.write_all(b"5000,Ren\xE9\n5001,ok\n").expect("write");
    drop(f);
    let (_, records) = read_all(&path, &ReadOptions::default());
    assert_eq!(records.len(), 5002);
    let bad = bads(&records);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].line, 5002);
    assert!(bad[0].reason.starts_with("line 5002:"), "{}", bad[0].reason);
    assert_eq!(bad[0].cells, ["5000", "Ren\u{FFFD}"]);
    match records.last() {
        Some(Record::Row(r)) => assert_eq!((r.line, r.cells[1].as_str()), (5003, "ok")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn classic_mac_cr_line_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mac.csv");
    std::fs::write(&path, "ID,Name\r1,Ann\r\r2,\"Bo\rBo\"\r3,Cy").expect("write");
    let (headers, records) = read_all(&path, &ReadOptions::default());
    assert_eq!(headers, ["ID", "Name"]);
    let rows = rows(&records);
    let got: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.cells[1].as_str())).collect();
    assert_eq!(got, [(2, "Ann"), (4, "Bo\rBo"), (6, "Cy")]);
}
