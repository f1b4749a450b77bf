//! Turning a field's final text into a JSON value of the field's kind (from the system catalogue),
//! the `map` value table, and detection of ids a spreadsheet mangled into scientific notation.
//!
//! Invariant: every failure is a row-issue reason quoting the offending value, never a panic.

use super::transform::{format_date, parse_iso_date, system_date_format};
use crate::systems::schema::FieldKind;
use crate::systems::{registry, System};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;

/// Converts `text` (non-blank) to `kind`. `split` separates list items.
pub(crate) fn coerce(
    kind: FieldKind,
    text: Cow<'_, str>,
    split: &str,
    system: System,
) -> Result<Value, String> {
    match kind {
        FieldKind::Text => Ok(Value::String(text.into_owned())),
        FieldKind::Bool => parse_bool(&text)
            .map(Value::Bool)
            .ok_or_else(|| format!("not a yes/no value: \"{text}\" (use true/false, yes/no, y/n, 1/0, active/inactive)")),
        FieldKind::Date => match registry::schema(system).date_time_value(&text) {
            Some(t) => Ok(Value::String(t)),
            None => parse_iso_date(&text)
            .map(|d| Value::String(format_date(d, system_date_format(system))))
            .ok_or_else(|| {
                format!("not a date: \"{text}\" (expected YYYY-MM-DD; add date = \"%m/%d/%Y\" or similar to the field)")
            }),
        },
        FieldKind::Integer => text
            .trim()
            .parse::<i64>()
            .map(|n| Value::Number(n.into()))
            .map_err(|_| format!("not a whole number: \"{text}\"")),
        FieldKind::List => Ok(Value::Array(
            crate::text::split_list(&text, split)
                .into_iter()
                .map(Value::String)
                .collect(),
        )),
    }
}

/// true/false, yes/no, y/n, 1/0, active/inactive (case-insensitive, trimmed).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    const TRUE: &[&str] = &["true", "yes", "y", "1", "active"];
    const FALSE: &[&str] = &["false", "no", "n", "0", "inactive"];
    if TRUE.iter().any(|w| t.eq_ignore_ascii_case(w)) {
        Some(true)
    } else if FALSE.iter().any(|w| t.eq_ignore_ascii_case(w)) {
        Some(false)
    } else {
        None
    }
}

/// Whether a raw cell looks like a number a spreadsheet turned into scientific notation
/// (`2.02E+12`, `2.02e12`, `1.5E+07`, `3E5`).
pub(crate) fn looks_scientific(raw: &str) -> bool {
    let s = raw.trim();
    let Some(e) = s.find(['e', 'E']) else {
        return false;
    };
    let (mant, exp) = (&s[..e], &s[e + 1..]);
    let mant = mant.strip_prefix(['+', '-']).unwrap_or(mant);
    let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    !int.is_empty() && digits(int) && digits(frac) && !exp.is_empty() && digits(exp)
}

/// A compiled `map = { … }` table with optional `map_default`.
#[derive(Debug, Clone)]
pub(crate) struct ValueMap {
    /// (source value, output value) in file order.
    pairs: Vec<(String, String)>,
    /// Exact-match index, built only for large maps (small ones are scanned, which is faster).
    exact: Option<HashMap<String, usize>>,
    /// Trimmed, lower-cased source value → index of the first pair with that folding.
    folded: HashMap<String, usize>,
    default: Option<String>,
}

/// Maps with more entries than this get a hash index for exact matches.
const SCAN_LIMIT: usize = 16;

impl ValueMap {
    /// Builds the map from (source value, output value) pairs in file order.
    pub(crate) fn new(pairs: Vec<(String, String)>, default: Option<String>) -> ValueMap {
        let mut folded = HashMap::with_capacity(pairs.len());
        for (i, (k, _)) in pairs.iter().enumerate() {
            folded.entry(k.trim().to_lowercase()).or_insert(i);
        }
        let exact = (pairs.len() > SCAN_LIMIT).then(|| {
            let mut m = HashMap::with_capacity(pairs.len());
            for (i, (k, _)) in pairs.iter().enumerate() {
                m.entry(k.clone()).or_insert(i);
            }
            m
        });
        ValueMap {
            pairs,
            exact,
            folded,
            default,
        }
    }

