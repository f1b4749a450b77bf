//! Jackson's binding of a FOLIO request body as RMB sets it up: the texts of its binding errors
//! and `java.util.Date` parsing and printing.
//!
//! RMB binds a body with `ObjectMapperTool.getMapper()` (folio-org/raml-module-builder @
//! 24e2b7b2a `domain-models-runtime/src/main/java/org/folio/rest/RestRouting.java` line 91) and
//! answers any exception of that binding with a 400 whose `text/plain` body is the exception's
//! message, nothing added (`parseParams`, lines 423-431; the "Json content error " prefix of
//! older RMBs was dropped by commit 22e863be9, 2021). An unknown property is the exception to
//! that (422, `folio::unrecognized`).
//!
//! Invariant: a date string is accepted exactly when FasterXML/jackson-databind @ 3ff375f6c
//! `StdDateFormat` (2.19) accepts it — ISO-8601 with a lenient calendar, epoch milliseconds,
//! RFC 1123 (approximated) — and every accepted date is printed in the one form RMB stores.
//! Only the first line of Jackson's messages is modelled (no " at [Source: …]" location, no
//! "(through reference chain: …)").

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate};
use regex::Regex;
use serde_json::Value;

/// The `JsonToken` a JSON value starts with (FasterXML/jackson-core @ b367da1c3
/// `src/main/java/com/fasterxml/jackson/core/JsonToken.java`).
pub(crate) fn token(v: &Value) -> &'static str {
    match v {
        Value::Null => "VALUE_NULL",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Number(n) if n.is_i64() || n.is_u64() => "VALUE_NUMBER_INT",
        Value::Number(_) => "VALUE_NUMBER_FLOAT",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

/// `JsonToken.valueDescFor` (jackson-core `JsonToken.java` lines 237-268): "Object value",
/// "Integer value", ….
fn shape(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null value",
        Value::Bool(_) => "Boolean value",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer value",
        Value::Number(_) => "Floating-point value",
        Value::String(_) => "String value",
        Value::Array(_) => "Array value",
        Value::Object(_) => "Object value",
    }
}

/// A value of the wrong JSON shape for its Java type: `DeserializationContext.handleUnexpectedToken`
/// (jackson-databind `src/main/java/com/fasterxml/jackson/databind/DeserializationContext.java`
/// lines 1560-1561): "Cannot deserialize value of type `T` from Array value (token
/// `JsonToken.START_ARRAY`)".
pub(crate) fn cannot_deserialize(java_type: &str, v: &Value) -> String {
    format!(
        "Cannot deserialize value of type `{java_type}` from {} (token `JsonToken.{}`)",
        shape(v),
        token(v)
    )
}

/// A JSON value bound to `java.lang.Boolean` (jackson-databind
/// `src/main/java/com/fasterxml/jackson/databind/deser/std/StdDeserializer.java` `_parseBoolean`,
/// lines 500-555): `true`/`false`; an integer, 0 false and any other true (`_coerceBooleanFromInt`,
/// lines 1647-1669); a string trimmed, then `true`/`True`/`TRUE` or `false`/`False`/`FALSE`
/// (`_isTrue`/`_isFalse`, lines 460-480), `"null"`, or empty or blank as null (scalar coercion,
/// `src/main/java/com/fasterxml/jackson/databind/cfg/CoercionConfigs.java` lines 231-245 and
/// 316-320); anything else Jackson's refusal.
pub(crate) fn bind_boolean(v: &Value) -> Result<Value, String> {
    match v {
        Value::Bool(_) | Value::Null => Ok(v.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            Ok(Value::Bool(n.as_u64() != Some(0) && n.as_i64() != Some(0)))
        }
        Value::String(s) => {
            let t = s.trim_matches(|c: char| c <= ' ');
            match t {
                "" | "null" => Ok(Value::Null),
                "true" | "True" | "TRUE" => Ok(Value::Bool(true)),
                "false" | "False" | "FALSE" => Ok(Value::Bool(false)),
                _ => Err(format!(
                    "Cannot deserialize value of type `java.lang.Boolean` from String \"{t}\": only \"true\" or \"false\" recognized"
                )),
            }
        }
        other => Err(cannot_deserialize("java.lang.Boolean", other)),
    }
}

/// `StdDateFormat.PATTERN_ISO8601` (jackson-databind
/// `src/main/java/com/fasterxml/jackson/databind/util/StdDateFormat.java` lines 52-64): the date,
/// `T`, hours and minutes, optional seconds, optional fraction, optional zone (Java's `\d` is
/// ASCII, hence `[0-9]`).
fn iso8601() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2})?(\.[0-9]+)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$")
            .unwrap_or_else(|e| unreachable!("constant pattern: {e}"))
    })
}

