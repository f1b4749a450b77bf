//! `lower(f_unaccent(…))`, the folding FOLIO's unique indexes and CQL `==` apply (mod-users
//! `src/main/resources/templates/db_scripts/schema.json`: `"caseSensitive": false,
//! "removeAccents": true`; RMB's `f_unaccent` is PostgreSQL's `unaccent('public.unaccent', $1)`:
//! folio-org/raml-module-builder `domain-models-runtime/src/main/resources/templates/db_scripts/
//! general_functions.ftl` lines 105-109).
//!
//! The rules are those of PostgreSQL's `contrib/unaccent/unaccent.rules`, for the characters
//! patron names and identifiers are made of: Latin letters with diacritics (by their Unicode
//! decomposition, as `generate_unaccent_rules.py` derives them), the Latin letters the file maps
//! by hand because they do not decompose (ø→o, ß→ss, æ→ae, ł→l, đ→d, ħ→h, ı→i, œ→oe, þ→th, …),
//! Greek letters with tonos and the like, Ё/ё, the combining marks U+0300–U+036F (removed),
//! ligatures (ﬁ→fi), fullwidth forms and mathematical alphanumerics. Not modelled: the file's
//! punctuation and symbol rules (« → <<, ½ → " 1/2", ℃ → °C, № → No) and small capitals and
//! modifier letters (ᴀ → A); those characters are kept as they are.
//! Invariant: folding leaves ASCII other than upper case untouched, and is idempotent but for Ƕ
//! and Ƞ, which the rules file leaves while mapping their lower case (as PostgreSQL's own is).

use std::borrow::Cow;
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// The `unaccent.rules` entries for letters with no Unicode decomposition (PostgreSQL
/// `contrib/unaccent/unaccent.rules`; `generate_unaccent_rules.py` adds them from its
/// "special cases" and "letters with stroke" tables).
const SPECIAL: &[(char, &str)] = &[
    ('Æ', "AE"),
    ('æ', "ae"),
    ('Ð', "D"),
    ('ð', "d"),
    ('Ø', "O"),
    ('ø', "o"),
    ('Þ', "TH"),
    ('þ', "th"),
    ('ß', "ss"),
    ('×', "*"),
    ('÷', "/"),
    ('Đ', "D"),
    ('đ', "d"),
    ('Ħ', "H"),
    ('ħ', "h"),
    ('ı', "i"),
    ('ĸ', "q"),
    ('Ŀ', "L"),
    ('ŀ', "l"),
    ('Ł', "L"),
    ('ł', "l"),
    ('ŉ', "'n"),
    ('Ŋ', "N"),
    ('ŋ', "n"),
    ('Œ', "OE"),
    ('œ', "oe"),
    ('Ŧ', "T"),
    ('ŧ', "t"),
    ('ƀ', "b"),
    ('Ɓ', "B"),
    ('Ƃ', "B"),
    ('ƃ', "b"),
    ('Ƈ', "C"),
    ('ƈ', "c"),
    ('Ɖ', "D"),
    ('Ɗ', "D"),
    ('Ƌ', "D"),
    ('ƌ', "d"),
    ('Ɛ', "E"),
    ('Ƒ', "F"),
    ('ƒ', "f"),
    ('Ɠ', "G"),
    ('ƕ', "hv"),
    ('Ɩ', "I"),
    ('Ɨ', "I"),
    ('Ƙ', "K"),
    ('ƙ', "k"),
    ('ƚ', "l"),
    ('Ɲ', "N"),
    ('ƞ', "n"),
    ('Ƣ', "OI"),
    ('ƣ', "oi"),
    ('Ƥ', "P"),
    ('ƥ', "p"),
    ('ƫ', "t"),
    ('Ƭ', "T"),
    ('ƭ', "t"),
    ('Ʈ', "T"),
    ('Ʋ', "V"),
    ('Ƴ', "Y"),
    ('ƴ', "y"),
    ('Ƶ', "Z"),
    ('ƶ', "z"),
    ('Ǥ', "G"),
    ('ǥ', "g"),
    ('ȡ', "d"),
    ('Ȥ', "Z"),
    ('ȥ', "z"),
    ('ȴ', "l"),
    ('ȵ', "n"),
    ('ȶ', "t"),
    ('ȷ', "j"),
    ('ȸ', "db"),
    ('ȹ', "qp"),
    ('Ⱥ', "A"),
    ('Ȼ', "C"),
    ('ȼ', "c"),
    ('Ƚ', "L"),
    ('Ⱦ', "T"),
    ('ȿ', "s"),
    ('ɀ', "z"),
    ('Ƀ', "B"),
    ('Ʉ', "U"),
    ('Ɇ', "E"),
    ('ɇ', "e"),
    ('Ɉ', "J"),
    ('ɉ', "j"),
    ('Ɍ', "R"),
    ('ɍ', "r"),
    ('Ɏ', "Y"),
    ('ɏ', "y"),
    ('ẚ', "a"),
    ('ẜ', "s"),
    ('ẝ', "s"),
    ('ẞ', "SS"),
    ('Ỻ', "LL"),
    ('ỻ', "ll"),
    ('Ỽ', "V"),
    ('ỽ', "v"),
    ('Ỿ', "Y"),
    ('ỿ', "y"),
    ('Ё', "Е"),
    ('ё', "е"),
    // Listed in `unaccent.rules` outside the blocks folded by decomposition; without them the
    // lower-case form a fold produces would fold again (ȿ, ɀ, å from these capitals).
    ('\u{212B}', "A"), // ANGSTROM SIGN
    ('\u{2C7E}', "S"),
    ('\u{2C7F}', "Z"),
];

