//! FOLIO's read side of an export: the keyset pager, the CQL a filter becomes, and how a user
//! record reads as columns (ids of patron groups, departments and address types as names).
//!
//! - Pages by id (`cql.allRecords=1 sortBy id`, then `id>"<last>" … sortBy id`), stops on a short
//!   page; the first page's `totalRecords` is the announced count.
//! - Invariant: memory is one page; every request goes through the target's governed client.

use super::client::FolioClient;
use super::cql;
use super::custom::CustomFields;
use super::refdata::{Names, RefData};
use crate::exit::{TargetError, UsageError};
use crate::export::columns::{is_empty, texts};
use crate::export::filter::Filter;
use crate::export::source::SourceStats;
use crate::http::Governed;
use crate::systems::connector::{Batch, Pager, RecordFields};
use crate::systems::folio::schema::{folio_address_field, ADDRESS_ORDER, FOLIO_ADDRESS_PARTS};
use crate::systems::schema;
use crate::systems::System;
use serde_json::Value;

/// Users per FOLIO page.
pub const FOLIO_PAGE: usize = 500;

/// Server-managed or deprecated FOLIO properties that an export leaves out on purpose.
const FOLIO_SERVER_MANAGED: &[&str] =
    &["metadata", "createdDate", "updatedDate", "meta", "proxyFor"];

/// The FOLIO CQL selecting the filtered users.
///
/// Fields: `active`, `patronGroup` (a group's id) and `tags.tagList` (mod-users
/// `userdata.json`, /work/shared/reference/folio-api.md §users fields); CQL `==` and `and`
/// (RMB README "CQL: Relations", folio-api.md §1.5).
pub fn folio_query(filter: &Filter, names: &RefData) -> Result<String, UsageError> {
    let mut parts = Vec::new();
    if let Some(q) = &filter.query {
        parts.push(format!("({q})"));
    }
    if filter.active_only {
        parts.push("active==true".into());
    }
    if let Some(g) = &filter.group {
        let id = names.groups.id(g).ok_or_else(|| {
            UsageError(format!(
                "--group \"{g}\" is not a patron group in FOLIO (known: {})",
                names.groups.names().join(", ")
            ))
        })?;
        parts.push(cql::any_of("patronGroup", &[id]));
    }
    if let Some(t) = &filter.tag {
        // `==` on an array compares its JSON text in real FOLIO and finds no one
        // (raml-module-builder CQL2PgJSON, as for roster sync's scope); `=` finds the tag
        // among the list's words, and [`keeps`] keeps exactly that tag.
        parts.push(format!("tags.tagList={}", cql::quote(t)));
    }
    Ok(if parts.is_empty() {
        "cql.allRecords=1".into()
    } else {
        parts.join(" and ")
    })
}

/// Whether a FOLIO user passes what the query cannot say exactly: with `--tag`, the user
/// holds that tag itself (the query's `=` also finds longer tags holding its words).
pub fn keeps(filter: &Filter, u: &Value) -> bool {
    filter
        .tag
        .as_ref()
        .is_none_or(|t| super::sync::has_tag(u, t))
}

/// FOLIO users a page at a time, in id order.
pub struct FolioPager {
    client: Box<FolioClient>,
    last_id: Option<String>,
    /// The CQL the export pages through (`cql.allRecords=1`, or the filter's).
    query: String,
    filter: Filter,
    /// The linked records attached to each page (the kinds the tenant holds any of).
    linked: Vec<super::linked::Kind>,
}

impl FolioPager {
    /// A pager over the users `query` selects, kept by `filter` ([`keeps`]).
    pub fn new(client: FolioClient, query: String, filter: Filter) -> FolioPager {
        FolioPager {
            client: Box::new(client),
            last_id: None,
            query,
            filter,
            linked: super::linked::KINDS.to_vec(),
        }
    }

    /// Attaches only these kinds of linked records.
    pub fn with_linked(mut self, kinds: Vec<super::linked::Kind>) -> FolioPager {
        self.linked = kinds;
        self
    }
}

