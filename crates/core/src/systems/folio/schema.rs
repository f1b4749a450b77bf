//! FOLIO (mod-users) user catalogue and validation.
//!
//! Source: `reference/folio/mod-users/userdata.json` (draft-04 schema, `additionalProperties:
//! false` at the top level, in `personal` and in each address) and `reference/folio-api.md` §1.2
//! (`type` values from `UserType.java`, `preferredContactTypeId` codes from ui-users
//! `contactTypes.js`, one address per address type from `AddressValidator`). Reference-data
//! names from `reference/folio/mod-users/ref-data/`.
//!
//! Decisions:
//! - `patronGroup`, `departments` and address types are written by NAME and resolved to UUIDs
//!   later; they are checked here only for shape.
//! - `preferredContactTypeId` accepts only FOLIO's codes `001`..`005`; a mapping turns names
//!   into codes with `map = { mail = "001", email = "002", text = "003", phone = "004",
//!   mobile = "005" }` (see [`FOLIO_CONTACT_TYPES`]). Names are not silently accepted, because
//!   mod-users stores the string as given and the FOLIO UI only understands the codes.
//! - `personal.lastName` is always required, even when the record has no `personal` object.
//! - Deprecated or server-owned properties (`meta`, `proxyFor`, `createdDate`, `updatedDate`,
//!   `metadata`) are not in the catalogue. `personal.preferredContactTypeIds` (mod-users master,
//!   which its sample users carry) is, so that exports of such users import back.

use crate::mapping::OutPath;
use crate::outcome::ReasonCode;
use crate::systems::schema::{
    check_email, check_value, is_blank, show, FieldDef, FieldKind, FieldSpec, Violation,
};
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::LazyLock;

const SYSTEM: &str = "FOLIO";

/// FOLIO `type` values: folio-org/mod-users `src/main/java/org/folio/domain/UserType.java` lines
/// 5-9 (userdata.json lines 28-31 describe it as free text; mod-users refuses another value in
/// consortium mode, reference/folio-api.md §1.2).
const USER_TYPES: &[&str] = &["patron", "staff", "shadow", "system", "dcb"];

/// `preferredEmailCommunication` values: reference/folio/mod-users/userdata.json lines 205-213
/// (items `enum`, `maxItems: 3`, `uniqueItems`; the same in userdata.v19.6.0.json).
const EMAIL_COMMUNICATION: &[&str] = &["Support", "Programs", "Services"];

/// `preferredContactTypeId` codes and their names (ui-users `contactTypes.js`).
pub const FOLIO_CONTACT_TYPES: &[(&str, &str)] = &[
    ("001", "mail"),
    ("002", "email"),
    ("003", "text"),
    ("004", "phone"),
    ("005", "mobile"),
];

/// Patron-group names in FOLIO's default reference data (`ref-data/groups`). Tenants add their own.
pub const FOLIO_DEFAULT_PATRON_GROUPS: &[&str] = &["faculty", "graduate", "staff", "undergrad"];

/// Address-type names in FOLIO's default reference data (`ref-data/addresstypes`).
pub const FOLIO_DEFAULT_ADDRESS_TYPES: &[&str] =
    &["Claim", "Home", "Order", "Payment", "Returns", "Work"];

/// The parts of an address a mapping may set (`personal.addresses.<TypeName>.<part>`).
pub const FOLIO_ADDRESS_PARTS: &[&str] = &[
    "addressLine1",
    "addressLine2",
    "city",
    "region",
    "postalCode",
    "countryId",
    "primaryAddress",
];

