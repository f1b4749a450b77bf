//! Roster sync: patrons in the mapping's `[scope]` who are absent from the roster.
//!
//! A semester roster is the whole population of its scope, so an in-scope patron whose match key
//! appears on no row has left: `--missing deactivate` sets FOLIO `active = false`,
//! `--missing expire` also sets `expirationDate` to today (never later than it was); Libib patrons
//! are frozen. Before anything is written the share of in-scope patrons that would change is
//! checked against `--max-missing`, so a truncated file cannot deactivate the campus.
//!
//! Each system's scope query is in its folder (`systems/folio/sync.rs`, `systems/libib/sync.rs`),
//! reached through [`crate::systems::connector::TargetSession::missing`].

use serde_json::Value;
use std::collections::HashSet;

/// The file name absent patrons are reported under (their report lines number them 1, 2, …).
pub const ABSENT_FILE: &str = "(absent from roster)";

/// `--max-missing` when not given: 10 % of the in-scope patrons (the CLI's default).
pub const DEFAULT_MAX_MISSING: f64 = 0.10;

/// What happens to in-scope patrons absent from the roster.
/// Serialised (the run's journal) by the same lowercase names as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingPolicy {
    /// Leave them alone (the default).
    #[default]
    Ignore,
    /// Deactivate them (FOLIO `active = false`; Libib freeze).
    Deactivate,
    /// Deactivate them and set their expiration date to today (FOLIO).
    Expire,
}

/// An in-scope patron whose key is on no roster row.
#[derive(Debug, Clone)]
pub struct Absent {
    /// Their match-key value (may be empty when the record has none).
    pub key: String,
    /// Target id (FOLIO UUID, Libib barcode).
    pub id: String,
    /// The record as the target holds it.
    pub record: Value,
}

/// The in-scope population and who of it is absent.
#[derive(Debug, Default)]
pub struct MissingPlan {
    /// In-scope patrons found in the target.
    pub in_scope: usize,
    /// Those absent from the roster, in the target's order.
    pub absent: Vec<Absent>,
    /// The roster's folded match keys the plan was made against (filled by the stage).
    pub roster_keys: HashSet<String>,
}

impl MissingPlan {
    /// The share of the in-scope population that would change (0 when the scope is empty).
    pub fn share(&self) -> f64 {
        if self.in_scope == 0 {
            0.0
        } else {
            self.absent.len() as f64 / self.in_scope as f64
        }
    }

    /// `Err(reason)` when more than `max_share` of the scope would change and `force` is off.
    pub fn check_threshold(&self, max_share: f64, force: bool) -> Result<(), String> {
        if force || self.share() <= max_share {
            return Ok(());
        }
        Err(format!(
            "refusing to deactivate {} of {} in-scope patrons ({:.1}%), more than --max-missing {:.1}%; \
             check that the roster is complete, or pass --force; nothing was written",
            self.absent.len(),
            self.in_scope,
            self.share() * 100.0,
            max_share * 100.0
        ))
    }
}

/// Reads a JSON value at a dotted path (`personal.email`).
pub fn at_path<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(record, |v, k| v.get(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn threshold_refuses_above_share_unless_forced() {
        let plan = MissingPlan {
            in_scope: 100,
            absent: (0..11)
                .map(|i| Absent {
                    key: i.to_string(),
                    id: i.to_string(),
                    record: Value::Null,
                })
                .collect(),
            roster_keys: HashSet::new(),
        };
        let e = plan.check_threshold(0.10, false).unwrap_err();
        assert!(e.contains("11 of 100"), "{e}");
        assert!(plan.check_threshold(0.10, true).is_ok());
        assert!(plan.check_threshold(0.11, false).is_ok());
        assert!(MissingPlan::default().check_threshold(0.0, false).is_ok());
    }

    #[test]
    fn dotted_paths() {
        let r = json!({"personal": {"email": "a@b.c"}});
        assert_eq!(at_path(&r, "personal.email"), Some(&json!("a@b.c")));
        assert_eq!(at_path(&r, "personal.phone"), None);
    }
}
