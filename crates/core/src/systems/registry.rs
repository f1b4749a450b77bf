//! The one list of systems. Adding a system is a folder under `systems/` and one line here.

use super::connector::{Connector, SchemaSide};
use super::System;

/// Every connector, in the order `--help` and error messages list them.
pub static CONNECTORS: &[&dyn Connector] = &[
    &super::folio::FolioConnector,
    &super::illiad::IlliadConnector,
    &super::libib::LibibConnector,
];

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