#[async_trait::async_trait]
impl Pager for FolioPager {
    async fn next(&mut self, stats: &mut SourceStats) -> anyhow::Result<Batch> {
        let mut last = false;
        let page = self
            .client
            .users_after(
                &self.query,
                self.last_id.as_deref(),
                FOLIO_PAGE,
                "user export",
            )
            .await
            .map_err(TargetError::into_run_error)?;
        if self.last_id.is_none() {
            stats.expected = page.total;
        }
        let mut users = page.users;
        if users.len() < FOLIO_PAGE {
            last = true;
        }
        match users
            .last()
            .and_then(|u| u.get("id"))
            .and_then(Value::as_str)
        {
            Some(id) => self.last_id = Some(id.to_string()),
            None => last = true,
        }
        users.retain(|u| keeps(&self.filter, u));
        // Each user with its linked records (`linked/`): batched `userId==(…)` lookups.
        super::linked::attach(&self.client, &mut users, &self.linked, false)
            .await
            .map_err(TargetError::into_run_error)?;
        Ok(Batch {
            records: users,
            last,
        })
    }

    fn http(&self) -> &Governed {
        self.client.http()
    }
}

/// FOLIO user records as columns, with the server's names for ids.
#[derive(Debug, Clone, Default)]
pub struct FolioFields {
    names: RefData,
    /// Service points (linked records read their ids as codes).
    service_points: Names,
    /// The tenant's user custom fields: columns named `customFields.<display name>`, select
    /// values as option labels (`custom.rs`), so a person reads them and a re-import
    /// (`mappings/folio-reimport.toml`) resolves them back.
    custom: CustomFields,
}

impl FolioFields {
    /// Reads records with `names` (loaded from the server when connecting).
    pub fn new(names: RefData) -> FolioFields {
        FolioFields {
            names,
            service_points: Names::default(),
            custom: CustomFields::default(),
        }
    }

    /// Reads service-point ids as their codes.
    pub fn with_service_points(mut self, service_points: Names) -> FolioFields {
        self.service_points = service_points;
        self
    }

    /// With the tenant's custom-field definitions.
    pub fn with_custom(mut self, custom: CustomFields) -> FolioFields {
        self.custom = custom;
        self
    }

    /// The column of a stored custom field: by display name when the tenant defines it, the
    /// name can be a column (no dots, no outer spaces) and names only this field (FOLIO lets
    /// two fields share a name, giving the second refId `<name>_2`: folio-org/folio-custom-fields
    /// `CustomFieldsServiceImpl.java` lines 268-270 and 443-444), else by refId — so no two
    /// columns share a header and every cell reads back to its own field.
    fn custom_column(&self, ref_id: &str) -> String {
        match self.custom.by_ref_id(ref_id) {
            Some(d) if custom_name_usable(&d.name) && self.custom.named_uniquely(d) => {
                format!("customFields.{}", d.name)
            }
            _ => format!("customFields.{ref_id}"),
        }
    }
}

/// Whether a custom field's display name can name its column (a mapping reads it back):
/// non-empty, no dots, no outer white space, and not `*` (`customFields.*` is the reimport
/// mapping's wildcard, `mapping/row.rs`).
fn custom_name_usable(name: &str) -> bool {
    !name.is_empty() && !name.contains('.') && name.trim() == name && name != "*"
}

impl RecordFields for FolioFields {
    /// `id` first, then the catalogue, then one group of address columns per address type known
    /// to the server, then the addresses' order (type names, so a restore keeps it).
    fn default_fields(&self) -> Vec<String> {
        let mut fields = vec!["id".to_string()];
        fields.extend(
            schema::field_names(System::Folio)
                .into_iter()
                .filter(|f| f != "id"),
        );
        for d in self.custom.defs() {
            fields.push(self.custom_column(&d.ref_id));
        }
        for ty in self.names.address_types.names() {
            for part in FOLIO_ADDRESS_PARTS {
                fields.push(format!("personal.addresses.{ty}.{part}"));
            }
        }
        fields.push(ADDRESS_ORDER.to_string());
        fields
    }

