//! The column layout of an export: which columns, in which order, and how each cell's text is
//! taken out of a system record.
//!
//! The default layout is one column per field of the system's catalogue, named by the field
//! (`username`, `personal.lastName`, `personal.addresses.Home.city`), so the file reads back
//! through a mapping whose columns are those names (`mappings/folio-reimport.toml`). Which fields
//! and how a record's value is found are the system's ([`RecordFields`], from its connector: FOLIO
//! writes ids of reference data as names — patron groups, departments, address types); dates as
//! `YYYY-MM-DD` (or a full UTC timestamp when the time of day is not midnight); lists joined
//! with `; `, a `;` or `\\` inside an item escaped with `\\` so the import splits it back exactly. An export mapping ([`Layout::from_mapping`]) instead writes the mapping's own
//! columns, its `map` and `date` applied in reverse.
//!
//! Invariant: the header is fixed before the first record, so CSV and JSONL stream.

use crate::mapping::{ExportColumn, Mapping};
use crate::systems::connector::RecordFields;
use crate::systems::schema::{self, FieldKind};
use crate::systems::System;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How a sink should write a column's cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Free text.
    Text,
    /// An identifier or barcode: always text (leading zeros kept).
    Id,
    /// A date (`YYYY-MM-DD`, or an ISO timestamp).
    Date,
    /// true / false.
    Bool,
}

/// One export column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Header text.
    pub name: String,
    /// The system field that fills it.
    pub field: String,
    /// How sinks write it.
    pub kind: ColumnKind,
    /// (column value, system value) pairs from a mapping's `map`, applied in reverse.
    map_back: Vec<(String, String)>,
    /// strftime format for dates (export mappings); ISO when `None`.
    date_format: Option<String>,
    /// List separator.
    join: String,
    /// The field is a list: items are joined with [`crate::text::join_list`].
    list: bool,
    /// Literal text around the value in a one-column template.
    prefix: String,
    suffix: String,
}

impl Column {
    fn plain(system: System, field: &str) -> Column {
        Column {
            name: field.to_string(),
            field: field.to_string(),
            kind: kind_of(system, field),
            map_back: Vec::new(),
            date_format: None,
            join: "; ".into(),
            list: is_list(system, field),
            prefix: String::new(),
            suffix: String::new(),
        }
    }
}

fn is_list(system: System, field: &str) -> bool {
    schema::lookup_field(system, field).is_some_and(|s| s.kind == FieldKind::List)
}

fn kind_of(system: System, field: &str) -> ColumnKind {
    match schema::lookup_field(system, field) {
        Some(s) if s.id_like => ColumnKind::Id,
        Some(s) => match s.kind {
            FieldKind::Date => ColumnKind::Date,
            FieldKind::Bool => ColumnKind::Bool,
            _ => ColumnKind::Text,
        },
        None => ColumnKind::Text,
    }
}

/// The columns of one export, and the system's way of reading its records (FOLIO: with the
/// server's names for ids).
#[derive(Debug, Clone)]
pub struct Layout {
    /// The system the records come from.
    pub system: System,
    /// Columns in output order.
    pub columns: Vec<Column>,
    fields: Arc<dyn RecordFields>,
}

impl Layout {
    /// The default layout of `system`: every field [`RecordFields::default_fields`] lists.
    pub fn default_for(system: System, fields: Arc<dyn RecordFields>) -> Layout {
        let columns = fields
            .default_fields()
            .iter()
            .map(|f| Column::plain(system, f))
            .collect();
        Layout {
            system,
            columns,
            fields,
        }
    }

    /// The layout an export mapping chooses: the mapping's columns ([`Mapping::export_columns`]).
    pub fn from_mapping(mapping: &Mapping, fields: Arc<dyn RecordFields>) -> Layout {
        let system = mapping.system;
        let columns = mapping
            .export_columns()
            .into_iter()
            .map(|c: ExportColumn| Column {
                kind: kind_of(system, &c.field),
                list: is_list(system, &c.field) || c.split != ";",
                name: c.column,
                field: c.field,
                map_back: c.map_back,
                date_format: c.date_format,
                join: if c.split == ";" || c.split == "," {
                    format!("{} ", c.split)
                } else {
                    c.split
                },
                prefix: c.prefix,
                suffix: c.suffix,
            })
            .collect();
        Layout {
            system,
            columns,
            fields,
        }
    }

