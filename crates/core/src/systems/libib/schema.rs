//! Libib patron catalogue and validation.
//!
//! Source: `reference/seeds/libib-patrons-client-docs.txt` (the 16 write parameters) and
//! `reference/illiad-libib-api.md` §1.2 (write-field constraints from Libib's REST docs).
//!
//! Decisions:
//! - `first_name` and `last_name` are required (create needs them; an update may not blank them).
//! - `country` must be a 2-letter upper-case code. When `country` is absent the record is checked
//!   as US, because Libib sets `country = US` on create: `state` must then be a USPS code.
//! - `notification_emails` and `tags` are lists (Libib joins them with commas), so their items
//!   may not contain commas; at most 3 notification e-mails, each a valid address.
//! - `barcode` must be 5–15 digits (Libib's rule for custom barcodes); Libib advises against
//!   setting it at all.
//! - `freeze` is a boolean here; the writer sends `1` for true.
//! - `patron_id` is id_like (it usually holds a student or staff id).
//! - `password` is not in the catalogue (a secret; never mapped from a roster).

use crate::outcome::ReasonCode;
use crate::systems::schema::{
    check_email, check_value, require, show, FieldDef, FieldKind, Violation,
};
use serde_json::{Map, Value};

const SYSTEM: &str = "Libib";

/// Patron write parameters (minus `password`).
pub(crate) const FIELDS: &[FieldDef] = &[
    FieldDef::text("barcode").id(),
    FieldDef::text("first_name"),
    FieldDef::text("last_name"),
    FieldDef::text("email"),
    FieldDef::of("notification_emails", FieldKind::List),
    FieldDef::of("tags", FieldKind::List),
    FieldDef::text("patron_id").id(),
    FieldDef::text("phone"),
    FieldDef::text("address1"),
    FieldDef::text("address2"),
    FieldDef::text("city"),
    FieldDef::text("state"),
    FieldDef::text("country"),
    FieldDef::text("zip"),
    FieldDef::of("freeze", FieldKind::Bool),
];

/// USPS state, district, territory and military codes.
const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "AS", "GU", "MP", "PR", "VI", "UM", "FM", "MH", "PW", "AA", "AE", "AP",
];

/// The entry for `name` (exact match).
pub(crate) fn def(name: &str) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|d| d.name == name)
}

fn text<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Validates a flat Libib patron record.
pub(crate) fn validate(obj: &Map<String, Value>) -> Vec<Violation> {
    let mut out = Vec::new();
    for (key, v) in obj {
        match def(key) {
            Some(d) => check_value(SYSTEM, d, key, v, &mut out),
            None => out.push(
                Violation::field(key.as_str(), "not a Libib patron field")
                    .code(ReasonCode::UnknownField),
            ),
        }
    }
    require(SYSTEM, obj, "first_name", &mut out);
    require(SYSTEM, obj, "last_name", &mut out);
    check_email("email", obj.get("email"), &mut out);

    let country = text(obj, "country");
    if let Some(c) = country {
        if !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())) {
            out.push(
                Violation::field(
                    "country",
                    format!(
                        "Libib needs a 2-letter upper-case country code (e.g. US, CA, GB), got {}",
                        show(&Value::String(c.to_string()))
                    ),
                )
                .code(ReasonCode::UnknownValue),
            );
        }
    }
    if let Some(state) = text(obj, "state") {
        if country.is_none_or(|c| c == "US") && !US_STATES.contains(&state) {
            let why = if country.is_none() {
                "with no country (Libib defaults to US)"
            } else {
                "when country is US"
            };
            out.push(Violation::field(
                "state",
                format!(
                    "{why} Libib needs the 2-letter upper-case USPS state code (e.g. MA, TX), got {}",
                    show(&Value::String(state.to_string()))
                ),
            ).code(ReasonCode::UnknownValue));
        }
    }

    if let Some(Value::Array(emails)) = obj.get("notification_emails") {
        if emails.len() > 3 {
            out.push(Violation::field(
                "notification_emails",
                format!(
                    "has {} addresses; Libib allows at most 3: {}",
                    emails.len(),
                    show(&Value::Array(emails.clone()))
                ),
            ));
        }
        for e in emails {
            check_email("notification_emails", Some(e), &mut out);
        }
    }
    for list in ["notification_emails", "tags"] {
        if let Some(Value::Array(items)) = obj.get(list) {
            for item in items.iter().filter_map(Value::as_str) {
                if item.contains(',') {
                    out.push(Violation::field(
                        list,
                        format!(
                            "item {} contains a comma, but Libib separates {list} with commas",
                            show(&Value::String(item.to_string()))
                        ),
                    ));
                }
            }
        }
    }
    if let Some(b) = text(obj, "barcode") {
        if !(5..=15).contains(&b.len()) || !b.bytes().all(|c| c.is_ascii_digit()) {
            out.push(
                Violation::field(
                    "barcode",
                    format!(
                        "Libib barcodes are 5 to 15 digits, got {}",
                        show(&Value::String(b.to_string()))
                    ),
                )
                .code(ReasonCode::BadValue),
            );
        }
    }
    out
}
