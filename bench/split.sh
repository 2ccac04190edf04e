#!/usr/bin/env bash
# Where a request's CPU goes on the whole machine, per process: one urna
# server (release build, fresh Postgres database, Redis) takes three 8-s wrk
# runs at 1000 connections, shaped like bench.sh's: `GET /healthz`, durable
# votes (a poll with receipts) and the same votes on a poll with
# `"ack":"fast"` (answered before their commit: the same parsing, checks,
# batching and commits, without the wait). During the middle 4 s of each,
# `perf record -a -e cpu-clock` samples every process; the script prints µs of
# CPU per request for the HTTP workers (urna's two busiest threads; user
# space and kernel apart), urna's other threads (the poll's actor, the
# pool's reactor), Postgres + Redis, wrk, the idle cores, the rest (the
# kernel's own threads, perf), and all together
# (µs = share of samples × 2 cores ÷ requests/s, with the machine's cores).
# The durable and fast rows differ only by the wait for the commit: that is
# what their difference measures. Targets only 127.0.0.1; bounded.
#
# Usage: bash bench/split.sh [urna binary, default: a release build]
# The perf files stay in $OUT (default /tmp/urna-split) as get.data,
# durable.data and fast.data, for `perf report -i … --sort sym`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"
if [ -n "${1:-}" ]; then BIN="$1"; else cargo build --release --locked -p app; BIN="$CARGO_TARGET_DIR/release/urna"; fi
command -v wrk >/dev/null || apt_install wrk
command -v perf >/dev/null || apt_install linux-perf
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
PORT=3172
BASE="http://127.0.0.1:$PORT"
OUT="${OUT:-/tmp/urna-split}"
mkdir -p "$OUT" && rm -f "$OUT"/*.data
WORK=$(mktemp -d)
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
  rm -rf "$WORK" "${ADMIN_JAR:-}"
}
trap cleanup EXIT

db=$(fresh_database urna_split "$BIN")
URNA_ADMIN_PASSWORD="benchmark password" "$BIN" create-admin --database-url "$db" bench >/dev/null
RUST_LOG=warn "$BIN" serve --database-url "$db" --redis-url "$REDIS_URL" --redis-prefix urna-split \
  --bind "127.0.0.1:$PORT" --instance-id split --rate-limit-ip-per-min 4000000000 >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done
source bench/admin.sh
read -r _ durable <<<"$(open_poll split-durable)"
read -r _ fast <<<"$(open_poll split-fast ',"ack":"fast"')"

run() { # name mode options url
  local name="$1" mode="$2" options="$3" url="$4" pid
  URNA_BENCH_MODE="$mode" URNA_BENCH_OPTIONS="$options" wrk -t2 -c100 -d2s -s bench/wrk.lua "$url" >/dev/null
  URNA_BENCH_MODE="$mode" URNA_BENCH_OPTIONS="$options" wrk -t2 -c1000 -d8s --timeout 10s -s bench/wrk.lua "$url" \
    >"$WORK/$name.wrk" &
  pid=$!
  sleep 2
  perf record -a -e cpu-clock -F 999 -o "$OUT/$name.data" -- sleep 4 >/dev/null 2>&1
  wait "$pid"
  perf report -i "$OUT/$name.data" --no-children --sort pid,dso -q -g none --percent-limit 0 2>/dev/null >"$WORK/$name.split"
  echo "$name $(grep -o 'rps=[0-9]*' "$WORK/$name.wrk" | cut -d= -f2)" >>"$WORK/runs"
}
run get get "" "$BASE/healthz"
run durable vote "$durable" "$BASE/api/polls/split-durable/votes"
run fast vote "$fast" "$BASE/api/polls/split-fast/votes"

python3 - "$WORK" "$SERVER" "$(nproc)" <<'EOF'
import collections, os, re, sys
work, server, cores = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = ["workers, user space", "workers, kernel", "urna's other threads", "Postgres + Redis", "wrk", "idle",
        "other processes", "all"]
table = {}
# perf's pid column is the thread's id; urna's threads are the server's.
tids = set(os.listdir(f"/proc/{server}/task"))
for line in open(f"{work}/runs"):
    name, rps = line.split()
    by_tid, groups = collections.Counter(), collections.Counter()
    samples = []
    for l in open(f"{work}/{name}.split"):
        # "  29.63%  20653:actix-rt|system  base": columns apart by 2+ spaces.
        cols = re.split(r"\s{2,}", l.strip())
        if len(cols) == 3 and cols[0].endswith("%") and ":" in cols[1]:
            tid, comm = cols[1].split(":", 1)
            samples.append((float(cols[0][:-1]), tid, comm, cols[2]))
    for share, tid, comm, dso in samples:
        if tid in tids:
            by_tid[tid] += share
    workers = {t for t, _ in by_tid.most_common(2)}
    for share, tid, comm, dso in samples:
        if tid in workers:
            groups["workers, kernel" if dso.startswith("[kernel") else "workers, user space"] += share
        elif tid in tids:
            groups["urna's other threads"] += share
        elif comm.startswith(("postgres", "redis")):
            groups["Postgres + Redis"] += share
        elif comm.startswith("wrk"):
            groups["wrk"] += share
        elif tid == "0" or comm.startswith("swapper"):
            groups["idle"] += share
    groups["other processes"] = 100.0 - sum(groups.values())
    groups["all"] = 100.0
    us = cores * 1e6 / float(rps) / 100
    table[name] = ({k: v * us for k, v in groups.items()}, float(rps))
names = [n for n in ("get", "durable", "fast") if n in table]
head = {"get": "`GET /healthz`", "durable": "vote, durable", "fast": "vote, ack fast"}
print("| µs per request | " + " | ".join(f"{head[n]} ({table[n][1] / 1000:.1f}k/s)" for n in names) + " |")
print("| --- |" + " ---: |" * len(names))
for r in rows:
    print(f"| {r} | " + " | ".join(f"{table[n][0].get(r, 0):.1f}" for n in names) + " |")
if "get" in table:
    print("votes / ceiling: " + ", ".join(f"{n} {table[n][1] / table['get'][1]:.2f}" for n in names if n != "get"))
EOF
