//! Regenerates `samples/roster.xlsx` from `samples/roster.csv`.
//!
//! Run with `cargo run --example make_samples`. The workbook has one sheet, "Roster", with the
//! CSV's cells in the same order: `Expires` becomes a real date cell (shown as mm/dd/yyyy) when it
//! parses as MM/DD/YYYY and stays text otherwise (the deliberately bad date); every other cell,
//! including `Card`, `Student ID` and `Zip`, is written as text so leading zeros survive. Rows
//! with the wrong number of fields are copied as they are (cells past the header stay past it).
//! Empty cells are left blank. The document's creation time is fixed so the output is reproducible.

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
use std::error::Error;
use std::path::Path;

fn main() -> Result<(), Box<dyn Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let src = dir.join("roster.csv");
    let dst = dir.join("roster.xlsx");

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(&src)?;
    let mut rows = reader.records();
    let header = rows.next().ok_or("roster.csv is empty")??;
    let expires = header
        .iter()
        .position(|h| h == "Expires")
        .ok_or("roster.csv has no Expires column")?;

    let mut workbook = Workbook::new();
    let fixed = ExcelDateTime::from_ymd(2026, 1, 1)?;
    workbook.set_properties(
        &DocProperties::new()
            .set_title("Sample registrar roster for patron-etl")
            .set_creation_datetime(&fixed),
    );
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("mm/dd/yyyy");
    let sheet = workbook.add_worksheet();
    sheet.set_name("Roster")?;
    for (col, name) in header.iter().enumerate() {
        let col = u16::try_from(col)?;
        sheet.write_string_with_format(0, col, name, &bold)?;
        sheet.set_column_width(col, 16)?;
    }
    sheet.set_freeze_panes(1, 0)?;

    let mut written = 0u32;
    for (i, record) in rows.enumerate() {
        let record = record?;
        let row = u32::try_from(i + 1)?;
        for (col, cell) in record.iter().enumerate() {
            let c = u16::try_from(col)?;
            match (col == expires && record.len() == header.len())
                .then(|| NaiveDate::parse_from_str(cell, "%m/%d/%Y").ok())
                .flatten()
            {
                Some(d) => {
                    let when = ExcelDateTime::from_ymd(
                        u16::try_from(d.year())?,
                        u8::try_from(d.month())?,
                        u8::try_from(d.day())?,
                    )?;
                    sheet.write_datetime_with_format(row, c, &when, &date)?;
                }
                None if cell.is_empty() => {}
                None => {
                    sheet.write_string(row, c, cell)?;
                }
            }
        }
        written += 1;
    }
    workbook.save(&dst)?;
    println!("wrote {} ({written} data rows)", dst.display());
    Ok(())
}
