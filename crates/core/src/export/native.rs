//! The native backup: JSON Lines holding each system's own patron records exactly as its API
//! returned them — FOLIO user JSON (custom fields included, under `customFields`), Libib patron
//! JSON, ILLiad user JSON — after one header line saying where and when they came from.
//!
//! Invariants: the file is written a record at a time (constant memory); secrets
//! ([`secret_fields`]) are removed before a record is written and counted; nothing else is
//! changed (no flattening, no names for ids); the header is the first line, and every later line
//! is one record object. [`read`] is the other half, for `restore`.

use crate::exit::UsageError;
use crate::systems::System;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The backup format's version, in the header; [`read`] refuses a newer one.
pub const FORMAT_VERSION: u64 = 1;

/// The header line (the first line of a native backup).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BackupHeader {
    /// Always [`FORMAT_VERSION`] when written by this version.
    pub patron_etl_backup: u64,
    /// `folio`, `libib` or `illiad`.
    pub system: String,
    /// The target the records were read from.
    pub source: String,
    /// When the export started (RFC 3339, UTC).
    pub exported_at: String,
    /// The patron-etl version that wrote the file.
    pub tool_version: String,
}

/// Fields of a system's record that hold secrets and are never exported (the system's
/// [`ReadSide::secret_fields`], where each carries its source).
///
/// [`ReadSide::secret_fields`]: crate::systems::connector::ReadSide::secret_fields
pub fn secret_fields(system: System) -> &'static [&'static str] {
    crate::systems::registry::connector(system)
        .reads()
        .secret_fields()
}

/// Fields the server sets itself: a backup keeps them (it is the record as returned) but
/// `restore` neither compares nor sends them (the system's [`ReadSide::server_set`]).
///
/// [`ReadSide::server_set`]: crate::systems::connector::ReadSide::server_set
pub fn server_set(system: System) -> &'static [&'static str] {
    crate::systems::registry::connector(system)
        .reads()
        .server_set()
}

/// Removes the secret fields (case-insensitively: ILLiad's JSON binding ignores case) from a
/// record; returns how many were present.
pub fn scrub(system: System, record: &mut Value) -> u64 {
    let Some(obj) = record.as_object_mut() else {
        return 0;
    };
    let secrets = secret_fields(system);
    let before = obj.len();
    obj.retain(|k, _| !secrets.iter().any(|s| s.eq_ignore_ascii_case(k)));
    (before - obj.len()) as u64
}

/// The record without its server-set fields (what `restore` compares and sends).
pub fn without_server_set(system: System, record: &Value) -> Value {
    let mut r = record.clone();
    if let Some(obj) = r.as_object_mut() {
        for f in server_set(system) {
            obj.remove(*f);
        }
    }
    r
}

/// Writes a native backup a record at a time.
pub struct NativeWriter {
    path: PathBuf,
    out: BufWriter<std::fs::File>,
    system: System,
    /// Secret fields removed so far.
    pub secrets_dropped: u64,
}

impl NativeWriter {
    /// Creates `path` (owner-only) and writes the header line.
    pub fn create(path: &Path, header: &BackupHeader) -> anyhow::Result<NativeWriter> {
        let system = System::parse(&header.system)
            .ok_or_else(|| UsageError(format!("unknown system {}", header.system)))?;
        let f = crate::report::create_private(path)?;
        let mut w = NativeWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(f),
            system,
            secrets_dropped: 0,
        };
        w.line(&serde_json::to_value(header)?)?;
        Ok(w)
    }

    fn line(&mut self, v: &Value) -> anyhow::Result<()> {
        let res = serde_json::to_writer(&mut self.out, v)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        res.map_err(|e| anyhow::anyhow!("{}: cannot write the backup: {e}", self.path.display()))
    }

    /// Writes one record (its secrets removed first).
    pub fn write(&mut self, mut record: Value) -> anyhow::Result<()> {
        self.secrets_dropped += scrub(self.system, &mut record);
        self.line(&record)
    }

    /// Flushes the file.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.out
            .flush()
            .map_err(|e| anyhow::anyhow!("{}: cannot write the backup: {e}", self.path.display()))
    }
}

