//! Mapping stage: declarative TOML mapping files (see README.md, "Mapping files") that turn a
//! [`crate::read::SourceRow`] into one system's record.
//!
//! Flow: [`Mapping::load`] parses (`file`) and compiles (`compile`) a file into a validated
//! plan; [`Mapping::bind`] resolves every referenced column against an input's header;
//! [`BoundMapping::map_row`] then maps rows with no per-row parsing or regex compilation.
//! Invariants: load/bind errors name the mapping file and line (and the nearest valid name);
//! row problems are [`Issue`]s in the [`Mapped`] result, never `Err` or panics.

mod coerce;
mod compile;
mod file;
mod path;
mod row;
mod suggest;
mod transform;

pub use file::OnBlank;
pub use path::OutPath;

use crate::read::SourceRow;
use crate::systems::System;
use compile::{CompiledField, Part, Source};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A problem with one field of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The target field (system name), if the issue concerns one.
    pub field: Option<String>,
    /// The source column, if the issue concerns one.
    pub column: Option<String>,
    /// Human-readable reason, e.g. `not a valid e-mail address: "x@"`.
    pub reason: String,
    /// The reason's stable code.
    pub code: crate::outcome::ReasonCode,
}

/// A row turned into a record of the target system.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The source row's line.
    pub line: u64,
    /// The match-key value, if present.
    pub key: Option<String>,
    /// The record in the system's own JSON shape (FOLIO nested; names such as patron groups not
    /// yet resolved to UUIDs). Blank fields are omitted.
    pub record: Value,
    /// Fields whose source was blank and whose `on_blank` policy is `clear`.
    pub clear: Vec<String>,
    /// Problems; a row with any issue is rejected.
    pub issues: Vec<Issue>,
}

/// Error loading or compiling a mapping file, or binding it to an input's header (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct MappingError {
    /// The mapping file.
    pub path: PathBuf,
    /// 1-based line in the mapping file, when known.
    pub line: Option<usize>,
    /// What is wrong, including the nearest valid name where one exists.
    pub message: String,
}

/// One column of an export written through a mapping ([`Mapping::export_columns`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportColumn {
    /// The column name, as the mapping reads it.
    pub column: String,
    /// The system field that fills it.
    pub field: String,
    /// The field's `map` as (column value, system value) pairs: an export writes the first
    /// column value whose system value matches.
    pub map_back: Vec<(String, String)>,
    /// The field's input date format (`date = "%m/%d/%Y"`), used to write dates back.
    pub date_format: Option<String>,
    /// The list separator.
    pub split: String,
    /// Literal text before the column in a one-column template (stripped on export).
    pub prefix: String,
    /// Literal text after the column in a one-column template (stripped on export).
    pub suffix: String,
}

/// A loaded, validated mapping file.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The file it came from.
    pub path: PathBuf,
    /// Target system.
    pub system: System,
    /// Field used to find an existing record.
    pub match_field: String,
    /// Fields never overwritten on update.
    pub protect: Vec<String>,
    /// List fields (`tags`) whose stored items are kept on update, the mapped items added.
    pub merge: Vec<String>,
    /// Fields whose names the target does not know are created there (`create_missing`).
    pub create_missing: Vec<String>,
    /// File-level blank policy.
    on_blank: OnBlank,
    /// Compiled fields, in file order.
    fields: Vec<CompiledField>,
    /// `[defaults]`, values as text.
    defaults: BTreeMap<String, String>,
    /// `[scope]`: the patrons a roster sync (`--missing`) may deactivate; None when not declared.
    pub scope: Option<Scope>,
    /// Expiry rules of the expiry field (FOLIO `expirationDate`).
    pub expiry: ExpiryRule,
}

/// The mapping's expiry rules (FOLIO `expirationDate`; README "FOLIO: custom fields and expiry
/// rules"). Applied by the planner, which knows the patron group and the stored expiry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiryRule {
    /// `expirationDate = { from = "group_offset" }`: today plus the patron group's
    /// `expirationOffsetInDays`.
    pub group_offset: bool,
    /// `extend_only = true`: an update never moves a stored expiry earlier (the row's outcome
    /// says "kept later expiry").
    pub extend_only: bool,
}

