#!/usr/bin/env bash
# What telling people from bots costs, measured in one run on this machine
# (release server on Postgres and Redis, wrk on the same machine):
#   1. durable votes/s without a guard (the baseline of this run)
#   2. the same with a new Idempotency-Key on every vote
#   3. the same on a poll with proof of work, each vote carrying its own
#      solved challenge (solved beforehand by bench/pow_solve.mjs, which
#      runs the voting page's solver): the server's cost of checking and
#      spending them
#   4. a client that does not solve: every vote refused, nothing counted
#   5. solving time in headless Chromium at each difficulty (the voting
#      page's Web Worker)
# and writes docs/BENCHMARKS-GUARDS.md. Targets only 127.0.0.1; every run is
# bounded in time.
#
# Usage: bash bench/guards.sh [seconds per run, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
DURATION="${1:-5}"
CONNECTIONS=1000
PORT=3101
BASE="http://127.0.0.1:$PORT"
SOLUTIONS=120000
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"

command -v wrk >/dev/null || apt_install wrk
(cd e2e && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund; })
[ -x /usr/bin/chromium ] || apt_install chromium
cargo build --release --locked -p app
bash scripts/build-site.sh "$CARGO_TARGET_DIR/site" >/dev/null
URNA="$CARGO_TARGET_DIR/release/urna"

DB_URL=$(fresh_database urna_bench_guards "$URNA")
URNA_ADMIN_PASSWORD="benchmark password" "$URNA" create-admin --database-url "$DB_URL" bench >/dev/null

ulimit -n 65536 2>/dev/null || true
LOG=$(mktemp); POW_FILE=$(mktemp); JAR=$(mktemp)
RUST_LOG=warn "$URNA" serve --database-url "$DB_URL" --redis-url "$REDIS_URL" --redis-prefix urna-bench-guards \
  --bind "127.0.0.1:$PORT" --instance-id bench --rate-limit-ip-per-min 4000000000 \
  --site-root "$CARGO_TARGET_DIR/site" >"$LOG" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -f "$LOG" "$POW_FILE" "$JAR"; }
