//! Value transforms named in mapping files (`trim`, `lower`, `{ pad_left = 11 }`, …).
//!
//! Each transform is compiled once at load time ([`Transform`]; regexes included) and applied
//! per row by [`Transform::apply`], which either returns the new text or a row-issue reason that
//! quotes the offending value. Invariant: a blank input stays blank (no transform invents a
//! value from nothing), so blank-handling is decided by the caller.

use crate::systems::schema::email_problem;
use crate::systems::System;
use chrono::format::{Item, StrftimeItems};
use chrono::NaiveDate;
use regex::Regex;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::LazyLock;

/// Transforms written as a bare string.
pub(crate) const SIMPLE: &[&str] = &[
    "trim",
    "lower",
    "upper",
    "collapse_spaces",
    "title",
    "digits",
    "email",
    "phone",
    "phone_compact",
    "required",
];

/// Transforms written as a table with options, and the option keys each allows.
pub(crate) const WITH_OPTIONS: &[(&str, &[&str])] = &[
    ("pad_left", &["char"]),
    ("prefix", &[]),
    ("suffix", &[]),
    ("replace", &["with"]),
    ("split_name", &[]),
    ("date", &[]),
];

/// Every transform name (for suggestions).
pub(crate) fn all_names() -> impl Iterator<Item = &'static str> {
    SIMPLE
        .iter()
        .copied()
        .chain(WITH_OPTIONS.iter().map(|(n, _)| *n))
}

/// Which part of a personal name `split_name` extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NamePart {
    First,
    Last,
    Middle,
}

impl NamePart {
    /// Valid option values.
    pub(crate) const NAMES: &'static [&'static str] = &["first", "last", "middle"];

    /// Parses `first` / `last` / `middle`.
    pub(crate) fn parse(s: &str) -> Option<NamePart> {
        match s {
            "first" => Some(NamePart::First),
            "last" => Some(NamePart::Last),
            "middle" => Some(NamePart::Middle),
            _ => None,
        }
    }
}

/// A compiled transform.
#[derive(Debug, Clone)]
pub(crate) enum Transform {
    Trim,
    Lower,
    Upper,
    CollapseSpaces,
    Title,
    Digits,
    PadLeft {
        width: usize,
        ch: char,
    },
    Prefix(String),
    Suffix(String),
    Replace {
        re: Regex,
        with: String,
    },
    SplitName(NamePart),
    Date {
        format: DateFormat,
        out: &'static str,
    },
    Email,
    /// `phone`: `619-645-7533 x5934`.
    Phone,
    /// `phone_compact`: the same digits with no separators, `6196457533x5934`, for narrow
    /// fields (ILLiad's 15 characters).
    PhoneCompact,
}

/// An input date format, parsed once at mapping compile time.
#[derive(Debug, Clone)]
pub(crate) struct DateFormat {
    /// As written in the mapping (quoted in reasons).
    text: String,
    /// The parsed strftime items (an invalid format keeps its `Item::Error`, which fails parsing
    /// as re-parsing the text would).
    items: Vec<Item<'static>>,
}

impl From<String> for DateFormat {
    fn from(text: String) -> DateFormat {
        let items = StrftimeItems::new(&text).map(|i| i.to_owned()).collect();
        DateFormat { text, items }
    }
}

impl From<&str> for DateFormat {
    fn from(text: &str) -> DateFormat {
        DateFormat::from(text.to_string())
    }
}

impl std::fmt::Display for DateFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl DateFormat {
    /// Parses `s` in this format, also accepting formats that carry a time of day (the same result
    /// as `NaiveDate::parse_from_str` then `NaiveDateTime::parse_from_str` with the text).
    fn parse(&self, s: &str) -> Option<NaiveDate> {
        if self.text == "%Y-%m-%d" {
            if let Some(d) = fast_ymd(s) {
                return d;
            }
        }
        let mut parsed = chrono::format::Parsed::new();
        chrono::format::parse(&mut parsed, s, self.items.iter()).ok()?;
        parsed.to_naive_date().ok().or_else(|| {
            parsed
                .to_naive_datetime_with_offset(0)
                .ok()
                .map(|dt| dt.date())
        })
    }
}

