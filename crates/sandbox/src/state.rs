//! The sandbox's records (FOLIO, ILLiad, Libib), seeded with FOLIO reference data, and their
//! persistence: JSON written atomically (temp file + rename) with owner-only permissions.
//! Invariant: every record collection is keyed by id, so `id`-ordered paging is stable.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One FOLIO-style collection: records keyed by their `id`.
pub type Coll = BTreeMap<String, Value>;

/// A user id as FOLIO stores it: a UUID in canonical lower-case form (mod-users keeps ids in a
/// Postgres `uuid` column, and RMB's `set_id_in_jsonb` trigger writes that column's text back into
/// the record, so ids always come back lower-case; lookups by id ignore case: folio-org/
/// raml-module-builder `domain-models-runtime/src/main/resources/templates/db_scripts/
/// general_functions.ftl` line 179, `schemas.ftl` lines 87-88). Text that is not a
/// UUID is returned unchanged.
pub fn canonical_id(id: &str) -> String {
    match uuid::Uuid::parse_str(id) {
        Ok(u) => u.hyphenated().to_string(),
        Err(_) => id.to_string(),
    }
}

/// Everything the sandbox stores.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Data {
    /// FOLIO records.
    pub folio: FolioData,
    /// ILLiad users, in creation order.
    pub illiad: Vec<Value>,
    /// Libib patrons.
    pub libib: LibibData,
}

/// The users' unique keys (`username`, `barcode`, `externalSystemId`, folded) → user id, so a
/// POST or PUT checks uniqueness without scanning every user. Every insert updates it; entries
/// left by deletes or changed values are stale and verified against the user before use.
#[derive(Debug, Default)]
pub struct UserKeys {
    /// Whether `map` has been built from the users.
    pub built: bool,
    /// (field index, folded value) → user id.
    pub map: std::collections::HashMap<(u8, String), String>,
    /// (field index, folded value as a query compares it) → every user that held it since the
    /// index was built: a superset of the holders (entries are only added), so a batch lookup
    /// on unique fields tests these users instead of scanning all (`folio::users_list`).
    pub holders: std::collections::HashMap<(u8, String), std::collections::BTreeSet<String>>,
}

impl Clone for UserKeys {
    /// Snapshots (for saving) do not carry the index; it is rebuilt when needed.
    fn clone(&self) -> Self {
        UserKeys::default()
    }
}

/// FOLIO collections by API.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FolioData {
    /// `/users`
    pub users: Coll,
    /// Index of the users' unique keys (not stored; rebuilt on first use).
    #[serde(skip)]
    pub user_keys: UserKeys,
    /// `/groups`
    pub groups: Coll,
    /// `/addresstypes`
    pub addresstypes: Coll,
    /// `/departments`
    pub departments: Coll,
    /// `/custom-fields`
    pub custom_fields: Coll,
    /// `/service-points`
    pub service_points: Coll,
    /// `/request-preference-storage/request-preference`
    pub request_preferences: Coll,
    /// `/perms/users`
    pub perms_users: Coll,
    /// `/service-points-users`
    pub service_points_users: Coll,
}

/// Libib patrons plus the barcode sequence.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LibibData {
    /// Patrons in creation order (deleted ones kept for 30 days, for restore).
    pub patrons: Vec<LibibPatron>,
    /// The last barcode sequence number assigned.
    pub barcode_seq: u64,
}

/// A stored Libib patron: the 15 API fields plus sandbox bookkeeping.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LibibPatron {
    /// The 15 API fields (`barcode`, `first_name`, …, `freeze`), in API order.
    pub fields: serde_json::Map<String, Value>,
    /// Write-only password (never returned).
    pub password: Option<String>,
    /// When the patron was deleted (RFC 3339), if it was.
    pub deleted_at: Option<String>,
    /// Active checkouts (set through `/_sandbox/libib/checkouts`); blocks deletion.
    pub active_checkouts: u32,
}

const SEED_FILES: [&str; 11] = [
    include_str!("ref-data/groups-faculty.json"),
    include_str!("ref-data/groups-graduate.json"),
    include_str!("ref-data/groups-staff.json"),
    include_str!("ref-data/groups-undergraduate.json"),
    include_str!("ref-data/addresstypes-claim.json"),
    include_str!("ref-data/addresstypes-home.json"),
    include_str!("ref-data/addresstypes-order.json"),
    include_str!("ref-data/addresstypes-payment.json"),
    include_str!("ref-data/addresstypes-returns.json"),
    include_str!("ref-data/addresstypes-work.json"),
    include_str!("ref-data/departments-accounting.json"),
];

/// The id of the seeded service point (`cd1`, as on FOLIO's reference environments).
pub const SEED_SERVICE_POINT_ID: &str = "3a40852d-49fd-4df2-a1f9-6e2641a6e91f";

