//! Writer stage: applies planned actions with retries, under the target's shared governor.
//! It is only ever constructed for `--commit` runs.

pub mod folio;
pub mod illiad;
pub mod libib;
pub mod retry;

use crate::outcome::Outcome;
use crate::systems::folio::merge::Change;

/// Fills in what an update will change and on which record, before it is sent.
pub(crate) fn note_update(o: &mut Outcome, id: &str, changes: &[Change]) {
    o.changed_fields = changes.iter().map(ToString::to_string).collect();
    o.target_id = Some(id.to_string());
}
