//! `init`: a starter mapping from a roster's header, so nobody writes one from a blank page.
//!
//! Each column is matched to a patron concept (last name, external id, e-mail, …) by its normalised
//! name and common synonyms; the concept then becomes the field of the chosen system with the
//! transforms the shipped mappings use. Sample values from the first rows are shown in comments,
//! the date format of an expiry (or enrolment/hire) column is inferred from its values, and columns
//! nothing matched are listed at the end as comments. Invariant: the starter is one `check`
//! accepts as written (ILLiad always gets a `UserName`; FOLIO patron groups are mapped from the
//! codes found, to names staff are told to confirm).

use crate::read::{self, ReadOptions, Record};
use crate::systems::System;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Rows read for sample values and date-format inference.
const SAMPLE_ROWS: usize = 200;
/// Sample values shown per column.
const SHOWN_SAMPLES: usize = 3;

/// What `init` needs.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The roster whose header is read.
    pub file: PathBuf,
    /// Reader options (delimiter, encoding, sheet, header row).
    pub read: ReadOptions,
    /// The system the mapping is for.
    pub system: System,
    /// Where the mapping will be written (named in its comments), if not stdout.
    pub out: Option<PathBuf>,
}

/// A starter mapping and what to do with it next.
#[derive(Debug, Clone)]
pub struct Starter {
    /// The mapping file's text.
    pub text: String,
    /// Next steps to print for the user (one line each).
    pub next: Vec<String>,
}

/// A patron attribute a roster column can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Concept {
    /// Registrar / HR id.
    ExternalId,
    /// Login name.
    Username,
    /// Library card barcode.
    Barcode,
    /// Family name.
    LastName,
    /// Given name.
    FirstName,
    /// Middle name or initial.
    MiddleName,
    /// Preferred / chosen first name.
    PreferredName,
    /// A whole name, usually "Last, First".
    FullName,
    /// E-mail address.
    Email,
    /// Main phone.
    Phone,
    /// Mobile phone.
    Mobile,
    /// Patron class, group or type.
    Group,
    /// Department or programme.
    Department,
    /// First address line.
    Street,
    /// Second address line.
    Street2,
    /// City.
    City,
    /// State, province or region.
    State,
    /// Postal code.
    Zip,
    /// Country.
    Country,
    /// Expiry date.
    Expires,
    /// Enrolment, hire or start date.
    Enrolled,
}