/// Fixed fields.
pub(crate) const FIELDS: &[FieldDef] = &[
    FieldDef::text("username").id(),
    FieldDef::text("id"),
    FieldDef::text("externalSystemId").id(),
    FieldDef::text("barcode").id(),
    FieldDef::of("active", FieldKind::Bool),
    FieldDef::text("type").allowed(USER_TYPES),
    FieldDef::text("patronGroup"),
    FieldDef::of("departments", FieldKind::List),
    FieldDef::of("enrollmentDate", FieldKind::Date),
    FieldDef::of("expirationDate", FieldKind::Date),
    FieldDef::of("preferredEmailCommunication", FieldKind::List).allowed(EMAIL_COMMUNICATION),
    FieldDef::of("tags", FieldKind::List),
    FieldDef::text("personal.lastName"),
    FieldDef::text("personal.firstName"),
    FieldDef::text("personal.middleName"),
    FieldDef::text("personal.preferredFirstName"),
    // userdata.json lines 61-65: `maxLength: 300`.
    FieldDef::text("personal.pronouns").max(300),
    FieldDef::text("personal.email"),
    FieldDef::text("personal.phone"),
    FieldDef::text("personal.mobilePhone"),
    FieldDef::of("personal.dateOfBirth", FieldKind::Date),
    FieldDef::text("personal.preferredContactTypeId").allowed(&["001", "002", "003", "004", "005"]),
    FieldDef::of("personal.preferredContactTypeIds", FieldKind::List)
        .allowed(&["001", "002", "003", "004", "005"]),
    // Linked records (systems/folio/linked/): the request preference (mod-circulation-storage
    // `ramls/request-preference.json`) and service points (mod-inventory-storage
    // `ramls/schemas/service-points/servicepointsuser.json`); service points by code or name,
    // the delivery address type by name.
    FieldDef::of("requestPreference.holdShelf", FieldKind::Bool),
    FieldDef::of("requestPreference.delivery", FieldKind::Bool),
    FieldDef::text("requestPreference.defaultServicePointId"),
    FieldDef::text("requestPreference.defaultDeliveryAddressTypeId"),
    FieldDef::text("requestPreference.fulfillment").allowed(super::linked::FULFILLMENT),
    FieldDef::of("servicePointsUser.servicePointsIds", FieldKind::List),
    FieldDef::text("servicePointsUser.defaultServicePointId"),
    // userdata.json lines 161-165 (v19.6.0: line 154): a link, or the id of a
    // `/users/profile-picture` entry.
    FieldDef::text("personal.profilePictureLink"),
];

/// Pattern-field templates.
pub(crate) const PATTERNS: &[&str] = &[
    "personal.addresses.<TypeName>.addressLine1",
    "personal.addresses.<TypeName>.addressLine2",
    "personal.addresses.<TypeName>.city",
    "personal.addresses.<TypeName>.region",
    "personal.addresses.<TypeName>.postalCode",
    "personal.addresses.<TypeName>.countryId",
    "personal.addresses.<TypeName>.primaryAddress",
    "customFields.<refId>",
];

const ADDRESS_PREFIX: &str = "personal.addresses.";
const CUSTOM_PREFIX: &str = "customFields.";

static UUID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
        .ok()
});

/// A fixed field's entry.
pub(crate) fn def(name: &str) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|d| d.name == name)
}

/// The entry of an address part (`addressLine1`, …, `primaryAddress`).
fn address_part_def(part: &str) -> Option<FieldDef> {
    let name = FOLIO_ADDRESS_PARTS.iter().find(|p| **p == part)?;
    Some(if *name == "primaryAddress" {
        FieldDef::of(name, FieldKind::Bool)
    } else {
        FieldDef::text(name)
    })
}

/// Splits `personal.addresses.<TypeName>.<part>` into `(TypeName, part)`, when `name` is such a
/// field with a non-empty, trimmed type name and a known part.
pub fn folio_address_field(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(ADDRESS_PREFIX)?;
    let (ty, part) = rest.rsplit_once('.')?;
    if ty.is_empty() || ty.trim() != ty || !FOLIO_ADDRESS_PARTS.contains(&part) {
        return None;
    }
    Some((ty, part))
}

