//! FOLIO user custom fields: the tenant's definitions (read once per run from `GET
//! /custom-fields`), and turning a mapped `customFields` object — keyed by refId or display
//! name, select values as option labels, checkboxes as yes/no — into what mod-users stores
//! (refIds, option ids, booleans, text), before anything is written.
//!
//! Sources (folio-org/folio-custom-fields, release 3.0.0, commit f889348):
//! - `ramls/custom-fields.raml` lines 13 and 33-37: every module with custom fields serves the
//!   same `/custom-fields` (Okapi "multiple" interface), so the client must send
//!   `X-Okapi-Module-Id`; mod-users `descriptors/ModuleDescriptor-template.json` lines 190-192
//!   provides `custom-fields` with `interfaceType: multiple` (`GET /custom-fields` needs
//!   `user-settings.custom-fields.collection.get`, line 197). The module id (`mod-users-19.6.0`)
//!   is the tenant's enabled mod-users, from Okapi's `GET /_/proxy/tenants/{tenant}/modules`
//!   (module ids are `<name>-<semver>`, Okapi guide "Versioning and Dependencies"; the call
//!   needs `okapi.proxy.tenants.modules.list`: folio-org/okapi
//!   `okapi-core/src/main/java/org/folio/okapi/managers/InternalModule.java` lines 315-317, and
//!   `doc/guide.md` lines 2052-2062 "Multiple interfaces": the client picks the module with
//!   `X-Okapi-Module-Id`).
//! - `ramls/customField.json` (`name`, `refId`, `type`, `entityType`, `isRepeatable`,
//!   `selectField.options.values[] {id, value}`, `textField.fieldFormat`), `customFieldTypes.json`
//!   (the seven types).
//! - Values (`src/main/java/org/folio/validate/value/`): `SelectFieldValueValidator.java` lines
//!   22-53 (select and radio values are option *ids*; a multi-select or repeatable field takes a
//!   list), `CheckboxFieldValueValidator.java` line 19 (a boolean),
//!   `TextBoxFieldValueValidator.java` lines 65-76 (a string of at most 150 characters, 1500 for
//!   `TEXTBOX_LONG`: `custom-fields-application.properties`
//!   `custom.fields.value.textbox.{short,long}.length`; Java counts UTF-16 units),
//!   `DatePickerValueValidator.java` lines 17-21 with `format/DateFormatValidator.java`
//!   (`ISO_LOCAL_DATE`).
//!
//! Decisions: a key is a refId (exact), else a display name compared as [`fold`] does (case and
//! runs of white space ignored); an option is its id (`opt_1`, as exports and native backups
//! carry), else its label exactly, else its label as [`fold`] compares (one match only). A blank
//! text and a `NUMBER` text that is not one (`format/TextFormatValidator.java`,
//! `NumberFormatValidator.java`) are refused here; `EMAIL` and `URL` (commons-validator) are
//! left to FOLIO, which refuses a bad one with 422.

use super::client::{Extra, FolioClient, FolioError};
use crate::outcome::ReasonCode;
use crate::plan::Rejection;
use serde_json::{Map, Value};

/// The kind of value a custom field holds (`customFieldTypes.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CfKind {
    /// `SINGLE_SELECT_DROPDOWN`, `RADIO_BUTTON` (`multi` false) and `MULTI_SELECT_DROPDOWN`.
    Select {
        /// Takes a list of options.
        multi: bool,
    },
    /// `SINGLE_CHECKBOX`: a boolean.
    Checkbox,
    /// `TEXTBOX_SHORT` (150) and `TEXTBOX_LONG` (1500): text of at most `max` UTF-16 units.
    Text {
        /// Longest value.
        max: usize,
        /// `textField.fieldFormat` is `NUMBER` (checked here as FOLIO does; `EMAIL` and `URL`
        /// are left to FOLIO's commons-validator).
        number: bool,
    },
    /// `DATE_PICKER`: an ISO date.
    Date,
    /// A type this client does not know: values pass as they are.
    Other(String),
}

/// One custom-field definition.
#[derive(Debug, Clone)]
pub struct CustomFieldDef {
    /// The key of the value in a user's `customFields` (`classYear`).
    pub ref_id: String,
    /// The display name (`Class Year`).
    pub name: String,
    /// What it holds.
    pub kind: CfKind,
    /// `isRepeatable`: a list of values.
    pub repeatable: bool,
    /// Select options as (id, label), in the definition's order.
    pub options: Vec<(String, String)>,
}

/// The tenant's user custom fields.
#[derive(Debug, Clone, Default)]
pub struct CustomFields {
    defs: Vec<CustomFieldDef>,
}

