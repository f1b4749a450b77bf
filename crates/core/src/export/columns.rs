//! The column layout of an export: which columns, in which order, and how each cell's text is
//! taken out of a system record.
//!
//! The default layout is one column per field of the system's catalogue, named by the field
//! (`username`, `personal.lastName`, `personal.addresses.Home.city`), so the file reads back
//! through a mapping whose columns are those names (`mappings/folio-reimport.toml`). FOLIO ids of
//! reference data are written as names (patron groups, departments, address types); dates as
//! `YYYY-MM-DD` (or a full UTC timestamp when the time of day is not midnight); lists joined
//! with `; `, a `;` or `\\` inside an item escaped with `\\` so the import splits it back exactly. An export mapping ([`Layout::from_mapping`]) instead writes the mapping's own
//! columns, its `map` and `date` applied in reverse.
//!
//! Invariant: the header is fixed before the first record, so CSV and JSONL stream.

use crate::mapping::{ExportColumn, Mapping};
use crate::systems::folio::refdata::RefData;
use crate::systems::schema::{self, FieldKind, FOLIO_ADDRESS_PARTS};
use crate::systems::System;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

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

/// The columns of one export, and the reference data to turn FOLIO ids into names.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The system the records come from.
    pub system: System,
    /// Columns in output order.
    pub columns: Vec<Column>,
    names: RefData,
}

/// Server-managed or deprecated FOLIO properties that an export leaves out on purpose.
const FOLIO_SERVER_MANAGED: &[&str] =
    &["metadata", "createdDate", "updatedDate", "meta", "proxyFor"];

impl Layout {
    /// The default layout of `system`: every catalogue field (FOLIO: `id` first, then one
    /// group of address columns per address type known to the server).
    pub fn default_for(system: System, names: RefData) -> Layout {
        let mut columns = Vec::new();
        match system {
            System::Folio => {
                columns.push(Column::plain(system, "id"));
                for f in schema::field_names(system) {
                    if f != "id" {
                        columns.push(Column::plain(system, &f));
                    }
                }
                for ty in names.address_types.names() {
                    for part in FOLIO_ADDRESS_PARTS {
                        columns.push(Column::plain(
                            system,
                            &format!("personal.addresses.{ty}.{part}"),
                        ));
                    }
                }
                // The addresses' order (type names), so a restore keeps it.
                columns.push(Column::plain(system, schema::FOLIO_ADDRESS_ORDER));
            }
            System::Illiad | System::Libib => {
                for f in schema::field_names(system) {
                    columns.push(Column::plain(system, &f));
                }
            }
        }
        Layout {
            system,
            columns,
            names,
        }
    }

    /// The layout an export mapping chooses: the mapping's columns ([`Mapping::export_columns`]).
    pub fn from_mapping(mapping: &Mapping, names: RefData) -> Layout {
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
            names,
        }
    }

    /// The reference data the layout names ids with.
    pub fn names(&self) -> &RefData {
        &self.names
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
        let items = match self.extract(&c.field, record) {
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

    /// The value(s) of `field` in `record` as texts, FOLIO ids turned into names.
    fn extract(&self, field: &str, record: &Value) -> Option<Vec<String>> {
        match self.system {
            System::Folio => self.extract_folio(field, record),
            System::Libib => texts(record.get(field)?),
            System::Illiad => {
                let obj = record.as_object()?;
                let (_, v) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(field))?;
                texts(v)
            }
        }
    }

    fn extract_folio(&self, field: &str, record: &Value) -> Option<Vec<String>> {
        let names = &self.names;
        if let Some((ty, part)) = schema::folio_address_field(field) {
            let type_id = names.address_types.id(ty)?;
            let addr = record
                .pointer("/personal/addresses")?
                .as_array()?
                .iter()
                .find(|a| a.get("addressTypeId").and_then(Value::as_str) == Some(type_id))?;
            return texts(addr.get(part)?);
        }
        match field {
            schema::FOLIO_ADDRESS_ORDER => Some(
                record
                    .pointer("/personal/addresses")?
                    .as_array()?
                    .iter()
                    .filter_map(|a| a.get("addressTypeId").and_then(Value::as_str))
                    .map(|id| names.address_types.name(id).unwrap_or(id).to_string())
                    .collect(),
            ),
            "patronGroup" => {
                let id = record.get("patronGroup")?.as_str()?;
                Some(vec![names.groups.name(id).unwrap_or(id).to_string()])
            }
            "departments" => Some(
                record
                    .get("departments")?
                    .as_array()?
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|id| names.departments.name(id).unwrap_or(id).to_string())
                    .collect(),
            ),
            "tags" => texts(record.pointer("/tags/tagList")?),
            _ => {
                let mut v = record;
                for part in field.split('.') {
                    v = v.get(part)?;
                }
                texts(v)
            }
        }
    }

    /// Non-empty fields of `record` that this layout leaves out (FOLIO: dotted paths, address
    /// fields by type name; server-managed properties are not counted).
    pub fn uncovered(&self, record: &Value) -> Vec<String> {
        let covered: BTreeSet<&str> = self.columns.iter().map(|c| c.field.as_str()).collect();
        let mut leaves = Vec::new();
        match self.system {
            System::Folio => self.folio_leaves(record, &mut leaves),
            System::Illiad | System::Libib => {
                if let Some(o) = record.as_object() {
                    for (k, v) in o {
                        // Set by ILLiad itself.
                        if !is_empty(v) && !k.eq_ignore_ascii_case("LastChangedDate") {
                            leaves.push(k.clone());
                        }
                    }
                }
            }
        }
        leaves
            .into_iter()
            .filter(|l| {
                if self.system == System::Illiad {
                    !covered.iter().any(|c| c.eq_ignore_ascii_case(l))
                } else {
                    !covered.contains(l.as_str())
                }
            })
            .collect()
    }

    fn folio_leaves(&self, record: &Value, out: &mut Vec<String>) {
        let Some(o) = record.as_object() else { return };
        for (k, v) in o {
            if FOLIO_SERVER_MANAGED.contains(&k.as_str()) || is_empty(v) {
                continue;
            }
            match (k.as_str(), v) {
                ("personal", Value::Object(p)) => {
                    for (pk, pv) in p {
                        if is_empty(pv) {
                            continue;
                        }
                        if pk == "addresses" {
                            for a in pv.as_array().into_iter().flatten() {
                                let ty =
                                    a.get("addressTypeId").and_then(Value::as_str).unwrap_or("");
                                let ty = self.names.address_types.name(ty).unwrap_or(ty);
                                for (ak, av) in a.as_object().into_iter().flatten() {
                                    if ak != "addressTypeId" && !is_empty(av) {
                                        out.push(format!("personal.addresses.{ty}.{ak}"));
                                    }
                                }
                            }
                        } else {
                            out.push(format!("personal.{pk}"));
                        }
                    }
                }
                ("customFields", Value::Object(cf)) => {
                    for (ck, cv) in cf {
                        if !is_empty(cv) {
                            out.push(format!("customFields.{ck}"));
                        }
                    }
                }
                _ => out.push(k.clone()),
            }
        }
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
        _ => false,
    }
}