/// `Some(date or None)` when `s` is exactly `DDDD-DD-DD` (ASCII digits), which chrono's
/// `%Y-%m-%d` reads as those numbers; `None` when `s` has another shape (let chrono decide).
fn fast_ymd(s: &str) -> Option<Option<NaiveDate>> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    Some(NaiveDate::from_ymd_opt(y as i32, m, d))
}

/// Writes `d` in a system's date format ([`system_date_format`]); the same text as
/// `d.format(out)`, without re-parsing the format for the common four-digit years.
pub(crate) fn format_date(d: NaiveDate, out: &str) -> String {
    use chrono::Datelike;
    let tail = match out {
        "%Y-%m-%d" => "",
        "%Y-%m-%dT00:00:00" => "T00:00:00",
        _ => return d.format(out).to_string(),
    };
    if !(0..=9999).contains(&d.year()) {
        return d.format(out).to_string();
    }
    // Digits by hand: `write!` with padding costs more than the rest of the mapping of a date.
    let (y, m, day) = (d.year() as u32, d.month(), d.day());
    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
    let mut s = String::with_capacity(10 + tail.len());
    for n in [y / 1000, y / 100, y / 10, y] {
        s.push(digit(n));
    }
    s.push('-');
    s.push(digit(m / 10));
    s.push(digit(m));
    s.push('-');
    s.push(digit(day / 10));
    s.push(digit(day));
    s.push_str(tail);
    s
}

/// The date format a system stores (`strftime`).
pub(crate) fn system_date_format(system: System) -> &'static str {
    crate::systems::registry::schema(system).date_format()
}

/// Checks that `fmt` is a usable input date format: valid strftime items that round-trip a date
/// (so it names a year, month and day). Returns the reason when not.
pub(crate) fn check_date_format(fmt: &str) -> Result<(), String> {
    if StrftimeItems::new(fmt).any(|i| matches!(i, Item::Error)) {
        return Err(format!(
            "invalid date format \"{fmt}\" (see chrono strftime, e.g. \"%m/%d/%Y\")"
        ));
    }
    let sample = NaiveDate::from_ymd_opt(2001, 2, 3)
        .and_then(|d| d.and_hms_opt(4, 5, 6))
        .ok_or("internal date error")?;
    // Formatting can fail (e.g. a time-zone item with no zone); `write!` reports it instead of
    // panicking like `to_string` would.
    let mut text = String::new();
    if write!(text, "{}", sample.format(fmt)).is_err() {
        return Err(format!(
            "date format \"{fmt}\" cannot be used here (time zones are not supported)"
        ));
    }
    match parse_with(&text, fmt) {
        Some(d) if d == sample.date() => Ok(()),
        _ => Err(format!(
            "date format \"{fmt}\" must name a year, month and day (e.g. \"%m/%d/%Y\")"
        )),
    }
}

/// Parses `s` as a date in `fmt`, also accepting formats that carry a time of day.
fn parse_with(s: &str, fmt: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, fmt).ok().or_else(|| {
        chrono::NaiveDateTime::parse_from_str(s, fmt)
            .ok()
            .map(|dt| dt.date())
    })
}

/// Parses an ISO date `YYYY-MM-DD`, optionally followed by a time (`T…` or ` …`).
pub(crate) fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let (day, rest) = if s.len() > 10 && s.is_char_boundary(10) {
        s.split_at(10)
    } else {
        (s, "")
    };
    if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')) {
        return None;
    }
    match fast_ymd(day) {
        Some(d) => d,
        None => NaiveDate::parse_from_str(day, "%Y-%m-%d").ok(),
    }
}

