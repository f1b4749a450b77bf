//! FOLIO planner: batched CQL lookups per chunk of up to 50 rows (match key, username and
//! barcode OR-lists), collision detection ignoring case and accents, then a merge/diff per row.
//! A chunk is split into as few lookups as keep each request line under
//! [`LOOKUP_LINE_BUDGET`] (long e-mail user names make 50 keys too long for FOLIO's 4096-byte
//! limit), and a lookup FOLIO still answers 414 is split in two and retried.

use crate::dedupe::fold;
use crate::mapping::ExpiryRule;
use crate::outcome::ReasonCode;
use crate::plan::{Action, Candidate, Planned, Rejection};
use crate::systems::folio::client::{FolioClient, FolioError, LOOKUP_LINE_BUDGET};
use crate::systems::folio::cql;
use crate::systems::folio::custom::CustomFields;
use crate::systems::folio::linked::{self, merge::LinkRules, Desired, LinkNames, KINDS};
use crate::systems::folio::merge::Merger;
use crate::systems::folio::refdata::{Names, RefData};
use serde_json::Value;
use std::collections::HashMap;

/// Rows per lookup query: the chunk a stage hands the planner.
pub const BATCH: usize = crate::plan::CHUNK;

/// Fields that must not collide with another record.
const UNIQUE: [&str; 3] = ["externalSystemId", "username", "barcode"];

/// Where [`FolioPlanner::lookup`] puts what it learns.
struct Lookup<'a> {
    /// Users FOLIO returned.
    found: &'a mut Vec<Value>,
    /// Rows whose lookup alone is answered 414.
    too_long: &'a mut Vec<Candidate>,
    /// Rows looked up.
    done: &'a mut Vec<(Candidate, Value)>,
}

/// What the planner needs besides the rows.
pub struct FolioPlanner<'a> {
    /// Logged-in client.
    pub client: &'a FolioClient,
    /// Reference data.
    pub refdata: &'a RefData,
    /// The tenant's user custom fields (empty when the rows map none).
    pub custom: &'a CustomFields,
    /// The mapping's match field.
    pub match_field: &'a str,
    /// Protected fields.
    pub protect: &'a [String],
    /// List fields merged on update (only `tags` applies).
    pub merge: &'a [String],
    /// Service points (code or name ↔ id), for the linked records.
    pub service_points: &'a Names,
    /// Fields whose unknown names are created (`create_missing`: only `departments`).
    pub create_missing: &'a [String],
    /// The mapping's expiry rules.
    pub expiry: ExpiryRule,
    /// The mapping, so reasons name their field's source column (`None` in unit tests).
    pub mapping: Option<&'a crate::mapping::Mapping>,
    /// The day `group_offset` counts from (the session's: once per run, not per chunk).
    pub today: chrono::NaiveDate,
}

