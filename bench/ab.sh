#!/usr/bin/env bash
# Compares two urna binaries (or two sets of serve options) on the vote
# path, alternating them so that the machine's drift (±10 % between runs of
# one binary on these shared cores) falls on both alike. Each round starts
# each server on a fresh Postgres database with Redis, and measures, with the
# same wrk as bench.sh (1000 connections): GET /healthz, then votes; it
# prints each run's requests/s, votes/ceiling, the cores' idle share during
# the votes (vmstat), the batches (how many, mean votes), and where the
# vote run's CPU went, in µs a vote (/proc: the server's two busiest threads,
# the HTTP workers; its other threads, the poll's actor and the pool's
# reactor; and Postgres with Redis), then each side's median ratio. Targets
# only 127.0.0.1; every run is bounded.
#
# Usage: bash bench/ab.sh A_BIN B_BIN [rounds, default 3] [seconds, default 8]
#   A_ARGS / B_ARGS: extra `serve` options for each side, e.g.
#   A_ARGS='--flush-interval-ms 2' bash bench/ab.sh "$bin" "$bin"
#   A_POLL / B_POLL: extra JSON fields of each side's poll, e.g.
#   B_POLL=',"ack":"fast"' bash bench/ab.sh "$bin" "$bin"
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
A_BIN="$1"; B_BIN="$2"; ROUNDS="${3:-3}"; SECS="${4:-8}"
PORT=3160
BASE="http://127.0.0.1:$PORT"
command -v wrk >/dev/null || apt_install wrk
command -v vmstat >/dev/null || apt_install procps
ulimit -n 65536 2>/dev/null || true
SERVER=""; VMSTAT=""; LOG=$(mktemp); VM=$(mktemp); RESULTS=$(mktemp)
cleanup() {
  [ -n "$VMSTAT" ] && kill "$VMSTAT" 2>/dev/null || true
  [ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
  rm -f "$LOG" "$VM" "$RESULTS" "${ADMIN_JAR:-}"
}
trap cleanup EXIT
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
# User + system CPU, in clock ticks, of the process or thread whose stat
# file is $1 (0 once it is gone).
ticks() {
  local line
  read -r line <"$1" 2>/dev/null || { echo 0; return; }
  # shellcheck disable=SC2086 # the fields after the command name
  set -- ${line##*) }
  echo $((${12} + ${13}))
}
# "tid ticks" for each thread of process $1.
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do echo "${t##*/} $(ticks "$t/stat")"; done
}
# Ticks of the database's server processes and Redis, together.
service_ticks() {
  local p sum=0
  for p in $(pgrep -f "postgres: .* $1 ") $(pgrep redis-server); do sum=$((sum + $(ticks "/proc/$p/stat"))); done
  echo "$sum"
}

one() { # side binary args poll-fields
  local side="$1" bin="$2" args="$3" fields="$4" db options ceil vote idle batches
  db=$(fresh_database urna_ab "$bin")
  URNA_ADMIN_PASSWORD="benchmark password" "$bin" create-admin --database-url "$db" bench >/dev/null
  # shellcheck disable=SC2086 # the side's options are words
  RUST_LOG=warn "$bin" serve --database-url "$db" --redis-url "$REDIS_URL" --redis-prefix urna-ab \
    --bind "127.0.0.1:$PORT" --instance-id ab --rate-limit-ip-per-min 4000000000 $args >"$LOG" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done
  source bench/admin.sh
  read -r _ options <<<"$(open_poll ab "$fields")"
  URNA_BENCH_MODE=vote URNA_BENCH_OPTIONS="$options" wrk -t2 -c100 -d2s -s bench/wrk.lua "$BASE/api/polls/ab/votes" >/dev/null
  ceil=$(URNA_BENCH_MODE=get wrk -t2 -c1000 -d"${SECS}s" --timeout 10s -s bench/wrk.lua "$BASE/healthz" | grep '^URNA')
  vmstat 1 "$SECS" >"$VM" & VMSTAT=$!
  local before services0 services1 cpu
  before=$(thread_ticks "$SERVER"); services0=$(service_ticks urna_ab)
  vote=$(URNA_BENCH_MODE=vote URNA_BENCH_OPTIONS="$options" wrk -t2 -c1000 -d"${SECS}s" --timeout 10s \
    -s bench/wrk.lua "$BASE/api/polls/ab/votes" | grep '^URNA')
  services1=$(service_ticks urna_ab)
  wait "$VMSTAT" || true; VMSTAT=""
  # One tick is 1/CLK_TCK s; µs a vote: ticks × 1e6 / CLK_TCK / votes.
  cpu=$(join <(echo "$before" | sort) <(thread_ticks "$SERVER" | sort) |
    awk -v hz="$(getconf CLK_TCK)" -v n="$(echo "$vote" | field ok)" -v svc="$((services1 - services0))" '
      { d = $3 - $2; all += d; if (d > a) { b = a; a = d } else if (d > b) b = d } END {
        w = a + b; o = all - w; us = 1e6 / hz / n
        printf "cpu µs/vote: workers %.1f, other threads %.1f, postgres+redis %.1f", w * us, o * us, svc * us }')
  idle=$(awk 'NR > 3 { s += $15; n++ } END { if (n) printf "%.1f", s / n }' "$VM")
  batches=$(psql "$db" -Atc "select count(*) || ' batches of ' || round(avg(votes)) from batches")
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  rm -f "$ADMIN_JAR"
  local c v
  c=$(echo "$ceil" | field rps); v=$(echo "$vote" | field rps)
  python3 -c "print(f'$side ceiling={$c} votes={$v} ratio={$v/$c:.3f} idle%=$idle ($batches; other answers: $(echo "$vote" | field other)) $cpu')" |
    tee -a "$RESULTS"
}

for _ in $(seq 1 "$ROUNDS"); do
  one A "$A_BIN" "${A_ARGS:-}" "${A_POLL:-}"
  one B "$B_BIN" "${B_ARGS:-}" "${B_POLL:-}"
done
python3 -c '
import re, statistics, sys
by = {}
for line in sys.stdin:
    side, ratio = line.split()[0], float(re.search(r"ratio=([0-9.]+)", line).group(1))
    by.setdefault(side, []).append(ratio)
for side, rs in sorted(by.items()):
    print(f"{side}: median votes/ceiling {statistics.median(rs):.3f} over {len(rs)} rounds")
' <"$RESULTS"