impl Transform {
    /// The reason code of this transform's errors.
    pub(crate) fn code(&self) -> crate::outcome::ReasonCode {
        use crate::outcome::ReasonCode;
        match self {
            Transform::Email => ReasonCode::BadEmail,
            Transform::Date { .. } => ReasonCode::BadDate,
            _ => ReasonCode::BadValue,
        }
    }

    /// Applies the transform to `s`; `Err` is a row-issue reason quoting the value.
    #[cfg(test)]
    pub(crate) fn apply(&self, s: String) -> Result<String, String> {
        self.apply_cow(Cow::Owned(s)).map(Cow::into_owned)
    }

    /// Applies the transform to `s`, allocating only when the text changes; `Err` is a row-issue
    /// reason quoting the value.
    pub(crate) fn apply_cow<'a>(&self, s: Cow<'a, str>) -> Result<Cow<'a, str>, String> {
        if s.trim().is_empty() {
            // Blank stays blank for every transform (trim still normalises it to "").
            return Ok(match self {
                Transform::Trim | Transform::CollapseSpaces => Cow::Borrowed(""),
                _ => s,
            });
        }
        Ok(match self {
            Transform::Trim => trimmed(s),
            Transform::Lower if s.is_ascii() => {
                if s.bytes().any(|b| b.is_ascii_uppercase()) {
                    let mut o = s.into_owned();
                    o.make_ascii_lowercase();
                    Cow::Owned(o)
                } else {
                    s
                }
            }
            Transform::Lower => Cow::Owned(s.to_lowercase()),
            Transform::Upper if s.is_ascii() => {
                if s.bytes().any(|b| b.is_ascii_lowercase()) {
                    let mut o = s.into_owned();
                    o.make_ascii_uppercase();
                    Cow::Owned(o)
                } else {
                    s
                }
            }
            Transform::Upper => Cow::Owned(s.to_uppercase()),
            Transform::CollapseSpaces => Cow::Owned(collapse_spaces(&s)),
            Transform::Title => Cow::Owned(title_case(&s)),
            Transform::Digits if s.bytes().all(|b| b.is_ascii_digit()) => s,
            Transform::Digits => Cow::Owned(s.chars().filter(|c| c.is_ascii_digit()).collect()),
            Transform::PadLeft { width, ch } => {
                let n = s.chars().count();
                if n >= *width {
                    s
                } else {
                    let mut out = String::with_capacity(s.len() + (width - n) * ch.len_utf8());
                    out.extend(std::iter::repeat_n(*ch, width - n));
                    out.push_str(&s);
                    Cow::Owned(out)
                }
            }
            Transform::Prefix(p) => {
                let mut out = String::with_capacity(p.len() + s.len());
                out.push_str(p);
                out.push_str(&s);
                Cow::Owned(out)
            }
            Transform::Suffix(x) => {
                let mut s = s.into_owned();
                s.push_str(x);
                Cow::Owned(s)
            }
            Transform::Replace { re, with } => match re.replace_all(&s, with.as_str()) {
                Cow::Borrowed(_) => s,
                Cow::Owned(o) => Cow::Owned(o),
            },
            Transform::SplitName(part) => Cow::Owned(split_name(&s, *part)),
            Transform::Date { format, out } => {
                let d = format
                    .parse(s.trim())
                    .or_else(|| parse_iso_date(&s))
                    .ok_or_else(|| {
                        format!(
                            "cannot read \"{s}\" as a date in format \"{format}\" (or YYYY-MM-DD)"
                        )
                    })?;
                Cow::Owned(format_date(d, out))
            }
            Transform::Email => {
                if let Some(why) = email_problem(s.trim()) {
                    return Err(format!("not a valid e-mail address: \"{s}\" ({why})"));
                }
                trimmed(s)
            }
            Transform::Phone => Cow::Owned(normalise_phone(&s, false)?),
            Transform::PhoneCompact => Cow::Owned(normalise_phone(&s, true)?),
        })
    }
}