/// A row's place in its chunk, to find its linked parts again after the lookups.
type RowKey = (std::sync::Arc<str>, u64);

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

    /// Splits rows into groups, in order, each as large as keeps its lookup's request line
    /// within [`LOOKUP_LINE_BUDGET`] (a row too long on its own is a group of one).
    fn line_groups(&self, rows: Vec<(Candidate, Value)>) -> Vec<Vec<(Candidate, Value)>> {
        longest_prefixes(rows, |g| {
            self.lookup_query(g)
                .is_none_or(|q| self.client.lookup_line_len(&q) <= LOOKUP_LINE_BUDGET)
        })
    }

    /// Looks one group up; a 414 (the server's request-line limit is lower than the budget)
    /// splits the group in two and looks up each half, down to single rows.
    fn lookup<'s>(
        &'s self,
        group: Vec<(Candidate, Value)>,
        out: &'s mut Lookup<'_>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), FolioError>> + Send + 's>>
    {
        Box::pin(async move {
            let Some(q) = self.lookup_query(&group) else {
                out.done.extend(group);
                return Ok(());
            };
            match self.client.find_users(&q, group.len() * 3).await {
                Ok(users) => {
                    out.found.extend(users);
                    out.done.extend(group);
                    Ok(())
                }
                Err(FolioError::Unexpected { status: 414, .. }) if group.len() > 1 => {
                    tracing::info!(
                        "FOLIO answered 414 to a lookup of {} rows; splitting it",
                        group.len()
                    );
                    let mut first = group;
                    let second = first.split_off(first.len() / 2);
                    self.lookup(first, out).await?;
                    self.lookup(second, out).await
                }
                Err(FolioError::Unexpected { status: 414, .. }) => {
                    out.too_long.extend(group.into_iter().map(|(row, _)| row));
                    Ok(())
                }
                Err(e) => Err(e),
            }
        })
    }

    /// Plans one chunk (at most [`BATCH`] rows) with as few lookups as fit FOLIO's request line.
    pub async fn plan(&self, chunk: Vec<Candidate>) -> Result<Vec<Planned>, FolioError> {
        let mut out = Vec::with_capacity(chunk.len());
        let mut ready = Vec::with_capacity(chunk.len());
        let mut wants: HashMap<RowKey, Desired> = HashMap::new();
        let mut creates: HashMap<RowKey, Vec<String>> = HashMap::new();
        for mut row in chunk {
            let mut record = row.record.clone();
            let mut desired = linked::take(&mut record);
            let (held, new_departments) = self.new_departments(&mut record);
            let mut problems: Vec<Rejection> = Rejection::each(
                ReasonCode::UnknownReference,
                self.refdata.resolve(&mut record),
            )
            .collect();
            if let (Some(d), Some(o)) = (held, record.as_object_mut()) {
                o.insert("departments".into(), d);
            }
            if !new_departments.is_empty() {
                creates.insert((row.file.clone(), row.line), new_departments);
            }
            let noted = row.notes.len();
            problems.extend(self.custom.resolve_noting(&mut record, &mut row.notes));
            problems.extend(Rejection::each(
                ReasonCode::UnknownReference,
                self.link_names().resolve(&mut desired),
            ));
            if !desired.is_empty() {
                wants.insert((row.file.clone(), row.line), desired);
            }
            // A custom field cleared by display name is cleared by its refId.
            for f in &mut row.clear {
                *f = self.custom.ref_path(f);
            }
            if let Some(m) = self.mapping {
                for p in &mut problems {
                    p.reason = m.name_column(&p.reason);
                }
            }
            match Rejection::all(&problems) {
                None => ready.push((row, record)),
                Some(why) => {
                    // A rejected row sends nothing: how its labels were read does not matter.
                    row.notes.truncate(noted);
                    out.push(Planned {
                        row,
                        action: Action::Reject(why),
                    });
                }
            }
        }
        let mut existing = Vec::new();
        let mut too_long = Vec::new();
        let mut looked_up = Vec::with_capacity(ready.len());
        for group in self.line_groups(ready) {
            let mut lookup = Lookup {
                found: &mut existing,
                too_long: &mut too_long,
                done: &mut looked_up,
            };
            self.lookup(group, &mut lookup).await?;
        }
        let ready = looked_up;
        for row in too_long {
            out.push(Planned {
                row,
                action: Action::Reject(Rejection::new(
                    ReasonCode::TooLong,
                    "FOLIO answered 414 (request line too long) to the lookup of this row alone: \
                     its username, barcode or match key is too long",
                )),
            });
        }
        let touches_links = !wants.is_empty()
            || ready
                .iter()
                .any(|(r, _)| r.clear.iter().any(|c| linked::is_linked(c)));
        let stored: HashMap<String, Value> = if touches_links {
            existing
                .iter()
                .filter_map(|u| Some((u.get("id")?.as_str()?.to_string(), u.clone())))
                .collect()
        } else {
            HashMap::new()
        };
        // A custom field protected by display name is protected by its refId.
        let protect: Vec<String> = self
            .protect
            .iter()
            .map(|p| self.custom.ref_path(p))
            .collect();
        let mut decided = Decider {
            protect: &protect,
            ..self.decider()
        }
        .decide(existing, ready);
        for p in &mut decided {
            if let Action::Update { changes, .. } = &mut p.action {
                changes
                    .iter_mut()
                    .for_each(|c| self.custom.readable_change(c));
            }
        }
        if touches_links {
            out.extend(self.link(decided, wants, &stored).await?);
        } else {
            out.extend(decided);
        }
        if !creates.is_empty() {
            for p in out.iter_mut() {
                let Some(names) = creates.remove(&(p.row.file.clone(), p.row.line)) else {
                    continue;
                };
                if let Action::Create(record) | Action::Update { record, .. } = &mut p.action {
                    let list: Vec<Value> = names
                        .into_iter()
                        .map(|n| serde_json::json!({"what": "department", "name": n}))
                        .collect();
                    if let Some(o) = record.as_object_mut() {
                        o.insert(crate::plan::ALSO_CREATES.into(), Value::Array(list));
                    }
                }
            }
        }
        out.sort_by_key(|p| p.row.line);
        Ok(out)
    }

    /// With `create_missing` on `departments`: the known names become ids, the unknown ones
    /// stay names and are returned (each once, as written first) to be created by the writer;
    /// the list is taken out of the record (so resolving it reports nothing) and returned.
    fn new_departments(&self, record: &mut Value) -> (Option<Value>, Vec<String>) {
        if !self.create_missing.iter().any(|f| f == "departments") {
            return (None, Vec::new());
        }
        let mut new: Vec<String> = Vec::new();
        if let Some(Value::Array(ds)) = record.get_mut("departments") {
            for d in ds.iter_mut() {
                let Some(name) = d.as_str().map(|n| n.trim().to_string()) else {
                    continue;
                };
                match self.refdata.departments.id(&name) {
                    Some(id) => *d = Value::String(id.to_string()),
                    None => {
                        if !new.iter().any(|n| n.to_lowercase() == name.to_lowercase()) {
                            new.push(name.clone());
                        }
                        *d = Value::String(name);
                    }
                }
            }
        }
        let held = record.as_object_mut().and_then(|o| o.remove("departments"));
        (held, new)
    }

    /// Names the linked fields use.
    fn link_names(&self) -> LinkNames<'_> {
        LinkNames {
            service_points: self.service_points,
            address_types: &self.refdata.address_types,
        }
    }

    /// Adds each row's linked records to its action: the records of the users found are looked
    /// up in one `userId==(…)` batch per kind (only for kinds some row maps), then merged
    /// ([`LinkRules`]); a create carries its linked parts, an update or an unchanged user
    /// becomes an update of the composite when a linked record changes.
    async fn link(
        &self,
        decided: Vec<Planned>,
        mut wants: HashMap<RowKey, Desired>,
        stored: &HashMap<String, Value>,
    ) -> Result<Vec<Planned>, FolioError> {
        let touches = |p: &Planned, wants: &HashMap<RowKey, Desired>, i: usize| {
            wants
                .get(&(p.row.file.clone(), p.row.line))
                .is_some_and(|d| d.parts[i].is_some())
                || p.row
                    .clear
                    .iter()
                    .any(|c| linked::kind_of(c) == Some(KINDS[i]))
        };
        let mut existing: [HashMap<String, Value>; 2] = [HashMap::new(), HashMap::new()];
        for (i, kind) in KINDS.iter().enumerate() {
            let ids: Vec<&str> = decided
                .iter()
                .filter(|p| touches(p, &wants, i))
                .filter_map(|p| match &p.action {
                    Action::Update { id, .. } | Action::Unchanged { id } => Some(id.as_str()),
                    _ => None,
                })
                .collect();
            if !ids.is_empty() {
                existing[i] = linked::lookup(self.client, *kind, &ids).await?;
            }
        }
        let names = self.link_names();
        let rules = LinkRules {
            protect: self.protect,
            names: &names,
        };
        Ok(decided
            .into_iter()
            .map(|p| {
                let desired = wants
                    .remove(&(p.row.file.clone(), p.row.line))
                    .unwrap_or_default();
                let action = link_action(&rules, p.action, &existing, &desired, &p.row, stored);
                Planned { row: p.row, action }
            })
            .collect())
    }

    /// The decision rules of this planner, without its client.
    pub fn decider(&self) -> Decider<'_> {
        Decider {
            match_field: self.match_field,
            protect: self.protect,
            merge: self.merge,
            refdata: self.refdata,
            expiry: self.expiry,
            today: self.today,
            group_column: self.mapping.and_then(|m| m.column_of("patronGroup")),
        }
    }
}

