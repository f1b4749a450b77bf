//! Report sinks (being written).