/// A custom field's key in a mapping: its refId (`classYear`) or its display name (`Class
/// Year`): non-empty, trimmed, without dots (a dot nests). Which field it is, and its values,
/// are checked against the tenant's definitions when the run plans (`custom.rs`).
fn custom_ref_id(name: &str) -> Option<&str> {
    let id = name.strip_prefix(CUSTOM_PREFIX)?;
    (!id.trim().is_empty() && id.trim() == id && !id.contains('.')).then_some(id)
}

/// The order of a user's addresses, as their type names (`Work; Home`): not a mod-users
/// property but the order of the `personal.addresses` array, written by exports and read back
/// so a restored user's addresses keep their order.
pub const ADDRESS_ORDER: &str = "personal.addresses";

/// Looks up a fixed or pattern field.
pub(crate) fn lookup(name: &str) -> Option<FieldSpec> {
    if let Some(d) = def(name) {
        return Some(d.spec(d.name));
    }
    if name == ADDRESS_ORDER {
        return Some(FieldDef::of(ADDRESS_ORDER, FieldKind::List).spec(name));
    }
    if let Some((_, part)) = folio_address_field(name) {
        return address_part_def(part).map(|d| d.spec(name));
    }
    custom_ref_id(name).map(|_| FieldDef::text("customFields").spec(name))
}

/// Validates a FOLIO user record.
pub(crate) fn validate(obj: &Map<String, Value>) -> Vec<Violation> {
    let mut out = Vec::new();
    for (key, v) in obj {
        match key.as_str() {
            "personal" => validate_personal(v, &mut out),
            "customFields" => validate_custom_fields(v, &mut out),
            "tags" => validate_tags(v, &mut out),
            super::linked::REQUEST_PREFERENCE | super::linked::SERVICE_POINTS_USER => {
                validate_linked(key, v, &mut out)
            }
            _ => match def(key) {
                Some(d) => check_value(SYSTEM, d, key, v, &mut out),
                None => out.push(
                    Violation::field(
                        key.as_str(),
                        "not a FOLIO user field (mod-users rejects unknown properties)",
                    )
                    .code(ReasonCode::UnknownField),
                ),
            },
        }
    }
    // personal.lastName: always required (mod-users requires it whenever `personal` is sent).
    let last = obj.get("personal").and_then(|p| p.get("lastName"));
    if is_blank(last) {
        out.push(
            Violation::field(
                "personal.lastName",
                "FOLIO requires a last name (personal.lastName), and it is blank or missing",
            )
            .code(ReasonCode::RequiredBlank),
        );
    }
    if let Some(Value::String(id)) = obj.get("id") {
        if !UUID.as_ref().is_some_and(|re| re.is_match(id)) {
            out.push(Violation::field(
                "id",
                format!("not a UUID: {}", show(&Value::String(id.clone()))),
            ));
        }
    }
    check_unique("departments", obj.get("departments"), false, &mut out);
    if let Some(Value::Array(prefs)) = obj.get("preferredEmailCommunication") {
        if prefs.len() > 3 {
            out.push(Violation::field(
                "preferredEmailCommunication",
                format!(
                    "has {} values; FOLIO allows at most 3: {}",
                    prefs.len(),
                    show(&Value::Array(prefs.clone()))
                ),
            ));
        }
        check_unique(
            "preferredEmailCommunication",
            obj.get("preferredEmailCommunication"),
            true,
            &mut out,
        );
    }
    out
}

/// Reports repeated list items (case-insensitively unless `exact`).
fn check_unique(field: &str, v: Option<&Value>, exact: bool, out: &mut Vec<Violation>) {
    let Some(Value::Array(items)) = v else {
        return;
    };
    let mut seen = HashSet::new();
    for item in items.iter().filter_map(Value::as_str) {
        let k = if exact {
            item.to_string()
        } else {
            item.to_lowercase()
        };
        if !seen.insert(k) {
            out.push(
                Violation::field(
                    field,
                    format!(
                        "lists {} more than once; FOLIO requires unique values",
                        show(&Value::String(item.to_string()))
                    ),
                )
                .code(ReasonCode::InvalidRecord),
            );
        }
    }
}