/// `s` without leading and trailing whitespace (borrowed text stays borrowed).
fn trimmed(s: Cow<'_, str>) -> Cow<'_, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) => {
            let t = o.trim();
            if t.len() == o.len() {
                Cow::Owned(o)
            } else {
                Cow::Owned(t.to_string())
            }
        }
    }
}

/// Runs of whitespace become one space; the result is trimmed.
fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Upper-cases the first letter of each word (after any non-alphanumeric), lower-cases the rest:
/// `o'BRIEN-smith` → `O'Brien-Smith`.
fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_alphabetic() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            // Digits continue a word ("3rd"); anything else starts a new one ("o'brien").
            start = !c.is_numeric();
        }
    }
    out
}

/// Splits "Last, First Middle" (or "First Middle Last" when there is no comma) and returns one
/// part; a single word is taken as the last name.
fn split_name(s: &str, part: NamePart) -> String {
    let (last, given): (String, Vec<&str>) = match s.split_once(',') {
        Some((last, rest)) => (collapse_spaces(last), rest.split_whitespace().collect()),
        None => {
            let mut words: Vec<&str> = s.split_whitespace().collect();
            let last = words.pop().unwrap_or_default().to_string();
            (last, words)
        }
    };
    match part {
        NamePart::Last => last,
        NamePart::First => given.first().copied().unwrap_or_default().to_string(),
        NamePart::Middle => given.get(1..).map(|m| m.join(" ")).unwrap_or_default(),
    }
}

/// A trailing extension: `x5934`, `ext. 12`, `Ext 12`, `extension 12`, `#12`, `;ext=12`
/// (RFC 3966), after the number.
static EXTENSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(.*?[0-9)])[\s,]*(?:;\s*ext\s*=|extension|ext\.?|x|#)\s*[.:]?\s*([0-9]{1,10})\s*$",
    )
    .unwrap_or_else(|e| unreachable!("constant regex: {e}"))
});

/// The most digits a phone number has (ITU-T E.164).
const MAX_PHONE_DIGITS: usize = 15;

