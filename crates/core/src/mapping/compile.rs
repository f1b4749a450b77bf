//! Compiling a parsed mapping file ([`FileDoc`]) into a validated plan ([`Mapping`]): the system
//! is known, every field exists in its catalogue, transforms and regexes are compiled once,
//! templates are split into literal and column parts.
//!
//! Invariant: a [`Mapping`] that compiled never fails per row for reasons the file itself could
//! have revealed; every error names the file, the line of the offending key and, for unknown
//! names, the nearest valid one.

use super::coerce::ValueMap;
use super::file::{line_of, FieldEntry, FieldTable, FileDoc, OnBlank, FIELD_KEYS};
use super::path::OutPath;
use super::row::CUSTOM_WILDCARD;
use super::suggest::nearest;
use super::transform::{self, check_date_format, system_date_format, NamePart, Transform};
use super::{Mapping, MappingError};
use crate::systems::schema::{self, FieldKind, FieldSpec};
use crate::systems::System;
use regex::Regex;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// Where a field's raw text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A column, by header name as written in the mapping.
    Column(String),
    /// Columns tried in order: the first non-blank cell is the value (`columns = [...]`).
    FirstOf(Vec<String>),
    /// A template of literal text and `{Column}` placeholders.
    Template(Vec<Part>),
    /// A constant.
    Value(String),
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Literal text (`{{`/`}}` already unescaped).
    Lit(String),
    /// A `{Column}` placeholder.
    Col(String),
}

/// One compiled `[fields]` entry.
#[derive(Debug, Clone)]
pub(crate) struct CompiledField {
    /// Field name as written (catalogue name).
    pub name: String,
    /// Line of the field's key in the mapping file.
    pub line: usize,
    /// The catalogue entry.
    pub spec: FieldSpec,
    /// Effective kind: `List` when `split` is given, else the catalogue's.
    pub kind: FieldKind,
    pub source: Source,
    pub transforms: Vec<Transform>,
    pub required: bool,
    pub default: Option<String>,
    pub map: Option<ValueMap>,
    /// List separator.
    pub split: String,
    pub on_blank: OnBlank,
    pub path: OutPath,
    /// This field is the mapping's match key.
    pub is_match: bool,
    /// Unknown names are created in the target (`create_missing = true`).
    pub create_missing: bool,
}

/// The field catalogue used while compiling (injectable for tests).
pub(crate) struct Catalogue<'a> {
    /// Looks a field up by name.
    pub lookup: &'a dyn Fn(System, &str) -> Option<FieldSpec>,
    /// Fixed field names, for suggestions.
    pub names: &'a dyn Fn(System) -> Vec<String>,
}

impl Catalogue<'static> {
    /// The real catalogue in [`crate::systems::schema`].
    pub(crate) fn systems() -> Catalogue<'static> {
        Catalogue {
            lookup: &schema::lookup_field,
            names: &schema::field_names,
        }
    }
}

/// Refuses a misused custom-field wildcard ([`CUSTOM_WILDCARD`]): it is only ever
/// `"customFields.*" = "customFields.*"` (every `customFields.<name>` column to its own custom
/// field). Any other source would compile as one custom field named `*`, and the wildcard column
/// as the source of a named field maps nothing (no input has a column called that).
fn custom_wildcard_use(field: &CompiledField) -> Result<(), String> {
    let wildcard_column = Source::Column(CUSTOM_WILDCARD.into());
    let names_wildcard = match &field.source {
        Source::Column(c) => c == CUSTOM_WILDCARD,
        Source::FirstOf(cs) => cs.iter().any(|c| c == CUSTOM_WILDCARD),
        Source::Template(parts) => parts
            .iter()
            .any(|p| matches!(p, Part::Col(c) if c == CUSTOM_WILDCARD)),
        Source::Value(_) => false,
    };
    if field.name == CUSTOM_WILDCARD && field.source != wildcard_column {
        return Err(format!(
            "`{CUSTOM_WILDCARD}` maps every `customFields.<name>` column of the input to that custom \
             field, so its column must be `{CUSTOM_WILDCARD}` itself \
             (`\"{CUSTOM_WILDCARD}\" = \"{CUSTOM_WILDCARD}\"`); to map one column to one custom field, \
             name the field: `\"customFields.<refId or name>\" = \"Column\"`"
        ));
    }
    if field.name != CUSTOM_WILDCARD && names_wildcard {
        return Err(format!(
            "`{}` names the column `{CUSTOM_WILDCARD}`, which only the wildcard field \
             `\"{CUSTOM_WILDCARD}\" = \"{CUSTOM_WILDCARD}\"` may use; name the column this field reads",
            field.name
        ));
    }
    Ok(())
}

