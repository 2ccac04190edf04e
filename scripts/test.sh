#!/usr/bin/env bash
# Runs every check and test: `cargo fmt --check`, clippy on the server and
# on the browser build (warnings are errors), unit tests, the integration tests against a fresh
# SQLite file and fresh databases on the real Postgres and Redis (started,
# or installed, if they are not running), schemathesis against the running
# server's OpenAPI document (scripts/test-api.sh), then the browser tests of
# the web UI (scripts/test-ui.sh; URNA_SKIP_UI=1 leaves them out while
# iterating).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

# Reuse one target directory across clones so CI does not rebuild the world.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"

# Formatting and lints first: a red here costs seconds, not a test run.
# The browser build is linted too (its code paths differ under `hydrate`).
# Our crates only: vendor/ keeps its upstream formatting.
cargo fmt --check -p app -p api -p frontend -p entity -p migration
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p frontend --lib --target wasm32-unknown-unknown --no-default-features --features hydrate --locked -- -D warnings
# No import cycle between the files of app/src.
python3 scripts/check-layout.py

# Databases left by an interrupted earlier run.
psql "$URNA_TEST_PG_URL" -Atc "select datname from pg_database where datname like 'urna_test_%'" |
  while read -r db; do psql "$URNA_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked --lib --bins --tests "$@" 2>&1 | tee "$log" || status=$?
# The running server against its own OpenAPI document (schemathesis, a
# few minutes); its closing line counts as one test.
if bash scripts/test-api.sh 2>&1 | tee -a "$log"; then
  echo "test result: ok. 1 passed; 0 failed (schemathesis)" | tee -a "$log"
else
  status=1
  echo "test result: FAILED. 0 passed; 1 failed (schemathesis)" | tee -a "$log"
fi
if [ "${URNA_SKIP_UI:-0}" != 1 ]; then
  bash scripts/test-ui.sh 2>&1 | tee -a "$log" || status=$?
fi
# One closing line for the whole run (cargo prints one per test binary,
# node's runner its own).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     /^(# |ℹ )pass [0-9]+$/ { p += $3 }
     /^(# |ℹ )fail [0-9]+$/ { f += $3 }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
