//! [`SchemaSide`]: see the module docs of [`super`].
//!
//! Everything here works offline: no method takes or builds a client, so `check` runs with no
//! network. Shared code reaches a system's rules only through these methods (the shared
//! helpers `systems::schema::{lookup_field, validate, …}`, `mapping`, `dedupe`, `init`, `target`
//! call them through [`crate::systems::registry::schema`]).

use crate::init::{Concept, StarterColumn, StarterExtras};
use crate::mapping::OutPath;
use crate::systems::schema::{FieldDef, FieldSpec, Violation};
use crate::target::{SystemConfig, TargetEntry};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which secret a configured target of the system must name (`patron-etl.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSecret {
    /// `password_env` or `password_file`.
    Password,
    /// `api_key_env` or `api_key_file`.
    ApiKey,
}

/// The schema side of a system (see [`super::Connector`]): field catalogue, offline validation,
/// the mapping rules that differ between systems, `init`'s starter-mapping data and the
/// system's part of target configuration.
pub trait SchemaSide: Send + Sync + 'static {
    // --- catalogue and validation ---

    /// The system's name as its vendor writes it, in reasons ("FOLIO", "ILLiad", "Libib").
    fn label(&self) -> &'static str;

    /// The fixed fields of the catalogue (pattern fields are resolved by
    /// [`SchemaSide::lookup_field`]).
    fn catalogue(&self) -> &'static [FieldDef];

    /// The catalogue entry of a fixed field (names matched exactly unless the system says
    /// otherwise).
    fn field_def(&self, name: &str) -> Option<&'static FieldDef> {
        self.catalogue().iter().find(|d| d.name == name)
    }

    /// A field by its name as a mapping writes it (pattern fields included); the returned
    /// [`FieldSpec::name`] is the canonical spelling.
    fn lookup_field(&self, name: &str) -> Option<FieldSpec> {
        self.field_def(name).map(|d| d.spec(d.name))
    }

    /// Every fixed field name (pattern fields are in [`SchemaSide::field_patterns`]).
    fn field_names(&self) -> Vec<String> {
        self.catalogue()
            .iter()
            .map(|d| d.name.to_string())
            .collect()
    }

    /// Human-readable templates of the pattern fields (none unless the system has some).
    fn field_patterns(&self) -> &'static [&'static str] {
        &[]
    }

    /// Fields that may serve as a mapping's match key.
    fn match_fields(&self) -> &'static [&'static str];

    /// The maximum length in characters of a field, where the system documents one.
    fn max_length(&self, name: &str) -> Option<usize> {
        self.field_def(name).and_then(|d| d.max_len)
    }

    /// Validates one mapped record (a JSON object, names not yet resolved to ids).
    fn validate(&self, record: &Map<String, Value>) -> Vec<Violation>;

    /// Fields that must be unique across the records of one file (the match key is added by the
    /// caller).
    fn unique_fields(&self) -> &'static [&'static str];

    /// Column names an export of this system writes that order other columns rather than
    /// holding data of their own (never counted as "left out").
    fn ordering_columns(&self) -> &'static [&'static str] {
        &[]
    }

    /// The "left out" summary key an input column counts under when it belongs to a group of
    /// this system's export columns (e.g. one FOLIO address for each of its parts), else `None`.
    fn left_out_key(&self, _column: &str) -> Option<String> {
        None
    }

    // --- mapping rules ---

    /// The date format the system stores (`strftime`).
    fn date_format(&self) -> &'static str {
        "%Y-%m-%d"
    }

    /// A date cell the system keeps as something other than a plain date (e.g. a timestamp with
    /// its time of day), or `None` to store the date in [`SchemaSide::date_format`].
    fn date_time_value(&self, _text: &str) -> Option<String> {
        None
    }

    /// Where field `name` goes in the system's record shape (flat unless the system nests).
    fn out_path(&self, name: &str) -> OutPath {
        OutPath::Flat(name.to_string())
    }

    /// Whether a mapping may give this field `create_missing = true`: names the target does
    /// not know are created there instead of rejecting the row (FOLIO departments).
    fn creatable(&self, _field: &str) -> bool {
        false
    }

    /// Whether a mapping's `[scope]` may select by `patron_groups`.
    fn scope_by_patron_group(&self) -> bool {
        false
    }

    /// Fields the system fills in a mapped record from the mapping's `[defaults]` when no
    /// column gave them (run before validation).
    fn complete_record(
        &self,
        _defaults: &BTreeMap<String, String>,
        _record: &mut Map<String, Value>,
    ) {
    }

    // --- init: starter-mapping data ---

    /// The field line(s) `init` writes for a column holding `concept`, or `None` when the system
    /// has no such field (the column is listed as unmatched).
    fn starter_lines(&self, concept: Concept, column: &StarterColumn) -> Option<Vec<String>>;

    /// The match field `init` picks: the first concept of this list the roster has.
    fn starter_match(&self) -> &'static [(Concept, &'static str)];

    /// What else `init` writes for this system: a `[defaults]` block, lines before the columns,
    /// fixed values after them, next steps.
    fn starter_extras(&self, columns: &[StarterColumn], out_name: &str) -> StarterExtras;

    // --- target configuration ---

    /// Default pacing: (requests per second, requests in flight).
    fn default_pacing(&self) -> (f64, usize);

    /// The system's own settings of a target, read from its `[targets.NAME]` table (the built-in
    /// sandbox fills one in too).
    fn target_config(&self, entry: &TargetEntry) -> Arc<dyn SystemConfig>;

    /// The secret a configured target must name.
    fn target_secret(&self) -> TargetSecret;
}