/// Normalised column names (lower-case letters and digits only) for each concept.
const SYNONYMS: &[(Concept, &[&str])] = &[
    (
        Concept::ExternalId,
        &[
            "studentid",
            "studentnumber",
            "studentno",
            "emplid",
            "employeeid",
            "employeenumber",
            "externalid",
            "externalsystemid",
            "externaluserid",
            "patronid",
            "universityid",
            "campusid",
            "idnumber",
            "sisid",
            "personid",
            "bannerid",
            "id",
        ],
    ),
    (
        Concept::Username,
        &[
            "netid",
            "username",
            "login",
            "loginid",
            "userid",
            "uid",
            "networkid",
            "account",
        ],
    ),
    (
        Concept::Barcode,
        &[
            "card",
            "cardnumber",
            "cardno",
            "barcode",
            "librarycard",
            "librarybarcode",
            "idcard",
            "patronbarcode",
        ],
    ),
    (
        Concept::LastName,
        &["lastname", "surname", "familyname", "last", "lname", "sn"],
    ),
    (
        Concept::FirstName,
        &["firstname", "givenname", "first", "fname", "forename"],
    ),
    (
        Concept::MiddleName,
        &["middle", "middlename", "middleinitial", "mi"],
    ),
    (
        Concept::PreferredName,
        &[
            "preferredname",
            "preferredfirstname",
            "nickname",
            "chosenname",
        ],
    ),
    (
        Concept::FullName,
        &[
            "name",
            "fullname",
            "patronname",
            "studentname",
            "displayname",
        ],
    ),
    (
        Concept::Email,
        &[
            "email",
            "emailaddress",
            "mail",
            "campusemail",
            "universityemail",
            "preferredemail",
            "primaryemail",
            "workemail",
            "personalemail",
            "schoolemail",
            "studentemail",
            "officialemail",
            "institutionalemail",
            "emailid",
            "email1",
            "emailprimary",
            "emailpreferred",
            "mailaddress",
        ],
    ),
    (
        Concept::Phone,
        &["phone", "phonenumber", "telephone", "tel", "homephone"],
    ),
    (
        Concept::Mobile,
        &["mobile", "mobilephone", "cell", "cellphone"],
    ),
    (
        Concept::Group,
        &[
            "class",
            "patrongroup",
            "group",
            "patrontype",
            "usertype",
            "borrowertype",
            "category",
            "classification",
            "status",
        ],
    ),
    (
        Concept::Department,
        &[
            "department",
            "dept",
            "program",
            "programme",
            "major",
            "school",
            "college",
        ],
    ),
    (
        Concept::Street,
        &[
            "street",
            "address",
            "address1",
            "addressline1",
            "streetaddress",
            "street1",
        ],
    ),
    (
        Concept::Street2,
        &["address2", "addressline2", "street2", "apt", "unit"],
    ),
    (Concept::City, &["city", "town", "locality"]),
    (
        Concept::State,
        &["state", "region", "province", "stateprovince", "county"],
    ),
    (
        Concept::Zip,
        &["zip", "zipcode", "postalcode", "postcode", "postal"],
    ),
    (Concept::Country, &["country", "countrycode", "countryid"]),
    (
        Concept::Expires,
        &[
            "expires",
            "expiration",
            "expirationdate",
            "expiry",
            "expirydate",
            "enddate",
            "validuntil",
            "expire",
        ],
    ),
    (
        Concept::Enrolled,
        &[
            "hired",
            "hiredate",
            "datehired",
            "hiredon",
            "startdate",
            "start",
            "started",
            "enrollmentdate",
            "enrolmentdate",
            "enrolled",
            "enrollment",
            "matriculationdate",
            "joined",
            "joindate",
        ],
    ),
];

/// The concept a column name stands for, if any.
pub fn concept_for(column: &str) -> Option<Concept> {
    let norm: String = column
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SYNONYMS
        .iter()
        .find(|(_, names)| names.contains(&norm.as_str()))
        .map(|(c, _)| *c)
}

/// Date formats tried on an expiry column, most common first.
const DATE_FORMATS: &[&str] = &[
    "%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y",
];

/// The format that parses the most of `values` (ties go to the earlier, more common one).
pub fn infer_date_format(values: &[String]) -> Option<&'static str> {
    DATE_FORMATS
        .iter()
        .map(|f| {
            let n = values
                .iter()
                .filter(|v| chrono::NaiveDate::parse_from_str(v.trim(), f).is_ok())
                .count();
            (n, f)
        })
        .filter(|(n, _)| *n > 0)
        .fold(None::<(usize, &&str)>, |best, cur| match best {
            Some(b) if b.0 >= cur.0 => Some(b),
            _ => Some(cur),
        })
        .map(|(_, f)| *f)
}

/// A column of the roster with what was learnt about it.
struct Column {
    name: String,
    concept: Option<Concept>,
    samples: Vec<String>,
    values: Vec<String>,
}

/// Reads the header and the first rows, and writes the starter mapping.
pub fn run(opts: &InitOptions) -> Result<Starter, read::ReadError> {
    let mut reader = read::open(&opts.file, &opts.read)?;
    let headers = reader.headers().to_vec();
    let mut taken = HashSet::new();
    let mut columns: Vec<Column> = headers
        .iter()
        .map(|h| {
            // The first column claiming a concept gets it; a second "Email" stays unmatched.
            let concept = concept_for(h).filter(|c| taken.insert(*c));
            Column {
                name: h.clone(),
                concept,
                samples: Vec::new(),
                values: Vec::new(),
            }
        })
        .collect();
    for rec in reader.by_ref().take(SAMPLE_ROWS) {
        let Ok(Record::Row(row)) = rec else { continue };
        for (col, cell) in columns.iter_mut().zip(row.cells) {
            let cell = cell.trim().to_string();
            if cell.is_empty() {
                continue;
            }
            if col.samples.len() < SHOWN_SAMPLES && !col.samples.contains(&cell) {
                col.samples.push(cell.clone());
            }
            col.values.push(cell);
        }
    }
    Ok(render(opts, &columns))
}