/// The part of a target's patrons that a roster is the whole population of (`[scope]` in the
/// mapping). A patron is in scope when it meets every criterion given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// FOLIO patron-group names.
    pub patron_groups: Vec<String>,
    /// Prefix of the external id (FOLIO `externalSystemId`, Libib `patron_id`).
    pub external_id_prefix: Option<String>,
    /// A tag the patrons carry (FOLIO `tags.tagList`, Libib `tags`).
    pub tag: Option<String>,
}

impl Mapping {
    /// Loads and compiles a mapping file.
    pub fn load(path: &Path) -> Result<Mapping, MappingError> {
        let src = std::fs::read_to_string(path).map_err(|e| MappingError {
            path: path.to_path_buf(),
            line: None,
            message: format!("cannot read mapping file: {e}"),
        })?;
        Mapping::parse(path, &src)
    }

    /// Compiles mapping text `src`; `path` is used in error messages only.
    pub fn parse(path: &Path, src: &str) -> Result<Mapping, MappingError> {
        let doc = file::parse(path, src)?;
        compile::compile(path, src, doc, &compile::Catalogue::systems())
    }

    /// The file-level `on_blank` policy (fields may override it; see [`Mapping::fields`]).
    pub fn on_blank(&self) -> OnBlank {
        self.on_blank
    }

    /// Every mapped field with its effective `on_blank` policy, in file order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, OnBlank)> + '_ {
        self.fields.iter().map(|f| (f.name.as_str(), f.on_blank))
    }

    /// The one column `field` is read from (a column, or a template of one column), as written
    /// in the mapping file; `None` for a constant, several columns or a field not mapped.
    pub fn column_of(&self, field: &str) -> Option<&str> {
        let f = self.fields.iter().find(|f| f.name == field)?;
        match &f.source {
            Source::Column(c) => Some(c),
            Source::FirstOf(cs) => match cs.as_slice() {
                [c] => Some(c),
                _ => None,
            },
            Source::Template(parts) => {
                let mut cols = parts.iter().filter_map(|p| match p {
                    Part::Col(c) => Some(c.as_str()),
                    Part::Lit(_) => None,
                });
                match (cols.next(), cols.next()) {
                    (Some(c), None) => Some(c),
                    _ => None,
                }
            }
            Source::Value(_) => None,
        }
    }

    /// A later stage's reason `field: …` as the mapping stage writes one, `field (column "C"):
    /// …`, when the reason starts with a mapped field read from one column (else unchanged).
    pub fn name_column(&self, reason: &str) -> String {
        let hit = self.fields.iter().find_map(|f| {
            let rest = reason
                .strip_prefix(f.name.as_str())
                .filter(|rest| rest.starts_with(": "))?;
            Some((f.name.as_str(), self.column_of(&f.name)?, rest))
        });
        match hit {
            Some((field, column, rest)) => format!("{field} (column \"{column}\"){rest}"),
            None => reason.to_string(),
        }
    }

    /// The columns the mapping reads (column sources and template placeholders), each once, in
    /// first-use order, as written in the mapping file.
    pub fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for f in &self.fields {
            let cols: Vec<&str> = match &f.source {
                Source::Column(c) => vec![c.as_str()],
                Source::FirstOf(cs) => cs.iter().map(String::as_str).collect(),
                Source::Template(parts) => parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::Col(c) => Some(c.as_str()),
                        Part::Lit(_) => None,
                    })
                    .collect(),
                Source::Value(_) => Vec::new(),
            };
            for c in cols {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }

    /// The columns an export through this mapping writes, read in reverse: every field whose
    /// source is a column (or a template of one column between literal text) becomes that
    /// column; constants and multi-column templates are skipped. The first field naming a
    /// column wins. See [`ExportColumn`].
    pub fn export_columns(&self) -> Vec<ExportColumn> {
        let mut out: Vec<ExportColumn> = Vec::new();
        for f in &self.fields {
            // The custom-field wildcard names no column of its own.
            if f.name == row::CUSTOM_WILDCARD {
                continue;
            }
            let (column, prefix, suffix) = match &f.source {
                Source::Column(c) => (c.clone(), String::new(), String::new()),
                Source::Template(parts) => {
                    let cols: Vec<usize> = parts
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| matches!(p, Part::Col(_)))
                        .map(|(i, _)| i)
                        .collect();
                    let [i] = cols.as_slice() else { continue };
                    let lit = |ps: &[Part]| -> String {
                        ps.iter()
                            .map(|p| match p {
                                Part::Lit(l) => l.as_str(),
                                Part::Col(_) => "",
                            })
                            .collect()
                    };
                    let Some(Part::Col(c)) = parts.get(*i) else {
                        continue;
                    };
                    (c.clone(), lit(&parts[..*i]), lit(&parts[*i + 1..]))
                }
                // An export fills the first column; the others stay empty.
                Source::FirstOf(cs) => match cs.first() {
                    Some(c) => (c.clone(), String::new(), String::new()),
                    None => continue,
                },
                Source::Value(_) => continue,
            };
            if out.iter().any(|c| c.column == column) {
                continue;
            }
            let date_format = f.transforms.iter().find_map(|t| match t {
                transform::Transform::Date { format, .. } => Some(format.to_string()),
                _ => None,
            });
            out.push(ExportColumn {
                column,
                field: f.name.clone(),
                map_back: f
                    .map
                    .as_ref()
                    .map(|m| m.pairs().to_vec())
                    .unwrap_or_default(),
                date_format,
                split: f.split.clone(),
                prefix,
                suffix,
            });
        }
        out
    }

    /// The `[defaults]` table (per-system settings that are not fields, e.g. ILLiad `nvtgc`),
    /// values as text.
    pub fn defaults(&self) -> &BTreeMap<String, String> {
        &self.defaults
    }

    /// Binds the mapping to an input's header: every referenced column must exist. Names match
    /// exactly first, then case-insensitively and trimmed.
    pub fn bind(&self, headers: &[String]) -> Result<BoundMapping, MappingError> {
        row::bind(self, headers)
    }
}