/// Three user custom fields, as a tenant that uses them has (a select, a checkbox, a text), in
/// folio-org/folio-custom-fields `ramls/customField.json` form. Their shapes follow mod-users'
/// own test definitions (`src/test/resources/fields/{multiSelectField,singleCheckbox,
/// shortTextField}.json`); each refId is what folio-custom-fields would generate from the name
/// (`CustomFieldsServiceImpl.unAccentName`, lines 430-441: words capitalised, non-letters
/// dropped, first letter lower-cased: "Class Year" → `classYear`); options are `opt_<n>`
/// (`selectFieldOption.json` pattern `opt_\d{1,5}`). The names and labels are this sandbox's.
fn seed_custom_fields() -> Vec<Value> {
    vec![
        serde_json::json!({
            "id": "5d3c1b8e-7a2f-4c1e-9f0a-3b6d2e8c4a01", "name": "Class Year",
            "refId": "classYear", "type": "SINGLE_SELECT_DROPDOWN", "entityType": "user",
            "visible": true, "required": false, "isRepeatable": false, "order": 1,
            "helpText": "The student's year of study",
            "selectField": {"multiSelect": false, "options": {"values": [
                {"id": "opt_0", "value": "First year"}, {"id": "opt_1", "value": "Second year"},
                {"id": "opt_2", "value": "Third year"}, {"id": "opt_3", "value": "Fourth year"}],
                "sortingOrder": "CUSTOM"}}
        }),
        serde_json::json!({
            "id": "5d3c1b8e-7a2f-4c1e-9f0a-3b6d2e8c4a02", "name": "Is student",
            "refId": "isStudent", "type": "SINGLE_CHECKBOX", "entityType": "user",
            "visible": true, "required": false, "isRepeatable": false, "order": 2,
            "helpText": "Check if user is a student", "checkboxField": {"default": false}
        }),
        serde_json::json!({
            "id": "5d3c1b8e-7a2f-4c1e-9f0a-3b6d2e8c4a03", "name": "Campus box",
            "refId": "campusBox", "type": "TEXTBOX_SHORT", "entityType": "user",
            "visible": true, "required": false, "isRepeatable": false, "order": 3,
            "helpText": "Campus mail box", "textField": {"fieldFormat": "TEXT"}
        }),
    ]
}

impl Data {
    /// Fresh state: FOLIO reference data (groups, address types, one department, one service
    /// point, three user custom fields), no users or patrons.
    pub fn seeded() -> Data {
        let mut d = Data::default();
        for text in SEED_FILES {
            let Ok(v) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let Some(id) = v.get("id").and_then(Value::as_str).map(str::to_string) else {
                continue;
            };
            let coll = if v.get("group").is_some() {
                &mut d.folio.groups
            } else if v.get("addressType").is_some() {
                &mut d.folio.addresstypes
            } else {
                &mut d.folio.departments
            };
            coll.insert(id, v);
        }
        for def in seed_custom_fields() {
            if let Some(id) = def.get("id").and_then(Value::as_str).map(str::to_string) {
                d.folio.custom_fields.insert(id, def);
            }
        }
        // FOLIO's reference service points: folio-org/mod-inventory-storage
        // `reference-data/service-points/circulation-desk-1.json`, `circulation-desk-2.json`
        // and `online.json`, as given there.
        for sp in [
            serde_json::json!({
                "id": SEED_SERVICE_POINT_ID, "name": "Circ Desk 1", "code": "cd1",
                "discoveryDisplayName": "Circulation Desk -- Hallway", "pickupLocation": true,
                "holdShelfExpiryPeriod": {"duration": 3, "intervalId": "Weeks"}
            }),
            serde_json::json!({
                "id": "c4c90014-c8c9-4ade-8f24-b5e313319f4b", "name": "Circ Desk 2",
                "code": "cd2", "discoveryDisplayName": "Circulation Desk -- Back Entrance",
                "pickupLocation": true,
                "holdShelfExpiryPeriod": {"duration": 5, "intervalId": "Days"}
            }),
            serde_json::json!({
                "id": "7c5abc9f-f3d7-4856-b8d7-6712462ca007", "name": "Online",
                "code": "Online", "discoveryDisplayName": "Online", "pickupLocation": false,
                "shelvingLagTime": 0
            }),
        ] {
            // Loaded through the API, they are stored with the schema's defaults.
            let mut sp = sp;
            if let Value::Object(m) = &mut sp {
                crate::folio::service_point_defaults(m);
            }
            if let Some(id) = sp.get("id").and_then(Value::as_str) {
                d.folio.service_points.insert(id.to_string(), sp.clone());
            }
        }
        d
    }