/// TOML-quoted text.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A comment-safe rendering of sample values.
fn samples_comment(col: &Column) -> String {
    if col.samples.is_empty() {
        return "  # (blank in the first rows)".into();
    }
    let shown: Vec<String> = col
        .samples
        .iter()
        .map(|s| {
            let clean: String = s
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(40)
                .collect();
            format!("\"{clean}\"")
        })
        .collect();
    format!("  # e.g. {}", shown.join(", "))
}

/// The field line(s) for one matched column in `system`, or None when the system has no such field.
fn field_lines(system: System, concept: Concept, col: &Column) -> Option<Vec<String>> {
    let c = q(&col.name);
    let with = |field: &str, rest: &str| format!("{} = {{ column = {c}{rest} }}", q(field));
    let date = || {
        let f = infer_date_format(&col.values).unwrap_or("%m/%d/%Y");
        format!(", date = {}", q(f))
    };
    use Concept as K;
    let lines = match (system, concept) {
        (System::Folio, K::ExternalId) => {
            vec![with("externalSystemId", ", transform = [\"trim\"]")]
        }
        (System::Folio, K::Username) => {
            vec![with("username", ", transform = [\"trim\", \"lower\"]")]
        }
        (System::Folio, K::Barcode) => vec![with("barcode", ", transform = [\"trim\"]")],
        (System::Folio, K::LastName) => vec![with(
            "personal.lastName",
            ", transform = [\"collapse_spaces\"], required = true",
        )],
        (System::Folio, K::FirstName) => vec![with(
            "personal.firstName",
            ", transform = [\"collapse_spaces\"]",
        )],
        (System::Folio, K::MiddleName) => vec![with("personal.middleName", "")],
        (System::Folio, K::PreferredName) => vec![with("personal.preferredFirstName", "")],
        (System::Folio, K::FullName) => vec![
            with(
                "personal.lastName",
                ", transform = [{ split_name = \"last\" }], required = true",
            ),
            with(
                "personal.firstName",
                ", transform = [{ split_name = \"first\" }]",
            ),
        ],
        (System::Folio, K::Email) => vec![with(
            "personal.email",
            ", transform = [\"trim\", \"lower\", \"email\"]",
        )],
        (System::Folio, K::Phone) => vec![with("personal.phone", ", transform = [\"phone\"]")],
        (System::Folio, K::Mobile) => {
            vec![with("personal.mobilePhone", ", transform = [\"phone\"]")]
        }
        (System::Folio, K::Street) => vec![with(
            "personal.addresses.Home.addressLine1",
            ", transform = [\"collapse_spaces\"]",
        )],
        (System::Folio, K::Street2) => vec![with(
            "personal.addresses.Home.addressLine2",
            ", transform = [\"collapse_spaces\"]",
        )],
        (System::Folio, K::City) => vec![with("personal.addresses.Home.city", "")],
        (System::Folio, K::State) => vec![with(
            "personal.addresses.Home.region",
            ", transform = [\"trim\", \"upper\"]",
        )],
        (System::Folio, K::Zip) => vec![with(
            "personal.addresses.Home.postalCode",
            ", transform = [\"trim\"]",
        )],
        (System::Folio, K::Country) => vec![with(
            "personal.addresses.Home.countryId",
            ", transform = [\"trim\", \"upper\"]",
        )],
        (System::Folio, K::Expires) => vec![with("expirationDate", &date())],
        (System::Folio, K::Enrolled) => vec![with("enrollmentDate", &date())],
        (System::Folio, K::Group) => {
            // Group names are the tenant's: each code found is mapped to a likely FOLIO group
            // name (FOLIO's reference groups for the common codes), for staff to check.
            let map: Vec<String> = group_codes(col)
                .iter()
                .map(|v| format!("{} = {}", q(v), q(&guess_group(v))))
                .collect();
            vec![
                "# Patron group: the roster's codes → FOLIO group names. Check every name against"
                    .into(),
                "# your tenant's groups (Settings → Users → Patron groups); a code not listed here"
                    .into(),
                "# rejects its row, naming the code.".into(),
                format!(
                    "patronGroup = {{ column = {c}, transform = [\"trim\"], map = {{ {} }} }}",
                    map.join(", ")
                ),
            ]
        }
        (System::Folio, K::Department) => return None,
        (System::Illiad, K::ExternalId) => vec![with("ExternalUserId", ", transform = [\"trim\"]")],
        (System::Illiad, K::Username) => vec![with(
            "UserName",
            ", transform = [\"trim\", \"lower\"], required = true",
        )],
        (System::Illiad, K::Barcode) => return None,
        (System::Illiad, K::LastName) => vec![with(
            "LastName",
            ", transform = [\"collapse_spaces\"], required = true",
        )],
        (System::Illiad, K::FirstName) => {
            vec![with("FirstName", ", transform = [\"collapse_spaces\"]")]
        }
        (System::Illiad, K::FullName) => vec![
            with(
                "LastName",
                ", transform = [{ split_name = \"last\" }], required = true",
            ),
            with("FirstName", ", transform = [{ split_name = \"first\" }]"),
        ],
        (System::Illiad, K::Email) => vec![with(
            "EMailAddress",
            ", transform = [\"trim\", \"lower\", \"email\"]",
        )],
        (System::Illiad, K::Phone) => vec![with("Phone", ", transform = [\"phone\"]")],
        (System::Illiad, K::Mobile) => vec![with("MobilePhone", ", transform = [\"phone\"]")],
        (System::Illiad, K::Department) => {
            vec![with("Department", ", transform = [\"collapse_spaces\"]")]
        }
        (System::Illiad, K::Group) => vec![with("Status", ", transform = [\"trim\"]")],
        (System::Illiad, K::Street) => vec![with("Address", ", transform = [\"collapse_spaces\"]")],
        (System::Illiad, K::Street2) => {
            vec![with("Address2", ", transform = [\"collapse_spaces\"]")]
        }
        (System::Illiad, K::City) => vec![with("City", "")],
        (System::Illiad, K::State) => vec![with("State", ", transform = [\"trim\", \"upper\"]")],
        (System::Illiad, K::Zip) => vec![with("Zip", ", transform = [\"trim\"]")],
        (System::Illiad, K::Country) => {
            vec![with("Country", ", transform = [\"trim\", \"upper\"]")]
        }
        (System::Illiad, K::Expires) => vec![with("ExpirationDate", &date())],
        (System::Illiad, K::MiddleName | K::PreferredName | K::Enrolled) => return None,
        (System::Libib, K::ExternalId) => vec![with("patron_id", ", transform = [\"trim\"]")],
        (System::Libib, K::Barcode) => vec![with("barcode", ", transform = [\"trim\"]")],
        (System::Libib, K::LastName) => vec![with(
            "last_name",
            ", transform = [\"collapse_spaces\"], required = true",
        )],
        (System::Libib, K::FirstName) => vec![with(
            "first_name",
            ", transform = [\"collapse_spaces\"], required = true",
        )],
        (System::Libib, K::FullName) => vec![
            with(
                "last_name",
                ", transform = [{ split_name = \"last\" }], required = true",
            ),
            with(
                "first_name",
                ", transform = [{ split_name = \"first\" }], required = true",
            ),
        ],
        (System::Libib, K::Email) => vec![with(
            "email",
            ", transform = [\"trim\", \"lower\", \"email\"]",
        )],
        (System::Libib, K::Phone) => vec![with("phone", ", transform = [\"phone\"]")],
        (System::Libib, K::Group) => vec![with("tags", ", transform = [\"trim\", \"lower\"]")],
        (System::Libib, K::Street) => vec![with("address1", ", transform = [\"collapse_spaces\"]")],
        (System::Libib, K::Street2) => {
            vec![with("address2", ", transform = [\"collapse_spaces\"]")]
        }
        (System::Libib, K::City) => vec![with("city", "")],
        (System::Libib, K::State) => vec![with("state", ", transform = [\"trim\", \"upper\"]")],
        (System::Libib, K::Zip) => vec![with("zip", ", transform = [\"trim\"]")],
        (System::Libib, K::Country) => vec![with("country", ", transform = [\"trim\", \"upper\"]")],
        (System::Libib, _) => return None,
    };
    Some(lines)
}

