#!/usr/bin/env bash
# Builds urna in release mode and runs it on the embedded default: a SQLite
# file under ./data, in-process fan-out, and a demo poll. Extra arguments go
# to `urna serve` (see `urna serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"
cargo build --release --locked -p app
echo "urna: http://${URNA_BIND:-127.0.0.1:3000}/api/polls/demo"
exec "$CARGO_TARGET_DIR/release/urna" serve --demo "$@"
