//! The resolve step of `import` (and of `migrate` and roster sync, which are imports): every
//! check that needs no target and writes nothing — the mapping, the target and its system, the
//! migration source, `--missing` against `--limit`, migrate, `[scope]`, the system's
//! capabilities and the roster's completeness — made before a run folder, a journal row, a lease,
//! a sandbox or a request exists.
//!
//! Invariant: [`ImportPlan::resolve`] only reads (the mapping, the config file, the roster files);
//! it creates, opens for writing and sends nothing. Every error it returns is a usage error
//! (exit 2: [`UsageError`], or the mapping's / reader's own error, which `exit::code_for` also
//! maps to 2).

use crate::exit::UsageError;
use crate::import::ImportOptions;
use crate::mapping::{Mapping, Scope};
use crate::read::{self, Record};
use crate::sync::MissingPolicy;
use crate::systems::registry;
use crate::systems::System;
use crate::target::{self, TargetRef};
use std::collections::HashSet;

/// An import whose options were checked: what the run needs to start.
pub struct ImportPlan {
    /// The loaded mapping (its system is the target's).
    pub mapping: Mapping,
    /// The target, resolved but not opened or connected.
    pub target: TargetRef,
    /// A migration's source target, resolved but not opened or connected.
    pub source: Option<TargetRef>,
    /// Roster sync (`--missing`): the folded match keys of the whole roster.
    pub roster: Option<Roster>,
}

/// What a roster sync knows before connecting.
pub struct Roster {
    /// The `[scope]` of the mapping: who the roster is the whole population of.
    pub scope: Scope,
    /// Every match key on the roster (folded as [`crate::dedupe::fold`]), including keys read
    /// from rows that could not be read whole (so no one is deactivated because of them).
    pub keys: HashSet<String>,
}

/// The system a resolved target belongs to.
pub fn system_of(t: &TargetRef) -> System {
    match t {
        TargetRef::Sandbox(s) => *s,
        TargetRef::Configured(t) => t.system,
    }
}

impl ImportPlan {
    /// Checks the options; reads the mapping, the config file and (for `--missing`) the roster,
    /// and nothing else.
    pub fn resolve(opts: &ImportOptions) -> anyhow::Result<ImportPlan> {
        let mapping = Mapping::load(&opts.mapping)?;
        let target = target::resolve(&opts.to, opts.config.as_deref())?;
        let target_system = system_of(&target);
        if target_system != mapping.system {
            return Err(UsageError(format!(
                "{} maps to {} but target {} is {}",
                opts.mapping.display(),
                mapping.system,
                opts.to,
                target_system
            ))
            .into());
        }
        // A bad source name is a usage error before anything starts; the source is connected
        // inside the run, after the built-in sandbox is up.
        let source = match &opts.source {
            Some(src) => Some(target::resolve(&src.from, opts.config.as_deref())?),
            None => None,
        };
        let roster = roster(opts, &mapping)?;
        Ok(ImportPlan {
            mapping,
            target,
            source,
            roster,
        })
    }
}

/// The `--missing` checks that need no target, and the roster's keys.
fn roster(opts: &ImportOptions, mapping: &Mapping) -> anyhow::Result<Option<Roster>> {
    if opts.missing == MissingPolicy::Ignore {
        return Ok(None);
    }
    if opts.limit.is_some() {
        return Err(UsageError(
            "--missing needs the whole roster; it cannot be combined with --limit".into(),
        )
        .into());
    }
    if opts.source.is_some() {
        return Err(UsageError("--missing applies to roster files, not to migrate".into()).into());
    }
    // A system that cannot list users is refused first: asking for a [scope] it cannot have
    // would send the user the wrong way.
    let connector = registry::connector(mapping.system);
    if !connector.capabilities().list {
        return Err(UsageError(format!(
            "--missing is not available for {}: its API cannot list users",
            connector.writes().product_name()
        ))
        .into());
    }
    let Some(scope) = &mapping.scope else {
        return Err(UsageError(format!(
            "--missing needs a [scope] table in {} saying which patrons the roster is the whole \
             population of (patron_groups, external_id_prefix or tag)",
            opts.mapping.display()
        ))
        .into());
    };
    let (keys, incomplete) = roster_keys(opts, mapping)?;
    if !incomplete.is_empty() {
        if !opts.allow_incomplete_roster {
            return Err(UsageError(format!(
                "--missing needs the whole roster, and this one may be incomplete, so no one is \
                 deactivated and nothing is written: {}. Fix the file, or add \
                 --allow-incomplete-roster to go ahead anyway",
                incomplete.join("; ")
            ))
            .into());
        }
        tracing::warn!(
            reasons = %incomplete.join("; "),
            "the roster may be incomplete; --missing goes ahead (--allow-incomplete-roster)"
        );
    }
    Ok(Some(Roster {
        scope: scope.clone(),
        keys,
    }))
}

/// The match keys of every roster row, and why the roster may be incomplete (at most five
/// unreadable lines, and a quote left open that may have swallowed lines).
fn roster_keys(
    opts: &ImportOptions,
    mapping: &Mapping,
) -> anyhow::Result<(HashSet<String>, Vec<String>)> {
    let mut keys = HashSet::new();
    let mut incomplete = Vec::new();
    for path in &opts.files {
        let mut reader = read::open(path, &opts.read)?;
        let bound = mapping.bind(reader.headers())?;
        for rec in reader.by_ref() {
            match rec? {
                Record::Row(row) => {
                    if let Some(k) = bound.map_row(&row).key {
                        keys.insert(crate::dedupe::fold(&k));
                    }
                }
                Record::Bad(bad) => {
                    if incomplete.len() < 5 {
                        incomplete.push(format!(
                            "{}: line {} could not be read ({})",
                            path.display(),
                            bad.line,
                            bad.reason
                        ));
                    }
                    keys.extend(
                        bound
                            .key_candidates(&bad.cells)
                            .iter()
                            .chain(&bad.cells)
                            .map(|c| crate::dedupe::fold(c)),
                    );
                }
            }
        }
        if let Some(why) = reader.swallowed() {
            incomplete.push(why);
        }
    }
    keys.remove("");
    Ok((keys, incomplete))
}
