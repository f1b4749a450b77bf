//! Helpers for the export tests: seed the sandbox over its real APIs, write target configs,
//! normalise FOLIO users for field-by-field comparison.

use super::Sandbox;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A blocking client.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

/// POSTs each user to the sandbox's FOLIO `/users`, asserting 201.
pub fn load_folio_users(sb: &Sandbox, users: &[Value]) {
    let token = sb.folio_token();
    let c = client();
    for u in users {
        let r = c
            .post(format!("{}/folio/users", sb.base))
            .header("X-Okapi-Tenant", "diku")
            .header("X-Okapi-Token", &token)
            .json(u)
            .send()
            .expect("post user");
        let status = r.status().as_u16();
        assert_eq!(
            status,
            201,
            "{}: {}",
            u["username"],
            r.text().unwrap_or_default()
        );
    }
}

/// FOLIO's sample users from tests/fixtures/folio-users, in file-name order.
pub fn sample_users() -> Vec<Value> {
    let dir = super::root().join("tests/fixtures/folio-users");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json"))
        .collect()
}

/// A user as the comparison sees it: server-managed fields (`metadata`, `createdDate`,
/// `updatedDate`) removed, empty lists/objects/strings and nulls removed (an export cannot tell
/// `[]` from absent), addresses sorted by type.
pub fn normalise(u: &Value) -> Value {
    fn clean(v: &Value) -> Option<Value> {
        match v {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::Array(a) => {
                let items: Vec<Value> = a.iter().filter_map(clean).collect();
                (!items.is_empty()).then_some(Value::Array(items))
            }
            Value::Object(o) => {
                let m: serde_json::Map<String, Value> = o
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(k.as_str(), "metadata" | "createdDate" | "updatedDate")
                    })
                    .filter_map(|(k, v)| clean(v).map(|c| (k.clone(), c)))
                    .collect();
                (!m.is_empty()).then_some(Value::Object(m))
            }
            other => Some(other.clone()),
        }
    }
    let mut out = clean(u).unwrap_or(Value::Null);
    if let Some(Value::Array(a)) = out.pointer_mut("/personal/addresses") {
        a.sort_by_key(|x| x["addressTypeId"].as_str().unwrap_or("").to_string());
    }
    out
}

/// Writes `patron-etl.toml` in `dir` with FOLIO target `sb`, Libib target `lib` and ILLiad
/// target `ill`, all pointing at `sb`.
pub fn write_config(sb: &Sandbox, dir: &Path) -> PathBuf {
    let p = dir.join("patron-etl.toml");
    std::fs::write(
        &p,
        format!(
            "[targets.sb]\nsystem = \"folio\"\nurl = \"{b}/folio\"\ntenant = \"diku\"\nusername = \"diku_admin\"\npassword_env = \"SB_FOLIO_PASSWORD\"\n\
             [targets.lib]\nsystem = \"libib\"\nurl = \"{b}/libib\"\napi_key_env = \"SB_LIBIB_KEY\"\napi_user = \"sandbox-user\"\n\
             [targets.ill]\nsystem = \"illiad\"\nurl = \"{b}/illiad/ILLiadWebPlatform\"\napi_key_env = \"SB_ILLIAD_KEY\"\n",
            b = sb.base
        ),
    )
    .expect("config");
    p
}

/// [`write_config`] with the Libib pacer at the sandbox's shortened pace (start the sandbox with
/// `--libib-interval-ms 2`) and ILLiad at 400 requests a second, 4 at a time.
pub fn write_fast_config(sb: &Sandbox, dir: &Path) -> PathBuf {
    let p = write_config(sb, dir);
    let cfg = std::fs::read_to_string(&p).expect("config");
    let cfg = cfg
        .replace(
            "api_user = \"sandbox-user\"\n",
            "api_user = \"sandbox-user\"\nrate = 400\n",
        )
        .replace(
            "api_key_env = \"SB_ILLIAD_KEY\"\n",
            "api_key_env = \"SB_ILLIAD_KEY\"\nrate = 400\nconcurrency = 4\n",
        );
    std::fs::write(&p, cfg).expect("config");
    p
}

/// Reads a CSV file into (header, rows).
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).expect("csv");
    let h = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = r
        .records()
        .map(|x| x.expect("record").iter().map(str::to_string).collect())
        .collect();
    (h, rows)
}
