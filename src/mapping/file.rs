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
    pub on_blank: Option<OnBlank>,
    pub defaults: Option<Spanned<toml::Table>>,
    pub fields: Option<Fields>,
}

/// `[fields]`, in file order, each with its key's span.
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
                    out.push((key, entry));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// One `[fields]` entry: shorthand column name or the full table.
#[derive(Debug)]
pub(crate) enum FieldEntry {
    /// `field = "Column"`.
    Column(String),
    /// `field = { … }`.
    Full(Box<FieldTable>),
}

impl<'de> Deserialize<'de> for FieldEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor rather than `#[serde(untagged)]`, so errors inside the table form
        // (deny_unknown_fields) keep their message and span.
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
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FieldEntry, A::Error> {
                FieldTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|t| FieldEntry::Full(Box::new(t)))
            }
        }
        d.deserialize_any(V)
    }
}

/// The full form of a field entry.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldTable {
    pub column: Option<Spanned<String>>,
    pub template: Option<Spanned<String>>,
    pub value: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub transform: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    pub required: bool,
    pub default: Option<Spanned<toml::Value>>,
    pub map: Option<Spanned<toml::Table>>,
    pub map_default: Option<Spanned<toml::Value>>,
    pub date: Option<Spanned<String>>,
    pub split: Option<Spanned<String>>,
    pub on_blank: Option<OnBlank>,
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
            FieldEntry::Column(_) => panic!("expected table form"),
        }
    }
}