    /// Loads state from `path`, or the seeded state when the file does not exist.
    pub fn load(path: &Path) -> anyhow::Result<Data> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let mut d: Data = serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!("sandbox state {}: not valid JSON: {e}", path.display())
                })?;
                // Users keyed by canonical ids, as the API stores them (see `canonical_id`).
                let users = std::mem::take(&mut d.folio.users);
                for (id, mut user) in users {
                    let id = canonical_id(&id);
                    if let Some(u) = user.as_object_mut() {
                        u.insert("id".into(), Value::String(id.clone()));
                    }
                    d.folio.users.insert(id, user);
                }
                Ok(d)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Data::seeded()),
            Err(e) => Err(anyhow::anyhow!("sandbox state {}: {e}", path.display())),
        }
    }

    /// The state file's bytes: pretty JSON when `pretty` (the save on shutdown, the one a person
    /// may read after the sandbox stopped), compact otherwise.
    pub fn encode(&self, pretty: bool) -> anyhow::Result<Vec<u8>> {
        Ok(if pretty {
            serde_json::to_vec_pretty(self)?
        } else {
            serde_json::to_vec(self)?
        })
    }
}

/// Writes encoded state ([`Data::encode`]) to `path` atomically (temp file in the same folder +
/// rename), mode 0600, creating the folder (0700) if needed. Synced when `sync`; unsynced, the
/// file survives the process being killed (not the machine losing power) at a fraction of the
/// cost, which is what saving before every answered write needs. With `order` = (`file_gen`,
/// `gen`), a snapshot taken at write generation `gen` replaces the file only if it does not
/// already hold a later one (`file_gen`, updated under its lock): two savers racing — the
/// periodic flusher and the save before an answered write — never put an older snapshot over a
/// newer one. Takes the bytes, not the data, so the server encodes under its data lock and
/// writes after releasing it.
pub fn write_encoded(
    path: &Path,
    bytes: &[u8],
    sync: bool,
    order: Option<(&std::sync::Mutex<u64>, u64)>,
) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    create_private_dir(&dir)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("state.json");
    let tmp = dir.join(format!(".{file_name}.{}.tmp", uuid::Uuid::new_v4()));
    let result = (|| -> anyhow::Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
        match order {
            None => std::fs::rename(&tmp, path)?,
            Some((file_gen, gen)) => {
                let mut held = file_gen.lock().unwrap_or_else(|p| p.into_inner());
                if gen >= *held {
                    std::fs::rename(&tmp, path)?;
                    *held = gen;
                } else {
                    // The file already holds a later snapshot: this one is stale.
                    let _ = std::fs::remove_file(&tmp);
                }
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| anyhow::anyhow!("writing sandbox state {}: {e}", path.display()))
}

/// Creates `dir` (and parents) with mode 0700 on Unix.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flusher's synced save of an older snapshot finishing after the save before an
    /// answered write must not put the older state back (it lost answered creates after a
    /// SIGKILL under load).
    #[cfg(unix)]
    #[test]
    fn an_older_snapshot_never_replaces_a_newer_file() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        let gen = std::sync::Mutex::new(0);
        let d = Data::seeded();
        write_encoded(&p, &d.encode(false).unwrap(), false, Some((&gen, 5))).unwrap();
        let ino = std::fs::metadata(&p).unwrap().ino();
        write_encoded(&p, &d.encode(true).unwrap(), true, Some((&gen, 3))).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().ino(),
            ino,
            "stale save replaced the file"
        );
        assert_eq!(*gen.lock().unwrap(), 5);
        write_encoded(&p, &d.encode(false).unwrap(), false, Some((&gen, 7))).unwrap();
        assert_ne!(std::fs::metadata(&p).unwrap().ino(), ino);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    }

    #[test]
    fn seeded_has_reference_data() {
        let d = Data::seeded();
        assert_eq!(d.folio.groups.len(), 4);
        assert_eq!(d.folio.addresstypes.len(), 6);
        assert!(d
            .folio
            .groups
            .contains_key("3684a786-6671-4268-8ed0-9db82ebca60b"));
        let refs: Vec<&str> = d
            .folio
            .custom_fields
            .values()
            .filter_map(|f| f["refId"].as_str())
            .collect();
        assert_eq!(refs, ["classYear", "isStudent", "campusBox"]);
    }

    #[test]
    fn save_is_atomic_private_and_reloads() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { return };
        let p = dir.path().join("sub").join("state.json");
        let d = Data::seeded();
        assert!(write_encoded(&p, &d.encode(true).unwrap(), true, None).is_ok());
        let back = Data::load(&p).map(|d| d.folio.groups.len()).unwrap_or(0);
        assert_eq!(back, 4);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
    }
}