/// A label or name as compared: white-space runs as one space, trimmed, case folded
/// (upper- then lower-case, so `ß`, `SS` and `ss` compare equal).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.to_uppercase().to_lowercase()
}

/// The value as JSON text for messages.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

impl CustomFieldDef {
    /// Reads one definition (`customField.json`); `None` without a refId.
    pub fn from_json(v: &Value) -> Option<CustomFieldDef> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let ref_id = text("refId").filter(|s| !s.is_empty())?;
        let name = text("name").unwrap_or_else(|| ref_id.clone());
        let ty = text("type").unwrap_or_default();
        let kind = match ty.as_str() {
            "SINGLE_SELECT_DROPDOWN" | "RADIO_BUTTON" => CfKind::Select { multi: false },
            "MULTI_SELECT_DROPDOWN" => CfKind::Select { multi: true },
            "SINGLE_CHECKBOX" => CfKind::Checkbox,
            "TEXTBOX_SHORT" | "TEXTBOX_LONG" => CfKind::Text {
                max: if ty == "TEXTBOX_LONG" { 1500 } else { 150 },
                number: v.pointer("/textField/fieldFormat").and_then(Value::as_str)
                    == Some("NUMBER"),
            },
            "DATE_PICKER" => CfKind::Date,
            _ => CfKind::Other(ty),
        };
        let options = v
            .pointer("/selectField/options/values")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|o| {
                        Some((
                            o.get("id")?.as_str()?.to_string(),
                            o.get("value")?.as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(CustomFieldDef {
            ref_id,
            name,
            kind,
            repeatable: v.get("isRepeatable").and_then(Value::as_bool) == Some(true),
            options,
        })
    }

    /// The option id for `given`: an id, else a label exactly, else the one label that
    /// [`fold`]s to the same text. `Err` lists the valid labels.
    pub fn option_id(&self, given: &str) -> Result<&str, String> {
        if let Some((id, _)) = self.options.iter().find(|(id, _)| id == given) {
            return Ok(id);
        }
        if let Some((id, _)) = self.options.iter().find(|(_, l)| l == given) {
            return Ok(id);
        }
        let want = fold(given);
        let hits: Vec<&(String, String)> = self
            .options
            .iter()
            .filter(|(_, l)| fold(l) == want)
            .collect();
        match hits.as_slice() {
            [(id, _)] => Ok(id),
            [] => Err(format!(
                "unknown option \"{given}\" of custom field \"{}\" (valid: {})",
                self.name,
                self.labels()
            )),
            _ => Err(format!(
                "option \"{given}\" of custom field \"{}\" matches {} options ignoring case and \
                 spaces; write it exactly as one of: {}",
                self.name,
                hits.len(),
                self.labels()
            )),
        }
    }

    /// The valid option labels, in order, for messages.
    fn labels(&self) -> String {
        if self.options.is_empty() {
            return "the field has no options".into();
        }
        self.options
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The label of option `id`.
    pub fn label(&self, id: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, l)| l.as_str())
    }

    /// A mapped value as mod-users stores it, or why it cannot be one.
    pub fn value(&self, v: &Value) -> Result<Value, Rejection> {
        self.value_noting(v, &mut Vec::new())
    }

    /// [`CustomFieldDef::value`], adding to `read_as` every option text that was neither an
    /// option id nor a label written exactly, as the `(text written, label)` it was read as —
    /// the value sent is not the text in the cell, so the preview must say so.
    pub fn value_noting(
        &self,
        v: &Value,
        read_as: &mut Vec<(String, String)>,
    ) -> Result<Value, Rejection> {
        use ReasonCode::{BadDate, InvalidRecord, TooLong, UnknownValue, WrongType};
        let err = Rejection::new;
        let many = self.repeatable || matches!(self.kind, CfKind::Select { multi: true });
        match &self.kind {
            CfKind::Select { .. } => {
                let items: Vec<String> = match v {
                    Value::Array(a) => a
                        .iter()
                        .map(|x| {
                            x.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| x.to_string())
                        })
                        .collect(),
                    Value::String(s) if many && self.option_id(s).is_err() => {
                        crate::text::split_list(s, ";")
                    }
                    Value::String(s) => vec![s.clone()],
                    other => vec![other.to_string()],
                };
                let mut ids = Vec::with_capacity(items.len());
                for item in &items {
                    let id = self.option_id(item).map_err(|why| err(UnknownValue, why))?;
                    if let Some(l) = self.label(id).filter(|l| *l != item && id != item) {
                        read_as.push((item.clone(), l.to_string()));
                    }
                    if !ids.iter().any(|x: &Value| x.as_str() == Some(id)) {
                        ids.push(Value::String(id.to_string()));
                    }
                }
                if many {
                    Ok(Value::Array(ids))
                } else {
                    match <[Value; 1]>::try_from(ids) {
                        Ok([one]) => Ok(one),
                        Err(ids) => Err(err(
                            WrongType,
                            format!(
                                "custom field \"{}\" takes one option, got {}",
                                self.name,
                                ids.len()
                            ),
                        )),
                    }
                }
            }
            CfKind::Checkbox => match v {
                Value::Bool(b) => Ok(Value::Bool(*b)),
                Value::String(s) => match fold(s).as_str() {
                    "true" | "yes" | "y" | "1" => Ok(Value::Bool(true)),
                    "false" | "no" | "n" | "0" => Ok(Value::Bool(false)),
                    _ => Err(err(
                        WrongType,
                        format!(
                            "custom field \"{}\" is a checkbox: write true/false or yes/no, got {}",
                            self.name,
                            shown(v)
                        ),
                    )),
                },
                other => Err(err(
                    WrongType,
                    format!(
                        "custom field \"{}\" is a checkbox: write true/false or yes/no, got {}",
                        self.name,
                        shown(other)
                    ),
                )),
            },
            CfKind::Text { max, number } => {
                let check = |x: &Value| -> Result<Value, Rejection> {
                    let s = match x {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        other => {
                            return Err(err(
                                WrongType,
                                format!("expected text, got {}", shown(other)),
                            ))
                        }
                    };
                    // Every format's validator refuses a blank text (TextFormatValidator:
                    // `StringUtils.isBlank`; the others match no blank either).
                    if s.chars().all(java_whitespace) {
                        return Err(err(
                            InvalidRecord,
                            format!(
                                "custom field \"{}\" cannot hold a blank text (FOLIO refuses \
                                 it); leave the cell empty instead",
                                self.name
                            ),
                        ));
                    }
                    if *number && !NUMBER.as_ref().is_some_and(|re| re.is_match(&s)) {
                        return Err(err(
                            WrongType,
                            format!(
                                "custom field \"{}\" holds a number (e.g. 1200, -3.5, 1,200.50 \
                                 or 1 200,5), got {}",
                                self.name,
                                shown(x)
                            ),
                        ));
                    }
                    let n = s.encode_utf16().count();
                    if n > *max {
                        return Err(err(
                            TooLong,
                            format!(
                                "custom field \"{}\" holds at most {max} characters; this value \
                                 has {n}",
                                self.name
                            ),
                        ));
                    }
                    Ok(Value::String(s))
                };
                match v {
                    Value::Array(a) if self.repeatable => a
                        .iter()
                        .map(check)
                        .collect::<Result<Vec<_>, _>>()
                        .map(Value::Array),
                    Value::Array(a) => Err(err(
                        WrongType,
                        format!(
                            "custom field \"{}\" takes one value, got {}",
                            self.name,
                            a.len()
                        ),
                    )),
                    one => check(one),
                }
            }
            CfKind::Date => {
                let s = v.as_str().unwrap_or_default();
                // ISO_LOCAL_DATE as FOLIO parses it: four-digit year, two-digit month and day
                // (chrono alone would also take a sign or a shorter year).
                let shape = s.len() == 10
                    && s.char_indices().all(|(i, c)| match i {
                        4 | 7 => c == '-',
                        _ => c.is_ascii_digit(),
                    });
                match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                    Ok(_) if shape => Ok(Value::String(s.to_string())),
                    _ => Err(err(
                        BadDate,
                        format!(
                            "custom field \"{}\" is a date: write it as YYYY-MM-DD, got {}",
                            self.name,
                            shown(v)
                        ),
                    )),
                }
            }
            CfKind::Other(_) => Ok(v.clone()),
        }
    }

    /// A stored value as export cells read it: option ids as labels, one item per option;
    /// anything else as [`crate::export::columns::texts`] writes it.
    pub fn readable_texts(&self, v: &Value) -> Option<Vec<String>> {
        if !matches!(self.kind, CfKind::Select { .. }) {
            return crate::export::columns::texts(v);
        }
        let one = |x: &Value| -> String {
            let id = x
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| x.to_string());
            self.label(&id).map(str::to_string).unwrap_or(id)
        };
        match v {
            Value::Null => None,
            Value::Array(a) => Some(a.iter().filter(|x| !x.is_null()).map(one).collect()),
            other => Some(vec![one(other)]),
        }
    }

    /// A stored value as people read it: option ids as labels (a list joined with `; `),
    /// anything else as it is.
    pub fn readable(&self, v: &Value) -> Value {
        if !matches!(self.kind, CfKind::Select { .. }) {
            return v.clone();
        }
        let one = |x: &Value| -> String {
            let id = x.as_str().unwrap_or_default();
            self.label(id).unwrap_or(id).to_string()
        };
        match v {
            Value::Array(a) => {
                let labels: Vec<String> = a.iter().map(one).collect();
                Value::String(crate::text::join_list(&labels, ';', "; "))
            }
            Value::String(_) => Value::String(one(v)),
            other => other.clone(),
        }
    }
}

