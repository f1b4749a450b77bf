//! Binding a compiled mapping to an input header, and mapping one row at a time.
//!
//! Per field: raw text (column cell, template, or constant) → spreadsheet-mangled-id check →
//! `default` when blank (bypasses transforms and `map`) → transforms → `map` → blank handling
//! (`required`, match key, `on_blank = clear`) → coercion to the field's kind → insertion at the
//! field's output path. Then the system's offline validation. Invariant: `map_cells` never panics
//! and never fails; every problem is an [`Issue`] quoting the offending value.

use super::coerce::{coerce, looks_scientific};
use super::compile::{CompiledField, Part, Source};
use super::suggest::nearest;
use super::{BoundMapping, Issue, Mapped, Mapping, MappingError, OnBlank};
use crate::outcome::ReasonCode;
use crate::systems::schema::FieldKind;
use crate::systems::{registry, schema, System};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// A field's source resolved against the header.
#[derive(Debug, Clone)]
pub(crate) enum BoundSource {
    /// Cell index, and the header name (for issues).
    Column(usize, String),
    /// `columns`: cell indices with their header names, tried in order, and why the ones not
    /// taken are left out (for the summary).
    FirstOf(Vec<(usize, String)>, String),
    /// Template parts with column indices; label lists the columns (for issues).
    Template(Vec<BoundPart>, Option<String>),
    /// The field's constant.
    Value,
}

/// A template part bound to a cell index.
#[derive(Debug, Clone)]
pub(crate) enum BoundPart {
    Lit(String),
    Col(usize),
}

/// What a non-blank cell of one input column counts under when the mapping does not send it.
#[derive(Debug, Clone)]
pub(crate) struct LeftOutColumn {
    /// The field it is counted under: the column, or for FOLIO address columns their address
    /// type (`personal.addresses.Work`).
    key: String,
    /// Why, when no field reads the column at all.
    unread: Option<String>,
}

/// The summary key of an input column (see [`LeftOutColumn::key`]): the key a system's export
/// layout groups the column under (FOLIO counts an address's parts as one address), else the
/// column itself. Every system is asked, since the file may come from another system's export.
fn left_out_key(column: &str) -> String {
    registry::CONNECTORS
        .iter()
        .find_map(|c| c.schema().left_out_key(column))
        .unwrap_or_else(|| column.to_string())
}

/// Whether some system's export writes `column` to order other columns, not as data of its own.
fn is_ordering_column(column: &str) -> bool {
    registry::CONNECTORS
        .iter()
        .any(|c| c.schema().ordering_columns().contains(&column))
}

