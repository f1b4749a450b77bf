//! The mapping file as written: serde structs for the TOML (`deny_unknown_fields` everywhere a
//! key set is fixed) and conversion of TOML/serde errors into [`MappingError`]s with a 1-based line.
//!
//! Invariant: every key or value a later semantic check may complain about is kept as a
//! [`Spanned`] so the error can name the line it sits on.

use super::suggest::nearest;
use super::MappingError;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::path::Path;
use toml::Spanned;

/// Blank-source policy on update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnBlank {
    /// A blank cell leaves the existing value alone (default).
    #[default]
    Keep,
    /// A blank cell clears the existing value.
    Clear,
}

/// The whole file. Required keys are optional here so their absence gets a friendlier message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileDoc {
    pub system: Option<Spanned<String>>,
    #[serde(rename = "match")]
    pub match_field: Option<Spanned<String>>,
    #[serde(default)]
    pub protect: Vec<Spanned<String>>,
    #[serde(default)]
    pub merge: Vec<Spanned<String>>,
    pub on_blank: Option<OnBlank>,
    pub defaults: Option<Spanned<toml::Table>>,
    pub scope: Option<Spanned<ScopeDoc>>,
    pub fields: Option<Fields>,
}

/// `[scope]`: which of the target's patrons the roster is the whole population of.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScopeDoc {
    #[serde(default)]
    pub patron_groups: Vec<String>,
    pub external_id_prefix: Option<String>,
    pub tag: Option<String>,
}

