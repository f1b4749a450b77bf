//! FOLIO linked records: a user's request preference and service-points-user record, which live
//! in other modules than mod-users but belong to the same patron.
//!
//! Inside patron-etl a FOLIO patron is a *composite*: the `/users` record with the linked
//! records embedded under [`REQUEST_PREFERENCE`] and [`SERVICE_POINTS_USER`]. A mapping names
//! their fields like any nested field (`"requestPreference.holdShelf" = "Hold shelf"`), the
//! planner diffs them like the user (`requestPreference.holdShelf: false → true`), the journal
//! keeps composite before-images, undo puts each part back, and export reads them as columns.
//! Only the writer and the lookups split a composite into its parts ([`split`]).
//!
//! Invariants:
//! - A linked key absent from a composite means "not looked at" (never "none"): the planner and
//!   undo leave that record alone. A looked-up record that does not exist is `null`.
//! - Names are resolved here: service points by code or name, address types by name; ids pass.
//! - Lookups are batched by `userId==(…)` within [`LOOKUP_LINE_BUDGET`], as the user lookup.
//!
//! Sources:
//! - request preference: folio-org/mod-circulation-storage `ramls/request-preference.json`
//!   (properties `userId`, `holdShelf`, `delivery`, `defaultServicePointId`,
//!   `defaultDeliveryAddressTypeId`, `fulfillment` enum `Delivery`/`Hold Shelf`; required
//!   `userId`, `holdShelf`, `delivery`; `additionalProperties: false`), its collection
//!   `ramls/request-preferences.json` (`requestPreferences`), the paths in
//!   `ramls/request-preference-storage.raml` lines 25-47 (`/request-preference-storage/
//!   request-preference`, `/{id}`), one per user: `db_scripts/schema.json` lines 362-371
//!   (`user_request_preference` unique `userId`).
//! - service-points-user: folio-org/mod-inventory-storage
//!   `ramls/schemas/service-points/servicepointsuser.json` (`userId` required,
//!   `servicePointsIds`, `defaultServicePointId`, `additionalProperties: false`), collection
//!   `servicepointsusers.json` (`servicePointsUsers`), one per user:
//!   `mod-inventory-storage-server/src/main/resources/templates/db_scripts/schema.json`
//!   lines 136-151 (`service_point_user` unique `userId`).
//! - service points: `ramls/schemas/service-points/servicepoints.json` (`servicepoints`), each
//!   with a unique `name` and `code` (same `schema.json`, lines 113-125).

pub mod departments;
pub mod merge;
pub mod write;

use super::client::{Extra, FolioClient, FolioError, LOOKUP_LINE_BUDGET};
use super::cql;
use super::refdata::Names;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The composite key of the user's request preference.
pub const REQUEST_PREFERENCE: &str = "requestPreference";
/// The composite key of the user's service-points-user record.
pub const SERVICE_POINTS_USER: &str = "servicePointsUser";

/// One kind of linked record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Its key in a composite (and the prefix of its mapping fields).
    pub key: &'static str,
    /// Its collection's path.
    pub path: &'static str,
    /// Its collection's array property.
    pub list: &'static str,
    /// What it is called in messages.
    pub what: &'static str,
    /// Fields a new record must carry besides `userId`.
    pub required: &'static [&'static str],
}

/// `/request-preference-storage/request-preference` (mod-circulation-storage).
pub const PREF: Kind = Kind {
    key: REQUEST_PREFERENCE,
    path: "/request-preference-storage/request-preference",
    list: "requestPreferences",
    what: "request preference",
    required: &["holdShelf", "delivery"],
};

/// `/service-points-users` (mod-inventory-storage).
pub const SPU: Kind = Kind {
    key: SERVICE_POINTS_USER,
    path: "/service-points-users",
    list: "servicePointsUsers",
    what: "service points",
    required: &[],
};

/// Both kinds, in write order.
pub const KINDS: [Kind; 2] = [PREF, SPU];

/// Fields of a linked record the server sets or that tie it to its user: never compared.
pub const SERVER_FIELDS: [&str; 3] = ["id", "userId", "metadata"];

/// `requestPreference.fulfillment` values (request-preference.json `enum`).
pub const FULFILLMENT: &[&str] = &["Delivery", "Hold Shelf"];

/// The kind a composite key or a dotted field belongs to.
pub fn kind_of(field: &str) -> Option<Kind> {
    let head = field.split('.').next().unwrap_or(field);
    KINDS.into_iter().find(|k| k.key == head)
}

/// Whether a (dotted) field is a linked record's.
pub fn is_linked(field: &str) -> bool {
    kind_of(field).is_some()
}

