#!/usr/bin/env bash
# Browser tests of the web UI: a release server and the site from the same
# build, Debian's Chromium (installed if missing), driven by playwright-core
# from npm. Never `playwright install`: it downloads a browser.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"

if [ ! -x /usr/bin/chromium ]; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null
fi
(cd e2e && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund; })
cargo build --release --locked -p app
bash scripts/build-site.sh "$CARGO_TARGET_DIR/site"

export URNA_BIN="$CARGO_TARGET_DIR/release/urna" URNA_SITE_ROOT="$CARGO_TARGET_DIR/site"
if [ $# -eq 0 ]; then set -- e2e/tests/*.test.js; fi
node --test --test-concurrency=1 "$@"
