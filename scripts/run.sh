#!/usr/bin/env bash
# Builds urna (the release server and the web UI's site, from one build) and
# runs it on the embedded default: a SQLite file under ./data, in-process
# fan-out, and an open demo poll at /p/demo. Extra arguments go to
# `urna serve` (see `urna serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"
cargo build --release --locked -p app
bash scripts/build-site.sh "$CARGO_TARGET_DIR/site"
# On a first run (no admin yet) urna serve prints a one-time setup link
# where the first admin picks a name and password.
echo "urna: http://${URNA_BIND:-127.0.0.1:3000}/p/demo (admin: /admin; first run: open the setup link below)"
exec "$CARGO_TARGET_DIR/release/urna" serve --demo --site-root "$CARGO_TARGET_DIR/site" "$@"