/// Reads a phone number: digits (and a leading `+`) kept, NANP numbers written `NNN-NNN-NNNN`,
/// an extension kept after the number as ` x1234`. Only digits, spaces and `-` `.` `(` `)` may
/// separate the digits; anything else (letters, a second number after `/`), fewer than 7 or more
/// than 15 digits is rejected with the value quoted, never merged into another number.
/// `compact` writes the digits with no separators and the extension as `x1234` right after them.
fn normalise_phone(s: &str, compact: bool) -> Result<String, String> {
    let (number, ext) = match EXTENSION.captures(s) {
        Some(c) => (
            c.get(1).map_or("", |m| m.as_str()),
            c.get(2).map(|m| m.as_str()),
        ),
        None => (s, None),
    };
    let number = number.trim();
    let plus = number.starts_with('+');
    let body = number.strip_prefix('+').unwrap_or(number);
    if let Some(c) = body
        .chars()
        .find(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')')))
    {
        return Err(format!(
            "not a phone number: \"{s}\" ('{c}' is neither a digit nor a separator; \
             map the column without \"phone\" to keep it as written)"
        ));
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7 {
        return Err(format!("not a phone number: \"{s}\" (fewer than 7 digits)"));
    }
    if digits.len() > MAX_PHONE_DIGITS {
        return Err(format!(
            "not a phone number: \"{s}\" ({} digits; a phone number has at most \
             {MAX_PHONE_DIGITS} — two numbers in one cell?)",
            digits.len()
        ));
    }
    let nanp = match digits.len() {
        _ if plus => None,
        10 => digits.get(..),
        11 if digits.starts_with('1') => digits.get(1..),
        _ => None,
    };
    let mut out = match nanp.and_then(|d| Some((d.get(..3)?, d.get(3..6)?, d.get(6..)?))) {
        Some((area, exchange, line)) if compact => format!("{area}{exchange}{line}"),
        Some((area, exchange, line)) => format!("{area}-{exchange}-{line}"),
        None if plus => format!("+{digits}"),
        None => digits,
    };
    if let Some(ext) = ext {
        let _ = write!(out, "{}x{ext}", if compact { "" } else { " " });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ap(t: &Transform, s: &str) -> Result<String, String> {
        t.apply(s.to_string())
    }
    fn ok(t: &Transform, s: &str) -> String {
        match ap(t, s) {
            Ok(v) => v,
            Err(e) => panic!("unexpected issue for {s:?}: {e}"),
        }
    }

    #[test]
    fn trim() {
        assert_eq!(ok(&Transform::Trim, "  ab c \t"), "ab c");
        assert_eq!(ok(&Transform::Trim, "abc"), "abc");
        assert_eq!(ok(&Transform::Trim, "   "), "");
    }

    #[test]
    fn lower_and_upper() {
        assert_eq!(ok(&Transform::Lower, "JSmith@X.EDU"), "jsmith@x.edu");
        assert_eq!(ok(&Transform::Upper, "ug Ñu"), "UG ÑU");
    }

    #[test]
    fn collapse_spaces_runs() {
        assert_eq!(
            ok(&Transform::CollapseSpaces, "  Mary \t  Ann   Lee "),
            "Mary Ann Lee"
        );
        assert_eq!(ok(&Transform::CollapseSpaces, " \t "), "");
    }

    #[test]
    fn title() {
        assert_eq!(
            ok(&Transform::Title, "mARY o'BRIEN-smith"),
            "Mary O'Brien-Smith"
        );
        assert_eq!(ok(&Transform::Title, "élan vital"), "Élan Vital");
        assert_eq!(ok(&Transform::Title, "APT 3RD FLOOR"), "Apt 3rd Floor");
    }

    #[test]
    fn digits() {
        assert_eq!(ok(&Transform::Digits, "ID: 00-123 45x"), "0012345");
        assert_eq!(ok(&Transform::Digits, "abc"), "");
    }

    #[test]
    fn pad_left_pads_and_never_truncates() {
        let t = Transform::PadLeft { width: 11, ch: '0' };
        assert_eq!(ok(&t, "12345"), "00000012345");
        assert_eq!(ok(&t, "123456789012"), "123456789012");
        assert_eq!(ok(&t, ""), "");
        let t = Transform::PadLeft { width: 4, ch: '*' };
        assert_eq!(ok(&t, "7"), "***7");
    }

    #[test]
    fn prefix_and_suffix_skip_blank() {
        let p = Transform::Prefix("S".into());
        assert_eq!(ok(&p, "123"), "S123");
        assert_eq!(ok(&p, ""), "");
        let s = Transform::Suffix("@x.edu".into());
        assert_eq!(ok(&s, "jdoe"), "jdoe@x.edu");
        assert_eq!(ok(&s, " "), " ");
    }

    #[test]
    fn replace_all_with_groups() {
        let t = Transform::Replace {
            re: Regex::new(r"^(\w+)@old\.edu$").expect("test regex"),
            with: "$1@new.edu".into(),
        };
        assert_eq!(ok(&t, "jdoe@old.edu"), "jdoe@new.edu");
        assert_eq!(ok(&t, "jdoe@other.edu"), "jdoe@other.edu");
        let t = Transform::Replace {
            re: Regex::new("-").expect("test regex"),
            with: String::new(),
        };
        assert_eq!(ok(&t, "1-2-3"), "123");
    }

    #[test]
    fn split_name_with_comma() {
        let s = "Smith,  Mary Ann  Jo";
        assert_eq!(ok(&Transform::SplitName(NamePart::Last), s), "Smith");
        assert_eq!(ok(&Transform::SplitName(NamePart::First), s), "Mary");
        assert_eq!(ok(&Transform::SplitName(NamePart::Middle), s), "Ann Jo");
        assert_eq!(
            ok(&Transform::SplitName(NamePart::Middle), "Smith, Mary"),
            ""
        );
        assert_eq!(ok(&Transform::SplitName(NamePart::First), "Smith,"), "");
        assert_eq!(
            ok(&Transform::SplitName(NamePart::Last), "de la Cruz, Ana"),
            "de la Cruz"
        );
    }

    #[test]
    fn split_name_without_comma() {
        let s = "Mary Ann Smith";
        assert_eq!(ok(&Transform::SplitName(NamePart::First), s), "Mary");
        assert_eq!(ok(&Transform::SplitName(NamePart::Middle), s), "Ann");
        assert_eq!(ok(&Transform::SplitName(NamePart::Last), s), "Smith");
        assert_eq!(ok(&Transform::SplitName(NamePart::Last), "Cher"), "Cher");
        assert_eq!(ok(&Transform::SplitName(NamePart::First), "Cher"), "");
    }

    #[test]
    fn date_explicit_format_iso_passthrough_and_bad_input() {
        let folio = Transform::Date {
            format: "%m/%d/%Y".into(),
            out: system_date_format(System::Folio),
        };
        assert_eq!(ok(&folio, "5/31/2027"), "2027-05-31");
        assert_eq!(ok(&folio, "2027-05-31"), "2027-05-31");
        assert_eq!(ok(&folio, "2027-05-31T00:00:00"), "2027-05-31");
        let illiad = Transform::Date {
            format: "%d.%m.%Y".into(),
            out: system_date_format(System::Illiad),
        };
        assert_eq!(ok(&illiad, "31.05.2027"), "2027-05-31T00:00:00");
        let err = ap(&folio, "13/45/2027").expect_err("bad date");
        assert!(err.contains("\"13/45/2027\""), "{err}");
        assert!(err.contains("%m/%d/%Y"), "{err}");
        assert!(ap(&folio, "soon").is_err());
        assert_eq!(ok(&folio, ""), "");
    }

    #[test]
    fn system_dates_written_like_chrono() {
        for (y, m, d) in [
            (2027, 5, 31),
            (1, 1, 1),
            (0, 12, 9),
            (999, 10, 10),
            (9999, 12, 31),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).expect("valid test date");
            for out in [
                system_date_format(System::Folio),
                system_date_format(System::Illiad),
            ] {
                assert_eq!(format_date(date, out), date.format(out).to_string());
            }
        }
        let far = NaiveDate::from_ymd_opt(12345, 1, 2).expect("valid test date");
        assert_eq!(format_date(far, "%Y-%m-%d"), "+12345-01-02");
    }

    #[test]
    fn date_format_check() {
        assert!(check_date_format("%m/%d/%Y").is_ok());
        assert!(check_date_format("%Y-%m-%d %H:%M").is_ok());
        assert!(check_date_format("%Q").is_err());
        assert!(check_date_format("%Y-%m-%d %z").is_err());
        assert!(check_date_format("%m/%Y").is_err());
        assert!(check_date_format("mm/dd/yyyy").is_err());
    }

    #[test]
    fn email_valid_and_invalid() {
        assert_eq!(ok(&Transform::Email, " a.b@x.edu "), "a.b@x.edu");
        for bad in [
            "x@",
            "@x.edu",
            "a@b",
            "a@@x.edu",
            "a b@x.edu",
            "a@x..edu",
            "a@x.edu.",
        ] {
            let e = ap(&Transform::Email, bad).expect_err(bad);
            assert!(e.starts_with("not a valid e-mail address"), "{e}");
            assert!(e.contains(&format!("\"{bad}\"")), "{e}");
        }
        assert_eq!(ok(&Transform::Email, ""), "");
    }

    #[test]
    fn phone_nanp_international_and_too_short() {
        assert_eq!(ok(&Transform::Phone, "(555) 123-4567"), "555-123-4567");
        assert_eq!(ok(&Transform::Phone, "1 555 123 4567"), "555-123-4567");
        assert_eq!(ok(&Transform::Phone, "+44 20 7946 0958"), "+442079460958");
        assert_eq!(ok(&Transform::Phone, "123-4567"), "1234567");
        let e = ap(&Transform::Phone, "12-34").expect_err("too short");
        assert!(e.contains("\"12-34\""), "{e}");
        assert!(e.contains("fewer than 7 digits"), "{e}");
    }

    #[test]
    fn phone_keeps_extensions_and_never_merges() {
        for (raw, want) in [
            ("(619)645-7533 x5934", "619-645-7533 x5934"),
            ("555-010-1001 ext. 12", "555-010-1001 x12"),
            ("555-010-1001 Ext 12", "555-010-1001 x12"),
            ("555.010.1001 extension 7", "555-010-1001 x7"),
            ("555-010-1001 #44", "555-010-1001 x44"),
            ("+1-555-010-1001;ext=9", "+15550101001 x9"),
            ("(499)102-5994 x03456", "499-102-5994 x03456"),
        ] {
            assert_eq!(ok(&Transform::Phone, raw), want, "{raw}");
        }
        assert_eq!(
            ok(&Transform::PhoneCompact, "(619)645-7533 x5934"),
            "6196457533x5934"
        );
        assert_eq!(ok(&Transform::PhoneCompact, "1 555 123 4567"), "5551234567");
        for raw in [
            "555-0101 / 555-0102",
            "555-CALL-NOW",
            "call 555 0101",
            "5550101 5550102 55501",
        ] {
            let e = ap(&Transform::Phone, raw).expect_err(raw);
            assert!(e.contains(raw), "{e}");
        }
    }

    #[test]
    fn iso_date_parse() {
        assert_eq!(
            parse_iso_date("2026-01-02"),
            NaiveDate::from_ymd_opt(2026, 1, 2)
        );
        assert_eq!(
            parse_iso_date("2026-01-02T00:00:00"),
            NaiveDate::from_ymd_opt(2026, 1, 2)
        );
        assert_eq!(parse_iso_date("2026-02-30"), None);
        assert_eq!(parse_iso_date("2026-01-02x"), None);
        assert_eq!(parse_iso_date("01/02/2026"), None);
    }

    fn every_transform(text: String, width: usize, ch: char) -> Vec<Transform> {
        let mut all = vec![
            Transform::Trim,
            Transform::Lower,
            Transform::Upper,
            Transform::CollapseSpaces,
            Transform::Title,
            Transform::Digits,
            Transform::PadLeft { width, ch },
            Transform::Prefix(text.clone()),
            Transform::Suffix(text.clone()),
            Transform::SplitName(NamePart::First),
            Transform::SplitName(NamePart::Middle),
            Transform::SplitName(NamePart::Last),
            Transform::Email,
            Transform::Phone,
            Transform::PhoneCompact,
        ];
        for re in ["^'", "(.)(.)", "é+$", "T.*$", ""] {
            if let Ok(re) = Regex::new(re) {
                all.push(Transform::Replace {
                    re,
                    with: text.clone(),
                });
            }
        }
        for system in [System::Folio, System::Illiad, System::Libib] {
            all.push(Transform::Date {
                format: DateFormat::from(text.clone()),
                out: system_date_format(system),
            });
            all.push(Transform::Date {
                format: DateFormat::from("%m/%d/%Y"),
                out: system_date_format(system),
            });
        }
        all
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        #[test]
        fn transforms_never_panic_and_blank_stays_blank(
            s in crate::text::arb::text(),
            opt in crate::text::arb::text(),
            width in 0usize..40,
            ch in proptest::prelude::any::<char>(),
        ) {
            for t in every_transform(opt, width, ch) {
                let out = t.apply(s.clone());
                if s.trim().is_empty() {
                    proptest::prop_assert!(out.as_deref().is_ok_and(|o| o.trim().is_empty()), "{t:?}");
                }
            }
        }
    }
}
