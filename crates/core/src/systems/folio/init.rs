//! FOLIO's starter-mapping data for `init`: the field each roster concept becomes, the match
//! preference, fixed values, and the patron-group guess.
//!
//! Field names and transforms are those of the shipped FOLIO mappings (`mappings/`); the fixed
//! `type = "patron"` is a value of mod-users `UserType.java` (see `schema.rs`).

use crate::init::{toml_quote, Concept, StarterColumn, StarterExtras};

/// The field line(s) for a column holding `concept`.
pub(crate) fn lines(concept: Concept, col: &StarterColumn) -> Option<Vec<String>> {
    use Concept as K;
    let lines = match concept {
        K::ExternalId => {
            vec![col.line("externalSystemId", ", transform = [\"trim\"]")]
        }
        K::Username => {
            vec![col.line("username", ", transform = [\"trim\", \"lower\"]")]
        }
        K::Barcode => vec![col.line("barcode", ", transform = [\"trim\"]")],
        K::LastName => vec![col.line(
            "personal.lastName",
            ", transform = [\"collapse_spaces\"], required = true",
        )],
        K::FirstName => vec![col.line("personal.firstName", ", transform = [\"collapse_spaces\"]")],
        K::MiddleName => vec![col.line("personal.middleName", "")],
        K::PreferredName => vec![col.line("personal.preferredFirstName", "")],
        K::FullName => vec![
            col.line(
                "personal.lastName",
                ", transform = [{ split_name = \"last\" }], required = true",
            ),
            col.line(
                "personal.firstName",
                ", transform = [{ split_name = \"first\" }]",
            ),
        ],
        K::Email => vec![col.line(
            "personal.email",
            ", transform = [\"trim\", \"lower\", \"email\"]",
        )],
        K::Phone => vec![col.line("personal.phone", ", transform = [\"phone\"]")],
        K::Mobile => {
            vec![col.line("personal.mobilePhone", ", transform = [\"phone\"]")]
        }
        K::Street => vec![col.line(
            "personal.addresses.Home.addressLine1",
            ", transform = [\"collapse_spaces\"]",
        )],
        K::Street2 => vec![col.line(
            "personal.addresses.Home.addressLine2",
            ", transform = [\"collapse_spaces\"]",
        )],
        K::City => vec![col.line("personal.addresses.Home.city", "")],
        K::State => vec![col.line(
            "personal.addresses.Home.region",
            ", transform = [\"trim\", \"upper\"]",
        )],
        K::Zip => vec![col.line(
            "personal.addresses.Home.postalCode",
            ", transform = [\"trim\"]",
        )],
        K::Country => vec![col.line(
            "personal.addresses.Home.countryId",
            ", transform = [\"trim\", \"upper\"]",
        )],
        K::Expires => vec![col.date_line("expirationDate")],
        K::Enrolled => vec![col.date_line("enrollmentDate")],
        K::Group => {
            // Group names are the tenant's: each code found is mapped to a likely FOLIO group
            // name (FOLIO's reference groups for the common codes), for staff to check.
            let map: Vec<String> = col
                .distinct_values()
                .iter()
                .map(|v| format!("{} = {}", toml_quote(v), toml_quote(&guess_group(v))))
                .collect();
            vec![
                "# Patron group: the roster's codes → FOLIO group names. Check every name against"
                    .into(),
                "# your tenant's groups (Settings → Users → Patron groups); a code not listed here"
                    .into(),
                "# rejects its row, naming the code.".into(),
                format!(
                    "patronGroup = {{ column = {}, transform = [\"trim\"], map = {{ {} }} }}",
                    col.quoted_name(),
                    map.join(", ")
                ),
            ]
        }
        K::Department => return None,
    };
    Some(lines)
}

/// The match field preference: the most stable identifier first.
pub(crate) const MATCH: &[(Concept, &str)] = &[
    (Concept::ExternalId, "externalSystemId"),
    (Concept::Username, "username"),
    (Concept::Barcode, "barcode"),
];

/// Fixed values (active patron), the primary address when there is one, and the reminder to
/// check the guessed patron-group names.
pub(crate) fn extras(columns: &[StarterColumn], out_name: &str) -> StarterExtras {
    let has = |k: Concept| columns.iter().any(|c| c.concept() == Some(k));
    let mut constants = vec![
        "active = { value = true }".to_string(),
        "type = { value = \"patron\" }".to_string(),
    ];
    if has(Concept::Street) || has(Concept::City) {
        constants.push("\"personal.addresses.Home.primaryAddress\" = { value = true }".into());
    }
    let mut next = Vec::new();
    if let Some(col) = columns.iter().find(|c| c.concept() == Some(Concept::Group)) {
        let names: Vec<String> = col
            .distinct_values()
            .iter()
            .map(|v| guess_group(v))
            .collect();
        next.push(format!(
            "check the patron-group names in {out_name} ({}) against your FOLIO tenant's groups",
            names.join(", ")
        ));
    }
    StarterExtras {
        constants,
        next,
        ..StarterExtras::default()
    }
}

/// A likely FOLIO patron-group name for a roster code: FOLIO's reference groups (undergrad,
/// graduate, faculty, staff: folio-org/mod-users `reference-data/groups`) for their common
/// codes, else the code itself.
fn guess_group(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match norm.as_str() {
        "ug" | "u" | "undergrad" | "undergraduate" | "undergraduates" | "ugrad" => "undergrad",
        "gr" | "g" | "grad" | "graduate" | "graduates" | "pg" | "postgrad" | "postgraduate" => {
            "graduate"
        }
        "fac" | "f" | "faculty" | "prof" | "professor" | "ac" | "academic" => "faculty",
        "staff" | "stf" | "st" | "s" | "employee" | "emp" => "staff",
        _ => return code.trim().to_string(),
    }
    .to_string()
}