/// The linked parts a mapped row asks for (names unresolved until [`resolve`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    /// Per kind (in [`KINDS`] order), the fields mapped, if any.
    pub parts: [Option<Map<String, Value>>; 2],
}

impl Desired {
    /// Whether the row maps nothing linked.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(Option::is_none)
    }

    /// The fields mapped for `kind`.
    pub fn part(&self, kind: Kind) -> Option<&Map<String, Value>> {
        let i = KINDS.iter().position(|k| *k == kind)?;
        self.parts[i].as_ref()
    }
}

/// Takes the linked parts out of a mapped record (which is then the user alone).
pub fn take(record: &mut Value) -> Desired {
    let mut d = Desired::default();
    if let Some(o) = record.as_object_mut() {
        for (i, k) in KINDS.iter().enumerate() {
            if let Some(Value::Object(m)) = o.remove(k.key) {
                if !m.is_empty() {
                    d.parts[i] = Some(m);
                }
            }
        }
    }
    d
}

/// A composite split into the user and its linked parts (each `None` when absent, `Some(Null)`
/// when looked up and not there).
pub fn split(composite: &Value) -> (Value, [Option<Value>; 2]) {
    let mut user = composite.clone();
    let mut parts: [Option<Value>; 2] = [None, None];
    if let Some(o) = user.as_object_mut() {
        for (i, k) in KINDS.iter().enumerate() {
            parts[i] = o.remove(k.key);
        }
    }
    (user, parts)
}

/// The fields that name service points.
pub const SERVICE_POINT_FIELDS: [&str; 3] = [
    "requestPreference.defaultServicePointId",
    "servicePointsUser.defaultServicePointId",
    "servicePointsUser.servicePointsIds",
];

/// Whether a mapped record names a service point (so the tenant's must be read).
pub fn names_service_point(record: &Value) -> bool {
    SERVICE_POINT_FIELDS.iter().any(|f| {
        f.split_once('.')
            .and_then(|(k, p)| record.get(k)?.get(p))
            .is_some()
    })
}

/// The service points of the tenant (code or name → id; an id's name is its code).
pub async fn fetch_service_points(client: &FolioClient) -> Result<Names, FolioError> {
    let q = [("limit", "1000"), ("query", "cql.allRecords=1 sortBy id")];
    let v = client
        .get_json("/service-points", &q, "service points")
        .await?;
    Ok(service_point_names(&v))
}

/// The service points for an export's columns: a 403 is a warning, and service points are then
/// exported by id (which an import takes as they are).
pub async fn export_service_points(client: &FolioClient) -> Result<Names, FolioError> {
    let q = [("limit", "1000"), ("query", "cql.allRecords=1 sortBy id")];
    let optional = Extra {
        headers: &[],
        optional: true,
    };
    match client
        .get_json_with("/service-points", &q, &optional, "service points")
        .await
    {
        Ok(v) => Ok(service_point_names(&v)),
        Err(FolioError::Unexpected {
            status: 403,
            message,
            ..
        }) => {
            tracing::warn!(
                "service points are exported by id: FOLIO refused reading /service-points ({message})"
            );
            Ok(Names::default())
        }
        Err(e) => Err(e),
    }
}

/// Names from a `/service-points` answer: names first, then codes, so an id reads as its code.
pub fn service_point_names(v: &Value) -> Names {
    let list = v
        .get("servicepoints")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let pair = |sp: &Value, f: &str| -> Option<(String, String)> {
        Some((
            sp.get(f)?.as_str()?.to_string(),
            sp.get("id")?.as_str()?.to_string(),
        ))
    };
    let mut pairs: Vec<(String, String)> = list.iter().filter_map(|s| pair(s, "name")).collect();
    pairs.extend(list.iter().filter_map(|s| pair(s, "code")));
    Names::new(pairs)
}

/// Names and ids the linked fields use.
pub struct LinkNames<'a> {
    /// Service points (code or name).
    pub service_points: &'a Names,
    /// Address types (name).
    pub address_types: &'a Names,
}

