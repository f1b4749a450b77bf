//! Seeds a sandbox state file with N FOLIO users (FOLIO's sample users from
//! tests/fixtures/folio-users, repeated with unique ids, user names, barcodes and external ids),
//! for export memory and speed measurements:
//!
//!   cargo run --release --example seed_folio_users -- /tmp/big/state.json 100000
//!   patron-etl sandbox --listen 127.0.0.1:8765 --state /tmp/big/state.json
//!
//! A missing state file is first created with the sandbox's seeded reference data.

use patron_etl::sandbox::{self, SandboxConfig};
use serde_json::Value;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(state), Some(n)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: seed_folio_users STATE_FILE N");
    };
    let state = PathBuf::from(state);
    let n: usize = n.parse()?;
    if !state.exists() {
        if let Some(dir) = state.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let rt = tokio::runtime::Runtime::new()?;
        rt.block_on(async {
            let config = SandboxConfig {
                state: Some(state.clone()),
                ..SandboxConfig::default()
            };
            sandbox::start(config).await?.shutdown().await
        })?;
    }
    let mut data: Value = serde_json::from_str(&std::fs::read_to_string(&state)?)?;
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/folio-users");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&fixtures)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let samples: Vec<Value> = paths
        .iter()
        .map(|p| Ok(serde_json::from_str(&std::fs::read_to_string(p)?)?))
        .collect::<anyhow::Result<_>>()?;
    let users = data
        .pointer_mut("/folio/users")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| anyhow::anyhow!("{} has no folio.users", state.display()))?;
    for i in 0..n {
        let mut u = samples[i % samples.len()].clone();
        let id = format!("{:08x}-0000-4000-8000-{:012x}", i, i);
        u["id"] = Value::from(id.clone());
        u["username"] = Value::from(format!("user{i}"));
        u["barcode"] = Value::from(format!("{i:013}"));
        u["externalSystemId"] = Value::from(format!("X{i:08}"));
        users.insert(id, u);
    }
    std::fs::write(&state, serde_json::to_vec(&data)?)?;
    println!("{}: {} FOLIO users", state.display(), users_len(&data));
    Ok(())
}

fn users_len(data: &Value) -> usize {
    data.pointer("/folio/users")
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}