impl CustomFields {
    /// The definitions of a `GET /custom-fields` answer (`customFieldCollection.json`) that
    /// apply to users (`entityType` `user`; the entity type is every module's own).
    pub fn from_collection(v: &Value) -> CustomFields {
        let defs = v
            .get("customFields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|d| {
                        d.get("entityType")
                            .and_then(Value::as_str)
                            .is_none_or(|t| t.eq_ignore_ascii_case("user"))
                    })
                    .filter_map(CustomFieldDef::from_json)
                    .collect()
            })
            .unwrap_or_default();
        CustomFields { defs }
    }

    /// Definitions as given.
    pub fn new(defs: Vec<CustomFieldDef>) -> CustomFields {
        CustomFields { defs }
    }

    /// Reads the tenant's user custom fields: the mod-users module id, then `/custom-fields`
    /// (two GETs). An `optional` read (export: the run goes on without names) leaves a 403 to
    /// the caller instead of stopping every later request.
    pub async fn fetch(client: &FolioClient, optional: bool) -> Result<CustomFields, FolioError> {
        let path = format!("/_/proxy/tenants/{}/modules", client.tenant());
        let plain = Extra {
            headers: &[],
            optional,
        };
        let what = format!(
            "GET {path} (the tenant's modules, read to find the mod-users module id that GET \
             /custom-fields needs)"
        );
        let modules = client.get_json_with(&path, &[], &plain, &what).await?;
        let module = users_module(&modules).ok_or_else(|| FolioError::NoModule {
            tenant: client.tenant().to_string(),
            message: format!(
                "{path} lists no mod-users module, so the users' custom fields cannot be read \
                 (their GET /custom-fields needs X-Okapi-Module-Id); enable mod-users for the \
                 tenant, or remove the customFields lines from the mapping"
            ),
        })?;
        // `GET /custom-fields` is pageable (custom-fields.raml lines 82-86; folio-org/raml
        // `traits/pageable.raml` line 23: `limit` defaults to 10): one page of 1000.
        let v = client
            .get_json_with(
                "/custom-fields",
                &[("limit", "1000")],
                &Extra {
                    headers: &[("X-Okapi-Module-Id", module.as_str())],
                    optional,
                },
                "custom fields",
            )
            .await?;
        Ok(CustomFields::from_collection(&v))
    }

    /// The definition a mapping's key names: its refId, else its display name (as [`fold`]
    /// compares).
    pub fn find(&self, key: &str) -> Option<&CustomFieldDef> {
        if let Some(d) = self.defs.iter().find(|d| d.ref_id == key) {
            return Some(d);
        }
        let mut exact = self.defs.iter().filter(|d| d.name == key);
        if let (Some(d), None) = (exact.next(), exact.next()) {
            return Some(d);
        }
        let want = fold(key);
        let mut hits = self.defs.iter().filter(|d| fold(&d.name) == want);
        match (hits.next(), hits.next()) {
            (Some(d), None) => Some(d),
            _ => None,
        }
    }

    /// Whether `def`'s display name names it alone (FOLIO lets two fields share a name, and a
    /// name may be another field's refId), so the name can stand for it in messages and columns.
    pub fn named_uniquely(&self, def: &CustomFieldDef) -> bool {
        self.find(&def.name).map(|d| d.ref_id.as_str()) == Some(def.ref_id.as_str())
    }

    /// The definition with refId `ref_id`.
    pub fn by_ref_id(&self, ref_id: &str) -> Option<&CustomFieldDef> {
        self.defs.iter().find(|d| d.ref_id == ref_id)
    }

    /// A mapping's field name with a custom field's display name replaced by its refId
    /// (`customFields.Class Year` → `customFields.classYear`); any other name as it is.
    pub fn ref_path(&self, field: &str) -> String {
        match field
            .strip_prefix("customFields.")
            .and_then(|k| self.find(k))
        {
            Some(d) => format!("customFields.{}", d.ref_id),
            None => field.to_string(),
        }
    }

    /// Every definition, in the tenant's order.
    pub fn defs(&self) -> &[CustomFieldDef] {
        &self.defs
    }

    /// Every field as `Name (refId)`, for messages.
    pub fn names(&self) -> String {
        if self.defs.is_empty() {
            return "this tenant defines no user custom fields".into();
        }
        self.defs
            .iter()
            .map(|d| format!("{} ({})", d.name, d.ref_id))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A change of a custom field as people read it: the field by its display name (by refId
    /// when the name is not its alone), option ids as labels (`customFields.Class Year: "Second
    /// year" → "Third year"`).
    pub fn readable_change(&self, c: &mut crate::plan::Change) {
        let Some(def) = c
            .field
            .strip_prefix("customFields.")
            .and_then(|r| self.by_ref_id(r))
        else {
            return;
        };
        if self.named_uniquely(def) {
            c.field = format!("customFields.{}", def.name);
        }
        c.old = c.old.as_ref().map(|v| def.readable(v));
        c.new = c.new.as_ref().map(|v| def.readable(v));
    }

    /// Rewrites a mapped record's `customFields` as mod-users stores them (keys → refIds, values
    /// → option ids, booleans, text); one reason per field that cannot be, naming the valid
    /// fields or options.
    pub fn resolve(&self, record: &mut Value) -> Vec<Rejection> {
        self.resolve_noting(record, &mut Vec::new())
    }

    /// [`CustomFields::resolve`], adding to `notes` one line per option label matched only
    /// ignoring case and spaces (`customFields.Class Year: "second  YEAR" read as option
    /// "Second year"`), for the row's changed fields: a value that changes is shown.
    pub fn resolve_noting(&self, record: &mut Value, notes: &mut Vec<String>) -> Vec<Rejection> {
        let mut problems = Vec::new();
        let Some(Value::Object(given)) = record.get_mut("customFields") else {
            return problems;
        };
        let mut out = Map::with_capacity(given.len());
        for (key, v) in std::mem::take(given) {
            let Some(def) = self.find(&key) else {
                let want = fold(&key);
                let shared: Vec<&str> = self
                    .defs
                    .iter()
                    .filter(|d| fold(&d.name) == want)
                    .map(|d| d.ref_id.as_str())
                    .collect();
                problems.push(Rejection::new(
                    ReasonCode::UnknownField,
                    if shared.len() > 1 {
                        // FOLIO lets fields share a name (the second gets refId `<name>_2`:
                        // CustomFieldsServiceImpl.java lines 268-270, 443-444).
                        format!(
                            "customFields.{key}: {} custom fields are named \"{key}\" in FOLIO; \
                         name the one meant by its refId ({})",
                            shared.len(),
                            shared.join(", ")
                        )
                    } else {
                        format!(
                            "customFields.{key}: no custom field \"{key}\" in FOLIO (valid: {})",
                            self.names()
                        )
                    },
                ));
                continue;
            };
            if out.contains_key(&def.ref_id) {
                problems.push(Rejection::new(
                    ReasonCode::InvalidRecord,
                    format!(
                        "customFields.{key}: custom field \"{}\" ({}) is mapped twice",
                        def.name, def.ref_id
                    ),
                ));
                continue;
            }
            let mut read_as = Vec::new();
            match def.value_noting(&v, &mut read_as) {
                Ok(stored) => {
                    out.insert(def.ref_id.clone(), stored);
                    notes.extend(read_as.into_iter().map(|(given, label)| {
                        format!(
                            "customFields.{}: \"{given}\" read as option \"{label}\"",
                            def.name
                        )
                    }));
                }
                Err(why) => problems.push(Rejection::new(
                    why.code,
                    format!("customFields.{key}: {}", why.reason),
                )),
            }
        }
        *given = out;
        problems
    }
}

/// A `NUMBER` text box's value, as folio-custom-fields' `NumberFormatValidator.java` lines 12-17
/// (commons-validator `RegexValidator`: one of four patterns matching the whole value; Java's
/// `\d` and `\s` are ASCII).
static NUMBER: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"^(?:-?[0-9]+|-?[0-9]*[,|.][0-9]+|-?[0-9]{1,3}([ \t\n\x0B\x0C\r][0-9]{3})+([,|.][0-9]+)?|-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?)$",
    )
    .ok()
});

