#!/usr/bin/env bash
# Remakes the README's screenshots (docs/screenshots/*.png) in headless
# Chromium from the running app, built as the browser tests build it.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"
(cd e2e && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund; })
cargo build --release --locked -p app
bash scripts/build-site.sh "$CARGO_TARGET_DIR/site"
URNA_BIN="$CARGO_TARGET_DIR/release/urna" URNA_SITE_ROOT="$CARGO_TARGET_DIR/site" node e2e/screenshots.js
