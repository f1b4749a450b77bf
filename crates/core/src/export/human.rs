//! Exports a person reads (CSV and XLSX): readable headers (`--headers labels`: "Last name",
//! "Home address — city"), empty columns dropped (`--all-columns` keeps the fixed layout) and
//! rows sorted by name.
//!
//! Dropping empty columns and sorting both need every row before the header is written, so
//! rows are collected first ([`Collector`]): each row is kept as one compact JSON string (a few
//! hundred bytes) with its sort key, up to [`sort_limit`] rows (100,000 by default,
//! `PATRON_ETL_SORT_ROWS` sets it). Past the bound the rows go to a spill file next to the output
//! instead, in the system's order: empty columns are still dropped, the rows are not sorted, and
//! the summary says so. Memory stays bounded either way. Native backups never come here: they
//! stream unsorted.

use super::columns::ColumnKind;
use super::sink::{self, OutFormat, SinkError};
use crate::systems::System;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

/// What header text a human export uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headers {
    /// Field names as mapping files name them (`personal.lastName`): imports back.
    Fields,
    /// Readable labels ("Last name", "Home address — city").
    Labels,
}

/// Rows sorted in memory at most (`PATRON_ETL_SORT_ROWS`, default 100,000).
pub fn sort_limit() -> usize {
    std::env::var("PATRON_ETL_SORT_ROWS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(100_000)
}

/// The fields rows are sorted on, in order (last name, first name, then a unique key): the
/// system's [`crate::systems::connector::ReadSide::name_fields`].
fn name_fields(system: System) -> &'static [&'static str] {
    crate::systems::registry::connector(system)
        .reads()
        .name_fields()
}