/// Java's `Character.isWhitespace`, which `StringUtils.isBlank` uses: the space, line and
/// paragraph separators except the no-break ones (U+00A0, U+2007, U+202F), and the ASCII
/// controls U+0009-U+000D and U+001C-U+001F.
fn java_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{D}'
            | '\u{1C}'..='\u{1F}'
            | ' '
            | '\u{1680}'
            | '\u{2000}'..='\u{2006}'
            | '\u{2008}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{205F}'
            | '\u{3000}'
    )
}

/// The tenant's mod-users module id among Okapi's `[{"id": "mod-users-19.6.0"}, …]` (module ids
/// are `<name>-<semver>`: `mod-users-bl-…` is another module).
fn users_module(modules: &Value) -> Option<String> {
    let list = modules
        .as_array()
        .or_else(|| modules.get("modules").and_then(Value::as_array))?;
    list.iter()
        .filter_map(|m| m.get("id").and_then(Value::as_str))
        .find(|id| {
            id.strip_prefix("mod-users-")
                .and_then(|rest| rest.chars().next())
                .is_some_and(|c| c.is_ascii_digit())
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn class_year(labels: &[String]) -> CustomFieldDef {
        CustomFieldDef {
            ref_id: "classYear".into(),
            name: "Class Year".into(),
            kind: CfKind::Select { multi: false },
            repeatable: false,
            options: labels
                .iter()
                .enumerate()
                .map(|(i, l)| (format!("opt_{i}"), l.clone()))
                .collect(),
        }
    }

    fn tenant() -> CustomFields {
        CustomFields::from_collection(&json!({"customFields": [
            {"refId": "classYear", "name": "Class Year", "type": "SINGLE_SELECT_DROPDOWN",
             "entityType": "user", "selectField": {"multiSelect": false, "options": {"values": [
                {"id": "opt_0", "value": "First year"}, {"id": "opt_1", "value": "Second year"}]}}},
            {"refId": "isStudent", "name": "Is student", "type": "SINGLE_CHECKBOX",
             "entityType": "user"},
            {"refId": "campusBox", "name": "Campus box", "type": "TEXTBOX_SHORT",
             "entityType": "user", "textField": {"fieldFormat": "TEXT"}},
            {"refId": "diet", "name": "Diet", "type": "MULTI_SELECT_DROPDOWN",
             "entityType": "user", "selectField": {"multiSelect": true, "options": {"values": [
                {"id": "opt_0", "value": "eggs"}, {"id": "opt_1", "value": "pizza"}]}}},
            {"refId": "pkg", "name": "Package field", "type": "TEXTBOX_SHORT",
             "entityType": "package"}
        ]}))
    }

    #[test]
    fn names_and_labels_become_ref_ids_and_option_ids() {
        let mut r = json!({"customFields": {"class  YEAR": "second year", "isStudent": "Yes",
            "Campus box": "B-12", "diet": "pizza; eggs"}});
        let mut notes = Vec::new();
        assert!(
            tenant().resolve_noting(&mut r, &mut notes).is_empty(),
            "{r}"
        );
        assert_eq!(
            r["customFields"],
            json!({"classYear": "opt_1", "isStudent": true, "campusBox": "B-12",
                "diet": ["opt_1", "opt_0"]})
        );
        // The label matched only ignoring case and spaces is shown as read; the exact ones
        // ("pizza", "eggs") are not.
        assert_eq!(
            notes,
            ["customFields.Class Year: \"second year\" read as option \"Second year\""]
        );
        // An option id passes as it is (exports carry ids).
        let mut r = json!({"customFields": {"classYear": "opt_0"}});
        let mut notes = Vec::new();
        assert!(tenant().resolve_noting(&mut r, &mut notes).is_empty());
        assert_eq!(r["customFields"]["classYear"], "opt_0");
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn unknown_fields_options_and_values_list_what_is_valid() {
        let mut r = json!({"customFields": {"Class Year": "Fifth year", "Locker": "x",
            "isStudent": "maybe", "campusBox": "x".repeat(151), "Package field": "p"}});
        let p = tenant().resolve(&mut r);
        assert_eq!(p.len(), 5, "{p:?}");
        // Each with the code of its kind, not one code for every planner refusal.
        let codes: Vec<&str> = p.iter().map(|r| r.code.name()).collect();
        assert_eq!(
            codes,
            [
                "unknown_value",
                "unknown_field",
                "wrong_type",
                "too_long",
                "unknown_field"
            ]
        );
        let p: Vec<String> = p.into_iter().map(|r| r.reason).collect();
        assert!(
            p[0].contains("unknown option \"Fifth year\"")
                && p[0].contains("valid: First year, Second year"),
            "{}",
            p[0]
        );
        assert!(
            p[1].contains("no custom field \"Locker\"")
                && p[1].contains("Class Year (classYear)")
                && !p[1].contains("pkg"),
            "{}",
            p[1]
        );
        assert!(p[2].contains("checkbox"), "{}", p[2]);
        assert!(p[3].contains("at most 150 characters"), "{}", p[3]);
        // Another module's field is not a user's.
        assert!(
            p[4].contains("no custom field \"Package field\""),
            "{}",
            p[4]
        );
    }

    #[test]
    fn a_display_name_two_fields_share_asks_for_the_ref_id() {
        let two = CustomFields::from_collection(&json!({"customFields": [
            {"refId": "classYear", "name": "Class Year", "type": "TEXTBOX_SHORT"},
            {"refId": "classYear_2", "name": "Class Year", "type": "TEXTBOX_SHORT"}]}));
        let mut r = json!({"customFields": {"Class Year": "x"}});
        let p = two.resolve(&mut r);
        assert_eq!(
            p.iter().map(|r| r.reason.as_str()).collect::<Vec<_>>(),
            [
                "customFields.Class Year: 2 custom fields are named \"Class Year\" in FOLIO; name \
              the one meant by its refId (classYear, classYear_2)"
            ]
        );
        // By refId each is found.
        let mut r = json!({"customFields": {"classYear_2": "x"}});
        assert!(two.resolve(&mut r).is_empty());
        assert_eq!(r["customFields"], json!({"classYear_2": "x"}));
        // The preview names a change by refId, so the two cannot be mistaken for each other.
        let mut c = crate::plan::Change {
            field: "customFields.classYear_2".into(),
            old: Some(json!("a")),
            new: Some(json!("b")),
        };
        two.readable_change(&mut c);
        assert_eq!(c.field, "customFields.classYear_2");
    }

    #[test]
    fn a_text_box_refuses_a_blank_text_and_a_number_box_a_non_number() {
        let t = CustomFields::from_collection(&json!({"customFields": [
            {"refId": "box", "name": "Box", "type": "TEXTBOX_SHORT",
             "textField": {"fieldFormat": "TEXT"}},
            {"refId": "credits", "name": "Credits", "type": "TEXTBOX_LONG",
             "textField": {"fieldFormat": "NUMBER"}}]}));
        let box_ = t.by_ref_id("box").expect("box");
        for blank in [" ", "\t\u{2003}", "\u{3000}"] {
            let e = box_.value(&json!(blank)).expect_err("blank");
            assert!(e.reason.contains("cannot hold a blank text"), "{e}");
            assert_eq!(e.code, ReasonCode::InvalidRecord);
        }
        // A no-break space is not blank to Java.
        assert_eq!(box_.value(&json!("\u{a0}")), Ok(json!("\u{a0}")));
        let n = t.by_ref_id("credits").expect("credits");
        for ok in [
            "1200", "-3", "3.5", ",5", "-0,25", "1 200,50", "1,200.50", "12|5",
        ] {
            assert_eq!(n.value(&json!(ok)), Ok(json!(ok)), "{ok}");
        }
        for bad in ["12a", "1.2.3", "+5", "١٢", "1\u{a0}200"] {
            let e = n.value(&json!(bad)).expect_err(bad);
            assert!(
                e.reason.contains("holds a number") && e.reason.contains(bad),
                "{e}"
            );
            assert_eq!(e.code, ReasonCode::WrongType);
        }
        // A text box of another format takes any text.
        assert_eq!(box_.value(&json!("12a")), Ok(json!("12a")));
    }

    #[test]
    fn a_date_picker_takes_iso_local_dates_only() {
        let d = CustomFieldDef {
            ref_id: "started".into(),
            name: "Started".into(),
            kind: CfKind::Date,
            repeatable: false,
            options: vec![],
        };
        assert_eq!(d.value(&json!("2027-05-31")), Ok(json!("2027-05-31")));
        for bad in [
            "2027-5-31",
            "+027-05-31",
            "2027-02-30",
            "05/31/2027",
            "2027-05-31T00:00",
        ] {
            let e = d.value(&json!(bad)).expect_err(bad);
            assert!(
                e.reason.contains("write it as YYYY-MM-DD") && e.reason.contains(bad),
                "{e}"
            );
            assert_eq!(e.code, ReasonCode::BadDate);
        }
        assert!(d.value(&json!(20270531)).is_err());
    }

    #[test]
    fn readable_values_name_the_options() {
        let t = tenant();
        let d = t.by_ref_id("diet").expect("diet");
        assert_eq!(d.readable(&json!(["opt_1", "opt_0"])), json!("pizza; eggs"));
        let c = t.by_ref_id("classYear").expect("classYear");
        assert_eq!(c.readable(&json!("opt_1")), json!("Second year"));
        // And back: the readable text resolves to the same ids.
        assert_eq!(
            d.value(&json!("pizza; eggs")),
            Ok(json!(["opt_1", "opt_0"]))
        );
    }

    #[test]
    fn the_users_module_is_found_among_the_tenants_modules() {
        let m = json!([{"id": "mod-users-bl-7.0.0"}, {"id": "mod-users-19.6.0"}]);
        assert_eq!(users_module(&m).as_deref(), Some("mod-users-19.6.0"));
        assert_eq!(users_module(&json!([{"id": "mod-login-7.1.0"}])), None);
    }

    fn label() -> impl Strategy<Value = String> {
        // Arbitrary Unicode, with some white space inside.
        "[^\\p{Cc}]{1,12}( {1,3}[^\\p{Cc}]{1,6})?"
    }

    proptest! {
        /// Every label, however its case and spacing are written, finds its own option
        /// when no other label folds to the same text; the text never panics the matcher.
        #[test]
        fn a_label_in_any_case_and_spacing_finds_its_option(
            labels in proptest::collection::vec(label(), 1..6),
            pick in 0usize..6,
            upper in any::<bool>(),
        ) {
            let def = class_year(&labels);
            let i = pick % labels.len();
            let given = labels[i].clone();
            let unique = labels.iter().filter(|l| fold(l) == fold(&given)).count() == 1;
            let written = if upper { given.to_uppercase() } else { given.to_lowercase() };
            let written = format!("  {}  ", written.split_whitespace().collect::<Vec<_>>().join("   "));
            let got = def.option_id(&written);
            if unique && fold(&written) == fold(&given) {
                let want = format!("opt_{i}");
                prop_assert_eq!(got, Ok(want.as_str()));
            } else if let Ok(id) = got {
                // Whatever it found is an option whose label folds like the text written.
                let found = def.options.iter().find(|(o, _)| o == id).map(|(_, l)| fold(l));
                prop_assert_eq!(found, Some(fold(&written)));
            }
        }

        /// A text that folds like no label is refused, and the refusal lists every label.
        #[test]
        fn an_unknown_label_is_refused_listing_every_label(
            labels in proptest::collection::vec(label(), 1..6),
            given in label(),
        ) {
            let def = class_year(&labels);
            prop_assume!(labels.iter().all(|l| fold(l) != fold(&given)));
            prop_assume!(!given.starts_with("opt_"));
            let err = def.option_id(&given).expect_err("unknown label");
            for l in &labels {
                prop_assert!(err.contains(l.as_str()), "{} lacks {}", err, l);
            }
        }

        /// A select text is noted exactly when the option it finds has another label: the
        /// label written exactly is silent, any other spelling says which label it became.
        #[test]
        fn a_label_not_written_exactly_is_noted_with_the_label_sent(
            labels in proptest::collection::vec(label(), 1..6),
            pick in 0usize..6,
            upper in any::<bool>(),
        ) {
            let def = class_year(&labels);
            let given = labels[pick % labels.len()].clone();
            let written = if upper { given.to_uppercase() } else { given.to_lowercase() };
            let mut read_as = Vec::new();
            if let Ok(Value::String(id)) = def.value_noting(&Value::String(written.clone()), &mut read_as) {
                let sent = def.label(&id).map(str::to_string);
                if sent.as_deref() == Some(written.as_str()) || id == written {
                    prop_assert!(read_as.is_empty(), "{:?}", read_as);
                } else {
                    prop_assert_eq!(read_as, vec![(written.clone(), sent.unwrap_or_default())]);
                }
            } else {
                prop_assert!(read_as.is_empty(), "{:?}", read_as);
            }
        }

        /// A multi-select's stored option ids, written as people read them (labels joined with
        /// `; `, as the preview and export cells do), resolve back to the same ids — whatever
        /// the labels hold (`;`, `\\`, any script) — so an export re-imports unchanged.
        #[test]
        fn readable_multi_select_values_resolve_back_to_the_same_ids(
            labels in proptest::collection::vec(label(), 1..6),
            picks in proptest::collection::vec(0usize..6, 0..6),
        ) {
            let mut def = class_year(&labels);
            def.kind = CfKind::Select { multi: true };
            // Labels FOLIO would accept: unique ("Option values should be unique") and, as
            // cells are trimmed, without outer spaces.
            prop_assume!(labels.iter().all(|l| l.trim() == l));
            let folded: std::collections::HashSet<String> = labels.iter().map(|l| fold(l)).collect();
            prop_assume!(folded.len() == labels.len());
            let mut ids: Vec<Value> = Vec::new();
            for p in picks {
                let id = Value::String(format!("opt_{}", p % labels.len()));
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            let shown = def.readable(&Value::Array(ids.clone()));
            // A joined text that is itself some label reads as that label (by design).
            prop_assume!(shown.as_str().is_some_and(|t| def.option_id(t).is_err() || ids.len() == 1));
            prop_assert_eq!(def.value(&shown), Ok(Value::Array(ids)));
        }

        /// Folding is stable: folding a folded text changes nothing.
        #[test]
        fn fold_is_idempotent(s in "\\PC{0,24}") {
            prop_assert_eq!(fold(&fold(&s)), fold(&s));
        }
    }
}
