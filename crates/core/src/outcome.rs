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

/// A stable code for why a row did not go through (or what a note on it means), so reports group
/// reasons by it and never rewrite the human-readable message. The names are listed in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// A required field is blank.
    RequiredBlank,
    /// The match key is blank.
    MatchKeyBlank,
    /// An e-mail address is not valid.
    BadEmail,
    /// A value is not one the field or the mapping's `map` table accepts.
    UnknownValue,
    /// A value is longer than the system stores.
    TooLong,
    /// A date cannot be read or is out of range.
    BadDate,
    /// A value has the wrong type for its field (text, true/false, number, list).
    WrongType,
    /// A field the system does not have.
    UnknownField,
    /// A cell a transform or type conversion cannot read exactly.
    BadValue,
    /// An id-like cell a spreadsheet turned into scientific notation.
    ScientificNotation,
    /// Another row of the input has the same match key.
    DuplicateKey,
    /// Another row of the input has the same value in a field that must be unique.
    DuplicateValue,
    /// A row the reader cannot read as it is (cells not matching the header, a cell it cannot
    /// read exactly).
    MalformedRow,
    /// Any other rule of the system's record shape.
    InvalidRecord,
    /// A name (patron group, address type, …) the target does not know.
    UnknownReference,
    /// `expirationDate` from the mapping's `group_offset`, and the row's patron group has no
    /// expiry offset in the target (or the row has no group to take one from).
    NoGroupOffset,
    /// The target refused the write.
    ServerRejected,
    /// The target never answered usefully, after retries.
    GaveUp,
    /// The row collides with another record in the target.
    Conflict,
    /// The record exists and the API cannot update it (ILLiad).
    ExistsNoUpdate,
    /// Not attempted: the run stopped after too many failures (`--max-errors`).
    MaxErrors,
    /// Not attempted (or not written): the run was interrupted.
    Interrupted,
    /// Not attempted (or not written): the target stopped answering mid-run.
    TargetUnreachable,
    /// A write from an interrupted run, confirmed by looking the record up.
    ConfirmedByLookup,
    /// Created, but the target did not say which id it gave the record.
    IdNotReturned,
    /// In scope but absent from the roster (`--missing`).
    AbsentFromRoster,
    /// An undo could not delete or restore the record (the message says why).
    UndoFailed,
    /// Export: no record has this id, or several have it.
    NotFound,
    /// Written, but a record linked to it was refused (FOLIO: the user was created or updated,
    /// its request preference or service points were not): the row keeps its outcome (undo and
    /// resume see the write) and counts as failed ([`Outcome::is_failure`]).
    LinkedFailed,
}