/// The distinct non-blank values of a column (at most 12), in first-seen order.
fn group_codes(col: &Column) -> Vec<&String> {
    let mut codes: Vec<&String> = Vec::new();
    for v in &col.values {
        if !codes.contains(&v) && codes.len() < 12 {
            codes.push(v);
        }
    }
    codes
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

/// The match field: the most stable identifier the roster has, in the system's terms.
fn match_field(system: System, have: &HashSet<Concept>) -> Option<&'static str> {
    let prefs: &[(Concept, &str)] = match system {
        System::Folio => &[
            (Concept::ExternalId, "externalSystemId"),
            (Concept::Username, "username"),
            (Concept::Barcode, "barcode"),
        ],
        // ILLiad needs a UserName on every user: without a login column it is filled from the
        // e-mail or the external id (see `render`), so the match is always UserName.
        System::Illiad => &[
            (Concept::Username, "UserName"),
            (Concept::Email, "UserName"),
            (Concept::ExternalId, "UserName"),
        ],
        System::Libib => &[(Concept::Email, "email"), (Concept::Barcode, "barcode")],
    };
    prefs
        .iter()
        .find(|(c, _)| have.contains(c))
        .map(|(_, f)| *f)
}

fn render(opts: &InitOptions, columns: &[Column]) -> Starter {
    let system = opts.system;
    let have: HashSet<Concept> = columns.iter().filter_map(|c| c.concept).collect();
    let mut out = String::new();
    let mut next = Vec::new();
    let file = opts.file.display();
    let out_name = opts
        .out
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "THIS_FILE.toml".into());
    let _ = writeln!(
        out,
        "# Starter mapping for {file} → {system}, written by `patron-etl init`."
    );
    let _ = writeln!(out, "# Review every line, then try it offline:");
    let _ = writeln!(out, "#   patron-etl check {file} --mapping {out_name}\n");
    let _ = writeln!(out, "system = {}", q(system.name()));
    match match_field(system, &have) {
        Some(f) => {
            let _ = writeln!(
                out,
                "# match: the field that finds a patron already in {system}."
            );
            let _ = writeln!(out, "match = {}", q(f));
        }
        None => {
            let _ = writeln!(
                out,
                "# No identifier column was recognised; set match to a mapped field before importing."
            );
        }
    }
    let _ = writeln!(
        out,
        "# on_blank: \"keep\" never lets a blank cell erase a value in {system}; \"clear\" does."
    );
    let _ = writeln!(out, "on_blank = \"keep\"");
    if system == System::Illiad {
        let _ = writeln!(
            out,
            "\n[defaults]\n# NVTGC: your ILLiad site code, sent with every new user.\nnvtgc = \"ILL\""
        );
    }
    let _ = writeln!(out, "\n[fields]");
    if system == System::Illiad && !have.contains(&Concept::Username) {
        let source = [Concept::Email, Concept::ExternalId]
            .into_iter()
            .find_map(|k| columns.iter().find(|c| c.concept == Some(k)));
        if let Some(col) = source {
            let _ = writeln!(
                out,
                "# ILLiad needs a user name and the roster has no login column: this uses {}.\n\
                 # If users sign in to ILLiad with another name, map that column here instead.",
                q(&col.name)
            );
            let _ = writeln!(
                out,
                "\"UserName\" = {{ column = {}, transform = [\"trim\", \"lower\"], required = true }}{}",
                q(&col.name),
                samples_comment(col)
            );
            next.push(format!(
                "ILLiad user names come from the column {}: change the UserName line in {out_name} if users sign in with another name",
                q(&col.name)
            ));
        }
    }
    let mut unmatched = Vec::new();
    let match_prefix = match_field(system, &have).map(|f| format!("{} = {{", q(f)));
    for col in columns {
        let lines = col
            .concept
            .and_then(|k| field_lines(system, k, col))
            .map(|lines| {
                // The match key must never be blank.
                lines
                    .into_iter()
                    .map(|l| match &match_prefix {
                        Some(p) if l.starts_with(p.as_str()) && !l.contains("required") => {
                            format!("{}, required = true }}", l.trim_end_matches(" }"))
                        }
                        _ => l,
                    })
                    .collect::<Vec<_>>()
            });
        match lines {
            Some(lines) => {
                let n = lines.len();
                for (i, l) in lines.into_iter().enumerate() {
                    if i + 1 == n && !l.starts_with('#') {
                        let _ = writeln!(out, "{l}{}", samples_comment(col));
                    } else {
                        let _ = writeln!(out, "{l}");
                    }
                }
            }
            None => unmatched.push(col),
        }
    }
    match system {
        System::Folio => {
            let _ = writeln!(out, "active = {{ value = true }}");
            let _ = writeln!(out, "type = {{ value = \"patron\" }}");
            if have.contains(&Concept::Street) || have.contains(&Concept::City) {
                let _ = writeln!(
                    out,
                    "\"personal.addresses.Home.primaryAddress\" = {{ value = true }}"
                );
            }
        }
        System::Illiad => {
            for (f, v) in [
                ("Cleared", "\"Yes\""),
                ("NotificationMethod", "\"Electronic\""),
                ("DeliveryMethod", "\"Hold for Pickup\""),
                ("LoanDeliveryMethod", "\"Hold for Pickup\""),
                ("AuthType", "\"Default\""),
                ("Web", "true"),
            ] {
                let _ = writeln!(out, "{f} = {{ value = {v} }}");
            }
        }
        System::Libib => {}
    }
    if !unmatched.is_empty() {
        let _ = writeln!(
            out,
            "\n# Columns not matched to a {system} field (map them by hand if they matter):"
        );
        for col in unmatched {
            let _ = writeln!(out, "#   {}{}", q(&col.name), samples_comment(col));
        }
    }
    if system == System::Folio {
        if let Some(col) = columns.iter().find(|c| c.concept == Some(Concept::Group)) {
            let names: Vec<String> = group_codes(col).iter().map(|v| guess_group(v)).collect();
            next.push(format!(
                "check the patron-group names in {out_name} ({}) against your FOLIO tenant's groups",
                names.join(", ")
            ));
        }
    }
    next.push(format!(
        "try it offline: patron-etl check {file} --mapping {out_name}"
    ));
    Starter { text: out, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_from_the_issue() {
        for h in ["Surname", "Last Name", "Family name", "LAST_NAME"] {
            assert_eq!(concept_for(h), Some(Concept::LastName), "{h}");
        }
        for h in ["Student ID", "Emplid", "employee_id"] {
            assert_eq!(concept_for(h), Some(Concept::ExternalId), "{h}");
        }
        assert_eq!(concept_for("E-mail"), Some(Concept::Email));
        assert_eq!(concept_for("Favourite colour"), None);
    }

    #[test]
    fn date_format_is_inferred_from_values() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            infer_date_format(&v(&["05/31/2027", "12/15/2026", "13/01/2027"])),
            Some("%m/%d/%Y")
        );
        assert_eq!(
            infer_date_format(&v(&["31/05/2027", "15/12/2026"])),
            Some("%d/%m/%Y")
        );
        assert_eq!(infer_date_format(&v(&["2027-05-31"])), Some("%Y-%m-%d"));
        assert_eq!(infer_date_format(&v(&["soon"])), None);
    }
}