/// `StdDateFormat.ALL_FORMATS` (lines 89-94), as `parse` lists them when nothing fits.
const ALL_FORMATS: &str = "\"yyyy-MM-dd'T'HH:mm:ss.SSSX\", \"yyyy-MM-dd'T'HH:mm:ss.SSS\", \"EEE, dd MMM yyyy HH:mm:ss zzz\", \"yyyy-MM-dd\"";

fn digits(s: &str, from: usize, n: usize) -> i64 {
    s.get(from..from + n)
        .and_then(|d| d.parse::<i64>().ok())
        .unwrap_or(0)
}

/// Epoch milliseconds of fields set on a *lenient* `GregorianCalendar` (`StdDateFormat.isLenient`
/// is true unless set, lines 343-346, and `_getCalendar` applies it, line 813): a month or day
/// out of range rolls over (2027-02-30 is 2027-03-02, month 13 is January of the next year).
/// `None` only beyond chrono's range. Not modelled: the Julian calendar before 1582-10-15.
fn lenient_millis(
    ymd: (i64, i64, i64),
    hms: (i64, i64, i64),
    millis: i64,
    offset_ms: i64,
) -> Option<i64> {
    let (year, month, day) = ymd;
    let months = year.checked_mul(12)?.checked_add(month - 1)?;
    let y = i32::try_from(months.div_euclid(12)).ok()?;
    let m = u32::try_from(months.rem_euclid(12) + 1).ok()?;
    let first = NaiveDate::from_ymd_opt(y, m, 1)?;
    let date = first.checked_add_signed(chrono::Duration::try_days(day - 1)?)?;
    let midnight = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
    let (h, mi, s) = hms;
    Some(midnight + ((h * 60 + mi) * 60 + s) * 1000 + millis - offset_ms)
}

/// The `Failed to parse Date value` wrapper of `DeserializationContext.parseDate` (lines 919-928)
/// around `StdDateFormat`'s `ParseException` text.
fn failed(raw: &str, reason: String) -> String {
    format!("Failed to parse Date value '{raw}': {reason}")
}

/// `StdDateFormat._parseAsISO8601` (lines 646-755) for a string `looksLikeISO8601` accepted.
fn parse_iso(s: &str) -> Result<i64, String> {
    let not_fitting = |format: &str| {
        format!(
            "Cannot parse date \"{s}\": while it seems to fit format '{format}', parsing fails (leniency? null)"
        )
    };
    let ymd = (digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2));
    if s.len() <= 10 {
        let plain = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if !plain {
            return Err(not_fitting("yyyy-MM-dd"));
        }
        return lenient_millis(ymd, (0, 0, 0), 0, 0).ok_or_else(|| not_fitting("yyyy-MM-dd"));
    }
    let iso = "yyyy-MM-dd'T'HH:mm:ss.SSSX";
    let Some(c) = iso8601().captures(s) else {
        return Err(not_fitting(iso));
    };
    let offset_ms = match c.get(2).map(|m| m.as_str()) {
        Some(z) if z.len() > 1 => {
            let mut secs = digits(z, 1, 2) * 3600;
            if z.len() >= 5 {
                secs += digits(z, z.len() - 2, 2) * 60;
            }
            if z.starts_with('-') {
                -secs * 1000
            } else {
                secs * 1000
            }
        }
        _ => 0,
    };
    let seconds = if s.as_bytes().get(16) == Some(&b':') {
        digits(s, 17, 2)
    } else {
        0
    };
    let hms = (digits(s, 11, 2), digits(s, 14, 2), seconds);
    // Lines 718-742: at most 9 fraction digits, of which the first three count.
    let frac = c.get(1).map_or("", |m| m.as_str().trim_start_matches('.'));
    if frac.len() > 9 {
        return Err(format!(
            "Cannot parse date \"{s}\": invalid fractional seconds '{frac}'; can use at most 9 digits"
        ));
    }
    let millis = frac
        .bytes()
        .take(3)
        .zip([100, 10, 1])
        .map(|(d, w)| i64::from(d - b'0') * w)
        .sum();
    lenient_millis(ymd, hms, millis, offset_ms).ok_or_else(|| not_fitting(iso))
}

