#!/usr/bin/env bash
# What a voter's phone downloads and how soon it sees the voting page: builds
# the release server and the site, starts them on SQLite with the demo poll,
# and writes docs/PAGE.md with
#   1. every site file's size raw, brotli and gzip (scripts/pack-assets.mjs
#      made them), and what a first visit transfers;
#   2. Lighthouse (npm `lighthouse`, pinned, in its own folder under
#      ~/.cache) on /p/demo with its default mobile emulation and simulated
#      throttling, in Debian's Chromium: performance and accessibility
#      scores, LCP and its element and phases, FCP, TBT, bytes transferred;
#   3. with `twiggy` installed (`cargo install twiggy`), the voting page's
#      bundle (vote.wasm, built last) by crate and by page, before wasm-opt
#      (names intact).
# Targets only 127.0.0.1; Lighthouse runs once (its scores move a few
# points between runs: run it again before quoting a small change).
#
# Usage: bash bench/page.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"
LIGHTHOUSE_VERSION=12.8.2
LH_DIR="$HOME/.cache/urna-lighthouse-$LIGHTHOUSE_VERSION"
PORT=3200
BASE="http://127.0.0.1:$PORT"

if [ ! -x /usr/bin/chromium ]; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null
fi
if [ ! -x "$LH_DIR/node_modules/.bin/lighthouse" ]; then
  mkdir -p "$LH_DIR"
  (cd "$LH_DIR" && npm init -y >/dev/null && npm install --no-audit --no-fund "lighthouse@$LIGHTHOUSE_VERSION" >/dev/null)
fi
cargo build --release --locked -p app
SITE="$CARGO_TARGET_DIR/site"
bash scripts/build-site.sh "$SITE" | tee /tmp/urna-page-sizes.txt

data=$(mktemp -d)
URNA_DATA_DIR="$data" "$CARGO_TARGET_DIR/release/urna" serve --bind "127.0.0.1:$PORT" --demo --site-root "$SITE" \
  >"$data/server.log" 2>&1 &
server=$!
report="$data/lighthouse.json"
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.1; done

CHROME_PATH=/usr/bin/chromium timeout 300 "$LH_DIR/node_modules/.bin/lighthouse" "$BASE/p/demo" \
  --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-background-networking" \
  --only-categories=performance,accessibility --output=json --output-path="$report" --quiet

WASM="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/frontend.wasm"
crates=""
if command -v twiggy >/dev/null; then
  crates=$(twiggy top -n 1000000 -f csv "$WASM" 2>/dev/null | python3 bench/wasm_by_crate.py)
fi

python3 - "$report" /tmp/urna-page-sizes.txt "$(git rev-parse --short HEAD)" "$crates" > docs/PAGE.md <<'PY'
import json, sys, datetime
report, sizes, commit, crates = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
r = json.load(open(report))
a, c = r['audits'], r['categories']
lcp = a['largest-contentful-paint-element']['details']['items']
node = lcp[0]['items'][0]['node'] if lcp and lcp[0].get('items') else {}
phases = lcp[1]['items'] if len(lcp) > 1 else []
print('# What a voter downloads, and how soon the page shows\n')
print(f'Written by `bash bench/page.sh` on {datetime.date.today()} at commit `{commit}`: the release')
print('server and site on this machine, SQLite, the demo poll. One Lighthouse run.\n')
print('## Site files (built by scripts/build-site.sh)\n')
print('```')
print(''.join(l for l in open(sizes) if 'KiB' in l).rstrip())
print('```\n')
print(f'## Lighthouse {r["lighthouseVersion"]} on /p/demo (mobile emulation, simulated throttling)\n')
print('| | |\n| --- | --- |')
print(f'| performance | **{round(c["performance"]["score"] * 100)}** (target ≥ 90) |')
print(f'| accessibility | **{round(c["accessibility"]["score"] * 100)}** |')
for key, label in [('largest-contentful-paint', 'largest contentful paint (target ≤ 2.5 s)'),
                   ('first-contentful-paint', 'first contentful paint'), ('total-blocking-time', 'total blocking time'),
                   ('speed-index', 'speed index'), ('interactive', 'time to interactive'),
                   ('total-byte-weight', 'transferred')]:
    print(f'| {label} | {a[key]["displayValue"]} |')
print(f'\nLCP element: `{node.get("selector", "?")}` ("{node.get("nodeLabel", "")}"); phases: '
      + ', '.join(f'{p["phase"]} {p["timing"]:.0f} ms' for p in phases) + '.')
if crates:
    print('\n## The voting page\'s bundle (vote.wasm) by crate and by page (twiggy, before wasm-opt)\n')
    print('```')
    print(crates)
    print('```')
PY
echo "wrote docs/PAGE.md"
cat docs/PAGE.md
