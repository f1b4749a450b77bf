//! ILLiad Web Platform `Users` catalogue and validation.
//!
//! Source: `reference/seeds/illiad-webplatform-users-api.txt` (Create User parameter table and
//! enumerations) and `reference/illiad-libib-api.md` §2.3 (NVTGC needed in practice; field
//! widths from sul-dlss/registry-harvester `Pop2ILLiad.java`, which that document calls
//! indicative: they are enforced here because an over-long value fails the database insert).
//!
//! Decisions:
//! - Names are matched case-insensitively (ILLiad binds JSON keys that way) and reported in the
//!   response casing (`UserName`, `EMailAddress`).
//! - `UserName` and `NVTGC` are required. `NVTGC` usually comes from the mapping's
//!   `[defaults] nvtgc`: the caller injects it into the record before [`crate::systems::schema::validate`].
//! - `Status` is free text (site-defined, no vendor enumeration); only its width (15) is checked.
//! - Not in the catalogue: `PlainTextPassword` (a secret; never mapped from a roster) and
//!   `NotificationPreferences` (a list of objects ILLiad fills with e-mail defaults).
//! - The width for `NotificationMethod` ("8") contradicts its own value `Electronic`, so it is
//!   not used; `Web` is a boolean in the API.

use crate::outcome::ReasonCode;
use crate::systems::schema::{check_email, check_value, require, FieldDef, FieldKind, Violation};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const SYSTEM: &str = "ILLiad";

const DELIVERY: &[&str] = &["Hold for Pickup", "Mail to Address"];

/// Writable `Users` fields (Create User parameter table).
pub(crate) const FIELDS: &[FieldDef] = &[
    FieldDef::text("UserName").id().max(50),
    FieldDef::text("ExternalUserId").id(),
    FieldDef::text("LastName").max(40),
    FieldDef::text("FirstName").max(40),
    FieldDef::text("SSN").id().max(20),
    FieldDef::text("Status").max(15),
    FieldDef::text("EMailAddress").max(50),
    FieldDef::text("Phone").max(15),
    FieldDef::text("MobilePhone").max(15),
    FieldDef::text("Department").max(255),
    FieldDef::text("NVTGC").max(20),
    FieldDef::text("NotificationMethod").allowed(&["Electronic", "Phone", "Mail"]),
    FieldDef::text("DeliveryMethod").allowed(DELIVERY),
    FieldDef::text("LoanDeliveryMethod").allowed(DELIVERY),
    FieldDef::text("AuthorizedUsers"),
    FieldDef::text("Cleared").allowed(&["Yes", "No", "New", "DIS", "B", "BO", "BX"]),
    FieldDef::of("Web", FieldKind::Bool),
    FieldDef::text("Address").max(40),
    FieldDef::text("Address2").max(40),
    FieldDef::text("City").max(30),
    FieldDef::text("State").max(2),
    FieldDef::text("Zip").max(10),
    FieldDef::text("Country"),
    FieldDef::text("Site").max(40),
    FieldDef::of("ExpirationDate", FieldKind::Date),
    FieldDef::text("Number"),
    FieldDef::of("UserRequestLimit", FieldKind::Integer),
    FieldDef::text("Organization"),
    FieldDef::text("Fax"),
    FieldDef::text("ShippingAcctNo"),
    FieldDef::text("ArticleBillingCategory"),
    FieldDef::text("LoanBillingCategory"),
    FieldDef::text("SAddress"),
    FieldDef::text("SAddress2"),
    FieldDef::text("SCity"),
    FieldDef::text("SState"),
    FieldDef::text("SZip"),
    FieldDef::text("SCountry"),
    FieldDef::text("AuthType").allowed(&["Default", "ILLiad"]),
    FieldDef::text("UserInfo1"),
    FieldDef::text("UserInfo2"),
    FieldDef::text("UserInfo3"),
    FieldDef::text("UserInfo4"),
    FieldDef::text("UserInfo5"),
];

/// The entry for `name`, matched case-insensitively.
pub(crate) fn def(name: &str) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|d| d.name.eq_ignore_ascii_case(name))
}

/// Validates a flat ILLiad user record.
pub(crate) fn validate(obj: &Map<String, Value>) -> Vec<Violation> {
    let mut out = Vec::new();
    // Canonical name → value, so `Username` and `UserName` are one field.
    let mut canon: Map<String, Value> = Map::new();
    for (key, v) in obj {
        let Some(d) = def(key) else {
            out.push(
                Violation::field(
                    key.as_str(),
                    "not an ILLiad user field that can be written through the Web Platform API",
                )
                .code(ReasonCode::UnknownField),
            );
            continue;
        };
        if canon.contains_key(d.name) {
            out.push(Violation::field(
                d.name,
                format!("given twice (as \"{key}\" and another spelling); ILLiad field names are case-insensitive"),
            ));
            continue;
        }
        check_value(SYSTEM, d, d.name, v, &mut out);
        canon.insert(d.name.to_string(), v.clone());
    }
    require(SYSTEM, &canon, "UserName", &mut out);
    if crate::systems::schema::is_blank(canon.get("NVTGC")) {
        out.push(Violation::field(
            "NVTGC",
            "ILLiad requires NVTGC (the site code), and it is blank or missing; set [defaults] nvtgc in the mapping or map a column to NVTGC",
        ).code(ReasonCode::RequiredBlank));
    }
    check_email("EMailAddress", canon.get("EMailAddress"), &mut out);
    out
}

/// ILLiad needs NVTGC on every create; a mapping may give it once in `[defaults] nvtgc`, which
/// fills a record no column gave one (reference/illiad-libib-api.md §2.3).
pub(crate) fn complete_nvtgc(defaults: &BTreeMap<String, String>, record: &mut Map<String, Value>) {
    if record.contains_key("NVTGC") {
        return;
    }
    if let Some(site) = defaults.get("nvtgc").filter(|s| !s.trim().is_empty()) {
        record.insert("NVTGC".into(), Value::String(site.trim().to_string()));
    }
}
