//! Char-boundary-safe string helpers shared by the planners, the FOLIO merge and undo.
//!
//! Invariant: nothing here slices a string at a byte index without checking that it is a
//! character boundary; a value a user or a server controls (`2027-06-3é`) never panics, it just
//! is not a date.

/// `s` split at byte `i`, or `None` when `i` is past the end or inside a character.
pub fn split_at_boundary(s: &str, i: usize) -> Option<(&str, &str)> {
    Some((s.get(..i)?, s.get(i..)?))
}

/// The `YYYY-MM-DD` start of `s` (ASCII digits and dashes only; the calendar is not checked)
/// and what follows it.
pub fn iso_date_prefix(s: &str) -> Option<(&str, &str)> {
    let (date, rest) = split_at_boundary(s, 10)?;
    let ok = date.bytes().enumerate().all(|(i, b)| {
        if i == 4 || i == 7 {
            b == b'-'
        } else {
            b.is_ascii_digit()
        }
    });
    ok.then_some((date, rest))
}

/// Whether `rest` (what follows a date) is nothing or a time of midnight UTC: `T00:00`, then
/// optionally `:00`, optionally a fraction of zeros, then nothing, `Z`, `+00:00`, `-00:00` or
/// `+0000`.
fn is_midnight_utc(rest: &str) -> bool {
    if rest.is_empty() {
        return true;
    }
    let Some(t) = rest.strip_prefix("T00:00") else {
        return false;
    };
    let t = t.strip_prefix(":00").unwrap_or(t);
    let t = match t.strip_prefix('.') {
        Some(frac) => {
            let after = frac.trim_start_matches('0');
            if after.len() == frac.len() {
                return false;
            }
            after
        }
        None => t,
    };
    matches!(t, "" | "Z" | "+00:00" | "-00:00" | "+0000")
}

/// The date of a date or a date-time at midnight UTC (`2027-06-30`,
/// `2027-06-30T00:00:00.000+00:00` → `2027-06-30`); `None` for anything else. Servers store
/// dates as date-times, so this is how a date in a roster is compared with a stored one.
pub fn midnight_date(s: &str) -> Option<&str> {
    let (date, rest) = iso_date_prefix(s)?;
    is_midnight_utc(rest).then_some(date)
}

