//! Planning one row's linked records: the fields a row maps merged into the record FOLIO holds,
//! like the user (only mapped fields change, `protect`ed fields once set never change, a blank
//! source clears only with `on_blank = "clear"`), and the changes as people read them.
//!
//! A row that maps none of a kind's fields leaves that record alone: no lookup, no write, and
//! never a delete (MODUIMP-42, "request preference erroneously deleted", is what this avoids).

use super::{Desired, Kind, LinkNames, KINDS};
use crate::plan::Change;
use serde_json::{Map, Value};
use std::collections::HashMap;

fn blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

/// The rules a row's linked records are planned with.
pub struct LinkRules<'a> {
    /// Protected fields (`requestPreference.holdShelf`, …).
    pub protect: &'a [String],
    /// Names for change lists.
    pub names: &'a LinkNames<'a>,
}

/// One kind planned for one row: the record to leave in FOLIO and what changes.
#[derive(Debug, Clone, PartialEq)]
pub struct KindPlan {
    /// The whole record after the write (with the stored `id` when there is one).
    pub after: Value,
    /// What changes (empty: as FOLIO holds it).
    pub changes: Vec<Change>,
}

impl LinkRules<'_> {
    fn change(&self, field: String, old: Option<&Value>, new: Option<&Value>) -> Change {
        Change {
            old: old.map(|v| self.names.readable(&field, v)),
            new: new.map(|v| self.names.readable(&field, v)),
            field,
        }
    }

    /// Plans `kind` for a row: `existing` is `None` for a user the run creates, else the record
    /// FOLIO holds (`Null`: none). `Ok(None)`: the row maps nothing of this kind.
    pub fn plan(
        &self,
        kind: Kind,
        existing: Option<&Value>,
        desired: Option<&Map<String, Value>>,
        clear: &[String],
    ) -> Result<Option<KindPlan>, String> {
        let prefix = format!("{}.", kind.key);
        let clears: Vec<&str> = clear
            .iter()
            .filter_map(|c| c.strip_prefix(prefix.as_str()))
            .collect();
        if desired.is_none() && clears.is_empty() {
            return Ok(None);
        }
        let current = existing.and_then(Value::as_object);
        let Some(current) = current else {
            let Some(want) = desired else {
                // Only blanks, and nothing stored to clear.
                return Ok(None);
            };
            let missing: Vec<&str> = kind
                .required
                .iter()
                .copied()
                .filter(|f| blank(want.get(*f)))
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "{}: a new {} needs {} (mod-circulation-storage ramls/request-preference.json \
                     `required`); map {} or give a default",
                    kind.key,
                    kind.what,
                    missing.join(" and "),
                    missing
                        .iter()
                        .map(|f| format!("{}.{f}", kind.key))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
            }
            let changes = want
                .iter()
                .map(|(k, v)| self.change(format!("{prefix}{k}"), None, Some(v)))
                .collect();
            return Ok(Some(KindPlan {
                after: Value::Object(want.clone()),
                changes,
            }));
        };
        let mut merged = current.clone();
        let mut changes = Vec::new();
        let protected = |field: &str, old: Option<&Value>| {
            !blank(old) && self.protect.iter().any(|p| p == field)
        };
        for (k, v) in desired.into_iter().flatten() {
            let field = format!("{prefix}{k}");
            let old = merged.get(k);
            if old == Some(v) || protected(&field, old) {
                continue;
            }
            changes.push(self.change(field, old, Some(v)));
            merged.insert(k.clone(), v.clone());
        }
        for k in clears {
            let field = format!("{prefix}{k}");
            if blank(merged.get(k)) || protected(&field, merged.get(k)) {
                continue;
            }
            if kind.required.contains(&k) {
                return Err(format!(
                    "{field}: is blank and `on_blank = \"clear\"`, but FOLIO requires it in a {} \
                     (mod-circulation-storage ramls/request-preference.json `required`)",
                    kind.what
                ));
            }
            let old = merged.remove(k);
            changes.push(self.change(field, old.as_ref(), None));
        }
        Ok(Some(KindPlan {
            after: Value::Object(merged),
            changes,
        }))
    }

    /// Plans every kind a row maps; `existing`: per kind, the records looked up by user id
    /// (`None` for a user the run creates). Per kind: `None` when the row maps nothing of it.
    pub fn plan_all(
        &self,
        user_id: Option<&str>,
        existing: &[HashMap<String, Value>; 2],
        desired: &Desired,
        clear: &[String],
    ) -> Result<[Option<(Value, KindPlan)>; 2], String> {
        let mut out: [Option<(Value, KindPlan)>; 2] = [None, None];
        let mut problems = Vec::new();
        for (i, kind) in KINDS.iter().enumerate() {
            let before = user_id.map(|id| existing[i].get(id).cloned().unwrap_or(Value::Null));
            match self.plan(*kind, before.as_ref(), desired.parts[i].as_ref(), clear) {
                Ok(Some(p)) => out[i] = Some((before.unwrap_or(Value::Null), p)),
                Ok(None) => {}
                Err(e) => problems.push(e),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{service_point_names, PREF, SPU};
    use super::*;
    use crate::systems::folio::refdata::Names;
    use serde_json::json;

    fn with<T>(protect: &[String], f: impl FnOnce(&LinkRules<'_>) -> T) -> T {
        let sp = service_point_names(&json!({"servicepoints": [
            {"id": "sp1", "name": "Circ Desk 1", "code": "cd1"},
            {"id": "sp2", "name": "Circ Desk 2", "code": "cd2"}]}));
        let at = Names::new([("Home".to_string(), "a1".to_string())]);
        let names = LinkNames {
            service_points: &sp,
            address_types: &at,
        };
        f(&LinkRules {
            protect,
            names: &names,
        })
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn only_the_mapped_field_changes_and_service_points_read_as_codes() {
        let stored = json!({"id": "p1", "userId": "u1", "holdShelf": true, "delivery": false,
            "defaultServicePointId": "sp1", "fulfillment": "Hold Shelf"});
        let want =
            obj(json!({"delivery": true, "defaultServicePointId": "sp2", "holdShelf": true}));
        let p = with(&[], |r| r.plan(PREF, Some(&stored), Some(&want), &[]))
            .unwrap()
            .unwrap();
        let shown: Vec<String> = p.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "requestPreference.delivery: false → true",
                "requestPreference.defaultServicePointId: \"cd1\" → \"cd2\""
            ]
        );
        assert_eq!(p.after["id"], "p1");
        assert_eq!(p.after["fulfillment"], "Hold Shelf");
        assert_eq!(p.after["defaultServicePointId"], "sp2");
    }

    #[test]
    fn a_row_mapping_nothing_leaves_the_record_alone_and_protect_keeps_a_set_value() {
        let stored = json!({"id": "p1", "userId": "u1", "holdShelf": true, "delivery": false});
        assert_eq!(
            with(&[], |r| r.plan(PREF, Some(&stored), None, &[])),
            Ok(None)
        );
        let protect = vec!["requestPreference.holdShelf".to_string()];
        let want = obj(json!({"holdShelf": false}));
        let p = with(&protect, |r| r.plan(PREF, Some(&stored), Some(&want), &[]))
            .unwrap()
            .unwrap();
        assert!(p.changes.is_empty(), "{:?}", p.changes);
    }

    #[test]
    fn a_new_preference_needs_hold_shelf_and_delivery_and_required_fields_never_clear() {
        let want = obj(json!({"defaultServicePointId": "sp1"}));
        let e = with(&[], |r| r.plan(PREF, Some(&Value::Null), Some(&want), &[])).unwrap_err();
        assert!(e.contains("holdShelf and delivery"), "{e}");
        // service points have no required field besides userId
        let want = obj(json!({"defaultServicePointId": "sp1"}));
        let p = with(&[], |r| r.plan(SPU, None, Some(&want), &[]))
            .unwrap()
            .unwrap();
        assert_eq!(p.after, json!({"defaultServicePointId": "sp1"}));
        let stored =
            json!({"id": "p1", "holdShelf": true, "delivery": false, "fulfillment": "Hold Shelf"});
        let clear = vec![
            "requestPreference.fulfillment".to_string(),
            "personal.email".to_string(),
        ];
        let p = with(&[], |r| r.plan(PREF, Some(&stored), None, &clear))
            .unwrap()
            .unwrap();
        assert_eq!(p.changes.len(), 1);
        assert!(p.after.get("fulfillment").is_none());
        let clear = vec!["requestPreference.holdShelf".to_string()];
        assert!(with(&[], |r| r.plan(PREF, Some(&stored), None, &clear)).is_err());
    }

    #[test]
    fn an_unchanged_user_whose_preference_changes_is_an_update_of_the_preference_alone() {
        use crate::plan::{Action, Candidate};
        use crate::systems::folio::plan::link_action;
        let user = json!({"id": "u1", "username": "a"});
        let stored_pref = json!({"id": "p1", "userId": "u1", "holdShelf": true, "delivery": false});
        let existing = [
            HashMap::from([("u1".to_string(), stored_pref.clone())]),
            HashMap::new(),
        ];
        let stored = HashMap::from([("u1".to_string(), user.clone())]);
        let row = Candidate {
            file: std::sync::Arc::from("r.csv"),
            line: 2,
            key: "a".into(),
            record: json!({}),
            clear: Vec::new(),
            notes: Vec::new(),
        };
        let desired = Desired {
            parts: [Some(obj(json!({"delivery": true}))), None],
        };
        let unchanged = || Action::Unchanged { id: "u1".into() };
        let action = with(&[], |r| {
            link_action(r, unchanged(), &existing, &desired, &row, &stored)
        });
        let Action::Update {
            id,
            record,
            changes,
            before,
        } = action
        else {
            panic!("{action:?}");
        };
        assert_eq!(id, "u1");
        let shown: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["requestPreference.delivery: false → true"]);
        assert_eq!(record["username"], "a");
        assert_eq!(record["requestPreference"]["delivery"], true);
        assert_eq!(record["requestPreference"]["id"], "p1");
        assert_eq!(before["requestPreference"], stored_pref);
        // The same row asking for what is stored: unchanged; a row asking for nothing: as is.
        let same = Desired {
            parts: [Some(obj(json!({"delivery": false}))), None],
        };
        let action = with(&[], |r| {
            link_action(r, unchanged(), &existing, &same, &row, &stored)
        });
        assert!(matches!(action, Action::Unchanged { .. }), "{action:?}");
        let none = Desired::default();
        let action = with(&[], |r| {
            link_action(r, unchanged(), &existing, &none, &row, &stored)
        });
        assert!(matches!(action, Action::Unchanged { .. }), "{action:?}");
        // A user with no preference yet gets one (`null` before-image: undo deletes it).
        let empty = [HashMap::new(), HashMap::new()];
        let action = with(&[], |r| {
            let want = Desired {
                parts: [
                    Some(obj(json!({"holdShelf": true, "delivery": true}))),
                    None,
                ],
            };
            link_action(r, unchanged(), &empty, &want, &row, &stored)
        });
        let Action::Update { before, .. } = action else {
            panic!("{action:?}");
        };
        assert_eq!(before["requestPreference"], Value::Null);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        #[test]
        fn planning_never_panics_and_a_stored_record_asked_for_again_is_unchanged(
            stored in crate::text::arb::json(),
            desired in crate::text::arb::json(),
            clear in proptest::collection::vec(crate::text::arb::text(), 0..3),
        ) {
            let want = obj(desired);
            let _ = with(&[], |r| r.plan(PREF, Some(&stored), Some(&want), &clear));
            if let Some(s) = stored.as_object() {
                let same = with(&[], |r| r.plan(SPU, Some(&stored), Some(s), &[]));
                let p = same.ok().flatten();
                proptest::prop_assert!(p.is_some_and(|p| p.changes.is_empty()));
            }
        }
    }
}