impl LinkNames<'_> {
    fn sp(&self, field: &str, v: &mut Value, problems: &mut Vec<String>) {
        let Some(name) = v.as_str().map(str::to_string) else {
            return;
        };
        match self.service_points.id(&name) {
            Some(id) => *v = Value::String(id.to_string()),
            None => problems.push(format!(
                "{field}: unknown service point \"{name}\" (valid codes: {})",
                self.codes().join(", ")
            )),
        }
    }

    /// The service points' codes (each id's name), sorted.
    fn codes(&self) -> Vec<String> {
        let mut c: Vec<String> = self
            .service_points
            .names()
            .into_iter()
            .filter_map(|n| self.service_points.id(n))
            .filter_map(|id| self.service_points.name(id))
            .map(str::to_string)
            .collect();
        c.sort();
        c.dedup();
        c
    }

    /// Replaces names by ids in the desired parts; unknown names are reasons listing the valid
    /// ones.
    pub fn resolve(&self, d: &mut Desired) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(p) = d.parts[0].as_mut() {
            if let Some(v) = p.get_mut("defaultServicePointId") {
                self.sp("requestPreference.defaultServicePointId", v, &mut problems);
            }
            if let Some(v) = p.get_mut("defaultDeliveryAddressTypeId") {
                if let Some(name) = v.as_str().map(str::to_string) {
                    match self.address_types.id(&name) {
                        Some(id) => *v = Value::String(id.to_string()),
                        None => problems.push(format!(
                            "requestPreference.defaultDeliveryAddressTypeId: unknown address type \"{name}\" (valid: {})",
                            self.address_types.names().join(", ")
                        )),
                    }
                }
            }
        }
        if let Some(p) = d.parts[1].as_mut() {
            if let Some(v) = p.get_mut("defaultServicePointId") {
                self.sp("servicePointsUser.defaultServicePointId", v, &mut problems);
            }
            if let Some(Value::Array(list)) = p.get_mut("servicePointsIds") {
                for v in list.iter_mut() {
                    self.sp("servicePointsUser.servicePointsIds", v, &mut problems);
                }
            }
        }
        problems
    }

    /// A linked value as people read it (service points by code, address types by name), for
    /// change lists and export cells.
    pub fn readable(&self, field: &str, v: &Value) -> Value {
        let name = |names: &Names, v: &Value| match v.as_str().and_then(|id| names.name(id)) {
            Some(n) => Value::String(n.to_string()),
            None => v.clone(),
        };
        match field {
            "requestPreference.defaultServicePointId"
            | "servicePointsUser.defaultServicePointId" => name(self.service_points, v),
            "requestPreference.defaultDeliveryAddressTypeId" => name(self.address_types, v),
            "servicePointsUser.servicePointsIds" => match v {
                Value::Array(a) => {
                    Value::Array(a.iter().map(|x| name(self.service_points, x)).collect())
                }
                other => other.clone(),
            },
            _ => v.clone(),
        }
    }
}

/// Request-line length of a lookup of `cql` on `kind`'s path (the users' path is shorter, so
/// the difference is added to [`FolioClient::lookup_line_len`]).
fn line_len(client: &FolioClient, kind: Kind, cql: &str) -> usize {
    client.lookup_line_len(cql) + kind.path.len().saturating_sub("/users".len())
}

/// The linked records of `kind` for these user ids, by user id: one `userId==(…)` lookup per
/// group of ids that fits the request line.
pub async fn lookup(
    client: &FolioClient,
    kind: Kind,
    user_ids: &[&str],
) -> Result<HashMap<String, Value>, FolioError> {
    let mut out = HashMap::new();
    let mut ids: Vec<&str> = user_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    // Each group the longest run of ids whose lookup fits (bisection, as the user lookup's).
    let groups = super::plan::longest_prefixes(ids, |g: &[&str]| {
        line_len(client, kind, &cql::any_of("userId", g)) <= LOOKUP_LINE_BUDGET
    });
    for group in groups {
        let q = cql::any_of("userId", &group);
        // One record per user (the unique `userId` indexes cited above): the group's size is
        // enough, with room for a stray.
        let limit = (group.len() + 10).to_string();
        let v = client
            .get_json(kind.path, &[("query", &q), ("limit", &limit)], kind.what)
            .await?;
        for rec in v
            .get(kind.list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(uid) = rec.get("userId").and_then(Value::as_str) {
                out.insert(uid.to_string(), rec.clone());
            }
        }
    }
    Ok(out)
}

