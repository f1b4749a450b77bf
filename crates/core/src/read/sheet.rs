//! Spreadsheet reader (XLSX/XLSM, XLS, ODS) on top of calamine.
//!
//! Invariants:
//! - The chosen sheet is loaded once into memory (the formats force it) and rows are converted
//!   to text one at a time as the iterator advances; nothing is copied twice.
//! - `line` is the spreadsheet row number as Excel shows it (1-based); `sheet` is the sheet name.
//! - Cell text: dates → `YYYY-MM-DD` (with `THH:MM:SS` when there is a time part, either epoch),
//!   whole-number floats without `.0`, other floats in shortest form, bools `true`/`false`,
//!   formulas → their cached value. Error cells (`#N/A`), values right of the last header
//!   column, formulas with no cached value and whole numbers beyond 15 significant digits (which
//!   a spreadsheet cannot hold exactly) make the row a [`BadRow`] naming the cell; blank rows
//!   are skipped; short rows are padded with `""`.
//! - A corrupt workbook is a [`ReadError`], never a panic (calamine is additionally guarded
//!   with `catch_unwind`).
//! - Bounded memory ([`super::limits`]): part sizes are checked before the workbook is opened, an
//!   XLSX sheet's used range is measured by streaming its cells before the sheet is loaded (a
//!   stray cell at `XFD1048576` would otherwise allocate the whole grid), and a cell over the
//!   cell limit makes its row a [`BadRow`].

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use calamine::{Data, ExcelDateTime, Ods, Range, Reader, SheetType, Xls, Xlsx};

use super::{BadRow, InputFormat, ReadError, ReadOptions, Record, RowReader, SourceRow};

/// A reader over one sheet of a workbook.
#[derive(Debug)]
pub struct SheetReader {
    file: Arc<str>,
    sheet: Arc<str>,
    format: InputFormat,
    headers: Vec<String>,
    range: Range<Data>,
    /// Absolute (0-based) row and column of the range's top-left cell.
    origin: (u32, u32),
    /// Next relative row to read.
    next_row: usize,
    /// Absolute (row, column) of formula cells whose file holds no saved value.
    uncached: CellSet,
}

impl SheetReader {
    /// Opens sheet `opts.sheet` (name or 1-based index; first worksheet by default) of the
    /// workbook at `path`, read as `format`, with the header on row `opts.header_row`
    /// (default: the first non-blank row, normally row 1).
    pub fn open(
        path: &Path,
        format: InputFormat,
        opts: &ReadOptions,
    ) -> Result<SheetReader, ReadError> {
        super::limits::check_workbook(path, format)?;
        if format == InputFormat::Ods {
            super::limits::check_ods(path)?;
        }
        let loaded = catch_unwind(AssertUnwindSafe(|| match format {
            InputFormat::Xls => load::<Xls<BufReader<File>>>(path, format, opts),
            InputFormat::Ods => load::<Ods<BufReader<File>>>(path, format, opts),
            _ => load::<Xlsx<BufReader<File>>>(path, format, opts),
        }));
        let (sheet, range, uncached) = match loaded {
            Ok(result) => result?,
            Err(_) => {
                return Err(ReadError::Invalid {
                    path: path.to_path_buf(),
                    reason: format!("{} workbook is corrupt", format_name(format)),
                })
            }
        };
        let mut reader = Self::from_range(path, format, sheet, range, opts.header_row)?;
        reader.uncached = uncached;
        Ok(reader)
    }

