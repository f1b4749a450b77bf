//! Field catalogues and offline validation for each system.
//!
//! A *catalogue* lists every field a mapping file may target for one system, with its value
//! kind, whether it is an identifier (`id_like`), its enumeration (`allowed`) and, where known,
//! its maximum length. FOLIO also has *pattern* fields (`personal.addresses.<TypeName>.<part>`,
//! `customFields.<refId>`); [`lookup_field`] resolves those too.
//!
//! [`validate`] checks one mapped record (the JSON shape [`crate::mapping::Mapped::record`] describes: FOLIO
//! nested, ILLiad and Libib flat; names such as patron groups and address types not yet resolved
//! to UUIDs) against the rules each system documents. Invariants:
//! - validation never panics and never talks to a server; it only reads the record;
//! - every [`Violation`] names the field concerned and quotes the offending value;
//! - an empty record object is still validated (missing required fields are reported).
//!
//! Sources: FOLIO `reference/folio/mod-users/userdata.json` + `folio-api.md` §1.2; ILLiad
//! `reference/seeds/illiad-webplatform-users-api.txt` + `illiad-libib-api.md` §2; Libib
//! `reference/seeds/libib-patrons-client-docs.txt` + `illiad-libib-api.md` §1.
//! Each catalogue module names its sources again.

use super::{registry, System};
use crate::outcome::ReasonCode;
use chrono::{Datelike, NaiveDate};
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

/// The kind of value a field holds; drives coercion of mapped cell text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text.
    Text,
    /// true/false (cells: true/false, yes/no, y/n, 1/0, active/inactive).
    Bool,
    /// A calendar date, written in the system's own date format.
    Date,
    /// An integer.
    Integer,
    /// A list of strings (cell split on `split`, default `;`).
    List,
}

/// One field a mapping may target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// Canonical field name as written in mapping files.
    pub name: String,
    /// Value kind.
    pub kind: FieldKind,
    /// An identifier (barcode, external id, username): kept as text, and a cell a spreadsheet
    /// mangled into scientific notation (`2.02E+12`) is rejected.
    pub id_like: bool,
    /// Allowed values, when the system enumerates them.
    pub allowed: Option<Vec<String>>,
}

/// A static catalogue entry (the data behind a [`FieldSpec`]; a system's
/// [`crate::systems::connector::SchemaSide::catalogue`]).
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub(crate) name: &'static str,
    pub(crate) kind: FieldKind,
    pub(crate) id_like: bool,
    pub(crate) allowed: &'static [&'static str],
    pub(crate) max_len: Option<usize>,
}

impl FieldDef {
    /// A plain text field.
    pub(crate) const fn text(name: &'static str) -> FieldDef {
        FieldDef {
            name,
            kind: FieldKind::Text,
            id_like: false,
            allowed: &[],
            max_len: None,
        }
    }

    /// A field of another kind.
    pub(crate) const fn of(name: &'static str, kind: FieldKind) -> FieldDef {
        FieldDef {
            kind,
            ..FieldDef::text(name)
        }
    }

    /// Marks the field as an identifier.
    pub(crate) const fn id(self) -> FieldDef {
        FieldDef {
            id_like: true,
            ..self
        }
    }

    /// Sets the enumeration.
    pub(crate) const fn allowed(self, allowed: &'static [&'static str]) -> FieldDef {
        FieldDef { allowed, ..self }
    }

    /// Sets the maximum length in characters.
    pub(crate) const fn max(self, n: usize) -> FieldDef {
        FieldDef {
            max_len: Some(n),
            ..self
        }
    }

    /// The public spec, under `name` (the canonical name, or a concrete pattern-field name).
    pub(crate) fn spec(&self, name: &str) -> FieldSpec {
        FieldSpec {
            name: name.to_string(),
            kind: self.kind,
            id_like: self.id_like,
            allowed: if self.allowed.is_empty() {
                None
            } else {
                Some(self.allowed.iter().map(|s| s.to_string()).collect())
            },
        }
    }
}

