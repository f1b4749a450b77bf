//! In-file duplicate detection: a value of a unique field that repeats inside the input rejects the
//! later row, naming the earlier one.
//!
//! Values are compared the way the systems compare them (FOLIO: case- and accent-insensitive).
//! To keep memory flat on million-row files, only a 64-bit hash of each folded value is kept
//! together with where it was first seen (16 bytes a value).

use crate::systems::System;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Where a value was first seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstSeen {
    /// Index of the input file (in command-line order).
    pub file: usize,
    /// Line of the earlier row.
    pub line: u64,
}

/// Folds a value for uniqueness comparisons: trimmed, lowercase, accents removed.
pub fn fold(value: &str) -> String {
    value
        .trim()
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The fields that must be unique across records of `system` (the match key is always included
/// by the caller).
pub fn unique_fields(system: System) -> &'static [&'static str] {
    match system {
        System::Folio => &["externalSystemId", "username", "barcode"],
        System::Illiad => &["UserName"],
        System::Libib => &["email", "barcode"],
    }
}

/// Passes a precomputed 64-bit hash through unchanged.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Tracks values of several unique fields across all input rows.
#[derive(Debug, Default)]
pub struct DuplicateTracker {
    seen: HashMap<(u16, u64), FirstSeen, BuildHasherDefault<PassThrough>>,
    fields: Vec<String>,
}

impl DuplicateTracker {
    /// A tracker for the given field names.
    pub fn new<I: IntoIterator<Item = String>>(fields: I) -> DuplicateTracker {
        let mut out: Vec<String> = Vec::new();
        for f in fields {
            if !out.contains(&f) {
                out.push(f);
            }
        }
        DuplicateTracker {
            seen: HashMap::default(),
            fields: out,
        }
    }

    /// The tracked fields, in order.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Checks every tracked field's value of one row. Returns the first collision found as
    /// `(field, earlier)`; otherwise records the row's values and returns `None`. A blank value never
    /// collides. A row that collides is not recorded, so the first occurrence stays the reference.
    pub fn check<'a, F>(
        &mut self,
        file: usize,
        line: u64,
        value_of: F,
    ) -> Option<(String, FirstSeen)>
    where
        F: Fn(&str) -> Option<&'a str>,
    {
        let mut keys = Vec::with_capacity(self.fields.len());
        for (i, field) in self.fields.iter().enumerate() {
            let Some(value) = value_of(field) else {
                continue;
            };
            let folded = fold(value);
            if folded.is_empty() {
                continue;
            }
            let mut h = std::collections::hash_map::DefaultHasher::new();
            folded.hash(&mut h);
            let key = (i as u16, h.finish());
            if let Some(first) = self.seen.get(&key) {
                return Some((field.clone(), *first));
            }
            keys.push(key);
        }
        for key in keys {
            self.seen.insert(key, FirstSeen { file, line });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_ignores_case_and_accents() {
        assert_eq!(fold(" José "), "jose");
        assert_eq!(fold("ZOË"), "zoe");
        assert_ne!(fold("jose"), fold("josef"));
    }

    #[test]
    fn later_row_names_earlier_line() {
        let mut t = DuplicateTracker::new(["externalSystemId".to_string(), "username".to_string()]);
        let a = |f: &str| match f {
            "externalSystemId" => Some("S1"),
            _ => Some("ann"),
        };
        assert_eq!(t.check(0, 2, a), None);
        let b = |f: &str| match f {
            "externalSystemId" => Some("S2"),
            _ => Some("ANN"),
        };
        let hit = t.check(0, 7, b);
        assert_eq!(
            hit,
            Some(("username".to_string(), FirstSeen { file: 0, line: 2 }))
        );
        // the colliding row was not recorded: S2 is still free
        let c = |f: &str| match f {
            "externalSystemId" => Some("s2"),
            _ => None,
        };
        assert_eq!(t.check(0, 9, c), None);
    }
}
