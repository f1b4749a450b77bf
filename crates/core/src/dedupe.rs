//! In-file duplicate detection: a value of a unique field that repeats inside the input rejects the
//! later row, naming the earlier one.
//!
//! Values are compared the way the systems compare them (FOLIO: case- and accent-insensitive).
//! To keep memory flat on million-row files, only a 64-bit hash of each (field, folded value) is
//! kept together with where it was first seen, packed in 16 bytes a slot (about 20–25 bytes a
//! value with the table's free space). ASCII values are folded without allocating.

use crate::systems::System;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// Where a value was first seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstSeen {
    /// Index of the input file (in command-line order).
    pub file: usize,
    /// Line of the earlier row.
    pub line: u64,
}

/// Folds a value for uniqueness comparisons: trimmed, then `lower(f_unaccent(…))` as FOLIO's
/// unique indexes fold it ([`crate::unaccent`]: ø→o, ß→ss, æ→ae, ł→l as well as accents), so a
/// value FOLIO would refuse as taken is a duplicate here too.
pub fn fold(value: &str) -> String {
    crate::unaccent::fold(value.trim()).into_owned()
}

/// The fields that must be unique across records of `system` (the match key is always included
/// by the caller).
pub fn unique_fields(system: System) -> &'static [&'static str] {
    crate::systems::registry::schema(system).unique_fields()
}

/// Hashes a folded value of the tracked field at `field` (64 bits; the field index is mixed in so
/// one table serves every field).
fn hash_folded(field: usize, folded: &[u8]) -> u64 {
    let mut h = foldhash::quality::FixedState::with_seed(0x7061_7472_6f6e_2d65).build_hasher();
    h.write_u64(field as u64);
    h.write(folded);
    h.finish()
}

/// Folds `value` into `buf` (cleared first): the bytes of [`fold`]`(value)`, without allocating for
/// ASCII values (which need no normalisation: only trimming and lower-casing).
fn fold_into(value: &str, buf: &mut Vec<u8>) {
    buf.clear();
    if value.is_ascii() {
        buf.extend(value.trim().bytes().map(|b| b.to_ascii_lowercase()));
    } else {
        buf.extend_from_slice(fold(value).as_bytes());
    }
}

/// Where a value was first seen, packed into one word: file index in the top 16 bits, line in the
/// low 48, plus one so that 0 marks an empty slot. `None` when it does not fit.
fn pack(seen: FirstSeen) -> Option<u64> {
    const LINE_BITS: u32 = 48;
    let file = u64::try_from(seen.file).ok().filter(|f| *f < 0xFFFF)?;
    (seen.line < (1 << LINE_BITS) - 1).then(|| ((file << LINE_BITS) | seen.line) + 1)
}

/// The inverse of [`pack`].
fn unpack(word: u64) -> FirstSeen {
    let w = word - 1;
    FirstSeen {
        file: (w >> 48) as usize,
        line: w & ((1 << 48) - 1),
    }
}

/// Marks a value stored in the overflow map (a position [`pack`] cannot hold).
const OVERFLOW: u64 = u64::MAX;

/// Number of independently grown sub-tables. Growing one rehashes only its share, so memory never
/// doubles transiently on a large input.
const SHARDS: usize = 256;

/// An open-addressing (linear probing) map from a 64-bit hash to a packed [`FirstSeen`]: 16 bytes a
/// slot (hash and position side by side, so a lookup and the insert that follows touch one cache
/// line), filled to at most 80 % and grown by a quarter at a time.
#[derive(Debug, Default, Clone)]
struct Shard {
    /// `[hash, packed position]`; a hash of 0 marks an empty slot (a hash that is 0 lives in
    /// `zero`).
    slots: Vec<[u64; 2]>,
    /// The packed position of the hash 0, or 0 when absent.
    zero: u64,
    len: usize,
}

impl Shard {
    /// The slot a hash starts probing at (the shard was chosen by the top bits, so use the rest).
    fn home(hash: u64, cap: usize) -> usize {
        ((u128::from(hash.rotate_left(8)) * cap as u128) >> 64) as usize
    }