/// Compiles `doc` (parsed from `src`, read from `path`).
pub(crate) fn compile(
    path: &Path,
    src: &str,
    doc: FileDoc,
    cat: &Catalogue<'_>,
) -> Result<Mapping, MappingError> {
    let at = |span: std::ops::Range<usize>| Some(line_of(src, span.start));
    let err = |line: Option<usize>, message: String| MappingError {
        path: path.to_path_buf(),
        line,
        message,
    };

    // system
    let Some(sys) = doc.system else {
        return Err(err(
            None,
            "missing `system = \"…\"` (one of folio, illiad, libib)".into(),
        ));
    };
    let system = System::parse(sys.get_ref()).ok_or_else(|| {
        let names = crate::systems::registry::names();
        err(
            at(sys.span()),
            match nearest(sys.get_ref(), names.iter().copied()) {
                Some(s) => format!(
                    "unknown system \"{}\" (did you mean \"{s}\"?)",
                    sys.get_ref()
                ),
                None => format!(
                    "unknown system \"{}\"; expected one of: {}",
                    sys.get_ref(),
                    names.join(", ")
                ),
            },
        )
    })?;
    let file_on_blank = doc.on_blank.unwrap_or_default();
    // match (checked against the fields below)
    let Some(m) = doc.match_field else {
        return Err(err(
            None,
            format!(
                "missing `match = \"…\"` (for {system}: one of {})",
                schema::match_fields(system).join(", ")
            ),
        ));
    };

    // fields
    let entries = doc.fields.map(|f| f.0).unwrap_or_default();
    if entries.is_empty() {
        return Err(err(
            None,
            "no fields: add a [fields] table mapping system fields to columns".into(),
        ));
    }
    let known_names = (cat.names)(system);
    let mut fields = Vec::with_capacity(entries.len());
    let mut expiry = super::ExpiryRule::default();
    for (key, mut entry) in entries {
        let line = line_of(src, key.span().start);
        let name = key.into_inner();
        if let FieldEntry::Full(t) = &mut entry {
            if expiry_rules(system, &name, t, &mut expiry, src).map_err(|(l, m)| err(Some(l), m))? {
                continue;
            }
        }
        let spec = (cat.lookup)(system, &name).ok_or_else(|| {
            let hint = nearest(&name, known_names.iter().map(String::as_str))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            err(
                Some(line),
                format!("unknown field `{name}` for {system}{hint}"),
            )
        })?;
        let field = compile_field(system, name, line, spec, entry, file_on_blank, src)
            .map_err(|(l, m)| err(Some(l), m))?;
        custom_wildcard_use(&field).map_err(|m| err(Some(line), m))?;
        fields.push(field);
    }
    // The address order sorts addresses the other fields built, so it is applied last.
    fields.sort_by_key(|f| f.path == OutPath::AddressOrder);

    // match
    let allowed = schema::match_fields(system);
    if !allowed.contains(&m.get_ref().as_str()) {
        let hint = match nearest(m.get_ref(), allowed.iter().copied()) {
            Some(s) => format!(" (did you mean `{s}`?)"),
            None => format!("; expected one of: {}", allowed.join(", ")),
        };
        return Err(err(
            at(m.span()),
            format!(
                "`{}` cannot be the match field for {system}{hint}",
                m.get_ref()
            ),
        ));
    }
    let Some(mf) = fields.iter_mut().find(|f| f.name == *m.get_ref()) else {
        return Err(err(
            at(m.span()),
            format!(
                "match field `{}` is not mapped: add it to [fields]",
                m.get_ref()
            ),
        ));
    };
    mf.is_match = true;
    let match_field = m.into_inner();

    // protect
    let mut protect = Vec::with_capacity(doc.protect.len());
    for p in doc.protect {
        if !fields.iter().any(|f| f.name == *p.get_ref()) {
            let hint = nearest(p.get_ref(), fields.iter().map(|f| f.name.as_str()))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(err(
                at(p.span()),
                format!(
                    "protect names `{}`, which is not a mapped field{hint}",
                    p.get_ref()
                ),
            ));
        }
        protect.push(p.into_inner());
    }

    // merge: list fields whose stored items are kept, the mapped ones added
    let mut merge = Vec::with_capacity(doc.merge.len());
    for p in doc.merge {
        match fields.iter().find(|f| f.name == *p.get_ref()) {
            Some(f) if f.kind == FieldKind::List => merge.push(p.into_inner()),
            Some(_) => {
                return Err(err(
                    at(p.span()),
                    format!(
                        "merge names `{}`, which is not a list field (merge keeps the stored \
                         items of a list and adds the mapped ones)",
                        p.get_ref()
                    ),
                ))
            }
            None => {
                return Err(err(
                    at(p.span()),
                    format!("merge names `{}`, which is not a mapped field", p.get_ref()),
                ))
            }
        }
    }

    // defaults
    let mut defaults = BTreeMap::new();
    if let Some(d) = doc.defaults {
        let line = at(d.span());
        for (k, v) in d.into_inner() {
            let text = scalar_text(&v).ok_or_else(|| {
                err(
                    line,
                    format!("[defaults] `{k}` must be a string, number or true/false"),
                )
            })?;
            defaults.insert(k, text);
        }
    }

    // scope
    let scope = match doc.scope {
        None => None,
        Some(sc) => {
            let line = at(sc.span());
            let sc = sc.into_inner();
            let blank = |s: &Option<String>| s.as_deref().is_none_or(|v| v.trim().is_empty());
            if sc.patron_groups.is_empty() && blank(&sc.external_id_prefix) && blank(&sc.tag) {
                return Err(err(
                    line,
                    "[scope] is empty; give patron_groups, external_id_prefix or tag".into(),
                ));
            }
            let connector = crate::systems::registry::connector(system);
            if !connector.schema().scope_by_patron_group() && !sc.patron_groups.is_empty() {
                let by_group: Vec<&str> = crate::systems::registry::CONNECTORS
                    .iter()
                    .map(|c| c.schema())
                    .filter(|s| s.scope_by_patron_group())
                    .map(|s| s.label())
                    .collect();
                return Err(err(
                    line,
                    format!("[scope] patron_groups is {} only; {system} scopes by tag or external_id_prefix", by_group.join(" and ")),
                ));
            }
            // Finding the patrons absent from a roster takes listing every patron.
            if !connector.capabilities().list {
                return Err(err(
                    line,
                    format!("[scope] is not available for {}: its API cannot list users, so absent patrons cannot be found", connector.schema().label()),
                ));
            }
            Some(super::Scope {
                patron_groups: sc.patron_groups,
                external_id_prefix: sc.external_id_prefix.filter(|s| !s.trim().is_empty()),
                tag: sc.tag.filter(|s| !s.trim().is_empty()),
            })
        }
    };

    let create_missing = fields
        .iter()
        .filter(|f| f.create_missing)
        .map(|f| f.name.clone())
        .collect();
    Ok(Mapping {
        create_missing,
        expiry,
        scope,
        path: path.to_path_buf(),
        system,
        match_field,
        protect,
        merge,
        on_blank: file_on_blank,
        fields,
        defaults,
    })
}

