//! Input limits, checked before anything is allocated for it, so a small hostile file (a
//! spreadsheet with one cell at `XFD1048576`, a shared-strings bomb, a 1 GB CSV cell) ends with a
//! clear error instead of exhausting memory.
//!
//! | limit | default | environment variable |
//! |---|---|---|
//! | one cell (CSV field, spreadsheet cell) | 64 KiB | `PATRON_ETL_MAX_CELL_BYTES` |
//! | a sheet's used range (rows × columns; XLSX streamed, ODS repeats counted) | 2,000,000 cells | `PATRON_ETL_MAX_SHEET_CELLS` |
//! | an XLSX/ODS part, uncompressed (shared strings, a sheet, ODS content) | 128 MiB | `PATRON_ETL_MAX_PART_BYTES` |
//! | an XLS file | 128 MiB | `PATRON_ETL_MAX_PART_BYTES` |
//!
//! A CSV cell over the limit rejects its row; a CSV record over (columns + 1) × the cell limit
//! (a quote left open at a huge file, a runaway cell) stops reading the file. A used range, part
//! or XLS file over its limit makes the file unreadable (exit 2) with what to do.

use super::{InputFormat, ReadError};
use std::path::Path;

/// Default bound on one cell, in bytes.
pub const DEFAULT_MAX_CELL_BYTES: u64 = 64 * 1024;
/// Default bound on a sheet's used range, in cells.
pub const DEFAULT_MAX_SHEET_CELLS: u64 = 2_000_000;
/// Default bound on one uncompressed workbook part (and on an XLS file), in bytes.
pub const DEFAULT_MAX_PART_BYTES: u64 = 128 * 1024 * 1024;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// The cell limit in force (bytes).
pub fn max_cell_bytes() -> u64 {
    env_or("PATRON_ETL_MAX_CELL_BYTES", DEFAULT_MAX_CELL_BYTES)
}

/// The used-range limit in force (cells).
pub fn max_sheet_cells() -> u64 {
    env_or("PATRON_ETL_MAX_SHEET_CELLS", DEFAULT_MAX_SHEET_CELLS)
}

/// The workbook-part limit in force (bytes).
pub fn max_part_bytes() -> u64 {
    env_or("PATRON_ETL_MAX_PART_BYTES", DEFAULT_MAX_PART_BYTES)
}

