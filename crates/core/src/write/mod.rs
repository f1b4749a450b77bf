//! Writer stage: applies planned actions with retries, under the target's shared governor.
//! It is only ever constructed for `--commit` runs. Each system's writer is in its folder
//! (`systems/<system>/write.rs`); what they share is here and in [`retry`].

pub mod retry;

use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use crate::plan::{Action, Change};

/// Fills in what an update will change and on which record, before it is sent.
pub(crate) fn note_update(o: &mut Outcome, id: &str, changes: &[Change]) {
    o.changed_fields = with_notes(changes, o);
    o.target_id = Some(id.to_string());
}

/// The changes, then the planner's notes the outcome already carries (see
/// [`crate::plan::Candidate::notes`]).
fn with_notes(changes: &[Change], o: &mut Outcome) -> Vec<String> {
    let notes = std::mem::take(&mut o.changed_fields);
    changes
        .iter()
        .map(ToString::to_string)
        .chain(notes)
        .collect()
}

/// The outcome of an action that sends nothing (or, in preview, would send something).
pub fn preview_outcome(mut o: Outcome, action: Action, preview: bool) -> Outcome {
    let also = |record: &serde_json::Value| {
        crate::plan::also_creates(record)
            .into_iter()
            .map(|w| format!("would_create {w}"))
    };
    match action {
        Action::Create(record) => {
            o.outcome = if preview {
                OutcomeKind::WouldCreate
            } else {
                OutcomeKind::Failed
            };
            o.changed_fields.extend(also(&record));
        }
        Action::Update {
            id,
            changes,
            record,
            ..
        } => {
            o.outcome = if preview {
                OutcomeKind::WouldUpdate
            } else {
                OutcomeKind::Failed
            };
            o.target_id = Some(id);
            let rest = with_notes(&changes, &mut o);
            o.changed_fields = also(&record).chain(rest).collect();
        }
        Action::Unchanged { id } => {
            o.outcome = OutcomeKind::Unchanged;
            o.target_id = Some(id);
        }
        Action::Exists { id, changes } => {
            o.outcome = OutcomeKind::Exists;
            o.target_id = Some(id);
            o.changed_fields = changes.iter().map(ToString::to_string).collect();
            if !changes.is_empty() {
                o.set_reason(
                    ReasonCode::ExistsNoUpdate,
                    "exists; the API cannot update users, differences listed",
                );
            }
        }
        Action::Conflict(r) => {
            o.outcome = OutcomeKind::Conflict;
            o.set_reason(ReasonCode::Conflict, r);
        }
        Action::Reject(r) => {
            o.outcome = OutcomeKind::Rejected;
            o.set_reason(r.code, r.reason);
        }
    }
    o
}