trap cleanup EXIT
for _ in $(seq 1 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done

CSRF=$(curl -sf -c "$JAR" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"benchmark password"}' "$BASE/api/admin/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
admin() { curl -sf -b "$JAR" -H "x-csrf-token: $CSRF" -H 'content-type: application/json' "$@"; }
make_poll() { # slug extra-json → option ids
  local poll id
  poll=$(admin -d "{\"slug\":\"$1\",\"title\":\"$1\",\"options\":[{\"label\":\"A\"},{\"label\":\"B\"},{\"label\":\"C\"}]$2}" "$BASE/api/admin/polls")
  id=$(echo "$poll" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  admin -X POST "$BASE/api/admin/polls/$id/open" >/dev/null
  echo "$poll" | python3 -c 'import json,sys; print(",".join(str(o["id"]) for o in json.load(sys.stdin)["options"]))'
}
PLAIN=$(make_poll plain "")
POW=$(make_poll pow ',"pow":{"difficulty":1000}')
counted() { psql "$DB_URL" -Atc "select coalesce(sum(c.votes),0) from counters c join polls p on p.id=c.poll_id where p.slug='$1'"; }

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
run_wrk() { # mode options path
  URNA_BENCH_MODE="$1" URNA_BENCH_OPTIONS="$2" URNA_BENCH_POW="$POW_FILE" URNA_BENCH_THREADS=2 \
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s bench/wrk.lua "$BASE$3" | grep '^URNA'
}

echo "solving $SOLUTIONS challenges for run 3…"
node bench/pow_solve.mjs "$BASE" pow "$SOLUTIONS" >"$POW_FILE"
echo "warming up…"
URNA_BENCH_MODE=vote URNA_BENCH_OPTIONS="$PLAIN" wrk -t2 -c100 -d2s -s bench/wrk.lua "$BASE/api/polls/plain/votes" >/dev/null

echo "1/5 votes, no guard"
BASELINE=$(run_wrk vote "$PLAIN" /api/polls/plain/votes); echo "  $BASELINE"
echo "2/5 votes with an Idempotency-Key each"
KEYED=$(run_wrk keyed "$PLAIN" /api/polls/plain/votes); echo "  $KEYED"
echo "3/5 votes with a solved challenge each"
before=$(counted pow)
POWED=$(run_wrk pow "$POW" /api/polls/pow/votes); echo "  $POWED"
pow_counted=$(( $(counted pow) - before ))
echo "4/5 a client that does not solve"
before=$(counted pow)
BARE=$(run_wrk vote "$POW" /api/polls/pow/votes); echo "  $BARE"
bare_counted=$(( $(counted pow) - before ))
echo "5/5 solving in headless Chromium"
SOLVING=$(node e2e/pow-solving.mjs "$BASE" pow); echo "$SOLVING"

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
B=$(echo "$BASELINE" | field rps); K=$(echo "$KEYED" | field rps)
# Run 3 counts only votes with a fresh solution: its rate is what counted.
P_OK=$(echo "$POWED" | field ok); P=$(python3 -c "print(round($P_OK / $DURATION))")
row() { echo "| $1 | $(echo "$2" | field rps) | $(echo "$2" | field p50_ms) ms | $(echo "$2" | field p99_ms) ms | $(echo "$2" | field ok) × 200, $(echo "$2" | field other) other |"; }
solve_rows=$(echo "$SOLVING" | while read -r line; do
  echo "| $(echo "$line" | field difficulty) | $(echo "$line" | field median_ms) ms | $(echo "$line" | field max_ms) ms | $(echo "$line" | field hashes_per_sec) |"
done)

cat > docs/BENCHMARKS-GUARDS.md <<MD
# What the guards cost

Written by \`bash bench/guards.sh\` on $(date -u +%Y-%m-%d) at commit \`$(git rev-parse --short HEAD)\`, on
$(nproc) cores with wrk ($CONNECTIONS connections, ${DURATION} s a run) on the same machine; release build on
Postgres and Redis; every vote durable. Ratios come from this one run.

| run | requests/s | p50 | p99 | answers |
| --- | ---: | ---: | ---: | --- |
$(row "votes, no guard" "$BASELINE")
$(row "votes with an \`Idempotency-Key\` each" "$KEYED")
$(row "votes with a solved challenge each (difficulty 1,000)" "$POWED")
$(row "a client that does not solve (proof of work on)" "$BARE")

- Keyed votes / unkeyed: **$(ratio "$K" "$B")** (each key is a row written in the batch transaction).
- Votes with proof of work / without: **$(ratio "$P" "$B")** ($P_OK votes counted in ${DURATION} s, $pow_counted in the
  database; the server checks each with one SHA-256 and one HMAC and spends it in the batch transaction). Run 3 sent
  $SOLUTIONS solutions; once they ran out, later requests reused them and were refused, so its requests/s include
  refusals and the counted rate is the figure to compare.
- A client that does not solve: $(echo "$BARE" | field other) requests answered \`403 pow-required\`, **$bare_counted counted**.

Solving time in headless Chromium on this machine (the voting page's Web Worker, plain-JS SHA-256; median and
worst of 5 challenges; a voter tries half the numbers on average):

| difficulty (\`maxnumber\`) | median | worst | hashes/s |
| ---: | ---: | ---: | ---: |
$solve_rows

The admin dashboard's "about N s on a mid-range phone" assumes $(grep -o 'PHONE_HASHES_PER_SEC: f64 = [0-9_.]*' app/src/vote/pow.rs | sed 's/.*= //') hashes/s, a
fraction of this machine's rate.
MD
echo "wrote docs/BENCHMARKS-GUARDS.md"
cat docs/BENCHMARKS-GUARDS.md
