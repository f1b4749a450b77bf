//! Writes an N-row synthetic patron roster CSV to stdout, for memory and speed benchmarks.
//!
//! Usage: `cargo run --release --example gen_roster -- 1000000 > big.csv`, or
//! `cargo run --release --example gen_roster -- 100000 big.xlsx` for the same rows as XLSX.
//!
//! Columns: `Student ID,Last Name,First Name,Email,Class,Expires,Card`. Output is deterministic
//! (same N, same bytes) and includes accented names and quoted fields holding commas.

use std::io::BufWriter;

const LAST: [&str; 12] = [
    "Smith",
    "García",
    "Nguyen",
    "Müller",
    "O'Brien",
    "Kowalski",
    "Dupré",
    "Okafor",
    "Smith, Jr.",
    "Ångström",
    "Chen",
    "Patel",
];
const FIRST: [&str; 10] = [
    "Ann", "Zoë", "José", "Li", "Renée", "Omar", "Sean", "Ingrid", "Kofi", "Mia",
];
const CLASS: [&str; 4] = ["Undergraduate", "Graduate", "Faculty", "Staff"];

fn main() -> std::io::Result<()> {
    let n: u64 = match std::env::args().nth(1) {
        None => 1000,
        Some(arg) => match arg.parse() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("usage: gen_roster [ROWS]  (ROWS must be a whole number, got '{arg}')");
                std::process::exit(2);
            }
        },
    };
    let header = [
        "Student ID",
        "Last Name",
        "First Name",
        "Email",
        "Class",
        "Expires",
        "Card",
    ];
    match std::env::args().nth(2) {
        Some(xlsx) => write_xlsx(n, &header, &xlsx),
        None => {
            let stdout = std::io::stdout();
            let mut out =
                csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, stdout.lock()));
            out.write_record(header)?;
            for_each_row(n, |row| out.write_record(row).map_err(std::io::Error::from))?;
            out.flush()
        }
    }
}

/// Writes the same rows to an XLSX file (constant-memory mode), Expires as a real date cell.
fn write_xlsx(n: u64, header: &[&str], path: &str) -> std::io::Result<()> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| std::io::Error::other(e.to_string());
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let ws = wb.add_worksheet_with_constant_memory().map_err(err)?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).map_err(err)?;
    }
    let mut r: u32 = 0;
    for_each_row(n, |row| {
        r += 1;
        for (c, v) in row.iter().enumerate() {
            if c == 5 {
                let d = ExcelDateTime::parse_from_str(v).map_err(err)?;
                ws.write_datetime_with_format(r, c as u16, &d, &date)
                    .map_err(err)?;
            } else {
                ws.write_string(r, c as u16, *v).map_err(err)?;
            }
        }
        Ok(())
    })?;
    wb.save(path).map_err(err)
}

/// Calls `f` with each of the `n` deterministic rows.
fn for_each_row(
    n: u64,
    mut f: impl FnMut([&str; 7]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // A small linear congruential generator keeps the output deterministic without deps.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for i in 0..n {
        let last = LAST[next() % LAST.len()];
        let first = FIRST[next() % FIRST.len()];
        let id = format!("S{:08}", 10_000_000 + i);
        let email = format!("{}.{}{}@example.edu", first_ascii(first), i, next() % 10);
        let class = CLASS[next() % CLASS.len()];
        let expires = format!(
            "20{:02}-{:02}-{:02}",
            25 + next() % 4,
            1 + next() % 12,
            1 + next() % 28
        );
        let card = format!("21000{:09}", i);
        f([
            id.as_str(),
            last,
            first,
            email.as_str(),
            class,
            expires.as_str(),
            card.as_str(),
        ])?;
    }
    Ok(())
}

/// A lowercase ASCII form of a first name for the email address.
fn first_ascii(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'ë' | 'é' => 'e',
            'ó' => 'o',
            _ => c,
        })
        .filter(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_lowercase()
}
