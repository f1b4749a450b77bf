//! FOLIO planner: one batched CQL lookup per chunk of up to 50 rows (match key, username and
//! barcode OR-lists), collision detection ignoring case and accents, then a merge/diff per row.

use super::{Action, Candidate, Planned};
use crate::dedupe::fold;
use crate::systems::folio::client::{FolioClient, FolioError};
use crate::systems::folio::cql;
use crate::systems::folio::merge::Merger;
use crate::systems::folio::refdata::RefData;
use serde_json::Value;
use std::collections::HashMap;

/// Rows per lookup query.
pub const BATCH: usize = 50;

/// Fields that must not collide with another record.
const UNIQUE: [&str; 3] = ["externalSystemId", "username", "barcode"];

/// What the planner needs besides the rows.
pub struct FolioPlanner<'a> {
    /// Logged-in client.
    pub client: &'a FolioClient,
    /// Reference data.
    pub refdata: &'a RefData,
    /// The mapping's match field.
    pub match_field: &'a str,
    /// Protected fields.
    pub protect: &'a [String],
    /// List fields merged on update (only `tags` applies).
    pub merge: &'a [String],
}

fn text<'v>(record: &'v Value, field: &str) -> Option<&'v str> {
    record
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// Describes a record for conflict messages.
fn describe(u: &Value) -> String {
    let id = u.get("id").and_then(Value::as_str).unwrap_or("?");
    let mut parts = vec![format!("id {id}")];
    for f in UNIQUE {
        if let Some(v) = text(u, f) {
            parts.push(format!("{f} \"{v}\""));
        }
    }
    parts.join(", ")
}

impl FolioPlanner<'_> {
    /// The CQL for one chunk: OR-lists of the match key and every unique field present.
    pub fn lookup_query(&self, rows: &[(Candidate, Value)]) -> Option<String> {
        let mut fields: Vec<&str> = vec![self.match_field];
        fields.extend(UNIQUE.iter().filter(|f| **f != self.match_field));
        let mut clauses = Vec::new();
        for f in fields {
            let mut vals: Vec<&str> = rows.iter().filter_map(|(_, r)| text(r, f)).collect();
            vals.sort_unstable();
            vals.dedup();
            if !vals.is_empty() {
                clauses.push(format!("({})", cql::any_of(f, &vals)));
            }
        }
        if clauses.is_empty() {
            None
        } else {
            Some(clauses.join(" or "))
        }
    }

    /// Plans one chunk (at most [`BATCH`] rows) with a single lookup.
    pub async fn plan(&self, chunk: Vec<Candidate>) -> Result<Vec<Planned>, FolioError> {
        let mut out = Vec::with_capacity(chunk.len());
        let mut ready = Vec::with_capacity(chunk.len());
        for row in chunk {
            let mut record = row.record.clone();
            let problems = self.refdata.resolve(&mut record);
            if problems.is_empty() {
                ready.push((row, record));
            } else {
                out.push(Planned {
                    row,
                    action: Action::Reject(problems.join("; ")),
                });
            }
        }
        let existing = match self.lookup_query(&ready) {
            Some(q) => self.client.find_users(&q, ready.len() * 3).await?,
            None => Vec::new(),
        };
        // index: (field, folded value) -> records
        let mut index: HashMap<(&str, String), Vec<&Value>> = HashMap::new();
        for u in &existing {
            for f in UNIQUE.iter().copied().chain(std::iter::once("id")) {
                if let Some(v) = text(u, f) {
                    index.entry((f, fold(v))).or_default().push(u);
                }
            }
        }
        let merger = Merger {
            protect: self.protect,
            refdata: self.refdata,
        };
        for (row, record) in ready {
            let action = self.decide(&index, &merger, &row, &record);
            out.push(Planned { row, action });
        }
        out.sort_by_key(|p| p.row.line);
        Ok(out)
    }

    fn decide(
        &self,
        index: &HashMap<(&str, String), Vec<&Value>>,
        merger: &Merger<'_>,
        row: &Candidate,
        record: &Value,
    ) -> Action {
        let matches: Vec<&Value> = index
            .get(&(self.match_field, fold(&row.key)))
            .cloned()
            .unwrap_or_default();
        if matches.len() > 1 {
            let who: Vec<String> = matches.iter().map(|u| describe(u)).collect();
            return Action::Conflict(format!(
                "{} \"{}\" matches {} records: {}",
                self.match_field,
                row.key,
                matches.len(),
                who.join("; ")
            ));
        }
        let current = matches.first().copied();
        let current_id = current.and_then(|u| u.get("id")).and_then(Value::as_str);
        for f in UNIQUE {
            let Some(v) = text(record, f) else { continue };
            if let Some(others) = index.get(&(f, fold(v))) {
                if let Some(other) = others
                    .iter()
                    .find(|u| u.get("id").and_then(Value::as_str) != current_id)
                {
                    return Action::Conflict(format!(
                        "{f} \"{v}\" already belongs to another record ({}), ignoring case and accents",
                        describe(other)
                    ));
                }
            }
        }
        match (current, current_id) {
            (None, _) => Action::Create(record.clone()),
            (Some(u), Some(id)) => {
                let mut record = record.clone();
                if self.merge.iter().any(|m| m == "tags") {
                    let items = |v: &Value| -> Vec<String> {
                        v.pointer("/tags/tagList")
                            .and_then(Value::as_array)
                            .map(|a| {
                                a.iter()
                                    .filter_map(|t| t.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default()
                    };
                    let (stored, mapped) = (items(u), items(&record));
                    if !mapped.is_empty() {
                        let list = super::merged_list(
                            stored.iter().map(String::as_str),
                            mapped.iter().map(String::as_str),
                        );
                        record["tags"] = serde_json::json!({ "tagList": list });
                    }
                }
                let (merged, changes) = merger.merge(u, &record, &row.clear);
                if changes.is_empty() {
                    Action::Unchanged { id: id.to_string() }
                } else {
                    Action::Update {
                        id: id.to_string(),
                        record: merged,
                        changes,
                        before: u.clone(),
                    }
                }
            }
            (Some(u), None) => {
                Action::Conflict(format!("matching record has no id: {}", describe(u)))
            }
        }
    }
}
