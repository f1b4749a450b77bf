//! FOLIO reference data fetched once per run: patron groups, address types and departments, so
//! that mapping files can name them and records carry UUIDs.

use super::client::{FolioClient, FolioError};
use serde_json::Value;
use std::collections::BTreeMap;

/// One kind of named reference record (name ↔ id).
#[derive(Debug, Clone, Default)]
pub struct Names {
    by_name: BTreeMap<String, String>,
    by_id: BTreeMap<String, String>,
}

impl Names {
    /// Builds from `(name, id)` pairs.
    pub fn new<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Names {
        let mut n = Names::default();
        for (name, id) in pairs {
            n.by_id.insert(id.clone(), name.clone());
            n.by_name.insert(name, id);
        }
        n
    }

    /// The id for a name: exact, then case-insensitive; a value that already is a known id passes.
    pub fn id(&self, name: &str) -> Option<&str> {
        if let Some(id) = self.by_name.get(name) {
            return Some(id);
        }
        if self.by_id.contains_key(name) {
            return self.by_id.get_key_value(name).map(|(k, _)| k.as_str());
        }
        let lower = name.to_lowercase();
        self.by_name
            .iter()
            .find(|(n, _)| n.to_lowercase() == lower)
            .map(|(_, id)| id.as_str())
    }

    /// The name for an id.
    pub fn name(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(String::as_str)
    }

    /// All names, sorted, for error messages.
    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }
}

/// All reference data a FOLIO import needs.
#[derive(Debug, Clone, Default)]
pub struct RefData {
    /// Patron groups (`group` ↔ id).
    pub groups: Names,
    /// Address types (`addressType` ↔ id).
    pub address_types: Names,
    /// Departments (`name` ↔ id; codes also accepted as names).
    pub departments: Names,
    /// Patron-group id → `expirationOffsetInDays` (mod-users `ramls/usergroup.json` lines
    /// 19-22: "the default period in days after which a newly created user that belongs to
    /// this group will expire"), for groups that set one.
    pub group_offsets: BTreeMap<String, i64>,
}

fn pairs(v: &Value, key: &str, name_field: &str) -> Vec<(String, String)> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    Some((
                        r.get(name_field)?.as_str()?.to_string(),
                        r.get("id")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

impl RefData {
    /// Fetches groups, address types and departments (three GETs).
    pub async fn fetch(client: &FolioClient) -> Result<RefData, FolioError> {
        let q = [("limit", "1000"), ("query", "cql.allRecords=1 sortBy id")];
        let groups = client.get_json("/groups", &q, "patron groups").await?;
        let types = client
            .get_json("/addresstypes", &q, "address types")
            .await?;
        let depts = client.get_json("/departments", &q, "departments").await?;
        // Codes first, so that an id's name (used by export) is the department's name.
        let mut dept_pairs = pairs(&depts, "departments", "code");
        dept_pairs.extend(pairs(&depts, "departments", "name"));
        let group_offsets = groups
            .get("usergroups")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|g| {
                        Some((
                            g.get("id")?.as_str()?.to_string(),
                            g.get("expirationOffsetInDays")?.as_i64()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(RefData {
            group_offsets,
            groups: Names::new(pairs(&groups, "usergroups", "group")),
            address_types: Names::new(pairs(&types, "addressTypes", "addressType")),
            departments: Names::new(dept_pairs),
        })
    }

    /// Replaces names by UUIDs in a mapped record (patronGroup, departments, address types).
    /// Unknown names are returned as reasons listing the valid names.
    pub fn resolve(&self, record: &mut Value) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(g) = record.get_mut("patronGroup") {
            if let Some(name) = g.as_str().map(str::to_string) {
                match self.groups.id(&name) {
                    Some(id) => *g = Value::String(id.to_string()),
                    None => problems.push(format!(
                        "patronGroup: unknown patron group \"{name}\" (valid: {})",
                        self.groups.names().join(", ")
                    )),
                }
            }
        }
        if let Some(Value::Array(ds)) = record.get_mut("departments") {
            for d in ds.iter_mut() {
                if let Some(name) = d.as_str().map(str::to_string) {
                    match self.departments.id(&name) {
                        Some(id) => *d = Value::String(id.to_string()),
                        None => problems.push(format!(
                            "departments: unknown department \"{name}\" (valid: {})",
                            self.departments.names().join(", ")
                        )),
                    }
                }
            }
        }
        if let Some(Value::Array(addrs)) = record
            .get_mut("personal")
            .and_then(|p| p.get_mut("addresses"))
        {
            for a in addrs.iter_mut() {
                if let Some(t) = a.get_mut("addressTypeId") {
                    if let Some(name) = t.as_str().map(str::to_string) {
                        match self.address_types.id(&name) {
                            Some(id) => *t = Value::String(id.to_string()),
                            None => problems.push(format!(
                                "personal.addresses: unknown address type \"{name}\" (valid: {})",
                                self.address_types.names().join(", ")
                            )),
                        }
                    }
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rd() -> RefData {
        RefData {
            groups: Names::new([
                ("undergrad".into(), "g1".into()),
                ("staff".into(), "g2".into()),
            ]),
            address_types: Names::new([("Home".into(), "a1".into())]),
            departments: Names::new([("Accounting".into(), "d1".into())]),
            ..RefData::default()
        }
    }

    #[test]
    fn resolves_names_and_lists_valid_ones() {
        let mut r = json!({"patronGroup": "Undergrad", "departments": ["Accounting"],
            "personal": {"lastName": "X", "addresses": [{"addressTypeId": "Home", "city": "Y"}]}});
        assert!(rd().resolve(&mut r).is_empty());
        assert_eq!(r["patronGroup"], "g1");
        assert_eq!(r["departments"][0], "d1");
        assert_eq!(r["personal"]["addresses"][0]["addressTypeId"], "a1");
        let mut bad = json!({"patronGroup": "alumni"});
        let p = rd().resolve(&mut bad);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].contains("alumni") && p[0].contains("staff, undergrad"),
            "{}",
            p[0]
        );
    }
}