/// Embeds the linked records of `kinds` in these users: the composites export, restore and
/// undo compare. Where a user has none: `null` when `nulls` (undo must know it looked), else no
/// key (an export or backup of a user without linked records is the user record as before).
pub async fn attach(
    client: &FolioClient,
    users: &mut [Value],
    kinds: &[Kind],
    nulls: bool,
) -> Result<(), FolioError> {
    let ids: Vec<String> = users
        .iter()
        .filter_map(|u| u.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    for kind in kinds {
        let found = lookup(client, *kind, &refs).await?;
        for u in users.iter_mut() {
            let Some(id) = u.get("id").and_then(Value::as_str).map(str::to_string) else {
                continue;
            };
            let rec = match found.get(&id) {
                Some(r) => r.clone(),
                None if nulls => Value::Null,
                None => continue,
            };
            if let Some(o) = u.as_object_mut() {
                o.insert(kind.key.to_string(), rec);
            }
        }
    }
    Ok(())
}

/// The kinds the tenant holds any record of (`GET {path}?limit=1` answering an empty list means
/// none): an export attaches only those, so a tenant without request preferences or service
/// points pays nothing for them (else about 8 lookups per kind per 500 users).
///
/// A login without permission to read a kind (403) exports the users without it, with a
/// warning naming what FOLIO answered; any other failure fails the export.
pub async fn kinds_held(client: &FolioClient) -> Result<Vec<Kind>, FolioError> {
    let mut out = Vec::new();
    let optional = Extra {
        headers: &[],
        optional: true,
    };
    for kind in KINDS {
        let v = match client
            .get_json_with(kind.path, &[("limit", "1")], &optional, kind.what)
            .await
        {
            Ok(v) => v,
            Err(FolioError::Unexpected {
                status: 403,
                message,
                ..
            }) => {
                tracing::warn!(
                    "the users' {} records are not exported: FOLIO refused reading {} ({message})",
                    kind.key,
                    kind.path
                );
                continue;
            }
            Err(e) => return Err(e),
        };
        if v.get(kind.list)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            out.push(kind);
        }
    }
    Ok(out)
}

/// A linked record without what the server sets or ties it to its user.
pub fn comparable(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !SERVER_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> (Names, Names) {
        (
            service_point_names(&json!({"servicepoints": [
                {"id": "sp1", "name": "Circ Desk 1", "code": "cd1"},
                {"id": "sp2", "name": "Online", "code": "Online"}]})),
            Names::new([("Home".to_string(), "a1".to_string())]),
        )
    }

    #[test]
    fn take_leaves_the_user_and_resolve_turns_codes_and_names_into_ids() {
        let mut rec = json!({"username": "a", "requestPreference": {"holdShelf": true,
            "defaultServicePointId": "CD1", "defaultDeliveryAddressTypeId": "Home"},
            "servicePointsUser": {"servicePointsIds": ["cd1", "Online"], "defaultServicePointId": "Circ Desk 1"}});
        let mut d = take(&mut rec);
        assert_eq!(rec, json!({"username": "a"}));
        let (sp, at) = names();
        let n = LinkNames {
            service_points: &sp,
            address_types: &at,
        };
        assert!(n.resolve(&mut d).is_empty());
        let p = d.part(PREF).unwrap();
        assert_eq!(p["defaultServicePointId"], "sp1");
        assert_eq!(p["defaultDeliveryAddressTypeId"], "a1");
        let s = d.part(SPU).unwrap();
        assert_eq!(s["servicePointsIds"], json!(["sp1", "sp2"]));
        assert_eq!(s["defaultServicePointId"], "sp1");
        assert_eq!(
            n.readable("servicePointsUser.servicePointsIds", &s["servicePointsIds"]),
            json!(["cd1", "Online"])
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// Any text: resolving never panics, a known code or name becomes its id (read back
        /// as its code), anything else is one reason naming it.
        #[test]
        fn resolving_any_text_gives_an_id_or_one_reason(name in crate::text::arb::text()) {
            let (sp, at) = names();
            let n = LinkNames { service_points: &sp, address_types: &at };
            let mut rec = json!({"servicePointsUser": {"defaultServicePointId": name.clone()}});
            let mut d = take(&mut rec);
            let problems = n.resolve(&mut d);
            let v = d.part(SPU).map(|p| p["defaultServicePointId"].clone()).unwrap_or_default();
            match sp.id(&name) {
                Some(id) => {
                    proptest::prop_assert!(problems.is_empty());
                    proptest::prop_assert_eq!(&v, &Value::from(id));
                    let code = n.readable("servicePointsUser.defaultServicePointId", &v);
                    proptest::prop_assert!(code == "cd1" || code == "Online");
                }
                None => {
                    proptest::prop_assert_eq!(problems.len(), 1);
                    proptest::prop_assert_eq!(&v, &Value::from(name));
                }
            }
        }
    }

    #[test]
    fn an_unknown_service_point_lists_the_valid_codes() {
        let mut rec = json!({"requestPreference": {"defaultServicePointId": "nowhere"}});
        let mut d = take(&mut rec);
        let (sp, at) = names();
        let p = LinkNames {
            service_points: &sp,
            address_types: &at,
        }
        .resolve(&mut d);
        assert_eq!(
            p,
            ["requestPreference.defaultServicePointId: unknown service point \"nowhere\" (valid codes: Online, cd1)"]
        );
    }
}
