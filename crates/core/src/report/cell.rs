//! Cell hygiene for anything a spreadsheet will open as CSV (formula-injection guard), and its
//! inverse for the CSV reader.
//!
//! The rule ([`is_formula`]), after OWASP's CSV-injection advice narrowed to what a spreadsheet
//! actually evaluates:
//! - a cell starting with `=` or `@` (Lotus-style functions), or with a tab or carriage return
//!   (which spreadsheets skip before looking for a formula), is a formula;
//! - a cell starting with `+` or `-` is a formula when a letter follows the sign (`+A1`, `-cmd`,
//!   `+SUM(…)`), or when it holds a function call (`x(`), a reference to another sheet, file or
//!   program (`!`, `|`), a string (`"`), `&`, `=` or `@`;
//! - everything else is data: `+1 608 555 0142`, `+44 (20) 7946 0958`, `-12.50`, `- none -`.
//!
//! [`neutralise`] puts one `'` before such a cell — and before a cell that is already one or more
//! `'` followed by a formula, so that a real leading apostrophe survives. [`unguard`] takes
//! exactly that `'` off again, so export → import is the identity for every text. XLSX text cells
//! need no guard at all: a string cell is never evaluated.

/// Whether a spreadsheet would evaluate `text` as a formula (the module's rule).
pub fn is_formula(text: &str) -> bool {
    let mut chars = text.chars();
    match chars.next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => {
            let rest = chars.as_str();
            if rest.chars().next().is_some_and(char::is_alphabetic) {
                return true;
            }
            let mut prev_word = false;
            for c in rest.chars() {
                if matches!(c, '!' | '|' | '"' | '&' | '=' | '@') || (c == '(' && prev_word) {
                    return true;
                }
                prev_word = c.is_alphanumeric() || c == '_' || c == '.';
            }
            false
        }
        _ => false,
    }
}

/// Whether `text` needs the guard: it is a formula once any leading apostrophes are set aside.
fn needs_guard(text: &str) -> bool {
    is_formula(text.trim_start_matches('\''))
}

/// `text` with a leading `'` when a spreadsheet would evaluate it (see the module's rule).
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    if needs_guard(text) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// The inverse of [`neutralise`]: `text` without the `'` that [`neutralise`] would have added.
/// `unguard(&neutralise(s)) == s` for every `s`.
pub fn unguard(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if needs_guard(rest) => rest,
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::{is_formula, neutralise, unguard};

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(
            neutralise("=HYPERLINK(\"http://x\",\"y\")"),
            "'=HYPERLINK(\"http://x\",\"y\")"
        );
        assert_eq!(neutralise("+A1"), "'+A1");
        assert_eq!(
            neutralise("-2+3+cmd|' /C calc'!A0"),
            "'-2+3+cmd|' /C calc'!A0"
        );
        assert_eq!(neutralise("+1+SUM(A1:A9)"), "'+1+SUM(A1:A9)");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("\tx"), "'\tx");
        assert_eq!(neutralise("\rx"), "'\rx");
        assert_eq!(neutralise("'=1"), "''=1");
    }

    #[test]
    fn data_is_left_alone() {
        for s in [
            "+1 608 555 0142",
            "+44 (20) 7946 0958",
            "-12.50",
            "-",
            "- none -",
            "José",
            "'quoted",
            "Smith-Jones",
            "a=b",
            "",
        ] {
            assert!(!is_formula(s), "{s}");
            assert_eq!(neutralise(s), s);
            assert_eq!(unguard(s), s);
        }
    }

    #[test]
    fn unguard_inverts_neutralise() {
        for s in [
            "=1", "'=1", "''=1", "'", "''", "'+1 608", "+A1", "x", "\t", "'\t", "@",
        ] {
            assert_eq!(unguard(&neutralise(s)), s, "{s:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn guard_round_trips_and_disarms(s in crate::text::arb::text()) {
            let guarded = neutralise(&s);
            proptest::prop_assert_eq!(unguard(&guarded), s.as_str());
            proptest::prop_assert!(!is_formula(&guarded), "{:?}", guarded);
        }
    }
}
