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
use crate::systems::{registry, System};
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

/// A column of the roster with what was learnt about it (what a system's starter data reads).
#[derive(Debug, Clone)]
pub struct StarterColumn {
    name: String,
    concept: Option<Concept>,
    samples: Vec<String>,
    values: Vec<String>,
}

impl StarterColumn {
    /// The column's header.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The concept the column was matched to (the first column claiming a concept gets it).
    pub fn concept(&self) -> Option<Concept> {
        self.concept
    }

    /// The header, TOML-quoted.
    pub fn quoted_name(&self) -> String {
        q(&self.name)
    }

    /// `"field" = { column = "…"<rest> }`: a field line reading this column.
    pub fn line(&self, field: &str, rest: &str) -> String {
        format!("{} = {{ column = {}{rest} }}", q(field), q(&self.name))
    }

    /// A date field line reading this column, with the date format inferred from its values
    /// (`%m/%d/%Y` when nothing fits).
    pub fn date_line(&self, field: &str) -> String {
        let f = infer_date_format(&self.values).unwrap_or("%m/%d/%Y");
        self.line(field, &format!(", date = {}", q(f)))
    }

    /// The distinct non-blank values of the column (at most 12), in first-seen order.
    pub fn distinct_values(&self) -> Vec<&String> {
        let mut codes: Vec<&String> = Vec::new();
        for v in &self.values {
            if !codes.contains(&v) && codes.len() < 12 {
                codes.push(v);
            }
        }
        codes
    }

    /// A comment-safe rendering of the column's sample values (`  # e.g. "a", "b"`).
    pub fn samples_comment(&self) -> String {
        samples_comment(self)
    }
}

/// What a system adds to its starter mapping besides the column lines
/// ([`crate::systems::connector::SchemaSide::starter_extras`]).
#[derive(Debug, Clone, Default)]
pub struct StarterExtras {
    /// A block written before `[fields]` (e.g. `[defaults]`), without the blank line before it.
    pub defaults: Option<String>,
    /// Lines written first under `[fields]`.
    pub lead: Vec<String>,
    /// Fixed-value field lines written after the column lines.
    pub constants: Vec<String>,
    /// Next steps for the user (before "try it offline").
    pub next: Vec<String>,
}

/// Reads the header and the first rows, and writes the starter mapping.
pub fn run(opts: &InitOptions) -> Result<Starter, read::ReadError> {
    let mut reader = read::open(&opts.file, &opts.read)?;
    let headers = reader.headers().to_vec();
    let mut taken = HashSet::new();
    let mut columns: Vec<StarterColumn> = headers
        .iter()
        .map(|h| {
            // The first column claiming a concept gets it; a second "Email" stays unmatched.
            let concept = concept_for(h).filter(|c| taken.insert(*c));
            StarterColumn {
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

/// TOML-quoted text (for a system's starter lines).
pub fn toml_quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// TOML-quoted text.
fn q(s: &str) -> String {
    toml_quote(s)
}

/// A comment-safe rendering of sample values.
fn samples_comment(col: &StarterColumn) -> String {
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

/// The match field: the first of the system's preferences (`(concept, field)`, most stable
/// identifier first) whose concept the roster has.
fn match_field(prefs: &[(Concept, &'static str)], have: &HashSet<Concept>) -> Option<&'static str> {
    prefs
        .iter()
        .find(|(c, _)| have.contains(c))
        .map(|(_, f)| *f)
}

fn render(opts: &InitOptions, columns: &[StarterColumn]) -> Starter {
    let system = opts.system;
    let schema = registry::schema(system);
    let have: HashSet<Concept> = columns.iter().filter_map(|c| c.concept).collect();
    let mut out = String::new();
    let mut next: Vec<String> = Vec::new();
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
    let extras = schema.starter_extras(columns, &out_name);
    let match_field = match_field(schema.starter_match(), &have);
    match match_field {
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
    if let Some(block) = &extras.defaults {
        let _ = writeln!(out, "\n{block}");
    }
    let _ = writeln!(out, "\n[fields]");
    for l in &extras.lead {
        let _ = writeln!(out, "{l}");
    }
    let mut unmatched = Vec::new();
    let match_prefix = match_field.map(|f| format!("{} = {{", q(f)));
    for col in columns {
        let lines = col
            .concept
            .and_then(|k| schema.starter_lines(k, col))
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
    for l in &extras.constants {
        let _ = writeln!(out, "{l}");
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
    next.extend(extras.next);
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