/// A linked record's fields (`requestPreference.*`, `servicePointsUser.*`), each checked by its
/// catalogue entry; a field not in it is unknown (both schemas: `additionalProperties: false`).
fn validate_linked(key: &str, v: &Value, out: &mut Vec<Violation>) {
    let Some(fields) = v.as_object() else {
        out.push(Violation::field(
            key,
            format!("expected an object, got {}", show(v)),
        ));
        return;
    };
    for (k, fv) in fields {
        let name = format!("{key}.{k}");
        match def(&name) {
            Some(d) => check_value(SYSTEM, d, &name, fv, out),
            None => out.push(
                Violation::field(name.as_str(), format!("not a field of FOLIO's {key}"))
                    .code(ReasonCode::UnknownField),
            ),
        }
    }
}

fn validate_personal(v: &Value, out: &mut Vec<Violation>) {
    let Some(personal) = v.as_object() else {
        out.push(Violation::field(
            "personal",
            format!("expected an object, got {}", show(v)),
        ));
        return;
    };
    // One buffer for every `personal.<key>` path of the record.
    let mut path = String::with_capacity(32);
    for (key, value) in personal {
        if key == "addresses" {
            validate_addresses(value, out);
            continue;
        }
        path.clear();
        path.push_str("personal.");
        path.push_str(key);
        match def(&path) {
            Some(d) => check_value(SYSTEM, d, &path, value, out),
            None => out.push(
                Violation::field(
                    path.clone(),
                    "not a FOLIO personal field (mod-users rejects unknown properties)",
                )
                .code(ReasonCode::UnknownField),
            ),
        }
    }
    check_email("personal.email", personal.get("email"), out);
}

fn validate_addresses(v: &Value, out: &mut Vec<Violation>) {
    let Some(addresses) = v.as_array() else {
        out.push(Violation::field(
            "personal.addresses",
            format!("expected a list of addresses, got {}", show(v)),
        ));
        return;
    };
    let mut types_seen: HashSet<String> = HashSet::new();
    let mut primaries: Vec<String> = Vec::new();
    for (i, addr) in addresses.iter().enumerate() {
        let Some(addr) = addr.as_object() else {
            out.push(Violation::field(
                "personal.addresses",
                format!("address {} is not an object: {}", i + 1, show(addr)),
            ));
            continue;
        };
        let ty = match addr.get("addressTypeId") {
            Some(Value::String(t)) if !t.trim().is_empty() => t.trim().to_string(),
            other => {
                out.push(Violation::field(
                    "personal.addresses",
                    format!(
                        "address {} has no address type (addressTypeId is {}); FOLIO requires one per address",
                        i + 1,
                        other.map(show).unwrap_or_else(|| "missing".into())
                    ),
                ));
                continue;
            }
        };
        let base = format!("{ADDRESS_PREFIX}{ty}");
        if !types_seen.insert(ty.to_lowercase()) {
            out.push(Violation::field(
                base.clone(),
                format!("more than one address of type \"{ty}\"; FOLIO allows one address per address type"),
            ));
        }
        for (key, value) in addr {
            if key == "addressTypeId" || key == "id" {
                continue;
            }
            let path = format!("{base}.{key}");
            match address_part_def(key) {
                Some(d) => check_value(SYSTEM, &d, &path, value, out),
                None => out.push(
                    Violation::field(
                        path,
                        format!(
                            "not a FOLIO address field; use one of: {}",
                            FOLIO_ADDRESS_PARTS.join(", ")
                        ),
                    )
                    .code(ReasonCode::UnknownField),
                ),
            }
        }
        if addr.get("primaryAddress") == Some(&Value::Bool(true)) {
            primaries.push(ty);
        }
    }
    if primaries.len() > 1 {
        out.push(Violation::field(
            "personal.addresses",
            format!(
                "{} addresses are marked primaryAddress = true ({}); FOLIO allows at most one primary address",
                primaries.len(),
                primaries.join(", ")
            ),
        ));
    }
}

