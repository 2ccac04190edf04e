#!/usr/bin/env bash
# Builds the browser half of the web UI into a site root (default
# $CARGO_TARGET_DIR/site): the hydration bundle (wasm-bindgen CLI pinned to
# the wasm-bindgen of Cargo.lock, wasm-opt from npm's binaryen, never
# Debian's, whose output breaks hydration) and the stylesheet. Pair it with
# a release build of the server: a site and a server from different
# profiles do not hydrate.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"
tools_only=0
[ "${1:-}" = --tools-only ] && { tools_only=1; shift; }
site="${1:-$CARGO_TARGET_DIR/site}"

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/[^0-9.]/, "", $0); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $version"; then
  # Not --locked: its lock names a crate version this registry lacks.
  cargo install wasm-bindgen-cli --version "$version"
fi
if [ ! -x e2e/node_modules/.bin/wasm-opt ]; then
  (cd e2e && npm ci --no-audit --no-fund)
fi
[ "$tools_only" = 1 ] && exit 0

mkdir -p "$site/pkg"
# Two bundles: urna (every page) and vote (the voting page and its embed
# alone, what a voter's first visit downloads); boot.js picks one per page.
bundle() { # NAME FEATURES
  cargo build --locked -p frontend --lib --target wasm32-unknown-unknown \
    --no-default-features --features "$2" --profile wasm-release
  wasm-bindgen --target web --no-typescript --out-name "$1" --out-dir "$site/pkg" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/frontend.wasm"
  e2e/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types \
    "$site/pkg/$1_bg.wasm" -o "$site/pkg/$1.wasm"
  rm "$site/pkg/$1_bg.wasm"
}
bundle urna hydrate
bundle vote hydrate,vote-only
cp frontend/style/urna.css "$site/pkg/urna.css"
# The page's start-up script (no inline scripts: see the CSP in
# app/src/http/headers.rs) and the proof-of-work solver's Web Worker.
cp frontend/assets/boot.js "$site/pkg/boot.js"
cp frontend/assets/pow-worker.js "$site/pkg/pow-worker.js"
# Content-hashed names and brotli/gzip copies (served cached forever).
rm -f "$site"/pkg/*.*.br "$site"/pkg/*.*.gz "$site"/pkg/urna.*.* "$site"/pkg/vote.*.* "$site"/pkg/boot.*.js "$site"/pkg/pow-worker.*.js
echo "site: $site"
node scripts/pack-assets.mjs "$site/pkg"
