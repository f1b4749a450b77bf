//! The fake's store: `{"next_id": N, "patrons": [{"id": "m-1", ...}, ...]}` in one JSON file,
//! read whole, saved whole after every write.

use anyhow::Context;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The patrons of one store file.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    patrons: Vec<Map<String, Value>>,
}

impl Store {
    /// Opens the store at `url` (`file:///…`); a missing file is an empty store.
    pub fn open(url: &str) -> anyhow::Result<Store> {
        let path = url::Url::parse(url)
            .ok()
            .filter(|u| u.scheme() == "file")
            .and_then(|u| u.to_file_path().ok())
            .ok_or_else(|| {
                crate::exit::UsageError(format!("memory target url {url:?}: expected file:///PATH"))
            })?;
        let state = match std::fs::read_to_string(&path) {
            Ok(text) => parse(&text).with_context(|| format!("{}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
        };
        Ok(Store {
            path,
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves whole records: the state stays usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every patron, in store order.
    pub fn all(&self) -> Vec<Value> {
        self.lock()
            .patrons
            .iter()
            .map(|p| Value::Object(p.clone()))
            .collect()
    }

    /// The patron with this id.
    pub fn get(&self, id: &str) -> Option<Value> {
        self.lock()
            .patrons
            .iter()
            .find(|p| p.get("id").and_then(Value::as_str) == Some(id))
            .map(|p| Value::Object(p.clone()))
    }

    /// Patrons whose `field` equals `value` (ignoring case).
    pub fn find(&self, field: &str, value: &str) -> Vec<Value> {
        self.lock()
            .patrons
            .iter()
            .filter(|p| {
                p.get(field)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.to_lowercase() == value.to_lowercase())
            })
            .map(|p| Value::Object(p.clone()))
            .collect()
    }

    /// Adds a patron; returns its new id.
    pub fn create(&self, record: &Value) -> anyhow::Result<String> {
        let mut state = self.lock();
        state.next_id += 1;
        let id = format!("m-{}", state.next_id);
        let mut p = record.as_object().cloned().unwrap_or_default();
        p.insert("id".into(), Value::from(id.clone()));
        state.patrons.push(p);
        save(&self.path, &state)?;
        Ok(id)
    }

    /// Replaces patron `id` with `record` (its id kept); `false` when there is no such patron.
    pub fn replace(&self, id: &str, record: &Value) -> anyhow::Result<bool> {
        let mut state = self.lock();
        let Some(slot) = state
            .patrons
            .iter_mut()
            .find(|p| p.get("id").and_then(Value::as_str) == Some(id))
        else {
            return Ok(false);
        };
        let mut p = record.as_object().cloned().unwrap_or_default();
        p.insert("id".into(), Value::from(id));
        *slot = p;
        save(&self.path, &state)?;
        Ok(true)
    }

    /// Deletes patron `id`; `false` when there is no such patron.
    pub fn delete(&self, id: &str) -> anyhow::Result<bool> {
        let mut state = self.lock();
        let before = state.patrons.len();
        state
            .patrons
            .retain(|p| p.get("id").and_then(Value::as_str) != Some(id));
        let gone = state.patrons.len() < before;
        if gone {
            save(&self.path, &state)?;
        }
        Ok(gone)
    }
}

fn parse(text: &str) -> anyhow::Result<State> {
    let v: Value = serde_json::from_str(text).context("not a memory store")?;
    let patrons = v
        .get("patrons")
        .and_then(Value::as_array)
        .context("no \"patrons\" list")?
        .iter()
        .filter_map(|p| p.as_object().cloned())
        .collect();
    Ok(State {
        next_id: v.get("next_id").and_then(Value::as_u64).unwrap_or(0),
        patrons,
    })
}

fn save(path: &Path, state: &State) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&json!({
        "next_id": state.next_id,
        "patrons": state.patrons,
    }))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot replace", path.display()))?;
    Ok(())
}