/// A native backup being read: its header, then records one line at a time.
pub struct BackupReader {
    path: PathBuf,
    lines: std::io::Lines<std::io::BufReader<std::fs::File>>,
    line: u64,
    /// The header line.
    pub header: BackupHeader,
    /// The system of the records.
    pub system: System,
}

/// Opens a native backup and reads its header. A file that is not one (no header, a CSV, a
/// columns JSONL export) is a usage error naming the file and line.
pub fn read(path: &Path) -> Result<BackupReader, UsageError> {
    let f = std::fs::File::open(path)
        .map_err(|e| UsageError(format!("{}: cannot read: {e}", path.display())))?;
    let mut lines = std::io::BufReader::new(f).lines();
    let not_backup = |why: String| {
        UsageError(format!(
            "{}: not a patron-etl native backup ({why}); make one with `patron-etl export \
             --out FILE.jsonl`",
            path.display()
        ))
    };
    let first = match lines.next() {
        Some(Ok(l)) => l,
        Some(Err(e)) => return Err(not_backup(format!("line 1: {e}"))),
        None => return Err(not_backup("the file is empty".into())),
    };
    let header: BackupHeader = serde_json::from_str(first.trim_start_matches('\u{feff}'))
        .map_err(|e| not_backup(format!("line 1 is not its header: {e}")))?;
    if header.patron_etl_backup > FORMAT_VERSION {
        return Err(not_backup(format!(
            "format {} is newer than this version reads ({FORMAT_VERSION})",
            header.patron_etl_backup
        )));
    }
    let system = System::parse(&header.system)
        .ok_or_else(|| not_backup(format!("line 1: unknown system {:?}", header.system)))?;
    Ok(BackupReader {
        path: path.to_path_buf(),
        lines,
        line: 1,
        header,
        system,
    })
}

impl BackupReader {
    /// The next record and its line number; `None` at the end. Blank lines are skipped; a line
    /// that is not a JSON object is an error naming the line.
    pub fn next_record(&mut self) -> Option<Result<(u64, Value), UsageError>> {
        loop {
            let l = self.lines.next()?;
            self.line += 1;
            let l = match l {
                Ok(l) => l,
                Err(e) => {
                    return Some(Err(UsageError(format!(
                        "{} line {}: cannot read: {e}",
                        self.path.display(),
                        self.line
                    ))))
                }
            };
            if l.trim().is_empty() {
                continue;
            }
            return Some(match serde_json::from_str::<Value>(&l) {
                Ok(v @ Value::Object(_)) => Ok((self.line, v)),
                Ok(_) => Err(UsageError(format!(
                    "{} line {}: not a record (expected a JSON object)",
                    self.path.display(),
                    self.line
                ))),
                Err(e) => Err(UsageError(format!(
                    "{} line {}: not JSON: {e}",
                    self.path.display(),
                    self.line
                ))),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn illiad_passwords_are_dropped_whatever_their_case() {
        let mut u = json!({"UserName": "a", "Password": "x", "passwordhint": "y", "Phone": "1"});
        assert_eq!(scrub(System::Illiad, &mut u), 2);
        assert_eq!(u, json!({"UserName": "a", "Phone": "1"}));
    }

    proptest! {
        /// A record survives a write and a read exactly (any Unicode), its secrets aside.
        #[test]
        fn records_round_trip(name in "\\PC*", note in "\\PC*", n in any::<i64>()) {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("b.jsonl");
            let h = BackupHeader {
                patron_etl_backup: FORMAT_VERSION,
                system: "illiad".into(),
                source: "s".into(),
                exported_at: "2026-12-01T00:00:00Z".into(),
                tool_version: "0".into(),
            };
            let rec = json!({"UserName": name, "Notes": {"x": [note, n]}, "Password": "p"});
            let mut w = NativeWriter::create(&p, &h).unwrap();
            w.write(rec.clone()).unwrap();
            prop_assert_eq!(w.secrets_dropped, 1);
            w.finish().unwrap();
            let mut r = read(&p).unwrap();
            prop_assert_eq!(&r.header, &h);
            let (_, back) = r.next_record().unwrap().unwrap();
            let mut want = rec;
            want.as_object_mut().unwrap().remove("Password");
            prop_assert_eq!(back, want);
            prop_assert!(r.next_record().is_none());
        }
    }
}
