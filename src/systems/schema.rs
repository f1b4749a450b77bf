//! Field catalogues and offline validation for each system (STUB: being written).

use super::System;
use serde_json::Value;

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

/// Looks up a field by its name in `system`'s catalogue (including pattern fields such as
/// FOLIO `personal.addresses.<Type>.<part>` and `customFields.<refId>`).
pub fn lookup_field(system: System, name: &str) -> Option<FieldSpec> {
    let _ = (system, name);
    Some(FieldSpec {
        name: name.to_string(),
        kind: FieldKind::Text,
        id_like: false,
        allowed: None,
    })
}

/// All fixed field names of `system` (for "did you mean" suggestions and `init`).
pub fn field_names(system: System) -> Vec<String> {
    let _ = system;
    Vec::new()
}

/// Fields that may serve as the match key of a mapping for `system`.
pub fn match_fields(system: System) -> &'static [&'static str] {
    match system {
        System::Folio => &["externalSystemId", "username", "barcode", "id"],
        System::Illiad => &["UserName", "ExternalUserId"],
        System::Libib => &["email", "barcode"],
    }
}

/// A problem found by offline validation of a mapped record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field concerned (system name), if any.
    pub field: Option<String>,
    /// Human-readable reason.
    pub reason: String,
}

/// Validates a mapped record (names not yet resolved to UUIDs) against `system`'s rules.
pub fn validate(system: System, record: &Value) -> Vec<Violation> {
    let _ = (system, record);
    Vec::new()
}
