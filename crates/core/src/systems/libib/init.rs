//! Libib's starter-mapping data for `init`: the field each roster concept becomes and the match
//! preference. Field names are Libib's patron fields (`reference/seeds/libib-patrons-client-docs.txt`).

use crate::init::{Concept, StarterColumn, StarterExtras};

/// The field line(s) for a column holding `concept`.
pub(crate) fn lines(concept: Concept, col: &StarterColumn) -> Option<Vec<String>> {
    use Concept as K;
    let lines = match concept {
        K::ExternalId => vec![col.line("patron_id", ", transform = [\"trim\"]")],
        K::Barcode => vec![col.line("barcode", ", transform = [\"trim\"]")],
        K::LastName => vec![col.line(
            "last_name",
            ", transform = [\"collapse_spaces\"], required = true",
        )],
        K::FirstName => vec![col.line(
            "first_name",
            ", transform = [\"collapse_spaces\"], required = true",
        )],
        K::FullName => vec![
            col.line(
                "last_name",
                ", transform = [{ split_name = \"last\" }], required = true",
            ),
            col.line(
                "first_name",
                ", transform = [{ split_name = \"first\" }], required = true",
            ),
        ],
        K::Email => vec![col.line("email", ", transform = [\"trim\", \"lower\", \"email\"]")],
        K::Phone => vec![col.line("phone", ", transform = [\"phone\"]")],
        K::Group => vec![col.line("tags", ", transform = [\"trim\", \"lower\"]")],
        K::Street => vec![col.line("address1", ", transform = [\"collapse_spaces\"]")],
        K::Street2 => {
            vec![col.line("address2", ", transform = [\"collapse_spaces\"]")]
        }
        K::City => vec![col.line("city", "")],
        K::State => vec![col.line("state", ", transform = [\"trim\", \"upper\"]")],
        K::Zip => vec![col.line("zip", ", transform = [\"trim\"]")],
        K::Country => vec![col.line("country", ", transform = [\"trim\", \"upper\"]")],
        _ => return None,
    };
    Some(lines)
}

/// The match field preference: Libib looks patrons up by e-mail or barcode.
pub(crate) const MATCH: &[(Concept, &str)] =
    &[(Concept::Email, "email"), (Concept::Barcode, "barcode")];

/// Libib needs nothing besides the column lines.
pub(crate) fn extras(_columns: &[StarterColumn], _out_name: &str) -> StarterExtras {
    StarterExtras::default()
}