/// One row's action with its linked records (see [`FolioPlanner::link`]).
pub(crate) fn link_action(
    rules: &LinkRules<'_>,
    action: Action,
    existing: &[HashMap<String, Value>; 2],
    desired: &Desired,
    row: &Candidate,
    stored: &HashMap<String, Value>,
) -> Action {
    if desired.is_empty() && !row.clear.iter().any(|c| linked::is_linked(c)) {
        return action;
    }
    let (id, mut record, mut changes, mut before) = match action {
        Action::Create(mut record) => {
            return match rules.plan_all(None, existing, desired, &row.clear) {
                Err(e) => Action::Reject(linked_rejection(e)),
                Ok(plans) => {
                    for (kind, plan) in KINDS.iter().zip(plans) {
                        if let (Some((_, p)), Some(o)) = (plan, record.as_object_mut()) {
                            o.insert(kind.key.to_string(), p.after);
                        }
                    }
                    Action::Create(record)
                }
            };
        }
        Action::Update {
            id,
            record,
            changes,
            before,
        } => (id, record, changes, before),
        Action::Unchanged { id } => match stored.get(&id) {
            Some(u) => (id, u.clone(), Vec::new(), u.clone()),
            None => return Action::Unchanged { id },
        },
        other => return other,
    };
    match rules.plan_all(Some(&id), existing, desired, &row.clear) {
        Err(e) => Action::Reject(linked_rejection(e)),
        Ok(plans) => {
            for (kind, plan) in KINDS.iter().zip(plans) {
                let Some((was, p)) = plan else { continue };
                if let (Some(r), Some(b)) = (record.as_object_mut(), before.as_object_mut()) {
                    r.insert(kind.key.to_string(), p.after);
                    b.insert(kind.key.to_string(), was);
                }
                changes.extend(p.changes);
            }
            if changes.is_empty() {
                Action::Unchanged { id }
            } else {
                Action::Update {
                    id,
                    record,
                    changes,
                    before,
                }
            }
        }
    }
}