    /// The (source value, output value) pairs, in file order.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Maps `value`: exact match, then case-insensitive and trimmed, then `map_default`; otherwise
    /// a reason listing the allowed keys.
    pub(crate) fn apply(&self, value: &str) -> Result<String, String> {
        let hit = match &self.exact {
            Some(index) => index.get(value).copied(),
            None => self.pairs.iter().position(|(k, _)| k == value),
        }
        .or_else(|| self.folded.get(&value.trim().to_lowercase()).copied());
        if let Some((_, v)) = hit.and_then(|i| self.pairs.get(i)) {
            return Ok(v.clone());
        }
        if let Some(d) = &self.default {
            return Ok(d.clone());
        }
        let keys: Vec<&str> = self.pairs.iter().map(|(k, _)| k.as_str()).collect();
        Err(format!(
            "\"{value}\" is not one of the mapped values: {}",
            keys.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bool_words() {
        for t in ["true", "YES", "y", "1", "Active", " yes "] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "No", "N", "0", "INACTIVE"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_bool("maybe"), None);
        let e = coerce(FieldKind::Bool, "maybe".into(), ";", System::Folio).expect_err("bad bool");
        assert!(e.contains("\"maybe\""), "{e}");
    }

    #[test]
    fn folio_keeps_a_time_of_day() {
        assert_eq!(
            coerce(
                FieldKind::Date,
                "2020-10-07T04:00:00.000+00:00".into(),
                ";",
                System::Folio
            ),
            Ok(Value::String("2020-10-07T04:00:00.000+00:00".into()))
        );
        assert_eq!(
            coerce(
                FieldKind::Date,
                "2020-10-07T04:00:00".into(),
                ";",
                System::Folio
            ),
            Ok(Value::String("2020-10-07T04:00:00.000+00:00".into()))
        );
        assert_eq!(
            coerce(
                FieldKind::Date,
                "2020-10-07T00:00:00.000+00:00".into(),
                ";",
                System::Folio
            ),
            Ok(Value::String("2020-10-07".into()))
        );
    }

    #[test]
    fn date_kind_requires_iso_and_writes_system_format() {
        assert_eq!(
            coerce(FieldKind::Date, "2027-05-31".into(), ";", System::Folio),
            Ok(json!("2027-05-31"))
        );
        assert_eq!(
            coerce(FieldKind::Date, "2027-05-31".into(), ";", System::Illiad),
            Ok(json!("2027-05-31T00:00:00"))
        );
        assert_eq!(
            coerce(
                FieldKind::Date,
                "2027-05-31T00:00:00".into(),
                ";",
                System::Libib
            ),
            Ok(json!("2027-05-31"))
        );
        let e =
            coerce(FieldKind::Date, "5/31/2027".into(), ";", System::Folio).expect_err("not iso");
        assert!(e.contains("\"5/31/2027\""), "{e}");
    }

    #[test]
    fn integer_text_and_list() {
        assert_eq!(
            coerce(FieldKind::Integer, " 42 ".into(), ";", System::Folio),
            Ok(json!(42))
        );
        assert!(coerce(FieldKind::Integer, "4.2".into(), ";", System::Folio).is_err());
        assert_eq!(
            coerce(FieldKind::Text, " a ".into(), ";", System::Folio),
            Ok(json!(" a "))
        );
        assert_eq!(
            coerce(
                FieldKind::List,
                " Math ; ;Physics;".into(),
                ";",
                System::Folio
            ),
            Ok(json!(["Math", "Physics"]))
        );
        assert_eq!(
            coerce(FieldKind::List, "a|b".into(), "|", System::Folio),
            Ok(json!(["a", "b"]))
        );
    }

    #[test]
    fn scientific_notation_detection() {
        for s in ["2.02E+12", "2.02e12", "1.5E+07", "3E5", " 1.23456789E+13 "] {
            assert!(looks_scientific(s), "{s}");
        }
        for s in [
            "20200000000000",
            "E12",
            "2.02E",
            "abcE12",
            "12e3x",
            "jdoe",
            "1.5",
        ] {
            assert!(!looks_scientific(s), "{s}");
        }
    }

    #[test]
    fn map_with_default_and_without() {
        let pairs = vec![
            ("UG".to_string(), "undergrad".to_string()),
            ("GR".into(), "graduate".into()),
        ];
        let strict = ValueMap::new(pairs.clone(), None);
        assert_eq!(strict.apply("UG"), Ok("undergrad".into()));
        assert_eq!(strict.apply(" gr "), Ok("graduate".into()));
        let e = strict.apply("FAC").expect_err("unmapped");
        assert_eq!(e, "\"FAC\" is not one of the mapped values: UG, GR");
        let lenient = ValueMap::new(pairs, Some("staff".into()));
        let big: Vec<(String, String)> = (0..40)
            .map(|i| (format!("K{i}"), format!("v{i}")))
            .collect();
        let big = ValueMap::new(big, None);
        assert_eq!(big.apply("K39"), Ok("v39".into()));
        assert_eq!(big.apply(" k7 "), Ok("v7".into()));
        assert!(big.apply("K40").is_err());
        assert_eq!(lenient.apply("FAC"), Ok("staff".into()));
        assert_eq!(lenient.apply("GR"), Ok("graduate".into()));
    }
}