/// A JSON string bound to `java.util.Date`: RMB's `ObjectMapperTool.DateDeserializer`
/// (folio-org/raml-module-builder `dbschema/src/main/java/org/folio/dbschema/ObjectMapperTool.java`
/// lines 114-125: a leading `+` dropped, then `context.parseDate`) and `StdDateFormat.parse` /
/// `_parseDate` (lines 373-430): trimmed; ISO-8601 when it looks like it (`looksLikeISO8601`,
/// lines 608-617: a digit, 2 more chars, a digit, `-`, a digit), else a string of digits (with
/// an optional `-`) as epoch milliseconds, else RFC 1123 ("EEE, dd MMM yyyy HH:mm:ss zzz",
/// approximated by chrono's RFC 2822 parser). `Err` is Jackson's message.
pub(crate) fn parse_date(raw: &str) -> Result<i64, String> {
    let v = raw.strip_prefix('+').unwrap_or(raw);
    // Java's `String.trim`: every char up to U+0020.
    let s = v.trim_matches(|c: char| c <= ' ');
    let b = s.as_bytes();
    let looks_iso = b.len() >= 7
        && b[0].is_ascii_digit()
        && b[3].is_ascii_digit()
        && b[4] == b'-'
        && b[5].is_ascii_digit();
    if looks_iso {
        return parse_iso(s).map_err(|e| failed(v, e));
    }
    if s.is_empty() {
        // `dateStr.charAt(0)` on an empty string (line 422): Java's
        // StringIndexOutOfBoundsException, whose text is not modelled.
        return Err("Index 0 out of bounds for length 0".into());
    }
    let all_digits = s
        .char_indices()
        .all(|(i, c)| c.is_ascii_digit() || (i == 0 && c == '-'));
    if all_digits {
        match s.parse::<i64>() {
            Ok(ms) => return Ok(ms),
            // Lines 437-446: a negative number out of range; a positive one falls through.
            Err(_) if s.starts_with('-') => {
                return Err(failed(
                    v,
                    format!("Timestamp value {s} out of 64-bit value range"),
                ))
            }
            Err(_) => {}
        }
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Ok(d.timestamp_millis());
    }
    Err(failed(
        v,
        format!(
            "Cannot parse date \"{s}\": not compatible with any of standard forms ({ALL_FORMATS})"
        ),
    ))
}

/// A `java.util.Date` as RMB prints it: `ObjectMapperTool.DateSerializer` (lines 83-98) with
/// `StdDateFormat`'s "yyyy-MM-dd'T'HH:mm:ss.SSS" in UTC and the zone as `+00:00`
/// (`_tzSerializedWithColon`, line 169). `None` only beyond chrono's range.
pub(crate) fn format_date(millis: i64) -> Option<String> {
    use chrono::{Datelike, Timelike};
    let d = DateTime::from_timestamp_millis(millis)?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+00:00",
        d.year(),
        d.month(),
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.timestamp_subsec_millis()
    ))
}

