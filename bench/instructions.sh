#!/usr/bin/env bash
# Instructions a request costs urna's process, counted by callgrind: the
# same release build serves GET /healthz and then durable votes (a poll with
# receipts) under valgrind, N requests each (oha, 100 connections), and
# callgrind counts the instructions of exactly those requests. Unlike
# requests/s on a shared 2-core machine (which drift 2x between runs), the
# count barely moves between runs, so it shows what a change to the vote
# path saves. User space only (the kernel's share is not counted), and the
# batches are smaller than under full load (valgrind is ~50x slower), so a
# batch's own work weighs more on each vote here than in bench.sh.
#
# Usage: bash bench/instructions.sh [requests, default 3000] [urna binary]
# Prints instructions per request and each run's ten costliest functions;
# the callgrind files stay in $OUT (default /tmp/urna-callgrind) for
# callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
N="${1:-3000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"
if [ -n "${2:-}" ]; then BIN="$2"; else cargo build --release --locked -p app; BIN="$CARGO_TARGET_DIR/release/urna"; fi
command -v valgrind >/dev/null || apt_install valgrind
if ! command -v oha >/dev/null; then cargo install oha --version 1.16.0 --locked; fi
OUT="${OUT:-/tmp/urna-callgrind}"
mkdir -p "$OUT" && rm -f "$OUT"/callgrind.*
PORT=3150
BASE="http://127.0.0.1:$PORT"

DB_URL=$(fresh_database urna_instructions "$BIN")
URNA_ADMIN_PASSWORD="benchmark password" "$BIN" create-admin --database-url "$DB_URL" bench >/dev/null
LOG="$OUT/server.log"
RUST_LOG=warn valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/callgrind.%p" "$BIN" serve \
  --database-url "$DB_URL" --redis-url "$REDIS_URL" --redis-prefix urna-instructions --bind "127.0.0.1:$PORT" \
  --instance-id instructions --rate-limit-ip-per-min 4000000000 --workers 2 >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -f "${ADMIN_JAR:-}"' EXIT
for _ in $(seq 1 300); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.5; done

source bench/admin.sh
read -r _ OPTIONS <<<"$(open_poll bench)"
OPTION=${OPTIONS%%,*}

load() { # get|vote
  if [ "$1" = vote ]; then
    oha -n "$N" -c 100 --no-tui -m POST -T application/json -d "{\"option_id\":$OPTION}" "$BASE/api/polls/bench/votes"
  else
    oha -n "$N" -c 100 --no-tui "$BASE/healthz"
  fi | grep -E '^\s+\[[0-9]+\]'
}
load vote >/dev/null; load get >/dev/null  # warm: pools, caches, first batch
for what in get vote; do
  callgrind_control -z "$SERVER" >/dev/null
  callgrind_control -i on "$SERVER" >/dev/null
  echo "$what: $(load "$what" | tr -s ' ' | tr '\n' ' ')"
  callgrind_control -i off "$SERVER" >/dev/null
  callgrind_control -d "$what" "$SERVER" >/dev/null
done
for what in get vote; do
  FILE=$(grep -l "^desc: Trigger: dump $what" "$OUT"/callgrind.* | head -1)
  TOTAL=$(awk '/^totals:/ {print $2}' "$FILE")
  echo "URNA $what instructions_per_request=$((TOTAL / N))"
  callgrind_annotate "$FILE" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | sed -n 2,11p | cut -c1-150
done
