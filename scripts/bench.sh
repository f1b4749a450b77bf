#!/usr/bin/env bash
# Benchmarks (not part of `cargo test`): builds the release binaries, then runs scripts/bench.py,
# which prints one table and writes bench-results.json. Needs python3 (standard library) and, for
# the folio-data-import comparison, network access to PyPI (pip installs it into
# .patron-etl/peer-venv; pass --skip-peer to leave it out).
#
# Usage: scripts/bench.sh [--quick] [--skip-peer] [--only offline,import,rate,export,libib] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin patron-etl --example gen_roster --example raw_parse --example seed_folio_users
exec python3 scripts/bench.py "$@"