/// Why `group_offset` cannot date a row of patron group `name`.
pub fn no_offset_reason(name: &str, column: Option<&str>) -> Rejection {
    // The row's group names the column it came from, as the mapping stage's reasons do.
    let column = column
        .map(|c| format!(" (patron group from column \"{c}\")"))
        .unwrap_or_default();
    Rejection::new(
        ReasonCode::NoGroupOffset,
        format!(
            "expirationDate from group_offset{column}: patron group \"{name}\" has no \
             expirationOffsetInDays in FOLIO (set one in Settings > Users > Patron groups, or map \
             expirationDate from a column)"
        ),
    )
}

/// A linked record's refusal (`LinkRules::plan_all`): each is a field FOLIO requires in it
/// that the row leaves blank or unmapped (`linked/merge.rs`).
fn linked_rejection(reason: String) -> Rejection {
    Rejection::new(ReasonCode::RequiredBlank, reason)
}

/// The FOLIO planner's decision, with no client: the users a lookup found and the rows (each
/// with its record, names already resolved to ids) → one [`Action`] per row. Pure, so every
/// rule (create, update with its changes, unchanged, protected fields, conflicts) is testable
/// without HTTP.
pub struct Decider<'a> {
    /// The mapping's match field.
    pub match_field: &'a str,
    /// Protected fields.
    pub protect: &'a [String],
    /// List fields merged on update (only `tags` applies).
    pub merge: &'a [String],
    /// Reference data (the merge compares names and ids; groups' expiry offsets).
    pub refdata: &'a RefData,
    /// The mapping's expiry rules.
    pub expiry: ExpiryRule,
    /// The day `group_offset` counts from.
    pub today: chrono::NaiveDate,
    /// The column the mapping reads `patronGroup` from, for `group_offset`'s reasons.
    pub group_column: Option<&'a str>,
}

