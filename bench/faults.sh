#!/usr/bin/env bash
# urna's fault scenarios, each under a steady vote load from a client that
# keeps its own record (bench/fault_load.py), each on a poll of its own:
#   kill -9      × 10  the server killed mid-load and started again
#   pg-short     × 5   Postgres stopped (immediate mode) for 3 s
#   pg-long      × 5   Postgres stopped for 30 s: refusals with Retry-After
#                      within 2 s, no answer slower than 2 s, /readyz not
#                      ready, memory flat, votes back within 2 s of its return
#   redis        × 5   Redis stopped for 5 s: voters notice nothing
# After each, the database is reconciled against the client's record:
# acknowledged ≤ counted ≤ acknowledged + unanswered. The figures go into
# docs/RELIABILITY.md. Targets only 127.0.0.1; bounded in time; Postgres and
# Redis are started again on every exit path.
#
# Usage: bash bench/faults.sh [URNA_BIN]   (default: a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"
if [ -n "${1:-}" ]; then
  URNA="$1"
else
  cargo build --release --locked -p app
  URNA="$CARGO_TARGET_DIR/release/urna"
fi
PORT=3200
BASE="http://127.0.0.1:$PORT"
CONNECTIONS=40
PGVER=$(ls /etc/postgresql | sort -V | tail -1)
DB_URL="${URNA_TEST_PG_URL%/*}/urna_faults"
WORK=$(mktemp -d)
SERVER=""
LOAD=""

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
pg_start() {
  pg_up || as_root pg_ctlcluster --skip-systemctl-redirect "$PGVER" main start >/dev/null 2>&1 || true
  for _ in $(seq 1 100); do pg_up && return 0; sleep 0.1; done
  echo "PostgreSQL did not come back" >&2
  return 1
}
pg_stop() { as_root pg_ctlcluster --skip-systemctl-redirect "$PGVER" main stop -m immediate >/dev/null 2>&1; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
redis_start() {
  redis_up || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/urna.log >/dev/null
  for _ in $(seq 1 40); do redis_up && return 0; sleep 0.1; done
}
redis_stop() { redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true; }
stop_load() {
  if [ -n "$LOAD" ]; then echo stop >"$WORK/control"; wait "$LOAD" 2>/dev/null || true; LOAD=""; fi
}
stop_server() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""; fi
}
cleanup() {
  stop_load
  stop_server
  pg_start || true
  redis_start || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

psql "$URNA_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS urna_faults WITH (FORCE)"
psql "$URNA_TEST_PG_URL" -qc "CREATE DATABASE urna_faults"
"$URNA" migrate --database-url "$DB_URL" >/dev/null
URNA_ADMIN_PASSWORD="faults password long" "$URNA" create-admin --database-url "$DB_URL" faults >/dev/null

start_server() {
  RUST_LOG=warn "$URNA" serve --database-url "$DB_URL" --redis-url "$REDIS_URL" --redis-prefix urna-faults \
    --bind "127.0.0.1:$PORT" --instance-id faults --rate-limit-ip-per-min 0 --rate-limit-voter-per-min 0 \
    >>"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/readyz" >/dev/null && return 0; sleep 0.1; done
  echo "the server did not become ready" >&2
  tail -20 "$WORK/server.log" >&2
  return 1
}
start_server

JAR="$WORK/jar"
CSRF=$(curl -sf -c "$JAR" -H 'content-type: application/json' \
  -d '{"username":"faults","password":"faults password long"}' "$BASE/api/admin/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
# A new open poll; prints "id option_id".
new_poll() {
  local poll
  poll=$(curl -sf -b "$JAR" -H "x-csrf-token: $CSRF" -H 'content-type: application/json' \
    -d "{\"slug\":\"$1\",\"title\":\"$1\",\"options\":[{\"label\":\"A\"},{\"label\":\"B\"}]}" "$BASE/api/admin/polls")
  local id
  id=$(echo "$poll" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -sf -b "$JAR" -H "x-csrf-token: $CSRF" -X POST "$BASE/api/admin/polls/$id/open" >/dev/null
  echo "$id $(echo "$poll" | python3 -c 'import json,sys; print(json.load(sys.stdin)["options"][0]["id"])')"
}
start_load() { # slug option
  rm -f "$WORK/control"
  python3 bench/fault_load.py 127.0.0.1 "$PORT" "$1" "$2" "$CONNECTIONS" "$WORK/control" "$WORK/load.jsonl" &
  LOAD=$!
}
counted() { psql "$DB_URL" -Atc "select coalesce(sum(votes), 0) from counters where poll_id = $1"; }
rss_mb() { awk '/VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$SERVER/status" 2>/dev/null || echo 0; }
ready_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$BASE/readyz" || true; }

# One scenario: its poll, the load around `fault` (a shell function), the
# reconciliation. Appends one JSON line to $WORK/results.jsonl.
scenario() { # kind n fault
  local kind=$1 n=$2 fault=$3
  read -r id option <<<"$(new_poll "$kind-$n")"
  start_load "$kind-$n" "$option"
  sleep 3
  local t0
  t0=$(date +%s.%N)
  FAULT_NOTES="{}"
  "$fault"
  sleep 3
  stop_load
  # Waiting answers finish; then the database has everything.
  sleep 1
  local final counted_votes
  final=$(tail -n 1 "$WORK/load.jsonl")
  counted_votes=$(counted "$id")
  python3 - "$kind" "$n" "$t0" "$counted_votes" "$final" "$FAULT_NOTES" "$WORK/load.jsonl" >>"$WORK/results.jsonl" <<'PY'
import json, sys
kind, n, t0, counted, final, notes, log = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5]), json.loads(sys.argv[6]), sys.argv[7]
acked, unanswered = final["acked"], final["unanswered"]
print(json.dumps({"kind": kind, "n": n, "acked": acked, "unanswered": unanswered, "refused": final["refused"],
    "statuses": final["statuses"], "no_retry_after": final["503_without_retry_after"], "counted": counted,
    "holds": acked <= counted <= acked + unanswered, **notes}))
PY
  echo "  $kind #$n: $(tail -n 1 "$WORK/results.jsonl")"
}

# Seconds from `since` to the first answer of a kind (`ok`, `s503`) after it.
first_after() { # since field
  python3 - "$WORK/load.jsonl" "$1" "$2" <<'PY'
import json, sys
since, field = float(sys.argv[2]), sys.argv[3]
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("final"):
        break
    at = d.get(field + "_t", 0)
    if at > since:
        print(f'{at - since:.2f}')
        break
else:
    print("never")
PY
}
slowest_between() { # from to
  python3 - "$WORK/load.jsonl" "$1" "$2" <<'PY'
import json, sys
a, b = float(sys.argv[2]), float(sys.argv[3])
worst = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    if not d.get("final") and a <= d["t"] <= b + 1:
        worst = max(worst, d["slowest_ms"])
print(f"{worst:.0f}")
PY
}

kill9() {
  kill -KILL "$SERVER"
  wait "$SERVER" 2>/dev/null || true
  SERVER=""
  local t
  t=$(date +%s.%N)
  start_server
  FAULT_NOTES=$(python3 -c "import time; print('{\"restart_s\": %.1f}' % (time.time() - $t))")
}

pg_outage() { # seconds
  local secs=$1 t_stop t_start rss_before rss_max=0 ready_during="" r
  rss_before=$(rss_mb)
  t_stop=$(date +%s.%N)
  pg_stop
  for _ in $(seq 1 "$secs"); do
    sleep 1
    r=$(rss_mb); [ "$r" -gt "$rss_max" ] && rss_max=$r
    ready_during="$ready_during $(ready_code)"
  done
  pg_start
  t_start=$(date +%s.%N)
  sleep 3
  local first503 back slowest
  first503=$(first_after "$t_stop" s503)
  back=$(first_after "$t_start" ok)
  slowest=$(slowest_between "$t_stop" "$t_start")
  FAULT_NOTES=$(python3 -c "import json,sys; print(json.dumps({'outage_s': $secs, 'first_503_s': '$first503', 'votes_back_s': '$back', 'slowest_ms_during': $slowest, 'rss_mb_before': $rss_before, 'rss_mb_max_during': $rss_max, 'rss_mb_after': $(rss_mb), 'readyz_during': sorted(set('$ready_during'.split()))}))")
}
pg_short() { pg_outage 3; }
pg_long() { pg_outage 30; }

redis_outage() {
  redis_stop
  sleep 5
  redis_start
  FAULT_NOTES='{"outage_s": 5}'
}

: >"$WORK/results.jsonl"
echo "kill -9 under load, 10 times"
for n in $(seq 1 10); do scenario kill9 "$n" kill9; done
echo "Postgres stopped for 3 s, 5 times"
for n in $(seq 1 5); do scenario pg-short "$n" pg_short; done
echo "Postgres stopped for 30 s, 5 times"
for n in $(seq 1 5); do scenario pg-long "$n" pg_long; done
echo "Redis stopped for 5 s, 5 times"
for n in $(seq 1 5); do scenario redis "$n" redis_outage; done

python3 - "$WORK/results.jsonl" "$(git rev-parse --short HEAD)" "$(nproc)" >docs/RELIABILITY.md <<'PY'
import json, sys, datetime
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows:
    by.setdefault(r["kind"], []).append(r)
def tot(rs, k): return sum(r[k] for r in rs)
out = []
out.append("# Reliability\n")
out.append(f"Written by `bash bench/faults.sh` on {datetime.date.today()} at commit `{sys.argv[2]}`, on {sys.argv[3]} cores, "
           "release build on Postgres and Redis, 40 connections voting without pause (`bench/fault_load.py`, which keeps "
           "its own record: votes answered 200, votes refused, and votes sent whose answer never came). Each run is a poll "
           "of its own, reconciled afterwards against the database: **acknowledged ≤ counted ≤ acknowledged + unanswered**.\n")
promise = {
    "kill9": "`kill -9` mid-load, then a restart: no acknowledged vote lost, none counted twice.",
    "pg-short": "Postgres stopped (immediate) for 3 s: votes refused with 503 + Retry-After while it is away, none lost or doubled.",
    "pg-long": "Postgres stopped for 30 s: 503 + Retry-After within 2 s, no answer slower than 2 s, /readyz not ready, memory flat, votes back within 2 s of its return.",
    "redis": "Redis stopped for 5 s: voters notice nothing (every vote answered 200).",
}
out.append("| scenario | runs | acknowledged | unanswered | refused | counted | reconciliation | promise |")
out.append("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
for kind, rs in by.items():
    holds = all(r["holds"] for r in rs)
    out.append(f"| {kind} | {len(rs)} | {tot(rs,'acked')} | {tot(rs,'unanswered')} | {tot(rs,'refused')} | {tot(rs,'counted')} | "
               f"{'holds in every run' if holds else '**BROKEN**'} | {promise.get(kind,'')} |")
out.append("")
out.append("## Each run\n")
out.append("| scenario | # | acknowledged | unanswered | refused (by status) | 503 without Retry-After | counted | holds | notes |")
out.append("| --- | ---: | ---: | ---: | --- | ---: | ---: | --- | --- |")
skip = {"kind","n","acked","unanswered","refused","statuses","no_retry_after","counted","holds"}
for r in rows:
    notes = ", ".join(f"{k}={v}" for k, v in r.items() if k not in skip)
    out.append(f"| {r['kind']} | {r['n']} | {r['acked']} | {r['unanswered']} | {r['statuses'] or '-'} | {r['no_retry_after']} | {r['counted']} | {'yes' if r['holds'] else '**no**'} | {notes} |")
out.append("")
out.append("`first_503_s`: seconds from the stop to the first 503; `votes_back_s`: from Postgres's return (once it "
           "accepts connections) to the first vote answered 200; `slowest_ms_during`: the slowest answer of any vote in "
           "the seconds Postgres was away; `readyz_during`: what /readyz answered then; `rss_mb_*`: the server's "
           "memory before, at most during, and after; `restart_s`: from the kill to the new process answering /readyz.")
print("\n".join(out))
PY
echo "wrote docs/RELIABILITY.md"
cat docs/RELIABILITY.md
