//! Integration tests for the spreadsheet reader through `patron_etl::read::open`.
//! XLSX workbooks are generated with rust_xlsxwriter into a tempdir; the 1904-epoch XLSX, the
//! ODS file and `formulas.xlsx` (a formula with no saved value) are committed fixtures
//! (rust_xlsxwriter can write neither the 1904 date system nor a formula without a value; see
//! `tests/fixtures/read/make_fixtures.py`).

use std::path::{Path, PathBuf};

use patron_etl::read::{open, BadRow, InputFormat, ReadOptions, Record, SourceRow};
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/read")
        .join(name)
}

/// Writes the test workbook: sheet "Roster" (header on row 1) and sheet "Staff" (title on
/// row 1, header on row 3).
fn write_workbook(path: &Path) {
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let ws = wb.add_worksheet();
    ws.set_name("Roster").expect("name");
    let headers = [
        "Student ID",
        " Last Name ",
        "Expires",
        "Seen",
        "Card",
        "Fee",
        "Active",
        "Double",
        "Label",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).expect("write");
    }
    // Row 2: every cell type.
    ws.write_number(1, 0, 21000012345.0).expect("write");
    ws.write_string(1, 1, "Dupré").expect("write");
    let expires = ExcelDateTime::from_ymd(2025, 6, 30).expect("date");
    ws.write_datetime_with_format(1, 2, &expires, &date)
        .expect("write");
    let seen = ExcelDateTime::from_ymd(2024, 3, 15)
        .and_then(|d| d.and_hms(13, 45, 30))
        .expect("datetime");
    ws.write_datetime_with_format(1, 3, &seen, &datetime)
        .expect("write");
    ws.write_number(1, 4, 2.0).expect("write");
    ws.write_number(1, 5, 12.5).expect("write");
    ws.write_boolean(1, 6, true).expect("write");
    ws.write_formula(1, 7, Formula::new("=E2*2").set_result("4"))
        .expect("write");
    ws.write_formula(1, 8, Formula::new("=B2&\"!\"").set_result("Dupré!"))
        .expect("write");
    // Row 3 blank. Row 4: short row.
    ws.write_number(3, 0, 1002.0).expect("write");
    ws.write_string(3, 1, "Ng").expect("write");
    // Row 5: an error cell (cached #N/A).
    ws.write_number(4, 0, 1003.0).expect("write");
    ws.write_formula(4, 2, Formula::new("=NA()").set_result("#N/A"))
        .expect("write");
    // Row 6: a value right of the last header column (J).
    ws.write_number(5, 0, 1004.0).expect("write");
    ws.write_string(5, 9, "stray").expect("write");

    let staff = wb.add_worksheet();
    staff.set_name("Staff").expect("name");
    staff
        .write_string(0, 0, "Staff list, autumn")
        .expect("write");
    staff.write_string(2, 0, "Barcode").expect("write");
    staff.write_string(2, 1, "Name").expect("write");
    staff.write_string(3, 0, "000123").expect("write");
    staff.write_string(3, 1, "Lee").expect("write");
    wb.save(path).expect("save workbook");
}

fn workbook() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("roster.xlsx");
    write_workbook(&path);
    (dir, path)
}

fn read_all(path: &Path, opts: &ReadOptions) -> (InputFormat, Vec<String>, Vec<Record>) {
    let rdr = match open(path, opts) {
        Ok(r) => r,
        Err(e) => panic!("open {}: {e}", path.display()),
    };
    let format = rdr.format();
    let headers = rdr.headers().to_vec();
    let records = rdr
        .map(|r| r.unwrap_or_else(|e| panic!("read error: {e}")))
        .collect();
    (format, headers, records)
}

fn open_err(path: &Path, opts: &ReadOptions) -> String {
    match open(path, opts) {
        Ok(_) => panic!("{} opened but should not have", path.display()),
        Err(e) => e.to_string(),
    }
}

fn row(r: &Record) -> &SourceRow {
    match r {
        Record::Row(row) => row,
        Record::Bad(b) => panic!("expected a row, got {b:?}"),
    }
}

fn bad(r: &Record) -> &BadRow {
    match r {
        Record::Bad(b) => b,
        Record::Row(row) => panic!("expected a bad row, got {row:?}"),
    }
}

#[test]
fn xlsx_cell_types_and_lines() {
    let (_dir, path) = workbook();
    let (format, headers, records) = read_all(&path, &ReadOptions::default());
    assert_eq!(format, InputFormat::Xlsx);
    assert_eq!(headers[..3], ["Student ID", "Last Name", "Expires"]);
    assert_eq!(headers.len(), 9);
    assert_eq!(records.len(), 4, "{records:?}");

    let first = row(&records[0]);
    assert_eq!(first.line, 2);
    assert_eq!(first.sheet.as_deref(), Some("Roster"));
    assert!(first.file.ends_with("roster.xlsx"));
    assert_eq!(
        first.cells,
        [
            "21000012345",
            "Dupré",
            "2025-06-30",
            "2024-03-15T13:45:30",
            "2",
            "12.5",
            "true",
            "4",
            "Dupré!"
        ]
    );

    // Row 3 is blank and skipped; row 4 is short and padded.
    let short = row(&records[1]);
    assert_eq!(short.line, 4);
    assert_eq!(short.cells[..2], ["1002", "Ng"]);
    assert!(short.cells[2..].iter().all(String::is_empty));
    assert_eq!(short.cells.len(), 9);

    let na = bad(&records[2]);
    assert_eq!(na.line, 5);
    assert_eq!(na.reason, "column 'Expires' (C) holds the error #N/A");

    let stray = bad(&records[3]);
    assert_eq!(stray.line, 6);
    assert!(
        stray.reason.contains("cell J6 has a value ('stray')"),
        "{}",
        stray.reason
    );
}