fn validate_custom_fields(v: &Value, out: &mut Vec<Violation>) {
    let Some(fields) = v.as_object() else {
        out.push(Violation::field(
            "customFields",
            format!(
                "expected an object keyed by custom-field refId, got {}",
                show(v)
            ),
        ));
        return;
    };
    for (key, value) in fields {
        let path = format!("{CUSTOM_PREFIX}{key}");
        if custom_ref_id(&path).is_none() {
            out.push(Violation::field(
                path.clone(),
                "not a valid custom-field refId or name (it must be non-empty, without dots or leading or trailing spaces)",
            ));
        }
        let ok = match value {
            Value::String(_) | Value::Bool(_) | Value::Number(_) | Value::Null => true,
            Value::Array(items) => items.iter().all(Value::is_string),
            Value::Object(_) => false,
        };
        if !ok {
            out.push(Violation::field(
                path,
                format!(
                    "a custom field holds text, true/false or a list of option ids, got {}",
                    show(value)
                ),
            ));
        }
    }
}

fn validate_tags(v: &Value, out: &mut Vec<Violation>) {
    match v.get("tagList") {
        Some(list) if v.as_object().is_some_and(|o| o.len() == 1) => {
            if let Some(d) = def("tags") {
                check_value(SYSTEM, d, "tags", list, out);
            }
        }
        _ => out.push(Violation::field(
            "tags",
            format!("expected {{\"tagList\": [..]}}, got {}", show(v)),
        )),
    }
}

/// FOLIO stores date-times: an ISO value with a time of day that is not midnight UTC (e.g.
/// `2020-10-07T04:00:00.000+00:00` from an export, or a spreadsheet date-time cell) is kept as
/// a UTC timestamp in FOLIO's form instead of being cut to its date. A value without an offset is
/// UTC, as in mod-users. `None` for plain dates and midnight UTC.
pub(crate) fn time_of_day(text: &str) -> Option<String> {
    use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
    let s = text.trim();
    if s.len() <= 10 {
        return None;
    }
    let utc: DateTime<Utc> = DateTime::parse_from_rfc3339(s)
        .ok()
        .or_else(|| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z").ok())
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| {
            [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            .map(|n| n.and_utc())
        })?;
    if utc.num_seconds_from_midnight() == 0 && utc.nanosecond() == 0 {
        return None;
    }
    Some(utc.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string())
}

/// Where field `name` goes in a FOLIO user: dotted names nest (`personal.lastName`), an address
/// part is an element of `personal.addresses` keyed by its type name, `personal.addresses` itself
/// is the addresses' order, and `tags` is `{"tagList": [...]}` (userdata.json, `tags.json`).
pub(crate) fn out_path(name: &str) -> OutPath {
    if !name.contains('.') {
        if name == "tags" {
            return OutPath::Tags;
        }
        return OutPath::Flat(name.to_string());
    }
    if name == ADDRESS_ORDER {
        return OutPath::AddressOrder;
    }
    let parts: Vec<&str> = name.split('.').collect();
    if let ["personal", "addresses", type_name, part] = parts.as_slice() {
        return OutPath::Address {
            type_name: (*type_name).to_string(),
            part: (*part).to_string(),
        };
    }
    OutPath::Nested(parts.into_iter().map(str::to_string).collect())
}

/// The "left out" key of an export column: an address's parts
/// (`personal.addresses.<Type>.<part>`, except `primaryAddress`) count as one address,
/// `personal.addresses.<Type>`.
pub(crate) fn left_out_key(column: &str) -> Option<String> {
    let (ty, part) = column.strip_prefix(ADDRESS_PREFIX)?.split_once('.')?;
    (part != "primaryAddress" && !ty.is_empty()).then(|| format!("{ADDRESS_PREFIX}{ty}"))
}