/// Looks up a field by its name in `system`'s catalogue (including pattern fields such as
/// FOLIO `personal.addresses.<Type>.<part>` and `customFields.<refId>`).
///
/// FOLIO and Libib names are matched exactly. ILLiad names are matched case-insensitively
/// (ILLiad itself binds JSON keys that way; Atlas's own example writes `Username` and
/// `EmailAddress`), and the returned [`FieldSpec::name`] is the canonical spelling
/// (`UserName`, `EMailAddress`): record keys must use that.
pub fn lookup_field(system: System, name: &str) -> Option<FieldSpec> {
    registry::schema(system).lookup_field(name)
}

/// All fixed field names of `system` (for "did you mean" suggestions and `init`).
/// FOLIO pattern fields are not included; see [`field_patterns`].
pub fn field_names(system: System) -> Vec<String> {
    registry::schema(system).field_names()
}

/// Human-readable templates of `system`'s pattern fields, e.g.
/// `personal.addresses.<TypeName>.addressLine1` (empty for ILLiad and Libib).
pub fn field_patterns(system: System) -> &'static [&'static str] {
    registry::schema(system).field_patterns()
}

/// Fields that may serve as the match key of a mapping for `system`.
pub fn match_fields(system: System) -> &'static [&'static str] {
    registry::schema(system).match_fields()
}

/// The maximum length (in characters) of a field, where the system's documentation or schema
/// gives one (FOLIO `personal.pronouns` 300; ILLiad column widths such as `State` 2).
pub fn max_length(system: System, name: &str) -> Option<usize> {
    registry::schema(system).max_length(name)
}

/// A problem found by offline validation of a mapped record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field concerned (system name), if any.
    pub field: Option<String>,
    /// Human-readable reason.
    pub reason: String,
    /// The reason's stable code (`invalid_record` unless a more precise one applies).
    pub code: ReasonCode,
}

impl Violation {
    /// A violation concerning `field` (code `invalid_record`; see [`Violation::code`]).
    pub(crate) fn field(field: impl Into<String>, reason: impl Into<String>) -> Violation {
        Violation {
            field: Some(field.into()),
            reason: reason.into(),
            code: ReasonCode::InvalidRecord,
        }
    }

    /// The same violation with a more precise code.
    pub(crate) fn code(mut self, code: ReasonCode) -> Violation {
        self.code = code;
        self
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Validates a mapped record (names not yet resolved to UUIDs) against `system`'s rules.
///
/// Every system: unknown fields, values of the wrong JSON type for their kind (text, true/false,
/// whole number, ISO date `YYYY-MM-DD[Thh:mm…]`, list of text), values outside an enumeration
/// and values over a known maximum length are violations.
/// - FOLIO: `personal.lastName` required (also when there is no `personal` object); each address
///   has an `addressTypeId` (the type NAME), one address per type (case-insensitive), at most one
///   `primaryAddress = true`; `preferredEmailCommunication` at most 3, unique; `departments`
///   unique; `personal.email` syntax; `id` a UUID; `tags` shaped `{"tagList": [...]}`.
/// - ILLiad: `UserName` and `NVTGC` required; keys matched case-insensitively; `EMailAddress`
///   syntax; column widths (`State` 2, `LastName` 40, …).
/// - Libib: `first_name` and `last_name` required; `country` a 2-letter upper-case code; `state`
///   a USPS code when `country` is `US` *or absent* (Libib defaults to US); at most 3
///   `notification_emails`, each valid; no commas inside list items; `barcode` 5–15 digits;
///   `email` syntax.
///
/// Only what is in the record is checked. In particular ILLiad's `NVTGC` is required here: the
/// caller must inject the mapping's `[defaults] nvtgc` into the record before validating.
pub fn validate(system: System, record: &Value) -> Vec<Violation> {
    let Some(obj) = record.as_object() else {
        return vec![Violation {
            field: None,
            reason: format!("the record is not a JSON object: {}", show(record)),
            code: ReasonCode::WrongType,
        }];
    };
    registry::schema(system).validate(obj)
}

/// True when `s` looks like an e-mail address: exactly one `@`, a non-empty local part, a domain
/// containing a dot (not at its start or end, no empty labels), and no whitespace.
pub fn is_valid_email(s: &str) -> bool {
    email_problem(s).is_none()
}

/// What keeps `s` from looking like an e-mail address (see [`is_valid_email`]), or `None`.
pub fn email_problem(s: &str) -> Option<&'static str> {
    let space = if s.is_ascii() {
        // char::is_whitespace on ASCII, one byte at a time.
        s.bytes()
            .any(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r'))
    } else {
        s.chars().any(char::is_whitespace)
    };
    if space {
        return Some("contains a space");
    }
    let Some((local, domain)) = s.split_once('@').filter(|(_, d)| !d.contains('@')) else {
        return Some("needs exactly one @");
    };
    if local.is_empty() {
        return Some("nothing before the @");
    }
    if !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Some("the domain needs a dot, e.g. example.edu");
    }
    None
}

static ISO_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$")
        .expect("static regex")
});