/// Readable words for a field name: `preferredFirstName` → "preferred first name",
/// `first_name` → "first name", `EMailAddress` → "email address".
fn words(name: &str) -> String {
    let name = match name {
        "EMailAddress" => return "email address".into(),
        "NVTGC" => return "site (NVTGC)".into(),
        "SSN" => return "SSN".into(),
        "addressLine1" => return "line 1".into(),
        "addressLine2" => return "line 2".into(),
        "countryId" => return "country".into(),
        "region" => return "state or region".into(),
        "primaryAddress" => return "primary".into(),
        other => other,
    };
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c == '_' || *c == '.' {
            out.push(' ');
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p));
        let next = chars.get(i + 1);
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
            || c.is_uppercase()
                && prev.is_some_and(|p| p.is_uppercase())
                && next.is_some_and(|n| n.is_lowercase());
        if boundary && !out.ends_with(' ') {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out.trim().to_string()
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The readable label of a field path: `personal.lastName` → "Last name",
/// `personal.addresses.Home.city` → "Home address — city", `customFields.x` → "Custom field x".
pub fn label(field: &str) -> String {
    let parts: Vec<&str> = field.split('.').collect();
    match parts.as_slice() {
        ["personal", "addresses", ty, part] => format!("{ty} address — {}", words(part)),
        ["personal", "email"] => "Email".into(),
        ["personal", rest] => capitalised(&words(rest)),
        ["customFields", rest @ ..] => format!("Custom field {}", rest.join(".")),
        ["requestPreference", "defaultServicePointId"] => {
            "Request preference — pickup service point".into()
        }
        ["requestPreference", "defaultDeliveryAddressTypeId"] => {
            "Request preference — delivery address type".into()
        }
        ["requestPreference", rest] => format!("Request preference — {}", words(rest)),
        ["servicePointsUser", "servicePointsIds"] => "Service points".into(),
        ["servicePointsUser", "defaultServicePointId"] => "Default service point".into(),
        ["patronGroup"] => "Patron group".into(),
        ["id"] => "Id".into(),
        _ => capitalised(&words(field)),
    }
}

/// Rows waiting for their header: kept in memory (sortable) up to a bound, then spilled.
pub struct Collector {
    system: System,
    fields: Vec<String>,
    key_cols: Vec<usize>,
    rows: Vec<(String, String)>,
    non_empty: Vec<bool>,
    limit: usize,
    spill: Option<(PathBuf, BufWriter<std::fs::File>)>,
    spill_at: PathBuf,
    /// Rows collected.
    pub count: u64,
}

/// What [`Collector::finish`] did.
#[derive(Debug, Clone, Default)]
pub struct HumanStats {
    /// Columns left out because every row had them empty.
    pub dropped_columns: usize,
    /// Rows are sorted by name (false: more than the bound; in the system's order).
    pub sorted: bool,
}

impl Collector {
    /// A collector for rows under `fields` (the layout's field per column); a spill file, if
    /// needed, is `spill_at`.
    pub fn new(system: System, fields: Vec<String>, spill_at: PathBuf) -> Collector {
        let key_cols = name_fields(system)
            .iter()
            .filter_map(|f| fields.iter().position(|x| x == f))
            .collect();
        Collector {
            system,
            non_empty: vec![false; fields.len()],
            fields,
            key_cols,
            rows: Vec::new(),
            limit: sort_limit(),
            spill: None,
            spill_at,
            count: 0,
        }
    }

    /// Takes one row.
    pub fn push(&mut self, cells: &[String]) -> Result<(), SinkError> {
        for (i, c) in cells.iter().enumerate() {
            if !c.trim().is_empty() {
                if let Some(n) = self.non_empty.get_mut(i) {
                    *n = true;
                }
            }
        }
        let json = serde_json::to_string(cells).map_err(|e| SinkError {
            path: self.spill_at.clone(),
            reason: e.to_string(),
        })?;
        self.count += 1;
        if self.spill.is_none() && self.rows.len() < self.limit {
            let key = self
                .key_cols
                .iter()
                .map(|i| crate::dedupe::fold(cells.get(*i).map_or("", String::as_str)))
                .collect::<Vec<_>>()
                .join("\u{0}");
            self.rows.push((key, json));
            return Ok(());
        }
        let err = |e: std::io::Error, p: &Path| SinkError {
            path: p.to_path_buf(),
            reason: format!("cannot write the spill file: {e}"),
        };
        if self.spill.is_none() {
            let f = crate::report::create_private(&self.spill_at).map_err(|e| SinkError {
                path: self.spill_at.clone(),
                reason: e.to_string(),
            })?;
            let mut w = BufWriter::new(f);
            for (_, r) in self.rows.drain(..) {
                writeln!(w, "{r}").map_err(|e| err(e, &self.spill_at))?;
            }
            tracing::warn!(
                rows = self.limit,
                "more rows than are sorted in memory (PATRON_ETL_SORT_ROWS): writing them in the \
                 system's order"
            );
            self.spill = Some((self.spill_at.clone(), w));
        }
        if let Some((p, w)) = &mut self.spill {
            writeln!(w, "{json}").map_err(|e| err(e, p))?;
        }
        Ok(())
    }

    /// Writes the collected rows to `path`: the non-empty columns (every column with
    /// `all_columns`) under `header` (labels with [`Headers::Labels`]), sorted by name unless
    /// they were spilled.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        mut self,
        path: &Path,
        format: OutFormat,
        header: &[String],
        kinds: &[ColumnKind],
        headers: Headers,
        all_columns: bool,
        bom: bool,
    ) -> Result<HumanStats, SinkError> {
        let keep: Vec<usize> = (0..header.len())
            .filter(|i| all_columns || self.non_empty.get(*i).copied().unwrap_or(false))
            .collect();
        let names: Vec<String> = keep
            .iter()
            .map(|i| match headers {
                // A mapping's columns are already named by the person who wrote it.
                Headers::Labels if header.get(*i) == self.fields.get(*i) => label(&self.fields[*i]),
                _ => header[*i].clone(),
            })
            .collect();
        let kinds: Vec<ColumnKind> = keep.iter().map(|i| kinds[*i]).collect();
        let mut out = sink::open(path, format, &names, &kinds, bom)?;
        let project = |json: &str| -> Result<Vec<String>, SinkError> {
            let cells: Vec<String> = serde_json::from_str(json).map_err(|e| SinkError {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
            Ok(keep
                .iter()
                .map(|i| cells.get(*i).cloned().unwrap_or_default())
                .collect())
        };
        let sorted = self.spill.is_none();
        match self.spill.take() {
            None => {
                self.rows.sort();
                for (_, json) in &self.rows {
                    out.write_row(&project(json)?)?;
                }
            }
            Some((p, mut w)) => {
                let io = |e: std::io::Error| SinkError {
                    path: p.clone(),
                    reason: format!("cannot read the spill file: {e}"),
                };
                w.flush().map_err(io)?;
                drop(w);
                let f = std::fs::File::open(&p).map_err(io)?;
                for line in std::io::BufReader::new(f).lines() {
                    out.write_row(&project(&line.map_err(io)?)?)?;
                }
                let _ = std::fs::remove_file(&p);
            }
        }
        out.finish()?;
        tracing::debug!(system = %self.system, rows = self.count, "human export written");
        Ok(HumanStats {
            dropped_columns: header.len() - keep.len(),
            sorted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_like_words() {
        assert_eq!(label("personal.lastName"), "Last name");
        assert_eq!(label("personal.addresses.Home.city"), "Home address — city");
        assert_eq!(
            label("personal.addresses.Work.addressLine1"),
            "Work address — line 1"
        );
        assert_eq!(label("expirationDate"), "Expiration date");
        assert_eq!(label("first_name"), "First name");
        assert_eq!(label("EMailAddress"), "Email address");
        assert_eq!(label("UserInfo1"), "User info1");
        assert_eq!(label("personal.preferredFirstName"), "Preferred first name");
        assert_eq!(
            label("requestPreference.holdShelf"),
            "Request preference — hold shelf"
        );
        assert_eq!(
            label("requestPreference.defaultServicePointId"),
            "Request preference — pickup service point"
        );
        assert_eq!(
            label("servicePointsUser.servicePointsIds"),
            "Service points"
        );
    }

    #[test]
    fn rows_sorted_by_name_and_empty_columns_dropped_within_and_past_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let fields: Vec<String> = ["id", "personal.lastName", "personal.firstName", "barcode"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let rows = [
            ["3", "Zeta", "Ann", ""],
            ["1", "ándres", "Bo", ""],
            ["2", "Beta", "Cy", ""],
        ];
        for (limit, sorted) in [(10, true), (1, false)] {
            let mut c = Collector::new(System::Folio, fields.clone(), dir.path().join(".spill"));
            c.limit = limit;
            for r in &rows {
                c.push(&r.map(String::from)).unwrap();
            }
            let out = dir.path().join(format!("o{limit}.csv"));
            let kinds = vec![ColumnKind::Text; 4];
            let st = c
                .finish(
                    &out,
                    OutFormat::Csv,
                    &fields,
                    &kinds,
                    Headers::Labels,
                    false,
                    false,
                )
                .unwrap();
            assert_eq!(st.dropped_columns, 1);
            assert_eq!(st.sorted, sorted);
            let text = std::fs::read_to_string(&out).unwrap();
            let want = if sorted {
                "Id,Last name,First name\n1,ándres,Bo\n2,Beta,Cy\n3,Zeta,Ann\n"
            } else {
                "Id,Last name,First name\n3,Zeta,Ann\n1,ándres,Bo\n2,Beta,Cy\n"
            };
            assert_eq!(text, want);
            assert!(!dir.path().join(".spill").exists());
        }
    }
}