/// A JSON value as cell texts: scalars give one, arrays one per item; null gives none.
fn texts(v: &Value) -> Option<Vec<String>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::systems::folio::refdata::Names;
    use serde_json::json;

    fn names() -> RefData {
        RefData {
            groups: Names::new([("staff".to_string(), "g1".to_string())]),
            address_types: Names::new([
                ("Home".to_string(), "a1".to_string()),
                ("Work".to_string(), "a2".to_string()),
            ]),
            departments: Names::new([
                ("ACC".to_string(), "d1".to_string()),
                ("Accounting".to_string(), "d1".to_string()),
            ]),
        }
    }

    #[test]
    fn folio_default_row_uses_names_and_types() {
        let l = Layout::default_for(System::Folio, names());
        let h = l.header();
        assert_eq!(h[0], "id");
        assert!(h.contains(&"personal.addresses.Work.city".to_string()));
        let rec = json!({"id": "u1", "barcode": "000123", "patronGroup": "g1",
            "departments": ["d1"], "active": true, "tags": {"tagList": ["a", "b"]},
            "expirationDate": "2027-06-30T00:00:00.000+00:00",
            "enrollmentDate": "2020-10-07T04:00:00.000+00:00",
            "personal": {"lastName": "Doe", "addresses": [{"addressTypeId": "a2", "city": "X", "primaryAddress": true}]},
            "metadata": {"createdDate": "x"}, "customFields": {"level": "opt_1"}});
        let row = l.row(&rec);
        let cell = |name: &str| row[h.iter().position(|x| x == name).unwrap()].clone();
        assert_eq!(cell("barcode"), "000123");
        assert_eq!(cell("patronGroup"), "staff");
        assert_eq!(cell("departments"), "Accounting");
        assert_eq!(cell("active"), "true");
        assert_eq!(cell("tags"), "a; b");
        assert_eq!(cell("expirationDate"), "2027-06-30");
        assert_eq!(cell("enrollmentDate"), "2020-10-07T04:00:00.000+00:00");
        assert_eq!(cell("personal.addresses.Work.city"), "X");
        assert_eq!(cell("personal.addresses.Work.primaryAddress"), "true");
        assert_eq!(cell("personal.addresses.Home.city"), "");
        assert_eq!(
            l.kinds()[h.iter().position(|x| x == "barcode").unwrap()],
            ColumnKind::Id
        );
        assert_eq!(l.uncovered(&rec), vec!["customFields.level".to_string()]);
    }

    #[test]
    fn export_mapping_reverses_map_date_and_template() {
        let m = Mapping::parse(
            std::path::Path::new("m.toml"),
            r#"system = "folio"
match = "externalSystemId"
[fields]
externalSystemId = "Student ID"
username = { template = "{NetID}@x", transform = ["lower"] }
patronGroup = { column = "Class", map = { UG = "undergrad", STAFF = "staff" } }
expirationDate = { column = "Expires", date = "%m/%d/%Y" }
"personal.lastName" = "Last Name"
active = { value = true }
"#,
        )
        .unwrap();
        let l = Layout::from_mapping(&m, names());
        assert_eq!(
            l.header(),
            ["Student ID", "NetID", "Class", "Expires", "Last Name"]
        );
        let rec = json!({"externalSystemId": "S1", "username": "jd@x", "patronGroup": "g1",
            "expirationDate": "2027-06-30T00:00:00.000+00:00", "personal": {"lastName": "Doe"}});
        assert_eq!(l.row(&rec), ["S1", "jd", "STAFF", "06/30/2027", "Doe"]);
    }
}
