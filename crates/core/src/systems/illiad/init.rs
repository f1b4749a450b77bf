//! ILLiad's starter-mapping data for `init`: the field each roster concept becomes, the match
//! preference, the `[defaults] nvtgc` block, the `UserName` fallback and fixed values.
//!
//! Field names are the Web Platform `Users` fields (`reference/seeds/illiad-webplatform-users-api.txt`,
//! Create User parameter table); NVTGC is needed in practice (`reference/illiad-libib-api.md` §2.3).

use crate::init::{Concept, StarterColumn, StarterExtras};

/// The field line(s) for a column holding `concept`.
pub(crate) fn lines(concept: Concept, col: &StarterColumn) -> Option<Vec<String>> {
    use Concept as K;
    let lines = match concept {
        K::ExternalId => vec![col.line("ExternalUserId", ", transform = [\"trim\"]")],
        K::Username => vec![col.line(
            "UserName",
            ", transform = [\"trim\", \"lower\"], required = true",
        )],
        K::Barcode => return None,
        K::LastName => vec![col.line(
            "LastName",
            ", transform = [\"collapse_spaces\"], required = true",
        )],
        K::FirstName => {
            vec![col.line("FirstName", ", transform = [\"collapse_spaces\"]")]
        }
        K::FullName => vec![
            col.line(
                "LastName",
                ", transform = [{ split_name = \"last\" }], required = true",
            ),
            col.line("FirstName", ", transform = [{ split_name = \"first\" }]"),
        ],
        K::Email => vec![col.line(
            "EMailAddress",
            ", transform = [\"trim\", \"lower\", \"email\"]",
        )],
        K::Phone => vec![col.line("Phone", ", transform = [\"phone\"]")],
        K::Mobile => vec![col.line("MobilePhone", ", transform = [\"phone\"]")],
        K::Department => {
            vec![col.line("Department", ", transform = [\"collapse_spaces\"]")]
        }
        K::Group => vec![col.line("Status", ", transform = [\"trim\"]")],
        K::Street => vec![col.line("Address", ", transform = [\"collapse_spaces\"]")],
        K::Street2 => {
            vec![col.line("Address2", ", transform = [\"collapse_spaces\"]")]
        }
        K::City => vec![col.line("City", "")],
        K::State => vec![col.line("State", ", transform = [\"trim\", \"upper\"]")],
        K::Zip => vec![col.line("Zip", ", transform = [\"trim\"]")],
        K::Country => {
            vec![col.line("Country", ", transform = [\"trim\", \"upper\"]")]
        }
        K::Expires => vec![col.date_line("ExpirationDate")],
        K::MiddleName | K::PreferredName | K::Enrolled => return None,
    };
    Some(lines)
}

/// ILLiad needs a UserName on every user: without a login column it is filled from the e-mail or
/// the external id (see [`extras`]), so the match is always UserName.
pub(crate) const MATCH: &[(Concept, &str)] = &[
    (Concept::Username, "UserName"),
    (Concept::Email, "UserName"),
    (Concept::ExternalId, "UserName"),
];

/// The NVTGC default, a `UserName` from the e-mail or external id when the roster has no login
/// column, and the fixed values of a new web user.
pub(crate) fn extras(columns: &[StarterColumn], out_name: &str) -> StarterExtras {
    let mut extras = StarterExtras {
        defaults: Some(
            "[defaults]\n# NVTGC: your ILLiad site code, sent with every new user.\nnvtgc = \"ILL\""
                .into(),
        ),
        ..StarterExtras::default()
    };
    let has = |k: Concept| columns.iter().any(|c| c.concept() == Some(k));
    if !has(Concept::Username) {
        let source = [Concept::Email, Concept::ExternalId]
            .into_iter()
            .find_map(|k| columns.iter().find(|c| c.concept() == Some(k)));
        if let Some(col) = source {
            extras.lead.push(format!(
                "# ILLiad needs a user name and the roster has no login column: this uses {}.\n\
                 # If users sign in to ILLiad with another name, map that column here instead.",
                col.quoted_name()
            ));
            extras.lead.push(format!(
                "\"UserName\" = {{ column = {}, transform = [\"trim\", \"lower\"], required = true }}{}",
                col.quoted_name(),
                col.samples_comment()
            ));
            extras.next.push(format!(
                "ILLiad user names come from the column {}: change the UserName line in {out_name} if users sign in with another name",
                col.quoted_name()
            ));
        }
    }
    for (f, v) in [
        ("Cleared", "\"Yes\""),
        ("NotificationMethod", "\"Electronic\""),
        ("DeliveryMethod", "\"Hold for Pickup\""),
        ("LoanDeliveryMethod", "\"Hold for Pickup\""),
        ("AuthType", "\"Default\""),
        ("Web", "true"),
    ] {
        extras.constants.push(format!("{f} = {{ value = {v} }}"));
    }
    extras
}
