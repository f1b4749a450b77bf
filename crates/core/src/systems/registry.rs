//! The one list of systems. Adding a system is a folder under `systems/` and one line here.

use super::connector::{Connector, SchemaSide};
use super::System;

/// Every connector, in the order `--help` and error messages list them.
pub static CONNECTORS: &[&dyn Connector] = &[
    &super::folio::FolioConnector,
    &super::illiad::IlliadConnector,
    &super::libib::LibibConnector,
    &super::memory::MemoryConnector,
];

/// The system registered under `name` (case-insensitive, trimmed); test-only connectors only
/// when [`TEST_CONNECTORS_ENV`] is set.
pub fn find(name: &str) -> Option<System> {
    let name = name.trim();
    listed()
        .map(|c| c.system())
        .find(|s| s.name().eq_ignore_ascii_case(name))
}

/// The names of the systems a user can name, for messages.
pub fn names() -> Vec<&'static str> {
    listed().map(|c| c.system().name()).collect()
}

/// Set (to anything) to make test-only connectors (`Connector::test_only`) available.
pub const TEST_CONNECTORS_ENV: &str = "PATRON_ETL_TEST_CONNECTORS";

fn listed() -> impl Iterator<Item = &'static dyn Connector> {
    let tests = std::env::var_os(TEST_CONNECTORS_ENV).is_some();
    CONNECTORS
        .iter()
        .copied()
        .filter(move |c| tests || !c.test_only())
}

/// The connector for `system`.
pub fn connector(system: System) -> &'static dyn Connector {
    // Every `System` has a connector in `CONNECTORS` (tested below); the first is a defined
    // answer should a variant ever be added without one.
    CONNECTORS
        .iter()
        .copied()
        .find(|c| c.system() == system)
        .unwrap_or(CONNECTORS[0])
}

/// The schema side of `system`'s connector (catalogue, validation, mapping rules, `init` data,
/// target configuration).
pub fn schema(system: System) -> &'static dyn SchemaSide {
    connector(system).schema()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_has_one_connector() {
        for name in ["folio", "illiad", "libib"] {
            let system = System::parse(name).unwrap();
            assert_eq!(connector(system).system(), system);
            assert_eq!(
                CONNECTORS.iter().filter(|c| c.system() == system).count(),
                1
            );
        }
    }
}