/// List items joined with `join` (which starts with the separator `sep`, e.g. `"; "`), so that
/// [`split_list`] gives them back exactly: a `\\` or `sep` inside an item is written with a `\\`
/// before it (`a; b` → `a\\; b`).
pub fn join_list(items: &[String], sep: char, join: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(join);
        }
        for c in item.chars() {
            if c == '\\' || c == sep {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// Splits `text` at each `split` that is not escaped by a `\\` (see [`join_list`]); `\\\\` and
/// `\\` + the separator's first character stand for themselves, any other `\\` is kept as it is.
/// Items are trimmed; empty items are dropped.
pub fn split_list(text: &str, split: &str) -> Vec<String> {
    let Some(sep) = split.chars().next() else {
        return vec![text.trim().to_string()];
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix('\\') {
            match after.chars().next() {
                Some(n) if n == '\\' || n == sep => {
                    cur.push(n);
                    rest = &after[n.len_utf8()..];
                    continue;
                }
                _ => {}
            }
        } else if let Some(after) = rest.strip_prefix(split) {
            out.push(std::mem::take(&mut cur));
            rest = after;
            continue;
        }
        cur.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A JSON value with a midnight-UTC date-time string replaced by its date (see
/// [`midnight_date`]); anything else as it is.
pub fn date_normalised(v: &serde_json::Value) -> std::borrow::Cow<'_, serde_json::Value> {
    match v {
        serde_json::Value::String(s) => match midnight_date(s) {
            Some(d) if d.len() != s.len() => {
                std::borrow::Cow::Owned(serde_json::Value::String(d.to_string()))
            }
            _ => std::borrow::Cow::Borrowed(v),
        },
        _ => std::borrow::Cow::Borrowed(v),
    }
}

/// Property-test inputs shared by the modules that take user- or server-controlled text.
#[cfg(test)]
pub(crate) mod arb {
    use proptest::prelude::*;
    use serde_json::Value;

    /// Arbitrary Unicode, weighted towards the shapes that have broken helpers before: dates with
    /// a multi-byte character at byte 10, midnights, formula starts, phones with extensions.
    pub(crate) fn text() -> BoxedStrategy<String> {
        prop_oneof![
            4 => any::<String>(),
            2 => "[0-9]{4}-[0-9]{2}-[0-9é]{1,2}(T00:00(:00)?(\\.0{1,3})?(Z|[+-]00:00)?)?.{0,3}",
            1 => "['=+@\t\r-]{0,3}.{0,12}",
            1 => "[+(]?[0-9 ().-]{5,18}( ?(x|ext\\.?|#) ?[0-9]{1,6})?",
            1 => "\\PC{0,3}[ ,;\t\n]{0,2}\\PC{0,8}",
        ]
        .boxed()
    }

    /// Arbitrary JSON records whose keys are mostly patron field names.
    pub(crate) fn json() -> BoxedStrategy<Value> {
        let key = prop_oneof![
            3 => prop::sample::select(vec![
                "id", "personal", "addresses", "addressTypeId", "primaryAddress", "city",
                "expirationDate", "lastName", "email", "phone", "tags", "tagList", "UserName",
                "ExpirationDate", "EMailAddress", "barcode", "freeze", "patron_id",
            ])
            .prop_map(str::to_string),
            1 => any::<String>(),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_midnights() {
        for s in [
            "2027-06-30",
            "2027-06-30T00:00",
            "2027-06-30T00:00:00",
            "2027-06-30T00:00:00Z",
            "2027-06-30T00:00:00.000Z",
            "2027-06-30T00:00:00+00:00",
            "2027-06-30T00:00:00.000+00:00",
        ] {
            assert_eq!(midnight_date(s), Some("2027-06-30"), "{s}");
        }
        for s in [
            "2027-06-30T04:00:00Z",
            "2027-06-30T00:00:00+02:00",
            "2027-06-30 00:00",
            "2027-06-3é",
            "2027-06-3éT00:00:00",
            "é027-06-30",
            "2027/06/30",
            "2027-06-",
            "",
        ] {
            assert_eq!(midnight_date(s), None, "{s}");
        }
        assert_eq!(split_at_boundary("abé", 3), None);
        assert_eq!(split_at_boundary("abé", 2), Some(("ab", "é")));
        assert_eq!(split_at_boundary("ab", 3), None);
        let items = vec!["a; b".to_string(), "c\\d".to_string(), "e".to_string()];
        assert_eq!(join_list(&items, ';', "; "), "a\\; b; c\\\\d; e");
        assert_eq!(split_list("a\\; b; c\\\\d; e", ";"), items);
        assert_eq!(split_list(" Math ; ;C:\\x;", ";"), ["Math", "C:\\x"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn lists_round_trip(items in proptest::collection::vec("[a-z;\\\\ é,|]{0,6}", 0..5)) {
            let items: Vec<String> = items
                .into_iter()
                .map(|i| i.trim().to_string())
                .filter(|i| !i.is_empty())
                .collect();
            for (sep, join, split) in [(';', "; ", ";"), (',', ", ", ","), ('|', "|", "|")] {
                proptest::prop_assert_eq!(&split_list(&join_list(&items, sep, join), split), &items);
            }
        }

        #[test]
        fn date_helpers_never_panic(s in arb::text()) {
            if let Some(d) = midnight_date(&s) {
                proptest::prop_assert!(s.starts_with(d) && d.len() == 10);
            }
            let _ = iso_date_prefix(&s);
            for i in 0..=s.len() + 1 {
                if let Some((a, b)) = split_at_boundary(&s, i) {
                    proptest::prop_assert_eq!(format!("{a}{b}"), s.clone());
                }
            }
        }
    }
}