/// A JSON value bound to `java.util.Date` and printed back: a string through [`parse_date`], an
/// integer as epoch milliseconds, anything else `wrongTokenException` ("Unexpected token (T),
/// expected VALUE_STRING: expected string containing a date": `ObjectMapperTool.java` lines
/// 127-130; `DeserializationContext.java` lines 1944-1951).
pub(crate) fn bind_date(v: &Value) -> Result<String, String> {
    let millis = match v {
        Value::String(s) => parse_date(s)?,
        Value::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
        other => {
            return Err(format!(
                "Unexpected token ({}), expected VALUE_STRING: expected string containing a date",
                token(other)
            ))
        }
    };
    format_date(millis).ok_or_else(|| {
        failed(
            &v.to_string(),
            "out of the sandbox's date range".to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn norm(s: &str) -> Option<String> {
        parse_date(s).ok().and_then(format_date)
    }

    #[test]
    fn iso_forms_as_std_date_format_takes_them() {
        for (input, out) in [
            ("2027-06-30", "2027-06-30T00:00:00.000+00:00"),
            (" 2027-06-30 ", "2027-06-30T00:00:00.000+00:00"),
            ("+2027-06-30", "2027-06-30T00:00:00.000+00:00"),
            ("2027-06-30T01:00:00+01:00", "2027-06-30T00:00:00.000+00:00"),
            ("2027-06-30T01:00+0100", "2027-06-30T00:00:00.000+00:00"),
            ("2027-06-30T01:00:00+01", "2027-06-30T00:00:00.000+00:00"),
            ("2027-06-30T10:11:12Z", "2027-06-30T10:11:12.000+00:00"),
            ("2027-06-30T10:11:12.5", "2027-06-30T10:11:12.500+00:00"),
            (
                "2027-06-30T10:11:12.987654321",
                "2027-06-30T10:11:12.987+00:00",
            ),
            ("2027-06-30T23:30:00-01:00", "2027-07-01T00:30:00.000+00:00"),
        ] {
            assert_eq!(norm(input).as_deref(), Some(out), "{input}");
        }
    }

    #[test]
    fn the_calendar_is_lenient() {
        assert_eq!(
            norm("2027-02-30").as_deref(),
            Some("2027-03-02T00:00:00.000+00:00")
        );
        assert_eq!(
            norm("2027-13-01").as_deref(),
            Some("2028-01-01T00:00:00.000+00:00")
        );
        assert_eq!(
            norm("2027-01-00").as_deref(),
            Some("2026-12-31T00:00:00.000+00:00")
        );
        assert_eq!(
            norm("2027-06-30T25:00").as_deref(),
            Some("2027-07-01T01:00:00.000+00:00")
        );
    }

    #[test]
    fn epoch_millis_and_rfc_1123() {
        assert_eq!(norm("0").as_deref(), Some("1970-01-01T00:00:00.000+00:00"));
        assert_eq!(
            norm("-1000").as_deref(),
            Some("1969-12-31T23:59:59.000+00:00")
        );
        assert_eq!(
            norm("Wed, 30 Jun 2027 10:00:00 GMT").as_deref(),
            Some("2027-06-30T10:00:00.000+00:00")
        );
    }

    #[test]
    fn refusals_carry_jacksons_messages() {
        assert_eq!(
            parse_date("June 30"),
            Err(format!("Failed to parse Date value 'June 30': Cannot parse date \"June 30\": not compatible with any of standard forms ({ALL_FORMATS})"))
        );
        assert_eq!(
            parse_date("2027-06-30 10:00"),
            Err("Failed to parse Date value '2027-06-30 10:00': Cannot parse date \"2027-06-30 10:00\": while it seems to fit format 'yyyy-MM-dd'T'HH:mm:ss.SSSX', parsing fails (leniency? null)".into())
        );
        assert_eq!(
            parse_date("2027-6-30"),
            Err("Failed to parse Date value '2027-6-30': Cannot parse date \"2027-6-30\": while it seems to fit format 'yyyy-MM-dd', parsing fails (leniency? null)".into())
        );
        assert!(parse_date("2027-06-30T10:11:12.1234567890")
            .is_err_and(|e| e.contains("can use at most 9 digits")));
        assert_eq!(
            bind_date(&serde_json::json!(true)),
            Err("Unexpected token (VALUE_TRUE), expected VALUE_STRING: expected string containing a date".into())
        );
    }

    #[test]
    fn booleans_bind_as_jackson_coerces_them() {
        use serde_json::json;
        for (given, bound) in [
            (json!(true), json!(true)),
            (json!("True"), json!(true)),
            (json!(" FALSE "), json!(false)),
            (json!(0), json!(false)),
            (json!(2), json!(true)),
            (json!(""), Value::Null),
            (json!("null"), Value::Null),
        ] {
            assert_eq!(bind_boolean(&given), Ok(bound), "{given}");
        }
        assert_eq!(
            bind_boolean(&json!("yes")),
            Err("Cannot deserialize value of type `java.lang.Boolean` from String \"yes\": only \"true\" or \"false\" recognized".into())
        );
        assert!(bind_boolean(&json!(1.0)).is_err_and(|e| e.contains("Floating-point value")));
        assert!(bind_boolean(&json!([true])).is_err_and(|e| e.contains("Array value")));
    }

    proptest! {
        /// Any string: a defined answer, never a panic, and an accepted date prints in RMB's form.
        #[test]
        fn any_string_is_parsed_or_refused(s in "\\PC{0,40}") {
            if let Ok(ms) = parse_date(&s) {
                // Years of four digits print in a form that parses back.
                if let Some(out) = format_date(ms).filter(|o| o.len() == 29 && !o.starts_with('-')) {
                    prop_assert_eq!(parse_date(&out), Ok(ms));
                }
            }
        }

        #[test]
        fn every_valid_date_time_round_trips(y in 1600i32..9999, d in 0i64..365, ms in 0i64..86_400_000) {
            let base = NaiveDate::from_ymd_opt(y, 1, 1).map(|b| b + chrono::Duration::days(d));
            if let Some(b) = base {
                let t = b.and_hms_opt(0, 0, 0).map(|x| x.and_utc().timestamp_millis() + ms);
                if let Some(t) = t {
                    let out = format_date(t).unwrap_or_default();
                    prop_assert_eq!(parse_date(&out), Ok(t));
                }
            }
        }
    }
}