    /// Asks the CPU to start loading the slot `hash` probes first, so that the cache misses of
    /// several lookups overlap.
    fn prefetch(&self, hash: u64) {
        if let Some(slot) = self.slots.get(Shard::home(hash, self.slots.len())) {
            // SAFETY: a prefetch is only a hint: it never faults nor changes memory, and SSE is
            // part of the x86_64 baseline; the pointer is valid anyway (it comes from a reference).
            #[cfg(target_arch = "x86_64")]
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    slot.as_ptr().cast::<i8>(),
                );
            }
            #[cfg(not(target_arch = "x86_64"))]
            std::hint::black_box(slot[0]);
        }
    }

    fn get(&self, hash: u64) -> Option<u64> {
        if hash == 0 {
            return (self.zero != 0).then_some(self.zero);
        }
        let cap = self.slots.len();
        if cap == 0 {
            return None;
        }
        let mut i = Shard::home(hash, cap);
        loop {
            let [k, v] = self.slots[i];
            if k == hash {
                return Some(v);
            }
            if k == 0 {
                return None;
            }
            i += 1;
            if i == cap {
                i = 0;
            }
        }
    }

    /// Inserts `hash` (known to be absent).
    fn insert_new(&mut self, hash: u64, packed: u64) {
        if hash == 0 {
            self.zero = packed;
            return;
        }
        if (self.len + 1) * 5 > self.slots.len() * 4 {
            self.grow();
        }
        Shard::place(&mut self.slots, hash, packed);
        self.len += 1;
    }

    fn place(slots: &mut [[u64; 2]], hash: u64, packed: u64) {
        let cap = slots.len();
        let mut i = Shard::home(hash, cap);
        while slots[i][0] != 0 {
            i += 1;
            if i == cap {
                i = 0;
            }
        }
        slots[i] = [hash, packed];
    }

    fn grow(&mut self) {
        let cap = self.slots.len();
        let new_cap = (cap + cap / 4).max(cap + 16);
        let mut slots = vec![[0u64; 2]; new_cap];
        for &[k, v] in &self.slots {
            if k != 0 {
                Shard::place(&mut slots, k, v);
            }
        }
        self.slots = slots;
    }
}

/// One tracked value of a row, hashed: which field (index into the tracker's fields) and the
/// 64-bit hash of its folded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHash {
    /// Index of the field in [`DuplicateTracker::fields`].
    pub field: usize,
    /// Hash of the field index and the folded value.
    pub hash: u64,
}

/// Folds and hashes the tracked values of rows. Pure (no table), so it can run on worker threads
/// while one [`DuplicateTracker`] records the hashes in input order.
#[derive(Debug, Clone, Default)]
pub struct KeyHasher {
    fields: Vec<String>,
    /// Scratch: the folded value being hashed.
    buf: Vec<u8>,
}

impl KeyHasher {
    /// The tracked fields, in order.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Appends to `out` the hash of every tracked field's value in one row (`value_of` gives a
    /// field's text); blank values are skipped, since they never collide.
    pub fn hash_row<'a, F>(&mut self, value_of: F, out: &mut Vec<KeyHash>)
    where
        F: Fn(&str) -> Option<&'a str>,
    {
        self.hash_row_each(value_of, |k, _| out.push(k));
    }