    /// Builds a reader over an already loaded sheet (`header_row` as in [`ReadOptions`]).
    pub fn from_range(
        path: &Path,
        format: InputFormat,
        sheet: String,
        range: Range<Data>,
        header_row: Option<u32>,
    ) -> Result<SheetReader, ReadError> {
        let invalid = |reason: String| ReadError::Invalid {
            path: path.to_path_buf(),
            reason: format!("sheet '{sheet}': {reason}"),
        };
        if header_row == Some(0) {
            return Err(invalid("the header row number starts at 1".into()));
        }
        let Some(origin) = range.start() else {
            return Err(invalid("sheet is empty".into()));
        };
        let height = range.height();
        let width = range.width();
        let header_rel = match header_row {
            Some(n) => {
                let abs = n - 1;
                if abs < origin.0 || (abs - origin.0) as usize >= height {
                    return Err(invalid(format!("header row {n} is empty")));
                }
                (abs - origin.0) as usize
            }
            None => (0..height)
                .find(|&r| !row_is_blank(&range, r, width))
                .ok_or_else(|| invalid("sheet is empty".into()))?,
        };
        let header_line = origin.0 as u64 + header_rel as u64 + 1;

        let mut headers: Vec<String> = (0..width)
            .map(|c| {
                range
                    .get((header_rel, c))
                    .map(|d| {
                        cell_text(d)
                            .trim_start_matches('\u{feff}')
                            .trim()
                            .to_owned()
                    })
                    .unwrap_or_default()
            })
            .collect();
        while headers.last().is_some_and(|h| h.is_empty()) {
            headers.pop();
        }
        if headers.is_empty() {
            return Err(invalid(format!("header row {header_line} is empty")));
        }
        for (i, name) in headers.iter().enumerate() {
            let col = column_label(origin.1 + i as u32);
            if name.is_empty() {
                return Err(invalid(format!(
                    "row {header_line}: header column {} ({col}) has an empty name",
                    i + 1
                )));
            }
            if let Some(first) = headers[..i].iter().position(|h| h == name) {
                return Err(invalid(format!(
                    "row {header_line}: header column {} ({col}) '{name}' duplicates column {} ({})",
                    i + 1,
                    first + 1,
                    column_label(origin.1 + first as u32)
                )));
            }
        }

        Ok(SheetReader {
            file: Arc::from(path.to_string_lossy().as_ref()),
            sheet: Arc::from(sheet.as_str()),
            format,
            headers,
            range,
            origin,
            next_row: header_rel + 1,
            uncached: HashSet::new(),
        })
    }

    /// The sheet being read.
    pub fn sheet_name(&self) -> &str {
        &self.sheet
    }

    fn row_record(&self, r: usize) -> Option<Record> {
        let width = self.range.width();
        let max_cell = super::limits::max_cell_bytes();
        let line = self.origin.0 as u64 + r as u64 + 1;
        let mut cells = Vec::with_capacity(self.headers.len());
        let mut problems = Vec::new();
        let mut any_value = false;
        for c in 0..width {
            let data = self.range.get((r, c)).unwrap_or(&Data::Empty);
            let col = column_label(self.origin.1 + c as u32);
            if let Data::Error(e) = data {
                any_value = true;
                match self.headers.get(c) {
                    Some(h) => problems.push(format!("column '{h}' ({col}) holds the error {e}")),
                    None => problems.push(format!("cell {col}{line} holds the error {e}")),
                }
                if c < self.headers.len() {
                    cells.push(e.to_string());
                }
                continue;
            }
            let text = cell_text(data);
            let blank = text.trim().is_empty();
            any_value |= !blank;
            if text.len() as u64 > max_cell {
                problems.push(format!(
                    "cell {col}{line} holds {}, over the cell limit of {} \
                     (PATRON_ETL_MAX_CELL_BYTES)",
                    super::limits::size_text(text.len() as u64),
                    super::limits::size_text(max_cell)
                ));
                if c < self.headers.len() {
                    cells.push(String::new());
                }
                continue;
            }
            if let Some(h) = self.headers.get(c) {
                let abs = (self.origin.0 + r as u32, self.origin.1 + c as u32);
                if blank && self.uncached.contains(&abs) {
                    any_value = true;
                    problems.push(format!(
                        "cell {col}{line} (column '{h}') is a formula with no saved value: open \
                         and save the file in a spreadsheet, or export it as CSV"
                    ));
                } else if let Some(n) = inexact_number(data) {
                    problems.push(format!(
                        "cell {col}{line} (column '{h}') holds the number {n}, which has more than \
                         {EXACT_DIGITS} significant digits: a spreadsheet does not keep it exactly; \
                         format the column as text and re-enter the value, or export as CSV"
                    ));
                }
                cells.push(text);
            } else if !blank {
                problems.push(format!(
                    "cell {col}{line} has a value ('{}') right of the last header column",
                    text.trim()
                ));
            }
        }
        if !any_value {
            return None;
        }
        cells.resize(self.headers.len(), String::new());
        if problems.is_empty() {
            Some(Record::Row(SourceRow {
                file: Arc::clone(&self.file),
                sheet: Some(Arc::clone(&self.sheet)),
                line,
                cells,
            }))
        } else {
            Some(Record::Bad(BadRow {
                line,
                reason: problems.join("; "),
                cells,
            }))
        }
    }
}

