//! The journal's SQLite schema (version 1). Created on first open; every statement is idempotent.

/// Schema version stored in `meta`.
pub const VERSION: i64 = 1;

/// Connection settings: WAL (readers never block the single writer) and FULL sync, so a
/// committed intent survives a crash of the process or the machine before its write is sent.
pub const PRAGMAS: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
PRAGMA busy_timeout = 5000;
";

/// Tables and indexes.
pub const TABLES: &str = "
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
-- One row per run (import, undo). No secrets: the target is stored by name only.
CREATE TABLE IF NOT EXISTS runs (
  id            TEXT PRIMARY KEY,
  command       TEXT NOT NULL,
  started_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  finished_at   TEXT,
  status        TEXT NOT NULL,          -- running | interrupted | finished | failed
  target        TEXT NOT NULL,
  system        TEXT NOT NULL,
  commit_mode   INTEGER NOT NULL,
  mapping       TEXT,
  mapping_hash  TEXT,
  inputs        TEXT NOT NULL DEFAULT '[]',
  input_hash    TEXT,
  options       TEXT NOT NULL DEFAULT '{}',
  attempts      INTEGER NOT NULL DEFAULT 1,
  pid           INTEGER,
  parent        TEXT,                   -- undo: the run it undoes
  undone_by     TEXT
);
-- Exactly one outcome per input row (file index, line) and run.
CREATE TABLE IF NOT EXISTS row_outcomes (
  run_id         TEXT NOT NULL REFERENCES runs(id),
  file_index     INTEGER NOT NULL,
  line           INTEGER NOT NULL,
  file           TEXT NOT NULL,
  key            TEXT,
  outcome        TEXT NOT NULL,
  reason         TEXT,
  http_status    INTEGER,
  target_id      TEXT,
  changed_fields TEXT NOT NULL DEFAULT '[]',
  retries        INTEGER NOT NULL DEFAULT 0,
  attempt        INTEGER NOT NULL,
  code           TEXT,                  -- the reason's ReasonCode name
  PRIMARY KEY (run_id, file_index, line)
) WITHOUT ROWID;
-- A write intent, committed before the write is sent; resolved with the row's outcome.
CREATE TABLE IF NOT EXISTS intents (
  id          INTEGER PRIMARY KEY,
  run_id      TEXT NOT NULL REFERENCES runs(id),
  file_index  INTEGER NOT NULL,
  line        INTEGER NOT NULL,
  system      TEXT NOT NULL,
  op          TEXT NOT NULL,            -- create | update | delete | restore
  key         TEXT,
  match_field TEXT,
  target_id   TEXT,
  before      TEXT,                     -- JSON before-image (update, delete, restore)
  after       TEXT,                     -- JSON of what is sent
  changes     TEXT NOT NULL DEFAULT '[]',
  state       TEXT NOT NULL DEFAULT 'pending', -- pending | applied | failed | not_sent | superseded
  result      TEXT,
  attempt     INTEGER NOT NULL,
  recorded_at TEXT NOT NULL,
  resolved_at TEXT
);
CREATE INDEX IF NOT EXISTS intents_by_row ON intents (run_id, file_index, line);
-- The one writing run per target (see lease.rs); the lock file's OS lock is what excludes.
CREATE TABLE IF NOT EXISTS leases (
  target      TEXT PRIMARY KEY,
  run_id      TEXT NOT NULL,
  pid         INTEGER NOT NULL,
  acquired_at TEXT NOT NULL
);
";

/// Columns added after version 1 was first shipped (table, column, type): added on open to a
/// journal created without them, so older journals keep working (their rows read `NULL`).
pub const ADDED_COLUMNS: &[(&str, &str, &str)] = &[("row_outcomes", "code", "TEXT")];