/// Parses an ISO date, `YYYY-MM-DD`, optionally followed by a time (`T10:56:24.55`, `Z` or an
/// offset), as FOLIO and ILLiad write them. Returns the calendar date, or `None`.
pub fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    // Fast path for a plain `YYYY-MM-DD` in ASCII digits (what the mapping writes); the regex
    // decides every other shape.
    let b = t.as_bytes();
    if b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    {
        let num = |r: std::ops::Range<usize>| {
            b[r].iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'))
        };
        let date = NaiveDate::from_ymd_opt(num(0..4) as i32, num(5..7), num(8..10))?;
        return (date.year() >= 1).then_some(date);
    }
    let caps = ISO_DATE.captures(t)?;
    let date = NaiveDate::parse_from_str(caps.get(1)?.as_str(), "%Y-%m-%d").ok()?;
    (date.year() >= 1).then_some(date)
}

/// A JSON value as it appears in a reason (strings quoted, long values shortened).
pub(crate) fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let head: String = s.chars().take(77).collect();
        format!("{head}…")
    } else {
        s
    }
}

/// True when a value counts as blank (absent, null, empty or whitespace-only string, empty list).
pub(crate) fn is_blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

/// Checks one value against its catalogue entry: JSON type for the kind, ISO date, enumeration,
/// maximum length. `path` is the field name used in violations; `system` names the system in
/// reasons.
pub(crate) fn check_value(
    system: &str,
    def: &FieldDef,
    path: &str,
    v: &Value,
    out: &mut Vec<Violation>,
) {
    if v.is_null() {
        return;
    }
    let items: Vec<&str> = match def.kind {
        FieldKind::Text => match v.as_str() {
            Some(s) => {
                check_text(system, def, path, s, out);
                return;
            }
            None => {
                out.push(
                    Violation::field(path, format!("expected text, got {}", show(v)))
                        .code(ReasonCode::WrongType),
                );
                return;
            }
        },
        FieldKind::Bool => {
            if !v.is_boolean() {
                out.push(
                    Violation::field(path, format!("expected true or false, got {}", show(v)))
                        .code(ReasonCode::WrongType),
                );
            }
            return;
        }
        FieldKind::Integer => {
            if !(v.is_i64() || v.is_u64()) {
                out.push(
                    Violation::field(path, format!("expected a whole number, got {}", show(v)))
                        .code(ReasonCode::WrongType),
                );
            }
            return;
        }
        FieldKind::Date => {
            match v.as_str() {
                Some(s) if parse_iso_date(s).is_some() => {}
                _ => out.push(Violation::field(
                    path,
                    format!(
                        "expected an ISO date (YYYY-MM-DD) on or after 0001-01-01, got {}",
                        show(v)
                    ),
                )),
            }
            return;
        }
        FieldKind::List => {
            let Some(arr) = v.as_array() else {
                out.push(
                    Violation::field(
                        path,
                        format!("expected a list of text values, got {}", show(v)),
                    )
                    .code(ReasonCode::WrongType)
                    .code(ReasonCode::BadDate),
                );
                return;
            };
            let mut items = Vec::with_capacity(arr.len());
            for item in arr {
                match item.as_str() {
                    Some(s) => items.push(s),
                    None => {
                        out.push(
                            Violation::field(
                                path,
                                format!("list items must be text, got {}", show(item)),
                            )
                            .code(ReasonCode::WrongType),
                        );
                        return;
                    }
                }
            }
            items
        }
    };
    for s in items {
        check_text(system, def, path, s, out);
    }
}