impl Iterator for SheetReader {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.next_row < self.range.height() {
            let r = self.next_row;
            self.next_row += 1;
            if let Some(record) = self.row_record(r) {
                return Some(Ok(record));
            }
        }
        None
    }
}

impl RowReader for SheetReader {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn format(&self) -> InputFormat {
        self.format
    }
}

fn format_name(format: InputFormat) -> &'static str {
    match format {
        InputFormat::Csv => "CSV",
        InputFormat::Xlsx => "XLSX",
        InputFormat::Xls => "XLS",
        InputFormat::Ods => "ODS",
    }
}

/// A workbook reader whose sheet's used range can be measured before the sheet is loaded.
trait Measured {
    /// `Err` with the reason when sheet `name`'s used range exceeds `max_cells`.
    fn check_used_range(&mut self, _name: &str, _max_cells: u64) -> Result<(), String> {
        Ok(())
    }
}

/// XLS and ODS load every sheet when the workbook is opened; their size is bounded up front
/// ([`super::limits::check_workbook`]).
impl Measured for Xls<BufReader<File>> {}
impl Measured for Ods<BufReader<File>> {}

impl Measured for Xlsx<BufReader<File>> {
    /// Streams the sheet's cells (one at a time) to find the bounding box of the non-empty
    /// ones, which is what calamine allocates densely.
    fn check_used_range(&mut self, name: &str, max_cells: u64) -> Result<(), String> {
        let mut cells = match self.worksheet_cells_reader(name) {
            Ok(c) => c,
            Err(_) => return Ok(()), // not a worksheet, or unreadable: worksheet_range says why
        };
        let mut bounds: Option<((u32, u32), (u32, u32))> = None;
        loop {
            match cells.next_cell() {
                Ok(Some(cell)) => {
                    if matches!(cell.get_value(), calamine::DataRef::Empty) {
                        continue;
                    }
                    let (r, c) = cell.get_position();
                    bounds = Some(match bounds {
                        None => ((r, c), (r, c)),
                        Some(((r0, c0), (r1, c1))) => {
                            ((r0.min(r), c0.min(c)), (r1.max(r), c1.max(c)))
                        }
                    });
                }
                Ok(None) => break,
                Err(_) => return Ok(()),
            }
        }
        let Some(((r0, c0), (r1, c1))) = bounds else {
            return Ok(());
        };
        let rows = u64::from(r1 - r0) + 1;
        let cols = u64::from(c1 - c0) + 1;
        if rows.saturating_mul(cols) > max_cells {
            return Err(format!(
                "sheet '{name}': its used range {}{}:{}{} is {rows} rows × {cols} columns, over \
                 the limit of {max_cells} cells (PATRON_ETL_MAX_SHEET_CELLS); a stray value far \
                 from the data? Delete it (or copy the data to a new sheet) and save again",
                column_label(c0),
                r0 + 1,
                column_label(c1),
                r1 + 1
            ));
        }
        Ok(())
    }
}