impl Decider<'_> {
    /// The expiry rules on one row's record: `group_offset` sets `expirationDate` to today plus
    /// the patron group's `expirationOffsetInDays` (the row's group, else the stored user's);
    /// `extend_only` keeps a stored expiry later than the row's (the record then carries none,
    /// so the merge leaves it) and notes it on the row. `Err`: why the row cannot be planned.
    fn apply_expiry(
        &self,
        record: &mut Value,
        current: Option<&Value>,
        row: &mut Candidate,
    ) -> Result<(), Rejection> {
        if self.expiry.group_offset {
            // The row's group names its column; a stored user's names none.
            let (group, column) = match text(record, "patronGroup") {
                Some(g) => (Some(g.to_string()), self.group_column),
                None => (
                    current
                        .and_then(|u| text(u, "patronGroup"))
                        .map(str::to_string),
                    None,
                ),
            };
            let Some(group) = group else {
                return Err(Rejection::new(
                    ReasonCode::NoGroupOffset,
                    "expirationDate from group_offset: the row has no patron group (map \
                     patronGroup) and no stored user gives one",
                ));
            };
            let name = self
                .refdata
                .groups
                .name(&group)
                .unwrap_or(&group)
                .to_string();
            let days = self.refdata.group_offsets.get(&group).copied();
            let date = days.and_then(|d| {
                self.today
                    .checked_add_signed(chrono::TimeDelta::try_days(d)?)
            });
            let Some(date) = date else {
                return Err(no_offset_reason(&name, column));
            };
            if let Some(obj) = record.as_object_mut() {
                obj.insert(
                    "expirationDate".into(),
                    Value::String(date.format("%Y-%m-%d").to_string()),
                );
            }
        }
        if !self.expiry.extend_only {
            return Ok(());
        }
        let day = |v: Option<&Value>| -> Option<(chrono::NaiveDate, String)> {
            let s = v?.as_str()?;
            let (date, _) = crate::text::iso_date_prefix(s)?;
            Some((
                chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?,
                date.to_string(),
            ))
        };
        let stored = day(current.and_then(|u| u.get("expirationDate")));
        let wanted = day(record.get("expirationDate"));
        if let (Some((stored, shown_stored)), Some((wanted, shown_wanted))) = (stored, wanted) {
            if stored > wanted {
                if let Some(obj) = record.as_object_mut() {
                    obj.remove("expirationDate");
                }
                row.clear.retain(|f| f != "expirationDate");
                row.notes.push(format!(
                    "expirationDate: kept later expiry {shown_stored} (the row gives {shown_wanted}; \
                     extend_only)"
                ));
            }
        }
        Ok(())
    }

    /// Decides every row against `existing` (the users the lookups returned, in any order,
    /// possibly repeated); planned rows in the order given.
    pub fn decide(&self, mut existing: Vec<Value>, ready: Vec<(Candidate, Value)>) -> Vec<Planned> {
        // Rows looked up in different groups may hit the same record.
        let mut seen = std::collections::HashSet::new();
        existing.retain(|u: &Value| {
            u.get("id")
                .and_then(Value::as_str)
                .is_none_or(|id| seen.insert(id.to_string()))
        });
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
        ready
            .into_iter()
            .map(|(mut row, record)| {
                let action = self.decide_one(&index, &merger, &mut row, &record);
                Planned { row, action }
            })
            .collect()
    }

    fn decide_one(
        &self,
        index: &HashMap<(&str, String), Vec<&Value>>,
        merger: &Merger<'_>,
        row: &mut Candidate,
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
        let mut record = record.clone();
        if let Err(why) = self.apply_expiry(&mut record, current, row) {
            return Action::Reject(why);
        }
        match (current, current_id) {
            (None, _) => Action::Create(record),
            (Some(u), Some(id)) => {
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
                        let list = crate::plan::merged_list(
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

/// Cuts `rows` into groups, in order, each the longest prefix of the rows left for which `fits`
/// holds (a row that does not fit alone is a group of one). `fits` must be monotone — a prefix
/// that fits stays fitting when shortened; a lookup is, since a row only adds values to it — so
/// the longest prefix is found by bisection: O(log n) calls per group, where growing the group
/// row by row called it once per row (building and encoding the whole query each time: 8 % of
/// an import's CPU under `perf`, 10,000 rows). The groups are those of the row-by-row way.
pub(crate) fn longest_prefixes<T>(rows: Vec<T>, fits: impl Fn(&[T]) -> bool) -> Vec<Vec<T>> {
    let mut groups = Vec::new();
    let mut rest = rows;
    while !rest.is_empty() {
        let n = if fits(&rest) {
            rest.len()
        } else {
            // `lo` rows fit (or are one row); `hi` rows do not.
            let (mut lo, mut hi) = (1, rest.len());
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if rest.get(..mid).is_some_and(&fits) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        let tail = rest.split_off(n);
        groups.push(rest);
        rest = tail;
    }
    groups
}

#[cfg(test)]
mod tests {
    //! The planner's decision without HTTP: lookups (the users FOLIO returned) → one action per
    //! row.
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn row(line: u64, key: &str, record: Value) -> (Candidate, Value) {
        let c = Candidate {
            file: Arc::from("roster.csv"),
            line,
            key: key.to_string(),
            record: record.clone(),
            clear: Vec::new(),
            notes: Vec::new(),
        };
        (c, record)
    }

    fn decide(
        protect: &[String],
        existing: Vec<Value>,
        rows: Vec<(Candidate, Value)>,
    ) -> Vec<Action> {
        let refdata = RefData::default();
        let merge: Vec<String> = Vec::new();
        Decider {
            match_field: "externalSystemId",
            protect,
            merge: &merge,
            refdata: &refdata,
            expiry: ExpiryRule::default(),
            today: chrono::NaiveDate::default(),
            group_column: None,
        }
        .decide(existing, rows)
        .into_iter()
        .map(|p| p.action)
        .collect()
    }

    fn stored() -> Value {
        json!({"id": "u-1", "externalSystemId": "S1", "username": "ann", "barcode": "b1",
            "active": true, "personal": {"lastName": "Lee", "email": "ann@x.edu"}})
    }

    #[test]
    fn a_key_no_one_holds_is_created_as_mapped() {
        let rec = json!({"externalSystemId": "S9", "username": "zed",
            "personal": {"lastName": "Zed"}});
        let actions = decide(&[], vec![stored()], vec![row(2, "S9", rec.clone())]);
        assert!(
            matches!(&actions[..], [Action::Create(r)] if *r == rec),
            "{actions:?}"
        );
    }

    #[test]
    fn a_changed_field_is_an_update_of_the_whole_record_listing_the_change() {
        let rec = json!({"externalSystemId": "S1", "personal": {"lastName": "Lee-Smith"}});
        let actions = decide(&[], vec![stored()], vec![row(2, "s1", rec)]);
        let [Action::Update {
            id,
            record,
            changes,
            before,
        }] = &actions[..]
        else {
            panic!("{actions:?}");
        };
        assert_eq!(id, "u-1");
        assert_eq!(*before, stored());
        assert_eq!(record["personal"]["lastName"], "Lee-Smith");
        // The PUT carries the whole record: fields the row does not map are kept.
        assert_eq!(record["barcode"], "b1");
        assert_eq!(record["personal"]["email"], "ann@x.edu");
        let shown: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["personal.lastName: \"Lee\" → \"Lee-Smith\""]);
    }

    #[test]
    fn a_row_equal_to_the_stored_record_is_unchanged() {
        let rec = json!({"externalSystemId": "S1", "username": "ann",
            "personal": {"lastName": "Lee"}});
        let actions = decide(&[], vec![stored()], vec![row(2, "S1", rec)]);
        assert!(
            matches!(&actions[..], [Action::Unchanged { id }] if id == "u-1"),
            "{actions:?}"
        );
    }

    #[test]
    fn a_protected_field_that_holds_a_value_is_never_changed() {
        let protect = vec!["personal.email".to_string()];
        let rec = json!({"externalSystemId": "S1", "personal": {"email": "new@x.edu"}});
        let actions = decide(&protect, vec![stored()], vec![row(2, "S1", rec.clone())]);
        assert!(
            matches!(&actions[..], [Action::Unchanged { id }] if id == "u-1"),
            "{actions:?}"
        );
        // Without the protection the same row is an update of the e-mail.
        let actions = decide(&[], vec![stored()], vec![row(2, "S1", rec)]);
        assert!(
            matches!(&actions[..], [Action::Update { changes, .. }]
                if changes.len() == 1 && changes[0].field == "personal.email"),
            "{actions:?}"
        );
    }

    #[test]
    fn a_unique_field_held_by_another_record_is_a_conflict_ignoring_case_and_accents() {
        // A new patron whose user name is ann's (in another case and with an accent).
        let rec = json!({"externalSystemId": "S9", "username": "ÁNN"});
        let actions = decide(&[], vec![stored()], vec![row(2, "S9", rec)]);
        let [Action::Conflict(why)] = &actions[..] else {
            panic!("{actions:?}");
        };
        assert!(
            why.contains("username \"ÁNN\" already belongs to another record"),
            "{why}"
        );
        assert!(why.contains("id u-1"), "{why}");
    }

    #[test]
    fn a_key_two_records_hold_is_a_conflict_naming_both() {
        let twin = json!({"id": "u-2", "externalSystemId": "s1", "username": "ann2"});
        let rec = json!({"externalSystemId": "S1"});
        let actions = decide(&[], vec![stored(), twin], vec![row(2, "S1", rec)]);
        let [Action::Conflict(why)] = &actions[..] else {
            panic!("{actions:?}");
        };
        assert!(why.contains("matches 2 records"), "{why}");
        assert!(why.contains("id u-1") && why.contains("id u-2"), "{why}");
    }

    fn decide_expiry(
        expiry: ExpiryRule,
        existing: Vec<Value>,
        rows: Vec<(Candidate, Value)>,
    ) -> Vec<Planned> {
        let mut refdata = RefData {
            groups: crate::systems::folio::refdata::Names::new([
                ("undergrad".into(), "g-ug".into()),
                ("visitor".into(), "g-v".into()),
            ]),
            ..RefData::default()
        };
        refdata.group_offsets.insert("g-ug".into(), 365);
        let merge: Vec<String> = Vec::new();
        Decider {
            match_field: "externalSystemId",
            protect: &[],
            merge: &merge,
            refdata: &refdata,
            expiry,
            today: chrono::NaiveDate::from_ymd_opt(2026, 12, 2).expect("date"),
            group_column: None,
        }
        .decide(existing, rows)
    }

    #[test]
    fn group_offset_sets_the_expiry_from_the_groups_offset_or_rejects_naming_the_group() {
        let rule = ExpiryRule {
            group_offset: true,
            extend_only: false,
        };
        let rec = json!({"externalSystemId": "S9", "patronGroup": "g-ug",
            "personal": {"lastName": "Zed"}});
        let p = decide_expiry(rule, vec![], vec![row(2, "S9", rec)]);
        assert!(
            matches!(&p[0].action, Action::Create(r) if r["expirationDate"] == "2027-12-02"),
            "{:?}",
            p[0].action
        );
        // An update without a mapped group uses the stored user's.
        let mut stored = stored();
        stored["patronGroup"] = json!("g-ug");
        stored["expirationDate"] = json!("2027-01-01T00:00:00.000+00:00");
        let rec = json!({"externalSystemId": "S1"});
        let p = decide_expiry(rule, vec![stored], vec![row(2, "S1", rec)]);
        let Action::Update { changes, .. } = &p[0].action else {
            panic!("{:?}", p[0].action);
        };
        assert_eq!(changes[0].field, "expirationDate");
        assert_eq!(changes[0].new, Some(json!("2027-12-02")));
        // A group without an offset: rejected, naming the group.
        let rec = json!({"externalSystemId": "S9", "patronGroup": "g-v"});
        let p = decide_expiry(rule, vec![], vec![row(2, "S9", rec)]);
        assert!(
            matches!(&p[0].action, Action::Reject(w) if w.reason.contains("\"visitor\" has no expirationOffsetInDays")
                && w.code == ReasonCode::NoGroupOffset),
            "{:?}",
            p[0].action
        );
    }

    #[test]
    fn extend_only_keeps_a_later_stored_expiry_and_says_so() {
        let rule = ExpiryRule {
            group_offset: false,
            extend_only: true,
        };
        let mut later = stored();
        later["expirationDate"] = json!("2028-06-30T00:00:00.000+00:00");
        let rec = json!({"externalSystemId": "S1", "expirationDate": "2027-05-31",
            "personal": {"lastName": "Lee"}});
        let p = decide_expiry(rule, vec![later.clone()], vec![row(2, "S1", rec.clone())]);
        assert!(
            matches!(&p[0].action, Action::Unchanged { .. }),
            "{:?}",
            p[0].action
        );
        assert_eq!(
            p[0].row.notes,
            ["expirationDate: kept later expiry 2028-06-30 (the row gives 2027-05-31; extend_only)"]
        );
        // Without the rule the same row moves the expiry earlier.
        let p = decide_expiry(ExpiryRule::default(), vec![later], vec![row(2, "S1", rec)]);
        assert!(
            matches!(&p[0].action, Action::Update { changes, .. } if changes[0].field == "expirationDate"),
            "{:?}",
            p[0].action
        );
        // A later expiry in the row extends.
        let mut earlier = stored();
        earlier["expirationDate"] = json!("2026-12-31");
        let rec = json!({"externalSystemId": "S1", "expirationDate": "2027-05-31"});
        let p = decide_expiry(rule, vec![earlier], vec![row(2, "S1", rec)]);
        assert!(
            matches!(&p[0].action, Action::Update { changes, .. } if changes[0].new == Some(json!("2027-05-31"))),
            "{:?}",
            p[0].action
        );
        assert!(p[0].row.notes.is_empty());
    }

    #[test]
    fn a_user_returned_by_two_lookups_counts_once() {
        let rec = json!({"externalSystemId": "S1", "personal": {"lastName": "Lee"}});
        let actions = decide(&[], vec![stored(), stored()], vec![row(2, "S1", rec)]);
        assert!(
            matches!(&actions[..], [Action::Unchanged { .. }]),
            "{actions:?}"
        );
    }

    /// The row-by-row grouping `longest_prefixes` replaced: add a row; if the group no longer
    /// fits and holds more than it, close the group without it.
    fn grown_row_by_row(rows: &[usize], budget: usize) -> Vec<Vec<usize>> {
        let mut groups = Vec::new();
        let mut current: Vec<usize> = Vec::new();
        for &r in rows {
            current.push(r);
            if current.iter().sum::<usize>() > budget && current.len() > 1 {
                current.pop();
                groups.push(std::mem::replace(&mut current, vec![r]));
            }
        }
        if !current.is_empty() {
            groups.push(current);
        }
        groups
    }

    proptest::proptest! {
        /// Bisection gives exactly the groups of growing them row by row, for any row lengths
        /// (rows longer than the budget included) and budget.
        #[test]
        fn longest_prefixes_groups_as_growing_row_by_row(
            rows in proptest::collection::vec(0usize..400, 0..120),
            budget in 1usize..1500,
        ) {
            let got = longest_prefixes(rows.clone(), |g: &[usize]| g.iter().sum::<usize>() <= budget);
            proptest::prop_assert_eq!(got, grown_row_by_row(&rows, budget));
        }
    }
}