/// Checks one text value (or list item) against the enumeration and maximum length of `def`.
fn check_text(system: &str, def: &FieldDef, path: &str, s: &str, out: &mut Vec<Violation>) {
    if !def.allowed.is_empty() && !s.is_empty() && !def.allowed.contains(&s) {
        let hint = def
            .allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(s.trim()))
            .map(|a| format!(" (did you mean \"{a}\"? values are case-sensitive)"))
            .unwrap_or_default();
        out.push(
            Violation::field(
                path,
                format!(
                    "{} is not an allowed value; {system} accepts: {}{hint}",
                    show(&Value::String(s.to_string())),
                    def.allowed.join(", ")
                ),
            )
            .code(ReasonCode::UnknownValue),
        );
    }
    if let Some(max) = def.max_len {
        let n = s.chars().count();
        if n > max {
            out.push(
                Violation::field(
                    path,
                    format!(
                        "is {n} characters long; {system} stores at most {max}: {}",
                        show(&Value::String(s.to_string()))
                    ),
                )
                .code(ReasonCode::TooLong),
            );
        }
    }
}

/// Reports `field` as required when it is blank.
pub(crate) fn require(
    system: &str,
    obj: &serde_json::Map<String, Value>,
    field: &str,
    out: &mut Vec<Violation>,
) {
    if is_blank(obj.get(field)) {
        out.push(
            Violation::field(
                field,
                format!("{system} requires {field}, and it is blank or missing"),
            )
            .code(ReasonCode::RequiredBlank),
        );
    }
}

/// Reports an invalid e-mail address in `field` (a string value), if any.
pub(crate) fn check_email(field: &str, v: Option<&Value>, out: &mut Vec<Violation>) {
    if let Some(Value::String(s)) = v {
        if !s.is_empty() && !is_valid_email(s) {
            out.push(
                Violation::field(
                    field,
                    format!(
                        "not a valid e-mail address: {}",
                        show(&Value::String(s.clone()))
                    ),
                )
                .code(ReasonCode::BadEmail),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rules() {
        assert!(is_valid_email("a.b@example.edu"));
        assert!(!is_valid_email("a@b@example.edu"));
        assert!(!is_valid_email("@example.edu"));
        assert!(!is_valid_email("a@example"));
        assert!(!is_valid_email("a b@example.edu"));
        assert!(!is_valid_email("a@.example.edu"));
        assert!(!is_valid_email("a@example..edu"));
    }

    #[test]
    fn iso_dates() {
        assert!(parse_iso_date("2027-06-30").is_some());
        assert!(parse_iso_date("2027-06-30T00:00:00").is_some());
        assert!(parse_iso_date("2020-06-24T10:56:24.55").is_some());
        assert!(parse_iso_date("2027-06-30T00:00:00.000+00:00").is_some());
        assert!(parse_iso_date("2027-06-30T00:00:00Z").is_some());
        assert!(parse_iso_date("06/30/2027").is_none());
        assert!(parse_iso_date("2027-02-30").is_none());
        assert!(parse_iso_date("0000-01-01").is_none());
        assert!(parse_iso_date("2027-6-3").is_none());
    }
}