/// `[fields]`, in file order, each with its key's span. Unquoted dotted keys
/// (`personal.lastName = "Last"`, which TOML reads as nested tables) are flattened back into
/// dotted field names.
#[derive(Debug, Default)]
pub(crate) struct Fields(pub Vec<(Spanned<String>, FieldEntry)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of field = source entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let entry = map.next_value::<FieldEntry>()?;
                    flatten(key, entry, &mut out);
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Pushes `entry` under `key`, expanding nested (dotted-key) entries to `outer.inner` names.
fn flatten(key: Spanned<String>, entry: FieldEntry, out: &mut Vec<(Spanned<String>, FieldEntry)>) {
    match entry {
        FieldEntry::Nested(inner) => {
            for (k, e) in inner {
                let name = format!("{}.{}", key.get_ref(), k.get_ref());
                flatten(Spanned::new(k.span(), name), e, out);
            }
        }
        e => out.push((key, e)),
    }
}

/// Keys of the full form of a field entry.
pub(crate) const FIELD_KEYS: &[&str] = &[
    "column",
    "columns",
    "template",
    "value",
    "transform",
    "required",
    "default",
    "map",
    "map_default",
    "date",
    "split",
    "on_blank",
    "create_missing",
    "from",
    "extend_only",
];

/// One `[fields]` entry: shorthand column name, the full table, or (from an unquoted dotted
/// key) a table of entries one level down.
#[derive(Debug)]
pub(crate) enum FieldEntry {
    /// `field = "Column"`.
    Column(String),
    /// `field = { … }`.
    Full(Box<FieldTable>),
    /// `personal.lastName = …` read by TOML as `personal = { lastName = … }`.
    Nested(Vec<(Spanned<String>, FieldEntry)>),
}

impl<'de> Deserialize<'de> for FieldEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FieldEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a column name or a table such as { column = \"Last Name\" }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FieldEntry, E> {
                Ok(FieldEntry::Column(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<FieldEntry, E> {
                Ok(FieldEntry::Column(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldEntry, A::Error> {
                // A table whose keys are field-entry keys is the full form; one whose first key
                // is not (and is not a near miss of one) holds entries one level down.
                let mut t = FieldTable::default();
                let mut seen_table_key = false;
                let mut nested = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let k = key.get_ref().as_str();
                    let is_table_key = FIELD_KEYS.contains(&k);
                    let near_miss =
                        !is_table_key && nearest(k, FIELD_KEYS.iter().copied()).is_some();
                    let stray_key = !is_table_key && (seen_table_key || near_miss);
                    let mixed = is_table_key && !nested.is_empty();
                    if stray_key || mixed {
                        // Reported by compile, at the key's line, with a suggestion.
                        if t.unknown_key.is_none() {
                            t.unknown_key = Some(if is_table_key {
                                nested
                                    .first()
                                    .map(|(k, _): &(Spanned<String>, FieldEntry)| k.clone())
                                    .unwrap_or(key)
                            } else {
                                key
                            });
                        }
                        map.next_value::<serde::de::IgnoredAny>()?;
                        continue;
                    }
                    if !is_table_key {
                        nested.push((key, map.next_value::<FieldEntry>()?));
                        continue;
                    }
                    seen_table_key = true;
                    match k {
                        "column" => t.column = Some(map.next_value()?),
                        "columns" => t.columns = Some(map.next_value()?),
                        "template" => t.template = Some(map.next_value()?),
                        "value" => t.value = Some(map.next_value()?),
                        "transform" => t.transform = map.next_value()?,
                        "required" => t.required = map.next_value()?,
                        "default" => t.default = Some(map.next_value()?),
                        "map" => t.map = Some(map.next_value()?),
                        "map_default" => t.map_default = Some(map.next_value()?),
                        "date" => t.date = Some(map.next_value()?),
                        "split" => t.split = Some(map.next_value()?),
                        "create_missing" => t.create_missing = map.next_value()?,
                        "from" => t.from = Some(map.next_value()?),
                        "extend_only" => t.extend_only = Some(map.next_value()?),
                        _ => t.on_blank = Some(map.next_value()?),
                    }
                }
                if t.unknown_key.is_none() && !nested.is_empty() {
                    return Ok(FieldEntry::Nested(nested));
                }
                Ok(FieldEntry::Full(Box::new(t)))
            }
        }
        d.deserialize_any(V)
    }
}

/// The full form of a field entry (keys: [`FIELD_KEYS`]).
#[derive(Debug, Default)]
pub(crate) struct FieldTable {
    pub column: Option<Spanned<String>>,
    /// Columns tried in order; the first non-blank one is the field's value.
    pub columns: Option<Spanned<Vec<String>>>,
    pub template: Option<Spanned<String>>,
    pub value: Option<Spanned<toml::Value>>,
    pub transform: Vec<Spanned<toml::Value>>,
    pub required: bool,
    pub default: Option<Spanned<toml::Value>>,
    pub map: Option<Spanned<toml::Table>>,
    pub map_default: Option<Spanned<toml::Value>>,
    pub date: Option<Spanned<String>>,
    pub split: Option<Spanned<String>>,
    pub on_blank: Option<OnBlank>,
    /// Names the target does not know are created (FOLIO departments), not rejected.
    pub create_missing: bool,
    /// A value the run computes instead of a source (`from = "group_offset"`: FOLIO's
    /// `expirationDate` from the patron group's offset).
    pub from: Option<Spanned<String>>,
    /// FOLIO `expirationDate`: an update never moves a stored expiry earlier.
    pub extend_only: Option<Spanned<bool>>,
    /// The first key that is not a field-entry key (an error, reported by compile).
    pub unknown_key: Option<Spanned<String>>,
}

/// 1-based line of byte `offset` in `src`.
pub(crate) fn line_of(src: &str, offset: usize) -> usize {
    let end = offset.min(src.len());
    src.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses the text of a mapping file.
pub(crate) fn parse(path: &Path, src: &str) -> Result<FileDoc, MappingError> {
    toml::from_str::<FileDoc>(src).map_err(|e| MappingError {
        path: path.to_path_buf(),
        line: e.span().map(|s| line_of(src, s.start)),
        message: improve_message(e.message()),
    })
}

/// Turns serde's "unknown field `colum`, expected one of `column`, …" (and "unknown variant …")
/// into a one-line message with a "did you mean" suggestion.
fn improve_message(msg: &str) -> String {
    let msg = msg.trim().replace('\n', " ");
    for (prefix, what) in [("unknown field `", "key"), ("unknown variant `", "value")] {
        let Some(rest) = msg.strip_prefix(prefix) else {
            continue;
        };
        let Some(end) = rest.find('`') else { continue };
        let name = &rest[..end];
        let expected: Vec<&str> = rest[end + 1..].split('`').skip(1).step_by(2).collect();
        let mut out = format!("unknown {what} `{name}`");
        match nearest(name, expected.iter().copied()) {
            Some(s) => out.push_str(&format!(" (did you mean `{s}`?)")),
            None if !expected.is_empty() => {
                out.push_str(&format!("; expected one of: {}", expected.join(", ")))
            }
            None => out.push_str("; no keys are allowed here"),
        }
        return out;
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_counts_newlines() {
        let s = "a\nb\nc";
        assert_eq!(line_of(s, 0), 1);
        assert_eq!(line_of(s, 2), 2);
        assert_eq!(line_of(s, 4), 3);
        assert_eq!(line_of(s, 99), 3);
    }

    #[test]
    fn unknown_field_message_gets_suggestion() {
        let m =
            improve_message("unknown field `colum`, expected one of `column`, `template`, `value`");
        assert_eq!(m, "unknown key `colum` (did you mean `column`?)");
        let m = improve_message("unknown variant `clr`, expected `keep` or `clear`");
        assert_eq!(m, "unknown value `clr` (did you mean `clear`?)");
        let m = improve_message("unknown field `zzzzz`, expected `keep` or `clear`");
        assert_eq!(m, "unknown key `zzzzz`; expected one of: keep, clear");
    }

    #[test]
    fn parses_fields_in_order_with_spans() {
        let src = "system = \"folio\"\nmatch = \"username\"\n[fields]\nusername = \"NetID\"\n\"personal.lastName\" = { column = \"Last\", required = true }\n";
        let doc = parse(Path::new("m.toml"), src).expect("parses");
        let fields = doc.fields.expect("fields").0;
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].0.get_ref(), "username");
        assert_eq!(line_of(src, fields[0].0.span().start), 4);
        assert_eq!(fields[1].0.get_ref(), "personal.lastName");
        assert_eq!(line_of(src, fields[1].0.span().start), 5);
        match &fields[1].1 {
            FieldEntry::Full(t) => assert!(t.required),
            _ => panic!("expected table form"),
        }
    }
}
