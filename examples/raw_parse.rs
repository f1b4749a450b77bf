//! Baseline for the offline benchmark: a plain csv-crate parse of a file (every record read into a
//! `StringRecord`, so UTF-8 is checked as `check` does), printing the row count.
//!
//! Usage: `cargo run --release --example raw_parse -- big.csv`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: raw_parse FILE.csv")?;
    let mut reader = csv::Reader::from_path(&path)?;
    let mut record = csv::StringRecord::new();
    let mut rows: u64 = 0;
    let mut bytes: u64 = 0;
    while reader.read_record(&mut record)? {
        rows += 1;
        bytes += record.as_slice().len() as u64;
    }
    println!("{rows} rows ({bytes} bytes of fields)");
    Ok(())
}