/// A mapping bound to one input's columns; maps rows.
#[derive(Debug, Clone)]
pub struct BoundMapping {
    /// The mapping.
    pub mapping: Mapping,
    /// Per field (parallel to `mapping.fields`): resolved source.
    sources: Vec<row::BoundSource>,
    /// Per input column: what a non-blank value there is counted under, and why, when the
    /// mapping does not send it ([`BoundMapping::left_out`]).
    left_out: Vec<row::LeftOutColumn>,
    /// Number of distinct top-level record keys (to size each record once).
    top_level_keys: usize,
}

impl BoundMapping {
    /// Maps one row: sources, transforms, coercion, then per-system validation.
    pub fn map_row(&self, row: &SourceRow) -> Mapped {
        row::map_cells(self, row.line, &row.cells)
    }

    /// What the row has that the mapping does not send: one (field, reason) per left-out field
    /// with a non-blank value — a column no field reads, or a `columns` alternative that lost
    /// to an earlier column. FOLIO address columns count under their address type
    /// (`personal.addresses.Work`).
    pub fn left_out<S: AsRef<str>>(&self, cells: &[S]) -> Vec<(&str, &str)> {
        row::left_out(self, cells)
    }

    /// Maps the cells of the row at `line` (as [`BoundMapping::map_row`], for cells held
    /// elsewhere than in a [`SourceRow`]).
    pub fn map_cells<S: AsRef<str>>(&self, line: u64, cells: &[S]) -> Mapped {
        row::map_cells(self, line, cells)
    }

    /// Every value the match key could have in a row that could not be read as a row (its cells
    /// may be shifted): each cell put through the key's transforms and `map`, non-blank ones.
    pub fn key_candidates<S: AsRef<str>>(&self, cells: &[S]) -> Vec<String> {
        row::key_candidates(self, cells)
    }
}