/// Why the `columns` alternatives not taken are left out.
fn columns_reason(system: System, field: &str, cols: &[(usize, String)]) -> String {
    let types: Option<Vec<&str>> = cols
        .iter()
        .map(|(_, c)| {
            c.strip_prefix("personal.addresses.")
                .and_then(|r| r.split_once('.'))
                .map(|(t, _)| t)
        })
        .collect();
    match types {
        Some(types) => format!(
            "{system} holds one address: the first of {} that the user has is sent",
            types.join(", ")
        ),
        None => format!(
            "{system} `{field}` holds one value: the first filled of {} is sent",
            cols.iter()
                .map(|(_, c)| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The field name that maps every `customFields.<name>` column of the input to that custom
/// field (`"customFields.*" = "customFields.*"`, as `mappings/folio-reimport.toml` reads an
/// export whose custom-field columns depend on the tenant).
pub(crate) const CUSTOM_WILDCARD: &str = "customFields.*";

/// `mapping` with its [`CUSTOM_WILDCARD`] field replaced by one field per `customFields.<name>`
/// column of `headers` that no other field maps (`None`: the mapping has no wildcard).
fn expand_custom_wildcard(mapping: &Mapping, headers: &[String]) -> Option<Mapping> {
    let at = mapping.fields.iter().position(|f| {
        f.name == CUSTOM_WILDCARD && f.source == Source::Column(CUSTOM_WILDCARD.into())
    })?;
    let wildcard = mapping.fields[at].clone();
    let mut expanded = mapping.clone();
    let extra: Vec<CompiledField> = headers
        .iter()
        .filter(|h| h.as_str() != CUSTOM_WILDCARD)
        .filter(|h| !mapping.fields.iter().any(|f| f.name == **h))
        .filter_map(|h| {
            h.strip_prefix("customFields.")?;
            let spec = schema::lookup_field(mapping.system, h)?;
            let mut f = wildcard.clone();
            f.name = h.clone();
            f.spec = spec;
            f.source = Source::Column(h.clone());
            f.path = super::path::OutPath::for_field(mapping.system, h);
            Some(f)
        })
        .collect();
    expanded.fields.splice(at..=at, extra);
    Some(expanded)
}

/// Resolves every referenced column in `headers`.
pub(crate) fn bind(mapping: &Mapping, headers: &[String]) -> Result<BoundMapping, MappingError> {
    let expanded = expand_custom_wildcard(mapping, headers);
    let mapping = expanded.as_ref().unwrap_or(mapping);
    let find = |col: &str, field: &CompiledField| -> Result<usize, MappingError> {
        if let Some(i) = headers.iter().position(|h| h == col) {
            return Ok(i);
        }
        let want = col.trim().to_lowercase();
        if let Some(i) = headers.iter().position(|h| h.trim().to_lowercase() == want) {
            return Ok(i);
        }
        let hint = match nearest(col, headers.iter().map(String::as_str)) {
            Some(s) => format!(" (did you mean \"{s}\"?)"),
            None if headers.is_empty() => "; the input has no header".to_string(),
            None => format!(
                "; the input's columns are: {}",
                headers
                    .iter()
                    .map(|h| format!("\"{h}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Err(MappingError {
            path: mapping.path.clone(),
            line: Some(field.line),
            message: format!(
                "column \"{col}\" (for field `{}`) is not in the input{hint}",
                field.name
            ),
        })
    };
    let mut sources = Vec::with_capacity(mapping.fields.len());
    for f in &mapping.fields {
        sources.push(match &f.source {
            Source::Column(c) => {
                let i = find(c, f)?;
                BoundSource::Column(i, headers[i].clone())
            }
            Source::FirstOf(cs) => {
                let mut cols = Vec::with_capacity(cs.len());
                for c in cs {
                    let i = find(c, f)?;
                    cols.push((i, headers[i].clone()));
                }
                let reason = columns_reason(mapping.system, &f.name, &cols);
                BoundSource::FirstOf(cols, reason)
            }
            Source::Template(parts) => {
                let mut bound = Vec::with_capacity(parts.len());
                let mut cols = Vec::new();
                for p in parts {
                    bound.push(match p {
                        Part::Lit(s) => BoundPart::Lit(s.clone()),
                        Part::Col(c) => {
                            let i = find(c, f)?;
                            cols.push(headers[i].as_str());
                            BoundPart::Col(i)
                        }
                    });
                }
                let label = (!cols.is_empty()).then(|| cols.join(", "));
                BoundSource::Template(bound, label)
            }
            Source::Value(_) => BoundSource::Value,
        });
    }
    let mut top: Vec<&str> = Vec::new();
    for f in &mapping.fields {
        let k = f.path.top_key();
        if !top.contains(&k) {
            top.push(k);
        }
    }
    let mut read = vec![false; headers.len()];
    for src in &sources {
        match src {
            BoundSource::Column(i, _) => read[*i] = true,
            BoundSource::FirstOf(cols, _) => cols.iter().for_each(|(i, _)| read[*i] = true),
            BoundSource::Template(parts, _) => {
                for p in parts {
                    if let BoundPart::Col(i) = p {
                        read[*i] = true;
                    }
                }
            }
            BoundSource::Value => {}
        }
    }
    let left_out = headers
        .iter()
        .zip(read)
        .map(|(h, read)| LeftOutColumn {
            key: left_out_key(h),
            // An export's ordering column (FOLIO's address order) is not data of its own: the
            // addresses it orders are counted by type.
            unread: (!read && !is_ordering_column(h))
                .then(|| format!("no field of the {} mapping reads it", mapping.system)),
        })
        .collect();
    Ok(BoundMapping {
        mapping: mapping.clone(),
        sources,
        left_out,
        top_level_keys: top.len(),
    })
}

/// See [`BoundMapping::left_out`].
pub(crate) fn left_out<'a, S: AsRef<str>>(
    bound: &'a BoundMapping,
    cells: &[S],
) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    let mut push = |key: &'a str, reason: &'a str| {
        if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, reason));
        }
    };
    for (i, col) in bound.left_out.iter().enumerate() {
        if let Some(why) = &col.unread {
            if !is_blank(cell(cells, i)) {
                push(&col.key, why);
            }
        }
    }
    for src in &bound.sources {
        if let BoundSource::FirstOf(cols, why) = src {
            let filled = cols.iter().filter(|(i, _)| !is_blank(cell(cells, *i)));
            for (i, _) in filled.skip(1) {
                if let Some(col) = bound.left_out.get(*i) {
                    push(&col.key, why);
                }
            }
        }
    }
    out
}

/// The text of cell `i` ("" when the row is short).
fn cell<S: AsRef<str>>(cells: &[S], i: usize) -> &str {
    cells.get(i).map(AsRef::as_ref).unwrap_or("")
}

fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// Maps the cells of the row at `line` (see the module docs for the order of steps).
pub(crate) fn map_cells<S: AsRef<str>>(bound: &BoundMapping, line: u64, cells: &[S]) -> Mapped {
    let m = &bound.mapping;
    let mut record = Map::with_capacity(bound.top_level_keys);
    let mut key = None;
    let mut clear = Vec::new();
    let mut issues = Vec::new();

    for (f, src) in m.fields.iter().zip(&bound.sources) {
        let (raw, column): (Cow<str>, Option<&str>) = match (src, &f.source) {
            (BoundSource::Column(i, name), _) => (Cow::Borrowed(cell(cells, *i)), Some(name)),
            (BoundSource::FirstOf(cols, _), _) => {
                match cols.iter().find(|(i, _)| !is_blank(cell(cells, *i))) {
                    Some((i, name)) => (Cow::Borrowed(cell(cells, *i)), Some(name.as_str())),
                    None => (Cow::Borrowed(""), cols.first().map(|(_, n)| n.as_str())),
                }
            }
            (BoundSource::Template(parts, label), _) => {
                let all_blank = parts
                    .iter()
                    .all(|p| !matches!(p, BoundPart::Col(i) if !is_blank(cell(cells, *i))));
                let mut s = String::new();
                if !all_blank {
                    for p in parts {
                        match p {
                            BoundPart::Lit(l) => s.push_str(l),
                            BoundPart::Col(i) => s.push_str(cell(cells, *i)),
                        }
                    }
                }
                (Cow::Owned(s), label.as_deref())
            }
            (BoundSource::Value, Source::Value(v)) => (Cow::Borrowed(v.as_str()), None),
            (BoundSource::Value, _) => (Cow::Borrowed(""), None),
        };
        let issue = |code: ReasonCode, reason: String| Issue {
            field: Some(f.name.clone()),
            column: column.map(str::to_string),
            reason,
            code,
        };
        // A value the type conversion cannot read: a date field's is a bad date.
        let unreadable = if f.kind == FieldKind::Date {
            ReasonCode::BadDate
        } else {
            ReasonCode::BadValue
        };

        if f.spec.id_like && looks_scientific(&raw) {
            issues.push(issue(ReasonCode::ScientificNotation, format!(
                "\"{raw}\" looks like a number a spreadsheet converted to scientific notation; re-export the column as text"
            )));
            continue;
        }

        let text = match (&f.default, is_blank(&raw)) {
            (Some(d), true) => Cow::Borrowed(d.as_str()),
            _ => match finish(f, raw) {
                Ok(t) => t,
                Err((code, reason)) => {
                    issues.push(issue(code, reason));
                    continue;
                }
            },
        };

        if is_blank(&text) {
            if f.is_match {
                issues.push(issue(
                    ReasonCode::MatchKeyBlank,
                    format!("match key {} is blank", f.name),
                ));
            } else if f.required {
                issues.push(issue(
                    ReasonCode::RequiredBlank,
                    format!("required field {} is blank", f.name),
                ));
            } else if f.on_blank == OnBlank::Clear {
                clear.push(f.name.clone());
            }
            continue;
        }
        if f.is_match {
            key = Some(text.to_string());
        }
        match coerce(f.kind, text, &f.split, m.system) {
            Ok(v) => f.path.insert(&mut record, v),
            Err(reason) => issues.push(issue(unreadable, reason)),
        }
    }

    // Fields the system takes from `[defaults]` (e.g. ILLiad's NVTGC) when no column gave them.
    registry::schema(m.system).complete_record(&m.defaults, &mut record);
    let record = Value::Object(record);
    for v in schema::validate(m.system, &record) {
        // A field that already has an issue (e.g. "required … is blank") is not reported twice.
        if v.field.is_some() && issues.iter().any(|i| i.field == v.field) {
            continue;
        }
        let column = v.field.as_deref().and_then(|name| {
            m.fields
                .iter()
                .position(|f| f.name == name)
                .and_then(|i| match &bound.sources[i] {
                    BoundSource::Column(_, c) => Some(c.clone()),
                    BoundSource::FirstOf(cols, _) => Some(
                        cols.iter()
                            .map(|(_, c)| c.as_str())
                            .collect::<Vec<_>>()
                            .join(" | "),
                    ),
                    BoundSource::Template(_, l) => l.clone(),
                    BoundSource::Value => None,
                })
        });
        issues.push(Issue {
            field: v.field,
            column,
            reason: v.reason,
            code: v.code,
        });
    }

    Mapped {
        line,
        key,
        record,
        clear,
        issues,
    }
}

/// See [`BoundMapping::key_candidates`].
pub(crate) fn key_candidates<S: AsRef<str>>(bound: &BoundMapping, cells: &[S]) -> Vec<String> {
    let Some(f) = bound.mapping.fields.iter().find(|f| f.is_match) else {
        return Vec::new();
    };
    cells
        .iter()
        .filter_map(|c| finish(f, Cow::Borrowed(c.as_ref())).ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Transforms then `map` (skipped for a blank value). A `map` miss is an `unknown_value`; a
/// transform's error carries the transform's code.
fn finish<'a>(f: &CompiledField, raw: Cow<'a, str>) -> Result<Cow<'a, str>, (ReasonCode, String)> {
    let mut s = raw;
    for t in &f.transforms {
        s = t.apply_cow(s).map_err(|r| (t.code(), r))?;
    }
    match &f.map {
        Some(map) if !is_blank(&s) => map
            .apply(&s)
            .map(Cow::Owned)
            .map_err(|r| (ReasonCode::UnknownValue, r)),
        _ => Ok(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::compile::{compile, Catalogue};
    use crate::mapping::file;
    use crate::read::SourceRow;
    use crate::systems::schema::{FieldKind, FieldSpec};
    use crate::systems::System;
    use serde_json::json;
    use std::path::Path;
    use std::sync::Arc;

    /// A catalogue with real kinds, independent of the schema module's state.
    fn lookup(_: System, name: &str) -> Option<FieldSpec> {
        let (kind, id_like) = match name {
            "active" | "personal.addresses.Home.primaryAddress" => (FieldKind::Bool, false),
            "expirationDate" => (FieldKind::Date, false),
            "departments" | "tags" => (FieldKind::List, false),
            "barcode" | "externalSystemId" | "username" => (FieldKind::Text, true),
            _ => (FieldKind::Text, false),
        };
        Some(FieldSpec {
            name: name.into(),
            kind,
            id_like,
            allowed: None,
        })
    }
    fn names(_: System) -> Vec<String> {
        Vec::new()
    }

    fn bound(src: &str, headers: &[&str]) -> BoundMapping {
        let path = Path::new("t.toml");
        let doc = file::parse(path, src).expect("parse");
        let cat = Catalogue {
            lookup: &lookup,
            names: &names,
        };
        let m = compile(path, src, doc, &cat).expect("compile");
        let h: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        bind(&m, &h).expect("bind")
    }

    #[test]
    fn the_custom_field_wildcard_maps_every_custom_field_column_of_the_input() {
        let src = "system = \"folio\"\nmatch = \"username\"\n[fields]\nusername = \"username\"\n\
                   \"personal.lastName\" = \"other\"\n\"customFields.campusBox\" = \"Box\"\n\"customFields.*\" = \"customFields.*\"\n";
        let b = bound(
            src,
            &[
                "username",
                "customFields.Class Year",
                "Box",
                "customFields.campusBox",
                "other",
            ],
        );
        let m = b.map_cells(2, &["ann", "Second year", "B-1", "B-2", "x"]);
        assert!(m.issues.is_empty(), "{:?}", m.issues);
        // The column named like an explicitly mapped field stays that field's business.
        assert_eq!(
            m.record["customFields"],
            json!({"Class Year": "Second year", "campusBox": "B-1"})
        );
        // No custom-field columns: the wildcard maps nothing and binds.
        let b = bound(src, &["username", "Box", "other"]);
        assert_eq!(
            b.map_cells(2, &["ann", "B-1", "x"]).record["customFields"],
            json!({"campusBox": "B-1"})
        );
    }

    fn row(cells: &[&str]) -> SourceRow {
        SourceRow {
            file: Arc::from("in.csv"),
            sheet: None,
            line: 7,
            cells: cells.iter().map(|s| s.to_string()).collect(),
        }
    }

    const SRC: &str = r#"
system = "folio"
match = "externalSystemId"
[fields]
externalSystemId = { column = "ID", transform = ["trim"] }
active = { column = "Status" }
expirationDate = { column = "Expires", date = "%m/%d/%Y" }
departments = "Dept"
"personal.addresses.Home.primaryAddress" = { value = "yes" }
"personal.lastName" = { column = "Last", required = true }
patronGroup = { column = "Class", map = { UG = "undergrad" }, default = "staff" }
"#;
    const HEADERS: &[&str] = &["ID", "Status", "Expires", "Dept", "Last", "Class"];

    #[test]
    fn kinds_are_coerced() {
        let b = bound(SRC, HEADERS);
        let m = b.map_row(&row(&[
            " 42 ",
            "Active",
            "5/31/2027",
            "Math; Art",
            "Doe",
            "ug",
        ]));
        assert_eq!(m.issues, vec![]);
        assert_eq!(m.key.as_deref(), Some("42"));
        assert_eq!(
            m.record,
            json!({
                "externalSystemId": "42",
                "active": true,
                "expirationDate": "2027-05-31",
                "departments": ["Math", "Art"],
                "personal": {
                    "addresses": [{"addressTypeId": "Home", "primaryAddress": true}],
                    "lastName": "Doe"
                },
                "patronGroup": "undergrad"
            })
        );
    }

    #[test]
    fn default_bypasses_map_and_bad_bool_is_an_issue() {
        let b = bound(SRC, HEADERS);
        let m = b.map_row(&row(&["42", "perhaps", "", "", "Doe", ""]));
        assert_eq!(m.record["patronGroup"], json!("staff"));
        assert_eq!(m.issues.len(), 1, "{:?}", m.issues);
        assert_eq!(m.issues[0].field.as_deref(), Some("active"));
        assert_eq!(m.issues[0].column.as_deref(), Some("Status"));
        assert!(m.issues[0].reason.contains("\"perhaps\""));
    }

    #[test]
    fn scientific_id_is_rejected_with_advice() {
        let b = bound(SRC, HEADERS);
        let m = b.map_row(&row(&["2.02E+12", "y", "", "", "Doe", "UG"]));
        assert_eq!(m.key, None);
        let i = &m.issues[0];
        assert_eq!(i.field.as_deref(), Some("externalSystemId"));
        assert!(i.reason.contains("\"2.02E+12\""), "{}", i.reason);
        assert!(i.reason.contains("scientific notation"), "{}", i.reason);
    }

    #[test]
    fn required_and_match_key_blank() {
        let b = bound(SRC, HEADERS);
        let m = b.map_row(&row(&["  ", "y", "", "", " ", "UG"]));
        let reasons: Vec<&str> = m.issues.iter().map(|i| i.reason.as_str()).collect();
        assert_eq!(
            reasons,
            vec![
                "match key externalSystemId is blank",
                "required field personal.lastName is blank"
            ]
        );
    }

    #[test]
    fn required_transform_marks_field_required() {
        let src = "system = \"folio\"\nmatch = \"username\"\n[fields]\nusername = \"U\"\n\"personal.lastName\" = { value = \"Doe\" }\n\"personal.email\" = { column = \"E\", transform = [\"trim\", \"required\"] }\n";
        let b = bound(src, &["U", "E"]);
        let m = b.map_row(&row(&["jd", "  "]));
        assert_eq!(m.issues.len(), 1);
        assert_eq!(m.issues[0].reason, "required field personal.email is blank");
        let m = b.map_row(&row(&["jd", " a@b.edu "]));
        assert_eq!(m.issues, vec![]);
        assert_eq!(m.record["personal"]["email"], json!("a@b.edu"));
    }

    #[test]
    fn date_kind_without_date_transform_needs_iso() {
        let b = bound(SRC, HEADERS);
        let m = b.map_row(&row(&["1", "y", "2027-06-30", "", "Doe", "UG"]));
        assert_eq!(m.record["expirationDate"], json!("2027-06-30"));
        let m = b.map_row(&row(&["1", "y", "31/31/2027", "", "Doe", "UG"]));
        assert_eq!(m.issues.len(), 1);
        assert_eq!(m.issues[0].column.as_deref(), Some("Expires"));
        assert!(m.issues[0].reason.contains("\"31/31/2027\""));
    }

    #[test]
    fn columns_take_the_first_filled_and_the_rest_is_left_out() {
        let src = "system = \"folio\"\nmatch = \"username\"\n[fields]\nusername = \"U\"\n\"personal.lastName\" = \"L\"\n\"personal.phone\" = { columns = [\"Phone\", \"Cell\"] }\n";
        let b = bound(
            src,
            &[
                "U",
                "L",
                "Phone",
                "Cell",
                "personal.addresses.Work.city",
                "Note",
            ],
        );
        let m = b.map_row(&row(&["jd", "Doe", " ", "555-0101", "Madison", ""]));
        assert_eq!(m.record["personal"]["phone"], json!("555-0101"));
        let left = b.left_out(&["jd", "Doe", " ", "555-0101", "Madison", ""]);
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(left[0].0, "personal.addresses.Work");
        assert!(left[0].1.contains("no field"), "{left:?}");
        let m = b.map_row(&row(&["jd", "Doe", "555-0100", "555-0101", "", "n"]));
        assert_eq!(m.record["personal"]["phone"], json!("555-0100"));
        let left: Vec<&str> = b
            .left_out(&["jd", "Doe", "555-0100", "555-0101", "", "n"])
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(left, ["Note", "Cell"]);
    }
}