/// Text of a scalar TOML value (string, integer, float, bool).
fn scalar_text(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

type FieldError = (usize, String);

/// Takes a field's expiry keys (`from`, `extend_only`) out of its table into `rule`. They apply
/// to FOLIO's `expirationDate` only. `Ok(true)`: the field has no source of its own (its value
/// is computed: `from = "group_offset"`), so it is not compiled as a field.
fn expiry_rules(
    system: System,
    name: &str,
    t: &mut FieldTable,
    rule: &mut super::ExpiryRule,
    src: &str,
) -> Result<bool, FieldError> {
    let at = |s: std::ops::Range<usize>| line_of(src, s.start);
    let (from, extend) = (t.from.take(), t.extend_only.take());
    let first = from
        .as_ref()
        .map(|f| f.span())
        .or_else(|| extend.as_ref().map(|e| e.span()));
    let Some(span) = first else {
        return Ok(false);
    };
    if system != System::Folio || name != "expirationDate" {
        return Err((
            at(span),
            format!(
                "field `{name}`: `from` and `extend_only` are expiry rules of FOLIO's \
                 expirationDate only"
            ),
        ));
    }
    if let Some(e) = extend {
        rule.extend_only = *e.get_ref();
    }
    let Some(f) = from else {
        return Ok(false);
    };
    if f.get_ref() != "group_offset" {
        return Err((
            at(f.span()),
            format!(
                "field `{name}`: unknown from = \"{}\"; expected \"group_offset\" (the patron \
                 group's expirationOffsetInDays from today)",
                f.get_ref()
            ),
        ));
    }
    if t.column.is_some() || t.columns.is_some() || t.template.is_some() || t.value.is_some() {
        return Err((
            at(f.span()),
            format!(
                "field `{name}`: from = \"group_offset\" computes the date; give it no column, \
                 columns, template or value"
            ),
        ));
    }
    rule.group_offset = true;
    Ok(true)
}

/// Compiles one field entry; errors carry their own line.
fn compile_field(
    system: System,
    name: String,
    line: usize,
    spec: FieldSpec,
    entry: FieldEntry,
    file_on_blank: OnBlank,
    src: &str,
) -> Result<CompiledField, FieldError> {
    let at = |s: std::ops::Range<usize>| line_of(src, s.start);
    let table = match entry {
        FieldEntry::Column(c) => Box::new(FieldTable {
            column: Some(Spanned::new(0..0, c)),
            ..FieldTable::default()
        }),
        FieldEntry::Full(t) => t,
        // `flatten` never leaves nested entries behind.
        FieldEntry::Nested(_) => return Err((line, format!("field `{name}` has no source"))),
    };
    if let Some(k) = &table.unknown_key {
        let hint = match nearest(k.get_ref(), FIELD_KEYS.iter().copied()) {
            Some(s) => format!(" (did you mean `{s}`?)"),
            None => format!("; expected one of: {}", FIELD_KEYS.join(", ")),
        };
        return Err((
            at(k.span()),
            format!("unknown key `{}` in field `{name}`{hint}", k.get_ref()),
        ));
    }
    let FieldTable {
        column,
        columns,
        template,
        value,
        transform,
        required,
        default,
        map,
        map_default,
        date,
        split,
        on_blank,
        create_missing,
        from: _,
        extend_only: _,
        unknown_key: _,
    } = *table;
    if create_missing
        && !crate::systems::registry::connector(system)
            .schema()
            .creatable(&name)
    {
        return Err((
            line,
            format!(
                "field `{name}`: create_missing = true is only for names {system} can create \
                 (FOLIO `departments`)"
            ),
        ));
    }

    let given: Vec<&str> = [
        column.as_ref().map(|_| "column"),
        columns.as_ref().map(|_| "columns"),
        template.as_ref().map(|_| "template"),
        value.as_ref().map(|_| "value"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() != 1 {
        let msg = if given.is_empty() {
            format!("field `{name}` has no source: give exactly one of column, columns, template or value")
        } else {
            format!(
                "field `{name}` has more than one source ({}): give exactly one of column, columns, template or value",
                given.join(", ")
            )
        };
        return Err((line, msg));
    }
    let source = if let Some(c) = column {
        if c.get_ref().trim().is_empty() {
            return Err((line, format!("field `{name}` names an empty column")));
        }
        Source::Column(c.into_inner())
    } else if let Some(cols) = columns {
        let l = at(cols.span());
        let cols = cols.into_inner();
        if cols.is_empty() || cols.iter().any(|c| c.trim().is_empty()) {
            return Err((
                l,
                format!("field `{name}`: columns needs one or more non-empty column names"),
            ));
        }
        Source::FirstOf(cols)
    } else if let Some(t) = template {
        let l = at(t.span());
        Source::Template(parse_template(t.get_ref()).map_err(|m| {
            (
                l,
                format!("field `{name}`: bad template \"{}\": {m}", t.get_ref()),
            )
        })?)
    } else if let Some(v) = value {
        let l = at(v.span());
        Source::Value(scalar_text(v.get_ref()).ok_or_else(|| {
            (
                l,
                format!("field `{name}`: value must be a string, number or true/false"),
            )
        })?)
    } else {
        return Err((line, format!("field `{name}` has no source")));
    };

    let mut required = required;
    let mut transforms = Vec::with_capacity(transform.len() + 1);
    for t in &transform {
        let l = at(t.span());
        match compile_transform(system, t.get_ref()).map_err(|m| (l, m))? {
            Some(tr) => transforms.push(tr),
            None => required = true,
        }
    }
    if let Some(d) = date {
        let l = at(d.span());
        check_date_format(d.get_ref()).map_err(|m| (l, format!("field `{name}`: {m}")))?;
        transforms.push(Transform::Date {
            format: d.into_inner().into(),
            out: system_date_format(system),
        });
    }

    let default = match default {
        Some(d) => Some(scalar_text(d.get_ref()).ok_or_else(|| {
            (
                at(d.span()),
                format!("field `{name}`: default must be a string, number or true/false"),
            )
        })?),
        None => None,
    };
    let map_default = match map_default {
        Some(d) => Some(scalar_text(d.get_ref()).ok_or_else(|| {
            (
                at(d.span()),
                format!("field `{name}`: map_default must be a string, number or true/false"),
            )
        })?),
        None => None,
    };
    let map = match map {
        Some(m) => {
            let l = at(m.span());
            let mut pairs = Vec::new();
            for (k, v) in m.into_inner() {
                let text = scalar_text(&v).ok_or_else(|| {
                    (
                        l,
                        format!("field `{name}`: map value for \"{k}\" must be a string, number or true/false"),
                    )
                })?;
                pairs.push((k, text));
            }
            if pairs.is_empty() {
                return Err((l, format!("field `{name}`: map is empty")));
            }
            Some(ValueMap::new(pairs, map_default))
        }
        None if map_default.is_some() => {
            return Err((line, format!("field `{name}`: map_default without map")));
        }
        None => None,
    };
    let (kind, split) = match split {
        Some(s) if s.get_ref().is_empty() => {
            return Err((
                at(s.span()),
                format!("field `{name}`: split must not be empty"),
            ));
        }
        Some(s) => (FieldKind::List, s.into_inner()),
        None => (spec.kind, ";".to_string()),
    };

    Ok(CompiledField {
        path: OutPath::for_field(system, &name),
        name,
        line,
        kind,
        spec,
        source,
        transforms,
        required,
        default,
        map,
        split,
        on_blank: on_blank.unwrap_or(file_on_blank),
        is_match: false,
        create_missing,
    })
}

/// Splits a template into literal and `{Column}` parts; `{{` and `}}` are literal braces.
pub(crate) fn parse_template(t: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                lit.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                lit.push('}');
            }
            '}' => return Err("unmatched `}` (write `}}` for a literal brace)".into()),
            '{' => {
                let mut col = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    match c {
                        '}' => {
                            closed = true;
                            break;
                        }
                        '{' => return Err("`{` inside a placeholder".into()),
                        c => col.push(c),
                    }
                }
                if !closed {
                    return Err("unclosed `{` (write `{{` for a literal brace)".into());
                }
                let col = col.trim();
                if col.is_empty() {
                    return Err("empty placeholder `{}`".into());
                }
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::Col(col.to_string()));
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(parts)
}

/// Compiles one `transform` list item; `Ok(None)` is the `required` pseudo-transform.
fn compile_transform(system: System, v: &toml::Value) -> Result<Option<Transform>, String> {
    let unknown = |n: &str| match nearest(n, transform::all_names()) {
        Some(s) => format!("unknown transform \"{n}\" (did you mean \"{s}\"?)"),
        None => format!(
            "unknown transform \"{n}\"; expected one of: {}",
            transform::all_names().collect::<Vec<_>>().join(", ")
        ),
    };
    match v {
        toml::Value::String(s) => Ok(Some(match s.as_str() {
            "trim" => Transform::Trim,
            "lower" => Transform::Lower,
            "upper" => Transform::Upper,
            "collapse_spaces" => Transform::CollapseSpaces,
            "title" => Transform::Title,
            "digits" => Transform::Digits,
            "email" => Transform::Email,
            "phone" => Transform::Phone,
            "phone_compact" => Transform::PhoneCompact,
            "required" => return Ok(None),
            n if transform::WITH_OPTIONS.iter().any(|(o, _)| *o == n) => {
                return Err(format!(
                    "transform \"{n}\" needs a value: write it as {{ {n} = … }}"
                ))
            }
            n => return Err(unknown(n)),
        })),
        toml::Value::Table(t) => {
            let Some((name, options)) = transform::WITH_OPTIONS
                .iter()
                .find(|(n, _)| t.contains_key(*n))
            else {
                let first = t.keys().next().map(String::as_str).unwrap_or("");
                if transform::SIMPLE.contains(&first) {
                    return Err(format!(
                        "transform \"{first}\" takes no options: write it as \"{first}\""
                    ));
                }
                return Err(unknown(first));
            };
            for k in t.keys() {
                if k != name && !options.contains(&k.as_str()) {
                    let valid: Vec<&str> = std::iter::once(*name)
                        .chain(options.iter().copied())
                        .collect();
                    let hint = nearest(k, valid.iter().copied())
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_else(|| format!("; allowed: {}", valid.join(", ")));
                    return Err(format!("unknown key `{k}` in transform \"{name}\"{hint}"));
                }
            }
            let arg = &t[*name];
            let text = |what: &str| -> Result<String, String> {
                arg.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("transform \"{name}\" needs {what}"))
            };
            Ok(Some(match *name {
                "pad_left" => {
                    let width = arg
                        .as_integer()
                        .filter(|w| (1..=1000).contains(w))
                        .ok_or("transform \"pad_left\" needs a width between 1 and 1000, e.g. { pad_left = 11 }")?;
                    let ch = match t.get("char") {
                        None => '0',
                        Some(c) => {
                            let s = c.as_str().unwrap_or("");
                            let mut it = s.chars();
                            match (it.next(), it.next()) {
                                (Some(c), None) => c,
                                _ => return Err("pad_left `char` must be exactly one character, e.g. char = \"0\"".into()),
                            }
                        }
                    };
                    Transform::PadLeft {
                        width: usize::try_from(width).map_err(|_| "pad_left width out of range")?,
                        ch,
                    }
                }
                "prefix" => Transform::Prefix(text("text, e.g. { prefix = \"S\" }")?),
                "suffix" => Transform::Suffix(text("text, e.g. { suffix = \"@example.edu\" }")?),
                "replace" => {
                    let pat = text("a regular expression, e.g. { replace = \"-\", with = \"\" }")?;
                    let re = Regex::new(&pat).map_err(|e| {
                        let detail = e.to_string();
                        let last = detail
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim()
                            .trim_start_matches("error: ");
                        format!("invalid regex \"{pat}\" in transform \"replace\": {last}")
                    })?;
                    let with = match t.get("with") {
                        None => String::new(),
                        Some(w) => w
                            .as_str()
                            .ok_or("replace `with` must be text, e.g. with = \"$1\"")?
                            .to_string(),
                    };
                    Transform::Replace { re, with }
                }
                "split_name" => {
                    let p = text("\"first\", \"last\" or \"middle\"")?;
                    let part = NamePart::parse(&p).ok_or_else(|| {
                        match nearest(&p, NamePart::NAMES.iter().copied()) {
                            Some(s) => {
                                format!("unknown split_name part \"{p}\" (did you mean \"{s}\"?)")
                            }
                            None => format!(
                                "unknown split_name part \"{p}\"; expected first, last or middle"
                            ),
                        }
                    })?;
                    Transform::SplitName(part)
                }
                "date" => {
                    let f = text("an input format, e.g. { date = \"%m/%d/%Y\" }")?;
                    check_date_format(&f)?;
                    Transform::Date {
                        format: f.into(),
                        out: system_date_format(system),
                    }
                }
                other => return Err(unknown(other)),
            }))
        }
        _ => Err(
            "a transform is a name such as \"trim\" or a table such as { pad_left = 11 }".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::file;

    fn spec(name: &str, kind: FieldKind) -> FieldSpec {
        FieldSpec {
            name: name.into(),
            kind,
            id_like: false,
            allowed: None,
        }
    }

    /// A tiny FOLIO-like catalogue that, unlike the stub, rejects unknown names.
    fn small_lookup(_: System, name: &str) -> Option<FieldSpec> {
        [
            "username",
            "externalSystemId",
            "personal.lastName",
            "personal.firstName",
        ]
        .contains(&name)
        .then(|| spec(name, FieldKind::Text))
    }
    fn small_names(_: System) -> Vec<String> {
        [
            "username",
            "externalSystemId",
            "personal.lastName",
            "personal.firstName",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn compile_src(src: &str) -> Result<Mapping, MappingError> {
        let path = Path::new("mappings/folio.toml");
        let doc = file::parse(path, src)?;
        let cat = Catalogue {
            lookup: &small_lookup,
            names: &small_names,
        };
        compile(path, src, doc, &cat)
    }

    #[test]
    fn scope_rules_come_from_the_system_schema_and_capabilities() {
        let parse = |src: &str| {
            super::super::Mapping::parse(Path::new("s.toml"), src)
                .expect_err("refused")
                .to_string()
        };
        // Libib cannot scope by patron group (only FOLIO's schema side allows it).
        let e = parse("system = \"libib\"\nmatch = \"email\"\n[fields]\nemail = \"E\"\nfirst_name = \"F\"\nlast_name = \"L\"\n[scope]\npatron_groups = [\"staff\"]\n");
        assert!(
            e.contains(
                "[scope] patron_groups is FOLIO only; libib scopes by tag or external_id_prefix"
            ),
            "{e}"
        );
        // ILLiad's capabilities cannot list, so it has no [scope] at all.
        let e = parse("system = \"illiad\"\nmatch = \"UserName\"\n[fields]\nUserName = \"U\"\n[scope]\ntag = \"x\"\n");
        assert!(
            e.contains("[scope] is not available for ILLiad: its API cannot list users"),
            "{e}"
        );
    }

    #[test]
    fn the_custom_field_wildcard_is_refused_unless_it_maps_its_own_column() {
        let parse = |fields: &str| {
            let src = format!(
                "system = \"folio\"\nmatch = \"username\"\n[fields]\nusername = \"NetID\"\n{fields}\n"
            );
            super::super::Mapping::parse(Path::new("w.toml"), &src).map_err(|e| e.to_string())
        };
        parse("\"customFields.*\" = \"customFields.*\"").expect("the wildcard compiles");
        for bad in [
            "\"customFields.*\" = \"Box\"",
            "\"customFields.*\" = { columns = [\"customFields.*\", \"Box\"] }",
            "\"customFields.*\" = { template = \"{customFields.*}x\" }",
            "\"customFields.*\" = { value = \"1\" }",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.starts_with("w.toml:5: "), "{bad}: {e}");
            assert!(
                e.contains("`customFields.*` maps every `customFields.<name>` column"),
                "{bad}: {e}"
            );
        }
        for bad in [
            "\"customFields.box\" = \"customFields.*\"",
            "\"personal.lastName\" = { columns = [\"L\", \"customFields.*\"] }",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.starts_with("w.toml:5: "), "{bad}: {e}");
            assert!(
                e.contains("names the column `customFields.*`, which only the wildcard field"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn a_later_stages_reason_names_the_fields_one_source_column() {
        let src = "system = \"folio\"\nmatch = \"username\"\n[fields]\nusername = \"NetID\"\n\
                   patronGroup = { template = \"{Group}\" }\n\"customFields.Class Year\" = \"Year\"\n\
                   \"personal.lastName\" = { columns = [\"Last\", \"Surname\"] }\n\
                   \"personal.firstName\" = { value = \"X\" }\n";
        let m = super::super::Mapping::parse(Path::new("n.toml"), src).expect("compiles");
        assert_eq!(
            m.name_column("patronGroup: unknown patron group \"x\""),
            "patronGroup (column \"Group\"): unknown patron group \"x\""
        );
        assert_eq!(
            m.name_column("customFields.Class Year: unknown option \"é\""),
            "customFields.Class Year (column \"Year\"): unknown option \"é\""
        );
        // Several columns, a constant, an unmapped field or no `field: ` prefix: unchanged.
        for r in [
            "personal.lastName: too long",
            "personal.firstName: too long",
            "departments: unknown department \"d\"",
            "patronGroupX: y",
            "expirationDate from group_offset: …",
        ] {
            assert_eq!(m.name_column(r), r);
        }
    }

    #[test]
    fn expiry_rules_compile_for_folio_expiration_date_only() {
        let parse = |fields: &str| {
            let src = format!(
                "system = \"folio\"\nmatch = \"username\"\n[fields]\nusername = \"NetID\"\n{fields}\n"
            );
            super::super::Mapping::parse(Path::new("e.toml"), &src).map_err(|e| e.to_string())
        };
        let m = parse("expirationDate = { from = \"group_offset\", extend_only = true }")
            .expect("compiles");
        assert_eq!(
            m.expiry,
            super::super::ExpiryRule {
                group_offset: true,
                extend_only: true
            }
        );
        // The computed field reads no column.
        assert_eq!(m.columns(), ["NetID"]);
        let m = parse("expirationDate = { column = \"Expires\", extend_only = true }").expect("ok");
        assert!(m.expiry.extend_only && !m.expiry.group_offset);
        assert_eq!(m.columns(), ["NetID", "Expires"]);
        let e = parse("expirationDate = { from = \"term_end\" }").expect_err("unknown from");
        assert!(e.contains("expected \"group_offset\""), "{e}");
        let e = parse("expirationDate = { from = \"group_offset\", column = \"X\" }")
            .expect_err("two sources");
        assert!(e.contains("give it no column"), "{e}");
        let e = parse("enrollmentDate = { column = \"E\", extend_only = true }")
            .expect_err("not the expiry");
        assert!(
            e.contains("expirationDate only") && e.starts_with("e.toml:5"),
            "{e}"
        );
    }

    #[test]
    fn unknown_field_names_nearest_catalogue_field() {
        let src = "system = \"folio\"\nmatch = \"username\"\n[fields]\nusername = \"NetID\"\n\"personal.lastname\" = \"Last\"\n";
        let e = compile_src(src).expect_err("unknown field");
        assert_eq!(e.line, Some(5));
        assert_eq!(
            e.to_string(),
            "mappings/folio.toml:5: unknown field `personal.lastname` for folio (did you mean `personal.lastName`?)"
        );
    }

    #[test]
    fn unknown_field_without_close_name_has_no_suggestion() {
        let src = "system = \"folio\"\nmatch = \"username\"\n[fields]\nusername = \"NetID\"\nzzqx = \"Q\"\n";
        let e = compile_src(src).expect_err("unknown field");
        assert_eq!(e.message, "unknown field `zzqx` for folio");
    }

    #[test]
    fn template_parsing() {
        assert_eq!(
            parse_template("{First}.{ Last }@x.edu"),
            Ok(vec![
                Part::Col("First".into()),
                Part::Lit(".".into()),
                Part::Col("Last".into()),
                Part::Lit("@x.edu".into()),
            ])
        );
        assert_eq!(
            parse_template("{{lit}} {A}"),
            Ok(vec![Part::Lit("{lit} ".into()), Part::Col("A".into())])
        );
        assert!(parse_template("{A").is_err());
        assert!(parse_template("A}").is_err());
        assert!(parse_template("{}").is_err());
    }

    #[test]
    fn transform_options_are_checked() {
        let e = compile_transform(System::Folio, &toml::Value::String("lowercase".into()))
            .expect_err("unknown");
        assert_eq!(
            e,
            "unknown transform \"lowercase\" (did you mean \"lower\"?)"
        );
        let t: toml::Table = toml::from_str("pad_left = 5\nchr = \"0\"").expect("toml");
        let e = compile_transform(System::Folio, &toml::Value::Table(t)).expect_err("bad key");
        assert_eq!(
            e,
            "unknown key `chr` in transform \"pad_left\" (did you mean `char`?)"
        );
        let t: toml::Table = toml::from_str("split_name = \"frist\"").expect("toml");
        let e = compile_transform(System::Folio, &toml::Value::Table(t)).expect_err("bad part");
        assert!(e.contains("did you mean \"first\""), "{e}");
        assert!(matches!(
            compile_transform(System::Folio, &toml::Value::String("required".into())),
            Ok(None)
        ));
    }
}