    /// How the layout reads records (what [`Layout::from_mapping`] keeps).
    pub fn fields(&self) -> &Arc<dyn RecordFields> {
        &self.fields
    }

    /// Header names, in order.
    pub fn header(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// Column kinds, parallel to [`Layout::header`].
    pub fn kinds(&self) -> Vec<ColumnKind> {
        self.columns.iter().map(|c| c.kind).collect()
    }

    /// One record as cells, parallel to the header (empty text when absent).
    pub fn row(&self, record: &Value) -> Vec<String> {
        self.columns.iter().map(|c| self.cell(c, record)).collect()
    }

    fn cell(&self, c: &Column, record: &Value) -> String {
        let items = match self.fields.extract(&c.field, record) {
            Some(items) if !items.is_empty() => items,
            _ => return String::new(),
        };
        let items: Vec<String> = items
            .into_iter()
            .map(|v| {
                let v = match c.kind {
                    ColumnKind::Date => date_text(&v, c.date_format.as_deref()),
                    _ => v,
                };
                match c.map_back.iter().find(|(_, sys)| *sys == v) {
                    Some((col, _)) => col.clone(),
                    None => v,
                }
            })
            .collect();
        let text = match c.join.chars().next() {
            Some(sep) if c.list => crate::text::join_list(&items, sep, &c.join),
            _ => items.join(&c.join),
        };
        if c.prefix.is_empty() && c.suffix.is_empty() {
            text
        } else {
            let t = text.strip_prefix(c.prefix.as_str()).unwrap_or(&text);
            t.strip_suffix(c.suffix.as_str()).unwrap_or(t).to_string()
        }
    }

    /// Non-empty fields of `record` that this layout leaves out (FOLIO: dotted paths, address
    /// fields by type name; server-managed properties are not counted).
    pub fn uncovered(&self, record: &Value) -> Vec<String> {
        let covered: BTreeSet<_> = self
            .columns
            .iter()
            .map(|c| self.fields.field_key(&c.field))
            .collect();
        self.fields
            .leaves(record)
            .into_iter()
            .filter(|l| !covered.contains(&self.fields.field_key(l)))
            .collect()
    }
}

/// The non-empty top-level fields of a flat record, except `skip` (case-insensitively).
pub fn top_level_leaves(record: &Value, skip: &[&str]) -> Vec<String> {
    let mut leaves = Vec::new();
    if let Some(o) = record.as_object() {
        for (k, v) in o {
            if !is_empty(v) && !skip.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                leaves.push(k.clone());
            }
        }
    }
    leaves
}

/// Whether a value holds nothing (null, empty text or list, an object of empty values).
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
        _ => false,
    }
}

/// A JSON value as cell texts: scalars give one, arrays one per item; null gives none.
pub fn texts(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(vec![s.clone()]),
        Value::Bool(b) => Some(vec![b.to_string()]),
        Value::Number(n) => Some(vec![n.to_string()]),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(|x| match x {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                })
                .collect(),
        ),
        Value::Object(_) => Some(vec![v.to_string()]),
    }
}

/// A system date or date-time as export text: `YYYY-MM-DD` when it is a plain date or midnight
/// UTC, else the UTC timestamp in FOLIO's form; with `format`, the date in that format.
/// Text that is not a date is kept as it is.
pub fn date_text(v: &str, format: Option<&str>) -> String {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike, Utc};
    let s = v.trim();
    let parsed: Option<DateTime<Utc>> = DateTime::parse_from_rfc3339(s)
        .ok()
        .or_else(|| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z").ok())
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        });
    let Some(t) = parsed else {
        return v.to_string();
    };
    if let Some(f) = format {
        use std::fmt::Write;
        let mut out = String::new();
        if write!(out, "{}", t.date_naive().format(f)).is_ok() {
            return out;
        }
    }
    if t.num_seconds_from_midnight() == 0 && t.nanosecond() == 0 {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
    }
}

/// Counts of fields left out of an export, by field path.
#[derive(Debug, Default, Clone)]
pub struct Uncovered(pub BTreeMap<String, u64>);

impl Uncovered {
    /// Adds one record's left-out fields.
    pub fn add(&mut self, fields: Vec<String>) {
        for f in fields {
            *self.0.entry(f).or_default() += 1;
        }
    }
}
