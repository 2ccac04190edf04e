#!/usr/bin/env bash
# Runs every test: unit tests, and the integration tests against a fresh
# SQLite file and fresh databases on the real Postgres (started, or
# installed, if it is not running).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

# Reuse one target directory across clones so CI does not rebuild the world.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"

# Databases left by an interrupted earlier run.
psql "$URNA_TEST_PG_URL" -Atc "select datname from pg_database where datname like 'urna_test_%'" |
  while read -r db; do psql "$URNA_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked --lib --bins --tests "$@" 2>&1 | tee "$log" || status=$?
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
