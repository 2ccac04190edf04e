#!/usr/bin/env bash
# The opening rush: new visitors each load the voting page, its assets (a
# first visit), the poll, and vote once, over 1000 connections; and, in the
# same run, GET /healthz over the same connections for the HTTP ceiling.
# Release server and site, Postgres and Redis as in production, one
# instance. Writes docs/RUSH.md. Targets only 127.0.0.1; bounded in time.
#
# Usage: bash bench/rush.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
DURATION="${1:-10}"
CONNECTIONS=1000
PORT=3300
BASE="http://127.0.0.1:$PORT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"

command -v wrk >/dev/null || apt_install wrk
cargo build --release --locked -p app
SITE="$CARGO_TARGET_DIR/site"
bash scripts/build-site.sh "$SITE" >/dev/null
URNA="$CARGO_TARGET_DIR/release/urna"

DB_URL=$(fresh_database urna_rush "$URNA")

ulimit -n 65536 2>/dev/null || true
LOG=$(mktemp)
# One client address sends everything: the per-IP limit is set out of reach.
RUST_LOG=warn "$URNA" serve --database-url "$DB_URL" --redis-url "$REDIS_URL" --redis-prefix urna-rush \
  --bind "127.0.0.1:$PORT" --instance-id rush --site-root "$SITE" --demo \
  --rate-limit-ip-per-min 4000000000 >"$LOG" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -f "$LOG"; }
trap cleanup EXIT
for _ in $(seq 1 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done
POLL_ID=$(curl -sf "$BASE/api/polls/demo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
OPTION=$(curl -sf "$BASE/api/polls/demo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["options"][0]["id"])')
export URNA_RUSH_SLUG=demo URNA_RUSH_OPTION="$OPTION" URNA_RUSH_MANIFEST="$SITE/pkg/manifest.json"
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "warming up…"
wrk -t2 -c100 -d2s -s bench/rush.lua "$BASE" >/dev/null
counted_before=$(psql "$DB_URL" -Atc "select coalesce(sum(votes),0) from counters where poll_id=$POLL_ID")

echo "1/2 ceiling: GET /healthz"
CEIL=$(URNA_BENCH_MODE=get wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s bench/wrk.lua "$BASE/healthz" | grep '^URNA')
echo "  $CEIL"
echo "1b/3 the voting page alone: GET /p/demo (served from the page cache)"
PAGE=$(URNA_BENCH_MODE=get wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s bench/wrk.lua "$BASE/p/demo" | grep '^URNA')
echo "  $PAGE"
PAGE_BYTES=$(curl -s -o /dev/null -w '%{size_download}' "$BASE/p/demo")
echo "2/3 the rush: page, css, boot.js, js, wasm (brotli), poll, vote"
RUSH=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s bench/rush.lua "$BASE" | grep '^URNA')
echo "  $RUSH"
sleep 1
counted=$(( $(psql "$DB_URL" -Atc "select coalesce(sum(votes),0) from counters where poll_id=$POLL_ID") - counted_before ))
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
echo "3/3 returning visitors (assets cached): page, poll, vote"
BACK=$(URNA_RUSH_CACHED=1 wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s bench/rush.lua "$BASE" | grep '^URNA')
echo "  $BACK"

CEIL_RPS=$(echo "$CEIL" | field rps); VISITORS=$(echo "$RUSH" | field visitors); RUSH_RPS=$(echo "$RUSH" | field rps)
OK=$(echo "$RUSH" | field ok); OTHER=$(echo "$RUSH" | field other); BYTES=$(echo "$RUSH" | field bytes_per_s)
RATIO=$(python3 -c "print(f'{$VISITORS / $CEIL_RPS:.3f}')")
PAGE_RPS=$(echo "$PAGE" | field rps)
PAGE_RATIO=$(python3 -c "print(f'{$PAGE_RPS / $CEIL_RPS:.2f}')")
cat > docs/RUSH.md <<MD
# The opening rush

Written by \`bash bench/rush.sh\` on $(date -u +%Y-%m-%d) at commit \`$(git rev-parse --short HEAD)\`,
on $(nproc) cores with wrk on the same machine. Release server and site, Postgres and Redis, one
instance, ${CONNECTIONS} connections, ${DURATION} s per run; ratios come from this one run.

A visitor is the seven requests a new voter's browser makes: the voting page
(\`/p/demo\`, in the poll's language), its stylesheet, \`boot.js\`, the voting page's own bundle (\`vote\`: JavaScript and
WebAssembly; a first visit: nothing cached, brotli accepted), the poll, and one
vote. Each wrk thread sends them in that order, round after round, over its
connections.

| run | requests/s | visitors/s | p50 | p99 | answers |
| --- | ---: | ---: | ---: | ---: | --- |
| \`GET /healthz\` (HTTP ceiling) | $CEIL_RPS | | $(echo "$CEIL" | field p50_ms) ms | $(echo "$CEIL" | field p99_ms) ms | |
| the voting page alone (\`GET /p/demo\`, $PAGE_BYTES bytes, from the page cache) | **$PAGE_RPS** | | $(echo "$PAGE" | field p50_ms) ms | $(echo "$PAGE" | field p99_ms) ms | $(echo "$PAGE" | field ok) 2xx, $(echo "$PAGE" | field other) other |
| the rush | $RUSH_RPS | **$VISITORS** | $(echo "$RUSH" | field p50_ms) ms | $(echo "$RUSH" | field p99_ms) ms | $OK 2xx, $OTHER other |
| returning visitors (assets cached: page, poll, vote) | $(echo "$BACK" | field rps) | $(echo "$BACK" | field visitors) | $(echo "$BACK" | field p50_ms) ms | $(echo "$BACK" | field p99_ms) ms | $(echo "$BACK" | field ok) 2xx, $(echo "$BACK" | field other) other |

- Voting-page views/s against the ceiling's requests/s: **$PAGE_RATIO** (the page is rendered
  once per poll state and language and served from memory, \`ETag\`/\`304\`, a shared cache may
  keep it a second).
- Visitors/s against the ceiling's requests/s: **$RATIO** (each visitor is seven requests);
  returning visitors: $(python3 -c "print(f'{$(echo "$BACK" | field visitors) / $CEIL_RPS:.3f}')") (three requests each).
- The server sent $(python3 -c "print(f'{$BYTES / 1e6:.0f}')") MB/s, mostly the brotli bundle.
- Votes counted during the rush: $counted (wrk saw about $((OK / 7)) answered).
- Server memory (RSS) after the rush: $((RSS / 1024)) MiB.
MD
echo "wrote docs/RUSH.md"
cat docs/RUSH.md
