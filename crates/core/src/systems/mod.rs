//! The three target systems: their field catalogues, per-system validation and (later) clients.
//!
//! Field names are each system's own: FOLIO dotted paths (`personal.lastName`,
//! `personal.addresses.<TypeName>.city`, `customFields.<refId>`), ILLiad PascalCase (`UserName`),
//! Libib snake_case (`first_name`).

use serde::{Deserialize, Serialize};

pub mod connector;
pub mod registry;
pub mod schema;

/// A target system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    /// FOLIO mod-users.
    Folio,
    /// ILLiad Web Platform `Users` API.
    Illiad,
    /// Libib patrons API.
    Libib,
}

impl System {
    /// The lowercase name used in mapping files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            System::Folio => "folio",
            System::Illiad => "illiad",
            System::Libib => "libib",
        }
    }

    /// Parses `folio` / `illiad` / `libib` (case-insensitive).
    pub fn parse(s: &str) -> Option<System> {
        match s.trim().to_ascii_lowercase().as_str() {
            "folio" => Some(System::Folio),
            "illiad" => Some(System::Illiad),
            "libib" => Some(System::Libib),
            _ => None,
        }
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
