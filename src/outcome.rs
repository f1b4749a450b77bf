//! The per-row result every stage converges on: one [`Outcome`] per input row.

use serde::Serialize;

/// What happened to one input row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Valid (offline check) — would be sent.
    Ok,
    /// Preview: would be created.
    WouldCreate,
    /// Preview: would be updated.
    WouldUpdate,
    /// Created.
    Created,
    /// Updated.
    Updated,
    /// Already identical; nothing sent.
    Unchanged,
    /// Exists and cannot be updated (ILLiad).
    Exists,
    /// Input or validation problem; nothing sent.
    Rejected,
    /// Collides with another record.
    Conflict,
    /// The server refused, or never answered after retries.
    Failed,
    /// Not attempted: the run stopped early.
    Skipped,
    /// Roster sync: in scope but absent from the roster, deactivated (FOLIO) or frozen (Libib).
    Deactivated,
    /// Roster sync preview: would be deactivated or frozen.
    WouldDeactivate,
}

impl OutcomeKind {
    /// The snake_case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            OutcomeKind::Ok => "ok",
            OutcomeKind::WouldCreate => "would_create",
            OutcomeKind::WouldUpdate => "would_update",
            OutcomeKind::Created => "created",
            OutcomeKind::Updated => "updated",
            OutcomeKind::Unchanged => "unchanged",
            OutcomeKind::Exists => "exists",
            OutcomeKind::Rejected => "rejected",
            OutcomeKind::Conflict => "conflict",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Skipped => "skipped",
            OutcomeKind::Deactivated => "deactivated",
            OutcomeKind::WouldDeactivate => "would_deactivate",
        }
    }

    /// Whether this outcome counts as a row failure for the exit code (1).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            OutcomeKind::Rejected
                | OutcomeKind::Conflict
                | OutcomeKind::Failed
                | OutcomeKind::Skipped
        )
    }
}

impl std::fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The result for one input row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Input file (as given).
    pub file: String,
    /// 1-based line or spreadsheet row.
    pub line: u64,
    /// Match-key value.
    pub key: Option<String>,
    /// What happened.
    pub outcome: OutcomeKind,
    /// Why (rejections, conflicts, failures), human-readable.
    pub reason: Option<String>,
    /// Last HTTP status seen for the row's write, if any.
    pub http_status: Option<u16>,
    /// The record's id in the target system.
    pub target_id: Option<String>,
    /// Changed fields as `field: old → new`.
    pub changed_fields: Vec<String>,
    /// Retries spent on the row.
    pub retries: u32,
}

impl Outcome {
    /// An outcome with only the basics filled in.
    pub fn new(file: &str, line: u64, key: Option<String>, outcome: OutcomeKind) -> Outcome {
        Outcome {
            file: file.to_string(),
            line,
            key,
            outcome,
            reason: None,
            http_status: None,
            target_id: None,
            changed_fields: Vec::new(),
            retries: 0,
        }
    }
}
