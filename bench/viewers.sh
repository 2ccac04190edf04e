#!/usr/bin/env bash
# 10,000 live viewers: one instance (release, Postgres and Redis) holds
# 10,000 open results streams (app/examples/viewers.rs, one thread) while
# wrk sends votes at full rate over 1000 connections. Measures the server's
# memory with the viewers, the freshness every viewer saw (commit → event
# received), and the votes/s lost to the viewers against a run without
# them. Raises its own file limit. Targets only 127.0.0.1; bounded in time.
# Writes docs/VIEWERS.md.
#
# Usage: bash bench/viewers.sh [viewers, default 10000] [seconds, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
VIEWERS="${1:-10000}"
DURATION="${2:-10}"
CONNECTIONS=1000
PORT=3400
BASE="http://127.0.0.1:$PORT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"

command -v wrk >/dev/null || apt_install wrk
# Each process (server, viewers, wrk) needs a descriptor per connection.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((VIEWERS + CONNECTIONS + 200)) ]; then
  echo "the file limit here is $(ulimit -n): too few for $VIEWERS viewers and $CONNECTIONS connections" >&2
  exit 1
fi
cargo build --release --locked -p app --bin urna --example viewers
URNA="$CARGO_TARGET_DIR/release/urna"
WATCHER="$CARGO_TARGET_DIR/release/examples/viewers"
DB_URL=$(fresh_database urna_viewers "$URNA")

LOG=$(mktemp)
RUST_LOG=warn "$URNA" serve --database-url "$DB_URL" --redis-url "$REDIS_URL" --redis-prefix urna-viewers \
  --bind "127.0.0.1:$PORT" --instance-id viewers --demo --rate-limit-ip-per-min 4000000000 >"$LOG" 2>&1 &
SERVER=$!
VIEWERS_PID=""
READY=$(mktemp)
cleanup() {
  [ -n "$VIEWERS_PID" ] && kill "$VIEWERS_PID" 2>/dev/null || true
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -f "$LOG" "$READY"
}
trap cleanup EXIT
for _ in $(seq 1 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done
OPTIONS=$(curl -sf "$BASE/api/polls/demo" | python3 -c 'import json,sys; print(",".join(str(o["id"]) for o in json.load(sys.stdin)["options"]))')
rss_mib() { awk '/VmRSS/ {printf "%d", $2 / 1024}' "/proc/$SERVER/status"; }
field() { sed -n "s/.*$1=\([0-9.a-z]*\).*/\1/p"; }
votes() {
  URNA_BENCH_MODE=vote URNA_BENCH_OPTIONS="$OPTIONS" wrk -t2 -c"$CONNECTIONS" -d"${1}s" --timeout 10s \
    -s bench/wrk.lua "$BASE/api/polls/demo/votes" | grep '^URNA'
}

echo "warming up…"
votes 2 >/dev/null
RSS_IDLE=$(rss_mib)
echo "1/2 votes without viewers"
ALONE=$(votes "$DURATION"); echo "  $ALONE"

echo "2/2 $VIEWERS viewers, then votes at full rate while they watch"
rm -f "$READY"
"$WATCHER" "$BASE/api/polls/demo/results/stream" "$VIEWERS" "$((DURATION + 2))" "$READY" >"$LOG.viewers" 2>&1 &
VIEWERS_PID=$!
for _ in $(seq 1 1200); do [ -s "$READY" ] && break; sleep 0.1; done
OPEN=$(cat "$READY" 2>/dev/null || echo 0)
RSS_VIEWERS=$(rss_mib)
echo "  $OPEN streams open; server RSS ${RSS_VIEWERS} MiB"
WATCHED=$(votes "$DURATION"); echo "  $WATCHED"
RSS_PEAK=$(rss_mib)
wait "$VIEWERS_PID" || true
VIEWERS_PID=""
SEEN=$(grep '^URNA' "$LOG.viewers" || echo "URNA events=0"); rm -f "$LOG.viewers"
echo "  $SEEN"

A=$(echo "$ALONE" | field rps); W=$(echo "$WATCHED" | field rps)
cat > docs/VIEWERS.md <<MD
# 10,000 live viewers

Written by \`bash bench/viewers.sh $VIEWERS $DURATION\` on $(date -u +%Y-%m-%d) at commit \`$(git rev-parse --short HEAD)\`,
on $(nproc) cores; the viewers (app/examples/viewers.rs, one thread) and wrk run on the same machine
as the server. Release build, Postgres and Redis, one instance; ratios come from this one run.

| | |
| --- | --- |
| results streams open at once | $OPEN of $VIEWERS |
| server memory: idle / with the viewers / at the end of the vote run | $RSS_IDLE / **$RSS_VIEWERS** / $RSS_PEAK MiB (target ≤ 150) |
| votes/s without viewers (wrk, $CONNECTIONS connections) | $A |
| votes/s while the viewers watch | $W ($(python3 -c "print(f'{$W / $A:.2f}')")× the run without; $(echo "$WATCHED" | field other) answers not 2xx) |
| events received across all viewers during the vote run | $(echo "$SEEN" | field events) |
| freshness across all viewers (commit → event received) | p50 $(echo "$SEEN" | field fresh_p50_ms) ms, **p99 $(echo "$SEEN" | field fresh_p99_ms) ms**, max $(echo "$SEEN" | field fresh_max_ms) ms (target p99 ≤ 1 s) |

The server sends each viewer at most 10 events a second, each the whole
results snapshot. The viewers' process shares the two cores with the server
and wrk: its own delays count in the freshness above.
MD
echo "wrote docs/VIEWERS.md"
cat docs/VIEWERS.md