    fn extract(&self, field: &str, record: &Value) -> Option<Vec<String>> {
        let names = &self.names;
        if let Some((ty, part)) = folio_address_field(field) {
            let type_id = names.address_types.id(ty)?;
            let addr = record
                .pointer("/personal/addresses")?
                .as_array()?
                .iter()
                .find(|a| a.get("addressTypeId").and_then(Value::as_str) == Some(type_id))?;
            return texts(addr.get(part)?);
        }
        if super::linked::is_linked(field) {
            let mut v = record;
            for part in field.split('.') {
                v = v.get(part)?;
            }
            let names = super::linked::LinkNames {
                service_points: &self.service_points,
                address_types: &names.address_types,
            };
            return texts(&names.readable(field, v));
        }
        if let Some(key) = field.strip_prefix("customFields.") {
            let stored = record.get("customFields")?;
            return match self.custom.find(key) {
                Some(d) => d.readable_texts(stored.get(&d.ref_id)?),
                None => texts(stored.get(key)?),
            };
        }
        match field {
            ADDRESS_ORDER => Some(
                record
                    .pointer("/personal/addresses")?
                    .as_array()?
                    .iter()
                    .filter_map(|a| a.get("addressTypeId").and_then(Value::as_str))
                    .map(|id| names.address_types.name(id).unwrap_or(id).to_string())
                    .collect(),
            ),
            "patronGroup" => {
                let id = record.get("patronGroup")?.as_str()?;
                Some(vec![names.groups.name(id).unwrap_or(id).to_string()])
            }
            "departments" => Some(
                record
                    .get("departments")?
                    .as_array()?
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|id| names.departments.name(id).unwrap_or(id).to_string())
                    .collect(),
            ),
            "tags" => texts(record.pointer("/tags/tagList")?),
            _ => {
                let mut v = record;
                for part in field.split('.') {
                    v = v.get(part)?;
                }
                texts(v)
            }
        }
    }

    /// Dotted paths, address fields by type name; server-managed properties are not counted.
    fn leaves(&self, record: &Value) -> Vec<String> {
        let mut out = Vec::new();
        let Some(o) = record.as_object() else {
            return out;
        };
        for (k, v) in o {
            if FOLIO_SERVER_MANAGED.contains(&k.as_str()) || is_empty(v) {
                continue;
            }
            match (k.as_str(), v) {
                ("personal", Value::Object(p)) => {
                    for (pk, pv) in p {
                        if is_empty(pv) {
                            continue;
                        }
                        if pk == "addresses" {
                            for a in pv.as_array().into_iter().flatten() {
                                let ty =
                                    a.get("addressTypeId").and_then(Value::as_str).unwrap_or("");
                                let ty = self.names.address_types.name(ty).unwrap_or(ty);
                                for (ak, av) in a.as_object().into_iter().flatten() {
                                    if ak != "addressTypeId" && !is_empty(av) {
                                        out.push(format!("personal.addresses.{ty}.{ak}"));
                                    }
                                }
                            }
                        } else {
                            out.push(format!("personal.{pk}"));
                        }
                    }
                }
                ("customFields", Value::Object(cf)) => {
                    for (ck, cv) in cf {
                        if !is_empty(cv) {
                            out.push(self.custom_column(ck));
                        }
                    }
                }
                (key, Value::Object(linked)) if super::linked::is_linked(key) => {
                    for (lk, lv) in linked {
                        if !super::linked::SERVER_FIELDS.contains(&lk.as_str()) && !is_empty(lv) {
                            out.push(format!("{key}.{lk}"));
                        }
                    }
                }
                _ => out.push(k.clone()),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::columns::{ColumnKind, Layout};
    use crate::mapping::Mapping;
    use crate::systems::folio::refdata::Names;
    use serde_json::json;
    use std::sync::Arc;

    fn names() -> RefData {
        RefData {
            groups: Names::new([("staff".to_string(), "g1".to_string())]),
            address_types: Names::new([
                ("Home".to_string(), "a1".to_string()),
                ("Work".to_string(), "a2".to_string()),
            ]),
            departments: Names::new([
                ("ACC".to_string(), "d1".to_string()),
                ("Accounting".to_string(), "d1".to_string()),
            ]),
            ..RefData::default()
        }
    }

    fn fields() -> Arc<dyn RecordFields> {
        Arc::new(FolioFields::new(names()))
    }

    #[test]
    fn folio_default_row_uses_names_and_types() {
        let l = Layout::default_for(System::Folio, fields());
        let h = l.header();
        assert_eq!(h[0], "id");
        assert!(h.contains(&"personal.addresses.Work.city".to_string()));
        let rec = json!({"id": "u1", "barcode": "000123", "patronGroup": "g1",
            "departments": ["d1"], "active": true, "tags": {"tagList": ["a", "b"]},
            "expirationDate": "2027-06-30T00:00:00.000+00:00",
            "enrollmentDate": "2020-10-07T04:00:00.000+00:00",
            "personal": {"lastName": "Doe", "addresses": [{"addressTypeId": "a2", "city": "X", "primaryAddress": true}]},
            "metadata": {"createdDate": "x"}, "customFields": {"level": "opt_1"}});
        let row = l.row(&rec);
        let cell = |name: &str| row[h.iter().position(|x| x == name).unwrap()].clone();
        assert_eq!(cell("barcode"), "000123");
        assert_eq!(cell("patronGroup"), "staff");
        assert_eq!(cell("departments"), "Accounting");
        assert_eq!(cell("active"), "true");
        assert_eq!(cell("tags"), "a; b");
        assert_eq!(cell("expirationDate"), "2027-06-30");
        assert_eq!(cell("enrollmentDate"), "2020-10-07T04:00:00.000+00:00");
        assert_eq!(cell("personal.addresses.Work.city"), "X");
        assert_eq!(cell("personal.addresses.Work.primaryAddress"), "true");
        assert_eq!(cell("personal.addresses.Home.city"), "");
        assert_eq!(
            l.kinds()[h.iter().position(|x| x == "barcode").unwrap()],
            ColumnKind::Id
        );
        assert_eq!(l.uncovered(&rec), vec!["customFields.level".to_string()]);
    }

    #[test]
    fn custom_fields_sharing_a_display_name_get_their_refid_columns() {
        // FOLIO gives the second "Class Year" the refId classYear_2; a third is named by a
        // label that is another field's refId.
        let custom = crate::systems::folio::custom::CustomFields::from_collection(&json!({
        "customFields": [
            {"refId": "classYear", "name": "Class Year", "type": "SINGLE_SELECT_DROPDOWN",
             "selectField": {"options": {"values": [{"id": "opt_0", "value": "First"}]}}},
            {"refId": "classYear_2", "name": "Class Year", "type": "SINGLE_SELECT_DROPDOWN",
             "selectField": {"options": {"values": [{"id": "opt_0", "value": "Alpha"}]}}},
            {"refId": "box", "name": "Campus box", "type": "TEXTBOX_SHORT"},
            {"refId": "Kg", "name": "*", "type": "TEXTBOX_SHORT"}
        ]}));
        let f: Arc<dyn RecordFields> = Arc::new(FolioFields::new(names()).with_custom(custom));
        let l = Layout::default_for(System::Folio, f);
        let h = l.header();
        let cf: Vec<&String> = h
            .iter()
            .filter(|c| c.starts_with("customFields."))
            .collect();
        assert_eq!(
            cf,
            [
                "customFields.classYear",
                "customFields.classYear_2",
                "customFields.Campus box",
                // A field named "*" (refId as FOLIO derives it: the Base64 of a name without
                // letters) is not taken for the reimport mapping's wildcard.
                "customFields.Kg"
            ]
        );
        let rec = json!({"id": "u1", "customFields": {"classYear": "opt_0",
            "classYear_2": "opt_0", "box": "B-1"}});
        let row = l.row(&rec);
        let cell = |name: &str| row[h.iter().position(|x| x == name).unwrap()].clone();
        // Each cell holds its own field's label: nothing is lost to a shared header.
        assert_eq!(cell("customFields.classYear"), "First");
        assert_eq!(cell("customFields.classYear_2"), "Alpha");
        assert_eq!(cell("customFields.Campus box"), "B-1");
        assert!(l.uncovered(&rec).is_empty(), "{:?}", l.uncovered(&rec));
    }

    #[test]
    fn export_mapping_reverses_map_date_and_template() {
        let m = Mapping::parse(
            std::path::Path::new("m.toml"),
            r#"system = "folio"
match = "externalSystemId"
[fields]
externalSystemId = "Student ID"
username = { template = "{NetID}@x", transform = ["lower"] }
patronGroup = { column = "Class", map = { UG = "undergrad", STAFF = "staff" } }
expirationDate = { column = "Expires", date = "%m/%d/%Y" }
"personal.lastName" = "Last Name"
active = { value = true }
"#,
        )
        .unwrap();
        let l = Layout::from_mapping(&m, fields());
        assert_eq!(
            l.header(),
            ["Student ID", "NetID", "Class", "Expires", "Last Name"]
        );
        let rec = json!({"externalSystemId": "S1", "username": "jd@x", "patronGroup": "g1",
            "expirationDate": "2027-06-30T00:00:00.000+00:00", "personal": {"lastName": "Doe"}});
        assert_eq!(l.row(&rec), ["S1", "jd", "STAFF", "06/30/2027", "Doe"]);
    }
}