/// Opens the workbook with reader `R`, picks the sheet, measures it and loads its cached values.
fn load<R>(
    path: &Path,
    format: InputFormat,
    opts: &ReadOptions,
) -> Result<(String, Range<Data>, CellSet), ReadError>
where
    R: Reader<BufReader<File>> + Measured,
    R::Error: std::fmt::Display,
{
    let invalid = |reason: String| ReadError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(|source| ReadError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let mut workbook = R::new(BufReader::new(file)).map_err(|e| {
        invalid(format!(
            "not a readable {} workbook (corrupt or truncated?): {e}",
            format_name(format)
        ))
    })?;
    let sheet = choose_sheet(&workbook, opts.sheet.as_deref()).map_err(invalid)?;
    workbook
        .check_used_range(&sheet, super::limits::max_sheet_cells())
        .map_err(invalid)?;
    let range = workbook
        .worksheet_range(&sheet)
        .map_err(|e| invalid(format!("cannot read sheet '{sheet}': {e}")))?;
    let uncached = uncached_formulas(&mut workbook, &sheet, &range);
    Ok((sheet, range, uncached))
}

/// Absolute (row, column) positions of cells.
type CellSet = HashSet<(u32, u32)>;

/// Formula cells of `sheet` with no saved value in the file (calamine reads those as empty).
/// A workbook whose formulas cannot be read has none to report: its values are all there is.
fn uncached_formulas<R>(workbook: &mut R, sheet: &str, values: &Range<Data>) -> CellSet
where
    R: Reader<BufReader<File>>,
{
    let Ok(formulas) = workbook.worksheet_formula(sheet) else {
        return HashSet::new();
    };
    formulas
        .used_cells()
        .filter(|(_, _, f)| !f.trim().is_empty())
        .filter_map(|(r, c, _)| {
            let start = formulas.start()?;
            let abs = (start.0 + r as u32, start.1 + c as u32);
            matches!(values.get_value(abs), None | Some(Data::Empty)).then_some(abs)
        })
        .collect()
}

/// Significant digits a spreadsheet number holds exactly (IEEE 754 double, as Excel documents:
/// "Number precision: 15 digits", support.microsoft.com "Excel specifications and limits").
const EXACT_DIGITS: usize = 15;

/// The text of a whole number with more than [`EXACT_DIGITS`] significant digits
/// (`12345678901234567` is stored as `12345678901234568`): it cannot be read exactly.
fn inexact_number(data: &Data) -> Option<String> {
    let Data::Float(f) = data else { return None };
    if !f.is_finite() || f.fract() != 0.0 || f.abs() < 1e15 {
        return None;
    }
    let text = format!("{f}");
    let digits = text.trim_start_matches('-').trim_end_matches('0').len();
    (digits > EXACT_DIGITS).then_some(text)
}

/// Resolves the requested sheet: exact name, then case-insensitive name, then 1-based index;
/// the first worksheet when none is requested.
fn choose_sheet<R: Reader<BufReader<File>>>(
    workbook: &R,
    wanted: Option<&str>,
) -> Result<String, String> {
    let names = workbook.sheet_names();
    let Some(wanted) = wanted.map(str::trim) else {
        return workbook
            .sheets_metadata()
            .iter()
            .find(|s| s.typ == SheetType::WorkSheet)
            .map(|s| s.name.clone())
            .or_else(|| names.first().cloned())
            .ok_or_else(|| "the workbook has no sheets".to_string());
    };
    if let Some(n) = names.iter().find(|n| n.as_str() == wanted) {
        return Ok(n.clone());
    }
    if let Some(n) = names.iter().find(|n| n.eq_ignore_ascii_case(wanted)) {
        return Ok(n.clone());
    }
    if let Ok(i) = wanted.parse::<usize>() {
        if let Some(n) = i.checked_sub(1).and_then(|i| names.get(i)) {
            return Ok(n.clone());
        }
    }
    let available: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    Err(format!(
        "sheet '{wanted}' not found; available sheets: {}",
        available.join(", ")
    ))
}

fn row_is_blank(range: &Range<Data>, r: usize, width: usize) -> bool {
    (0..width).all(|c| match range.get((r, c)) {
        None | Some(Data::Empty) => true,
        Some(Data::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    })
}

/// Excel column letters for a 0-based column index (0 → `A`, 27 → `AB`).
pub fn column_label(col: u32) -> String {
    let mut n = col as u64 + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// The text of one cell (error cells give their code, e.g. `#N/A`).
pub fn cell_text(data: &Data) -> String {
    match data {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => datetime_text(dt),
        Data::Error(e) => e.to_string(),
    }
}

/// Whole numbers without `.0` (`2.0` → `2`), others in shortest round-trip form.
pub fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// ISO text for an Excel date/time serial: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS`, or `HH:MM:SS`
/// for a time of day alone; durations as `H:MM:SS`.
pub fn datetime_text(dt: &ExcelDateTime) -> String {
    let value = dt.as_f64();
    if dt.is_duration() {
        let total = (value * 86_400.0).round() as i64;
        let sign = if total < 0 { "-" } else { "" };
        let t = total.abs();
        return format!("{sign}{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
    }
    let (y, mo, d, h, mi, s, _ms) = dt.to_ymd_hms_milli();
    if (0.0..1.0).contains(&value) && value > 0.0 {
        return format!("{h:02}:{mi:02}:{s:02}");
    }
    if h == 0 && mi == 0 && s == 0 {
        format!("{y:04}-{mo:02}-{d:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{CellErrorType, ExcelDateTimeType};

    fn date(v: f64, is_1904: bool) -> Data {
        Data::DateTime(ExcelDateTime::new(v, ExcelDateTimeType::DateTime, is_1904))
    }

    #[test]
    fn number_and_bool_text() {
        assert_eq!(float_text(2.0), "2");
        assert_eq!(float_text(21000012345.0), "21000012345");
        assert_eq!(float_text(-0.0), "0");
        assert_eq!(float_text(12.5), "12.5");
        assert_eq!(float_text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(cell_text(&Data::Bool(true)), "true");
        assert_eq!(cell_text(&Data::Int(-7)), "-7");
    }

    #[test]
    fn dates_in_both_epochs() {
        // 45366 = 2024-03-15 in the 1900 system; the 1904 system is 1462 days behind.
        assert_eq!(cell_text(&date(45366.0, false)), "2024-03-15");
        assert_eq!(cell_text(&date(45366.0 - 1462.0, true)), "2024-03-15");
        assert_eq!(cell_text(&date(45366.75, false)), "2024-03-15T18:00:00");
        assert_eq!(cell_text(&date(0.5, false)), "12:00:00");
        let dur = Data::DateTime(ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false));
        assert_eq!(cell_text(&dur), "36:00:00");
    }

    #[test]
    fn column_labels() {
        assert_eq!(column_label(0), "A");
        assert_eq!(column_label(25), "Z");
        assert_eq!(column_label(26), "AA");
        assert_eq!(column_label(27), "AB");
        assert_eq!(column_label(701), "ZZ");
        assert_eq!(column_label(702), "AAA");
    }

    fn range(rows: &[&[Data]], start: (u32, u32)) -> Range<Data> {
        let width = rows.iter().map(|r| r.len()).max().unwrap_or(0) as u32;
        let end = (start.0 + rows.len() as u32 - 1, start.1 + width - 1);
        let mut range = Range::new(start, end);
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                range.set_value((start.0 + r as u32, start.1 + c as u32), v.clone());
            }
        }
        range
    }

    fn s(v: &str) -> Data {
        Data::String(v.to_string())
    }

    #[test]
    fn rows_errors_padding_and_overflow() {
        let rng = range(
            &[
                &[s(" ID "), s("Name"), Data::Empty],
                &[Data::Float(7.0), s("Ann"), Data::Empty],
                &[Data::Empty, Data::Empty, Data::Empty],
                &[Data::Int(8), Data::Empty, Data::Empty],
                &[Data::Int(9), Data::Error(CellErrorType::NA), Data::Empty],
                &[Data::Int(10), s("Bo"), s("extra")],
            ],
            (1, 1),
        );
        let rdr = SheetReader::from_range(
            Path::new("t.xlsx"),
            InputFormat::Xlsx,
            "S".into(),
            rng,
            None,
        );
        let rdr = match rdr {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(rdr.headers(), ["ID", "Name"]);
        let recs: Vec<Record> = rdr.filter_map(Result::ok).collect();
        assert_eq!(recs.len(), 4);
        match &recs[0] {
            Record::Row(r) => {
                assert_eq!(r.line, 3);
                assert_eq!(r.cells, ["7", "Ann"]);
                assert_eq!(r.sheet.as_deref(), Some("S"));
            }
            other => panic!("{other:?}"),
        }
        match &recs[1] {
            Record::Row(r) => {
                assert_eq!((r.line, r.cells.clone()), (5, vec!["8".into(), "".into()]))
            }
            other => panic!("{other:?}"),
        }
        match &recs[2] {
            Record::Bad(b) => {
                assert_eq!(b.line, 6);
                assert_eq!(b.reason, "column 'Name' (C) holds the error #N/A");
            }
            other => panic!("{other:?}"),
        }
        match &recs[3] {
            Record::Bad(b) => {
                assert_eq!(b.line, 7);
                assert!(b.reason.contains("cell D7"), "{}", b.reason);
                assert_eq!(b.cells, ["10", "Bo"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn header_problems() {
        let dup = range(
            &[&[s("A"), s("B"), s("A")], &[s("1"), s("2"), s("3")]],
            (0, 0),
        );
        let err = SheetReader::from_range(
            Path::new("t.xlsx"),
            InputFormat::Xlsx,
            "S".into(),
            dup,
            None,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("header column 3 (C) 'A' duplicates column 1 (A)"),
            "{err}"
        );

        let gap = range(&[&[s("A"), Data::Empty, s("C")]], (0, 0));
        let err = SheetReader::from_range(
            Path::new("t.xlsx"),
            InputFormat::Xlsx,
            "S".into(),
            gap,
            None,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("header column 2 (B) has an empty name"),
            "{err}"
        );

        let rng = range(&[&[s("A")]], (0, 0));
        let err = SheetReader::from_range(
            Path::new("t.xlsx"),
            InputFormat::Xlsx,
            "S".into(),
            rng,
            Some(4),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("header row 4 is empty"), "{err}");
    }
}