/// Whether the rules file folds `c` by its decomposition (the blocks it covers).
fn by_decomposition(c: char) -> bool {
    matches!(c as u32,
        0x00AA | 0x00BA | 0x00C0..=0x024F | 0x0300..=0x036F | 0x0370..=0x03FF
        | 0x1E00..=0x1EFF | 0x1F00..=0x1FFF | 0xFB00..=0xFB06 | 0xFF01..=0xFF5E
        | 0x1D400..=0x1D7FF)
}

/// [`SPECIAL`] sorted by character, for binary search.
static SORTED: std::sync::LazyLock<Vec<(char, &'static str)>> = std::sync::LazyLock::new(|| {
    let mut v = SPECIAL.to_vec();
    v.sort_unstable_by_key(|(c, _)| *c);
    v
});

fn unaccent_char(c: char, out: &mut String) {
    if let Ok(i) = SORTED.binary_search_by(|(k, _)| k.cmp(&c)) {
        out.push_str(SORTED[i].1);
    } else if by_decomposition(c) && !decomposes_to_special(c) {
        decompose_compatible(c, |d| {
            if !is_combining_mark(d) {
                out.push(d);
            }
        });
    } else {
        out.push(c);
    }
}

/// Whether `c` decomposes to a letter the rules map by hand (Ǣ → Æ + macron, 𝚤 → ı): the file
/// has no line for such a character (`generate_unaccent_rules.py` maps a letter with marks only
/// to a plain letter; Ǣ ǣ Ǽ ǽ Ǿ ǿ 𝚤 𝚥 are absent from `unaccent.rules`), so it is kept.
fn decomposes_to_special(c: char) -> bool {
    let mut special = false;
    decompose_compatible(c, |d| {
        special |= SORTED.binary_search_by(|(k, _)| k.cmp(&d)).is_ok();
    });
    special
}

/// `f_unaccent(s)`: accents removed, case kept.
pub fn unaccent(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        unaccent_char(c, &mut out);
    }
    Cow::Owned(out)
}

/// `lower(f_unaccent(s))`, borrowing `s` when it is already folded (lower-case ASCII).
pub fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Owned(s.to_ascii_lowercase());
        }
        return Cow::Borrowed(s);
    }
    Cow::Owned(unaccent(s).to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn special_table_has_one_entry_per_character() {
        assert!(SORTED.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(SORTED.len(), SPECIAL.len());
    }

    /// Entries of PostgreSQL `contrib/unaccent/unaccent.rules`, folded with `lower`.
    #[test]
    fn folds_like_the_unaccent_rules_file() {
        for (input, expected) in [
            ("Ørsted", "orsted"),
            ("Straße", "strasse"),
            ("Ærø", "aero"),
            ("Łódź", "lodz"),
            ("Đorđević", "dordevic"),
            ("José Núñez", "jose nunez"),
            ("Œuvre", "oeuvre"),
            ("Þórr", "thorr"),
            ("İstanbul", "istanbul"),
            ("ﬁnance", "finance"),
            ("ＡＢＣ", "abc"),
            ("Ελένη", "ελενη"),
            ("Ёлка", "елка"),
            ("Йошкар", "йошкар"),
            ("e\u{301}", "e"),
            ("日本", "日本"),
            // No line for Ǣ (it decomposes to Æ, not a plain letter): kept, then lower-cased.
            ("Ǣ", "ǣ"),
            ("\u{212B}", "a"),
            ("\u{2C7E}", "s"),
        ] {
            assert_eq!(fold(input), expected, "{input}");
        }
    }

    /// The two capitals `unaccent.rules` has no line for while it maps their lower case (ƕ → hv,
    /// ƞ → n): PostgreSQL's own `lower(f_unaccent(…))` folds them twice differently.
    const NOT_IDEMPOTENT: [char; 2] = ['Ƕ', 'Ƞ'];

    #[test]
    fn every_character_folds_once_for_all_but_the_rules_files_own_exceptions() {
        let mut again = Vec::new();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let once = fold(&c.to_string()).into_owned();
            if fold(&once) != once {
                again.push(c);
            }
        }
        assert_eq!(again, NOT_IDEMPOTENT);
        assert_eq!((fold("Ƕ"), fold("ƕ")), ("ƕ".into(), "hv".into()));
    }

    proptest! {
        #[test]
        fn folding_is_idempotent(s in "\\PC{0,24}") {
            let s: String = s.chars().filter(|c| !NOT_IDEMPOTENT.contains(c)).collect();
            let once = fold(&s).into_owned();
            prop_assert_eq!(fold(&once).into_owned(), once);
        }

        #[test]
        fn ascii_only_changes_case(s in "[ -~]{0,24}") {
            prop_assert_eq!(fold(&s).into_owned(), s.to_ascii_lowercase());
        }
    }
}