impl ReasonCode {
    /// Every code, in the README's order.
    pub const ALL: &'static [ReasonCode] = &[
        ReasonCode::RequiredBlank,
        ReasonCode::MatchKeyBlank,
        ReasonCode::BadEmail,
        ReasonCode::UnknownValue,
        ReasonCode::TooLong,
        ReasonCode::BadDate,
        ReasonCode::WrongType,
        ReasonCode::UnknownField,
        ReasonCode::BadValue,
        ReasonCode::ScientificNotation,
        ReasonCode::DuplicateKey,
        ReasonCode::DuplicateValue,
        ReasonCode::MalformedRow,
        ReasonCode::InvalidRecord,
        ReasonCode::UnknownReference,
        ReasonCode::NoGroupOffset,
        ReasonCode::ServerRejected,
        ReasonCode::GaveUp,
        ReasonCode::Conflict,
        ReasonCode::ExistsNoUpdate,
        ReasonCode::MaxErrors,
        ReasonCode::Interrupted,
        ReasonCode::TargetUnreachable,
        ReasonCode::ConfirmedByLookup,
        ReasonCode::IdNotReturned,
        ReasonCode::AbsentFromRoster,
        ReasonCode::UndoFailed,
        ReasonCode::NotFound,
        ReasonCode::LinkedFailed,
    ];

    /// The snake_case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            ReasonCode::RequiredBlank => "required_blank",
            ReasonCode::MatchKeyBlank => "match_key_blank",
            ReasonCode::BadEmail => "bad_email",
            ReasonCode::UnknownValue => "unknown_value",
            ReasonCode::TooLong => "too_long",
            ReasonCode::BadDate => "bad_date",
            ReasonCode::WrongType => "wrong_type",
            ReasonCode::UnknownField => "unknown_field",
            ReasonCode::BadValue => "bad_value",
            ReasonCode::ScientificNotation => "scientific_notation",
            ReasonCode::DuplicateKey => "duplicate_key",
            ReasonCode::DuplicateValue => "duplicate_value",
            ReasonCode::MalformedRow => "malformed_row",
            ReasonCode::InvalidRecord => "invalid_record",
            ReasonCode::UnknownReference => "unknown_reference",
            ReasonCode::NoGroupOffset => "no_group_offset",
            ReasonCode::ServerRejected => "server_rejected",
            ReasonCode::GaveUp => "gave_up",
            ReasonCode::Conflict => "conflict",
            ReasonCode::ExistsNoUpdate => "exists_no_update",
            ReasonCode::MaxErrors => "max_errors",
            ReasonCode::Interrupted => "interrupted",
            ReasonCode::TargetUnreachable => "target_unreachable",
            ReasonCode::ConfirmedByLookup => "confirmed_by_lookup",
            ReasonCode::IdNotReturned => "id_not_returned",
            ReasonCode::AbsentFromRoster => "absent_from_roster",
            ReasonCode::UndoFailed => "undo_failed",
            ReasonCode::NotFound => "not_found",
            ReasonCode::LinkedFailed => "linked_failed",
        }
    }

    /// Whether a row with this code counts as failed although its outcome (`created`,
    /// `updated`) is a success: part of what it was to write was refused.
    pub fn is_partial(self) -> bool {
        self == ReasonCode::LinkedFailed
    }

    /// The code of rows a stopped run did not write: `interrupted` or `target_unreachable`.
    pub fn of_halt(halt: &crate::journal::interrupt::Halt) -> ReasonCode {
        match halt {
            crate::journal::interrupt::Halt::Interrupted => ReasonCode::Interrupted,
            crate::journal::interrupt::Halt::Unreachable(_) => ReasonCode::TargetUnreachable,
        }
    }

    /// The code named `name` (as stored in the journal).
    pub fn from_name(name: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.iter().copied().find(|c| c.name() == name)
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A patron the target holds that a roster sync found absent from the roster (`--missing`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AbsentPatron {
    /// User name (FOLIO `username`), if any.
    pub username: Option<String>,
    /// Patron group (FOLIO group name, Libib `patron_type`), if any.
    pub group: Option<String>,
    /// Expiry date before the change, if any.
    pub expires: Option<String>,
}

/// The display name of a mapped or stored record: FOLIO `personal`, ILLiad `FirstName`/`LastName`
/// or Libib `first_name`/`last_name` (preferred first name first where the system has one).
pub fn display_name(record: &serde_json::Value) -> Option<String> {
    fn text(v: Option<&serde_json::Value>) -> Option<&str> {
        v.and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    let (base, first, preferred, last) = match record.get("personal") {
        Some(p) => (p, "firstName", Some("preferredFirstName"), "lastName"),
        None if record.get("FirstName").is_some() || record.get("LastName").is_some() => {
            (record, "FirstName", None, "LastName")
        }
        None => (record, "first_name", None, "last_name"),
    };
    let first = preferred
        .and_then(|p| text(base.get(p)))
        .or_else(|| text(base.get(first)));
    let last = text(base.get(last));
    match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(x), None) | (None, Some(x)) => Some(x.to_string()),
        (None, None) => None,
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
    /// Display name from the record, if it has one.
    pub name: Option<String>,
    /// Why (rejections, conflicts, failures), human-readable.
    pub reason: Option<String>,
    /// The reason's stable code.
    pub code: Option<ReasonCode>,
    /// Last HTTP status seen for the row's write, if any.
    pub http_status: Option<u16>,
    /// The record's id in the target system.
    pub target_id: Option<String>,
    /// Changed fields as `field: old → new`.
    pub changed_fields: Vec<String>,
    /// Retries spent on the row.
    pub retries: u32,
    /// Roster sync: the absent patron this line is about (its line is then not an input line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub absent: Option<AbsentPatron>,
    /// Parts of a composite record the write did not apply (their keys in what was sent, e.g.
    /// FOLIO's `requestPreference`): the journal drops them from the row's intent, so undo
    /// neither compares nor restores what the run never wrote.
    #[serde(skip)]
    pub unsent: Vec<String>,
}

impl Outcome {
    /// An outcome with only the basics filled in.
    pub fn new(file: &str, line: u64, key: Option<String>, outcome: OutcomeKind) -> Outcome {
        Outcome {
            file: file.to_string(),
            line,
            key,
            outcome,
            name: None,
            reason: None,
            code: None,
            http_status: None,
            target_id: None,
            changed_fields: Vec::new(),
            retries: 0,
            absent: None,
            unsent: Vec::new(),
        }
    }

    /// Sets the reason and its code.
    pub fn set_reason(&mut self, code: ReasonCode, reason: impl Into<String>) {
        self.code = Some(code);
        self.reason = Some(reason.into());
    }

    /// Clears the reason and its code.
    pub fn clear_reason(&mut self) {
        self.code = None;
        self.reason = None;
    }

    /// Whether the row counts as failed (exit code 1, rejects file): its outcome is a failure,
    /// or it was written only in part ([`ReasonCode::is_partial`]).
    pub fn is_failure(&self) -> bool {
        self.outcome.is_failure() || self.is_partial()
    }

    /// Whether the row was written only in part: its outcome is a success, its code
    /// [`ReasonCode::is_partial`].
    pub fn is_partial(&self) -> bool {
        !self.outcome.is_failure() && self.code.is_some_and(ReasonCode::is_partial)
    }

    /// The line as reports show it: empty for a patron absent from the roster (no input line).
    pub fn line_text(&self) -> String {
        if self.absent.is_some() {
            String::new()
        } else {
            self.line.to_string()
        }
    }
}