/// `n` bytes for people (`70 KiB`, `1.5 GiB`).
pub fn size_text(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Checks a workbook before it is opened: each part of an XLSX/ODS archive (by the size its
/// directory declares) and an XLS file's size against [`max_part_bytes`].
pub fn check_workbook(path: &Path, format: InputFormat) -> Result<(), ReadError> {
    let invalid = |reason: String| ReadError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let limit = max_part_bytes();
    let advice = "split the workbook or save the sheet as CSV; the limit is set by \
                  PATRON_ETL_MAX_PART_BYTES";
    match format {
        InputFormat::Xls => {
            let len = std::fs::metadata(path)
                .map_err(|source| ReadError::Open {
                    path: path.to_path_buf(),
                    source,
                })?
                .len();
            if len > limit {
                return Err(invalid(format!(
                    "the XLS file is {}, over the limit of {}; {advice}",
                    size_text(len),
                    size_text(limit)
                )));
            }
            Ok(())
        }
        InputFormat::Xlsx | InputFormat::Ods => {
            let file = std::fs::File::open(path).map_err(|source| ReadError::Open {
                path: path.to_path_buf(),
                source,
            })?;
            // An archive the zip reader cannot read is left to the workbook reader's error.
            let Ok(mut zip) = zip::ZipArchive::new(std::io::BufReader::new(file)) else {
                return Ok(());
            };
            for i in 0..zip.len() {
                let Ok(entry) = zip.by_index_raw(i) else {
                    continue;
                };
                if entry.size() > limit {
                    let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
                    let what = if name.ends_with("sharedStrings.xml") {
                        "the shared strings".to_string()
                    } else {
                        format!("part {name}")
                    };
                    return Err(invalid(format!(
                        "{what} would unpack to {}, over the limit of {}; {advice}",
                        size_text(entry.size()),
                        size_text(limit)
                    )));
                }
            }
            Ok(())
        }
        InputFormat::Csv => Ok(()),
    }
}

/// The largest used range (rows × columns, counting `number-rows-repeated` and
/// `number-columns-repeated` up to the last cell with content) of any table in an ODS file's
/// `content.xml`, streamed: what calamine would expand into memory. `None` when it cannot be
/// read (the workbook reader then says why).
pub fn ods_used_cells(path: &Path) -> Option<(u64, u64)> {
    use quick_xml::events::Event;
    let file = std::fs::File::open(path).ok()?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).ok()?;
    let content = zip.by_name("content.xml").ok()?;
    let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(content));
    let mut buf = Vec::new();
    let repeat = |e: &quick_xml::events::BytesStart<'_>, name: &str| -> u64 {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == name)
            .and_then(|a| a.value.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .max(1)
    };
    let has_value = |e: &quick_xml::events::BytesStart<'_>| {
        e.attributes()
            .flatten()
            .any(|a| a.key.as_ref() == "office:value-type")
    };
    let (mut best_rows, mut best_cols) = (0u64, 0u64);
    // Per table: rows so far, rows up to the last non-empty one, widest row.
    let (mut rows, mut used_rows, mut width) = (0u64, 0u64, 0u64);
    // Per row: its repeat, columns so far, columns up to the last non-empty cell.
    let (mut row_rep, mut cols, mut used_cols) = (1u64, 0u64, 0u64);
    // The cell being read: its repeat and whether it has content.
    let (mut in_cell, mut cell_rep, mut cell_full) = (false, 1u64, false);
    loop {
        match xml.read_event_into(&mut buf).ok()? {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == "table:table" => {
                (rows, used_rows, width) = (0, 0, 0);
            }
            Event::Start(e) if e.name().as_ref() == "table:table-row" => {
                (row_rep, cols, used_cols) = (repeat(&e, "table:number-rows-repeated"), 0, 0);
            }
            Event::Empty(e) if e.name().as_ref() == "table:table-row" => {
                rows = rows.saturating_add(repeat(&e, "table:number-rows-repeated"));
            }
            Event::Start(e)
                if matches!(
                    e.name().as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) =>
            {
                (in_cell, cell_rep, cell_full) = (
                    true,
                    repeat(&e, "table:number-columns-repeated"),
                    has_value(&e),
                );
            }
            Event::Empty(e)
                if matches!(
                    e.name().as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) =>
            {
                cols = cols.saturating_add(repeat(&e, "table:number-columns-repeated"));
                if has_value(&e) {
                    used_cols = cols;
                }
            }
            Event::Start(e) | Event::Empty(e) if in_cell && e.name().as_ref() == "text:p" => {
                cell_full = true;
            }
            Event::End(e)
                if matches!(
                    e.name().as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) =>
            {
                cols = cols.saturating_add(cell_rep);
                if cell_full {
                    used_cols = cols;
                }
                in_cell = false;
            }
            Event::End(e) if e.name().as_ref() == "table:table-row" => {
                rows = rows.saturating_add(row_rep);
                if used_cols > 0 {
                    used_rows = rows;
                    width = width.max(used_cols);
                }
            }
            Event::End(e)
                if e.name().as_ref() == "table:table"
                    && used_rows.saturating_mul(width) > best_rows.saturating_mul(best_cols) =>
            {
                (best_rows, best_cols) = (used_rows, width);
            }
            _ => {}
        }
        buf.clear();
    }
    Some((best_rows, best_cols))
}

/// Checks an ODS file's largest table against [`max_sheet_cells`] (calamine expands every
/// table when the workbook is opened).
pub fn check_ods(path: &Path) -> Result<(), ReadError> {
    let Some((rows, cols)) = ods_used_cells(path) else {
        return Ok(());
    };
    let limit = max_sheet_cells();
    if rows.saturating_mul(cols) > limit {
        return Err(ReadError::Invalid {
            path: path.to_path_buf(),
            reason: format!(
                "a table's used range is {rows} rows × {cols} columns (repeated rows and columns \
                 counted), over the limit of {limit} cells (PATRON_ETL_MAX_SHEET_CELLS); delete \
                 the stray cells far from the data and save again"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(size_text(10), "10 bytes");
        assert_eq!(size_text(70 * 1024), "70.0 KiB");
        assert_eq!(size_text(3 << 30), "3.0 GiB");
    }
}