    /// As [`KeyHasher::hash_row`], handing each hash to `each` with the value it was made from.
    pub fn hash_row_each<'a, F, E>(&mut self, value_of: F, mut each: E)
    where
        F: Fn(&str) -> Option<&'a str>,
        E: FnMut(KeyHash, &'a str),
    {
        for (i, field) in self.fields.iter().enumerate() {
            let Some(value) = value_of(field) else {
                continue;
            };
            fold_into(value, &mut self.buf);
            if !self.buf.is_empty() {
                let hash = hash_folded(i, &self.buf);
                each(KeyHash { field: i, hash }, value);
            }
        }
    }
}

/// Tracks values of several unique fields across all input rows.
#[derive(Debug, Clone)]
pub struct DuplicateTracker {
    shards: Vec<Shard>,
    /// Positions too large to pack (more than 65,534 files or 2^48 lines); practically empty.
    overflow: HashMap<u64, FirstSeen>,
    hasher: KeyHasher,
    /// Scratch: the hashes of the row being checked.
    pending: Vec<KeyHash>,
}

impl Default for DuplicateTracker {
    fn default() -> Self {
        DuplicateTracker::new(Vec::new())
    }
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
            shards: vec![Shard::default(); SHARDS],
            overflow: HashMap::new(),
            hasher: KeyHasher {
                fields: out,
                buf: Vec::new(),
            },
            pending: Vec::new(),
        }
    }

    /// The tracked fields, in order.
    pub fn fields(&self) -> &[String] {
        self.hasher.fields()
    }

    /// A hasher for this tracker's fields (hand one to each worker thread).
    pub fn hasher(&self) -> KeyHasher {
        self.hasher.clone()
    }

    fn shard(hash: u64) -> usize {
        (hash >> 56) as usize % SHARDS
    }

    fn get(&self, hash: u64) -> Option<FirstSeen> {
        match self.shards[Self::shard(hash)].get(hash)? {
            OVERFLOW => self.overflow.get(&hash).copied(),
            packed => Some(unpack(packed)),
        }
    }

    /// Starts loading the table slots `keys` will probe, so that the cache misses of several
    /// rows overlap instead of following one another (a hint; it changes nothing).
    pub fn prefetch(&self, keys: &[KeyHash]) {
        for k in keys {
            self.shards[Self::shard(k.hash)].prefetch(k.hash);
        }
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
        let mut pending = std::mem::take(&mut self.pending);
        pending.clear();
        self.hasher.hash_row(value_of, &mut pending);
        self.prefetch(&pending);
        let hit = self
            .check_hashed(file, line, &pending)
            .map(|(i, first)| (self.fields()[i].clone(), first));
        self.pending = pending;
        hit
    }

    /// As [`DuplicateTracker::check`], for a row already hashed by a [`KeyHasher`] of this
    /// tracker; returns the index of the colliding field.
    pub fn check_hashed(
        &mut self,
        file: usize,
        line: u64,
        keys: &[KeyHash],
    ) -> Option<(usize, FirstSeen)> {
        for k in keys {
            if let Some(first) = self.get(k.hash) {
                return Some((k.field, first));
            }
        }
        // The same value in two tracked fields of one row is two different keys (the field is
        // part of the hash), so no in-row collision is possible.
        let seen = FirstSeen { file, line };
        let packed = pack(seen).unwrap_or(OVERFLOW);
        for k in keys {
            if packed == OVERFLOW {
                self.overflow.insert(k.hash, seen);
            }
            self.shards[Self::shard(k.hash)].insert_new(k.hash, packed);
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

    #[test]
    fn ascii_fast_path_folds_like_fold() {
        let mut buf = Vec::new();
        for v in [
            "  JDoe@X.edu ",
            "S100",
            "José",
            " ZOË\t",
            "Ångström",
            "",
            "   ",
        ] {
            fold_into(v, &mut buf);
            assert_eq!(buf, fold(v).as_bytes(), "{v:?}");
        }
    }

    #[test]
    fn packed_positions_round_trip_and_overflow() {
        for seen in [
            FirstSeen { file: 0, line: 1 },
            FirstSeen {
                file: 3,
                line: 1_000_000,
            },
            FirstSeen {
                file: 0xFFFE,
                line: (1 << 48) - 2,
            },
        ] {
            let packed = pack(seen).expect("fits");
            assert_ne!(packed, 0);
            assert_ne!(packed, OVERFLOW);
            assert_eq!(unpack(packed), seen);
        }
        assert_eq!(
            pack(FirstSeen {
                file: 0xFFFF,
                line: 1
            }),
            None
        );
        assert_eq!(
            pack(FirstSeen {
                file: 0,
                line: 1 << 48
            }),
            None
        );
        // A position that does not pack is still reported exactly.
        let mut t = DuplicateTracker::new(["barcode".to_string()]);
        let far = FirstSeen {
            file: 70_000,
            line: 1 << 50,
        };
        assert_eq!(t.check(far.file, far.line, |_| Some("123")), None);
        assert_eq!(
            t.check(0, 5, |_| Some(" 123 ")),
            Some(("barcode".to_string(), far))
        );
    }

    #[test]
    fn many_values_survive_growth() {
        let mut t = DuplicateTracker::new(["username".to_string(), "barcode".to_string()]);
        let n = 50_000u64;
        for line in 0..n {
            let user = format!("user{line}");
            let code = format!("{line}");
            assert_eq!(
                t.check(0, line + 2, |f| Some(if f == "username" {
                    user.as_str()
                } else {
                    code.as_str()
                })),
                None,
                "line {line}"
            );
        }
        for line in (0..n).step_by(997) {
            let user = format!("USER{line}");
            let hit = t.check(1, 1, |f| (f == "username").then_some(user.as_str()));
            assert_eq!(
                hit,
                Some((
                    "username".to_string(),
                    FirstSeen {
                        file: 0,
                        line: line + 2
                    }
                ))
            );
        }
        // The same text in a different field is not a duplicate.
        assert_eq!(t.check(1, 2, |f| (f == "barcode").then_some("user7")), None);
    }

    #[test]
    fn shard_keeps_the_zero_hash_apart() {
        let mut shard = Shard::default();
        assert_eq!(shard.get(0), None);
        shard.insert_new(0, 7);
        shard.insert_new(5, 9);
        assert_eq!(shard.get(0), Some(7));
        assert_eq!(shard.get(5), Some(9));
        assert_eq!(shard.get(6), None);
    }
}
