//! The three target systems: their field catalogues, per-system validation and (later) clients.
//!
//! Field names are each system's own: FOLIO dotted paths (`personal.lastName`,
//! `personal.addresses.<TypeName>.city`, `customFields.<refId>`), ILLiad PascalCase (`UserName`),
//! Libib snake_case (`first_name`).

use serde::{Deserialize, Serialize};

pub mod connector;
pub mod registry;
pub mod schema;

/// A target system, by its lowercase name (`folio`, `illiad`, `libib`, as mapping files and the
/// command line write it). The set of systems is open: each system folder defines its constant
/// (`System::Folio` in `systems/folio/`) and [`registry`] lists its connector, so nothing outside
/// those two places names a system.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct System(&'static str);

impl System {
    /// The lowercase name used in mapping files and on the command line.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// Parses a registered system's name (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<System> {
        registry::find(s)
    }
}

impl std::fmt::Debug for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for System {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for System {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<System, D::Error> {
        let name = String::deserialize(d)?;
        System::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown system {name:?}: expected {}",
                registry::names().join(", ")
            ))
        })
    }
}

impl std::fmt::Display for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

pub mod folio;
pub mod illiad;
pub mod libib;
pub mod memory;