#[test]
fn sheet_by_name_index_and_header_row() {
    let (_dir, path) = workbook();
    for sheet in ["Staff", "staff", "2"] {
        let opts = ReadOptions {
            sheet: Some(sheet.into()),
            header_row: Some(3),
            ..ReadOptions::default()
        };
        let (_, headers, records) = read_all(&path, &opts);
        assert_eq!(headers, ["Barcode", "Name"], "sheet {sheet}");
        assert_eq!(records.len(), 1);
        let r = row(&records[0]);
        assert_eq!(r.line, 4);
        assert_eq!(r.cells, ["000123", "Lee"]);
        assert_eq!(r.sheet.as_deref(), Some("Staff"));
    }
    // Without header_row the title on row 1 is taken as a one-column header.
    let opts = ReadOptions {
        sheet: Some("Staff".into()),
        ..ReadOptions::default()
    };
    let (_, headers, _) = read_all(&path, &opts);
    assert_eq!(headers, ["Staff list, autumn"]);
}

#[test]
fn unknown_sheet_lists_available() {
    let (_dir, path) = workbook();
    let opts = ReadOptions {
        sheet: Some("Faculty".into()),
        ..ReadOptions::default()
    };
    let msg = open_err(&path, &opts);
    assert!(
        msg.contains("sheet 'Faculty' not found; available sheets: 'Roster', 'Staff'"),
        "{msg}"
    );
}

#[test]
fn header_row_beyond_data_is_an_error() {
    let (_dir, path) = workbook();
    let opts = ReadOptions {
        header_row: Some(40),
        ..ReadOptions::default()
    };
    let msg = open_err(&path, &opts);
    assert!(msg.contains("header row 40 is empty"), "{msg}");
}

#[test]
fn truncated_xlsx_is_an_error_not_a_panic() {
    let (dir, path) = workbook();
    let bytes = std::fs::read(&path).expect("read");
    let cut = dir.path().join("cut.xlsx");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let msg = open_err(&cut, &ReadOptions::default());
    assert!(msg.contains("cut.xlsx"), "{msg}");
    assert!(msg.contains("not a readable XLSX workbook"), "{msg}");
}

#[test]
fn csv_text_named_xlsx_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fake.xlsx");
    std::fs::write(&path, "ID,Name\n1,Ann\n").expect("write");
    let msg = open_err(&path, &ReadOptions::default());
    assert!(msg.contains("not a readable XLSX workbook"), "{msg}");
}

#[test]
fn xlsx_without_extension_is_sniffed() {
    let (dir, path) = workbook();
    let renamed = dir.path().join("export.dat");
    std::fs::copy(&path, &renamed).expect("copy");
    let (format, headers, records) = read_all(&renamed, &ReadOptions::default());
    assert_eq!(format, InputFormat::Xlsx);
    assert_eq!(headers[0], "Student ID");
    assert_eq!(row(&records[0]).cells[0], "21000012345");
}

#[test]
fn epoch_1904_dates() {
    let (format, headers, records) = read_all(&fixture("epoch1904.xlsx"), &ReadOptions::default());
    assert_eq!(format, InputFormat::Xlsx);
    assert_eq!(headers, ["ID", "Expires", "Seen"]);
    let r = row(&records[0]);
    assert_eq!(r.sheet.as_deref(), Some("Old Mac"));
    // Serial 43904 is 2024-03-15 in the 1904 system (it would be 2020-03-15 in the 1900 one).
    assert_eq!(r.cells, ["1001", "2024-03-15", "2024-03-15T12:00:00"]);
}

#[test]
fn ods_cells() {
    let (format, headers, records) = read_all(&fixture("roster.ods"), &ReadOptions::default());
    assert_eq!(format, InputFormat::Ods);
    assert_eq!(headers, ["Student ID", "Name", "Expires", "Active"]);
    let r = row(&records[0]);
    assert_eq!(r.line, 2);
    assert_eq!(r.sheet.as_deref(), Some("Roster"));
    assert_eq!(r.cells, ["21000012345", "Zoë", "2025-06-30", "true"]);
}

#[test]
fn formulas_without_saved_values_and_17_digit_numbers_reject_the_row_naming_the_cell() {
    let (_, headers, records) = read_all(&fixture("formulas.xlsx"), &ReadOptions::default());
    assert_eq!(headers, ["Student ID", "Last Name", "Expires", "Label"]);
    assert_eq!(records.len(), 4);
    // A formula with a saved value is read as that value (a date, a string).
    assert_eq!(
        row(&records[0]).cells,
        ["900100231", "Núñez", "2027-05-31", "ab"]
    );
    // Not read as blank (which would create the patron with no expiry): rejected, naming C3.
    let b = bad(&records[1]);
    assert_eq!(b.line, 3);
    assert!(
        b.reason
            .contains("cell C3 (column 'Expires') is a formula with no saved value")
            && b.reason.contains("export it as CSV"),
        "{}",
        b.reason
    );
    // 12345678901234567 cannot be held by a spreadsheet number: rejected, not altered.
    let b = bad(&records[2]);
    assert_eq!(b.line, 4);
    assert!(
        b.reason.contains("cell A4 (column 'Student ID')")
            && b.reason.contains("more than 15 significant digits"),
        "{}",
        b.reason
    );
    // 13 digits are exact.
    assert_eq!(row(&records[3]).cells[0], "2100000012345");
}
