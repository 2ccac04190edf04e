#!/usr/bin/env bash
# The scale-out figure: three urna instances behind HAProxy (Debian's
# package, on loopback), sharing one Postgres and one Redis, take durable
# votes from wrk at 1000 connections; then one instance behind the same
# HAProxy, for comparison in the same run. For each: votes/s through the
# balancer, answers 2xx and other, the exact total (counted in the database
# against acknowledged), Postgres commits/s and commits per 1,000 votes
# (pg_stat_database), Redis PUBLISHes/s (INFO commandstats) and each
# instance's share. Writes docs/SCALING.md, whose projection to 300,000 and
# 1,000,000 votes/s is computed from these figures. Targets only 127.0.0.1;
# bounded in time; stops everything it started on every exit path.
#
# Usage: bash bench/scale.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
DURATION="${1:-10}"
CONNECTIONS=1000
LB_PORT=3200
PORTS=(3201 3202 3203)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"

command -v wrk >/dev/null || apt_install wrk
command -v haproxy >/dev/null || apt_install haproxy
cargo build --release --locked -p app
URNA="$CARGO_TARGET_DIR/release/urna"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

DB_NAME=urna_scale
DB_URL=$(fresh_database "$DB_NAME" "$URNA")
URNA_ADMIN_PASSWORD="benchmark password" "$URNA" create-admin --database-url "$DB_URL" bench >/dev/null
redis-cli -u "$REDIS_URL" --scan --pattern 'urna-scale:*' | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null

WORK=$(mktemp -d)
PIDS=()
HAPROXY=""
cleanup() {
  for p in "${PIDS[@]}" $HAPROXY; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}" $HAPROXY; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Instance i: its own port and shard, the shared database and Redis. The
# load comes from one IP, so the per-IP limit is set out of reach (the
# limiter still runs on every vote, through Redis).
for i in 0 1 2; do
  RUST_LOG=warn "$URNA" serve --database-url "$DB_URL" --redis-url "$REDIS_URL" --redis-prefix urna-scale \
    --bind "127.0.0.1:${PORTS[$i]}" --instance-id "scale-$i" --rate-limit-ip-per-min 4000000000 \
    >"$WORK/urna-$i.log" 2>&1 &
  PIDS+=($!)
done
for port in "${PORTS[@]}"; do
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
done

# HAProxy with `n` backends: round robin, keep-alive both ways, health checks.
start_haproxy() { # n
  [ -n "$HAPROXY" ] && { kill "$HAPROXY"; wait "$HAPROXY" 2>/dev/null || true; }
  {
    echo "global"
    echo "  maxconn 8000"
    echo "  nbthread 2"
    echo "defaults"
    echo "  mode http"
    echo "  timeout connect 5s"
    echo "  timeout client 30s"
    echo "  timeout server 30s"
    echo "  option http-keep-alive"
    echo "frontend votes"
    echo "  bind 127.0.0.1:$LB_PORT"
    echo "  default_backend urna"
    echo "backend urna"
    echo "  balance roundrobin"
    echo "  option httpchk"
    echo "  http-check send meth GET uri /readyz"
    echo "  http-reuse always"
    for i in $(seq 0 $(($1 - 1))); do echo "  server u$i 127.0.0.1:${PORTS[$i]} check inter 1s maxconn 2000"; done
  } >"$WORK/haproxy.cfg"
  haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
  HAPROXY=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$LB_PORT/healthz" >/dev/null && break; sleep 0.2; done
}

BASE="http://127.0.0.1:${PORTS[0]}"
JAR="$WORK/jar"
CSRF=$(curl -sf -c "$JAR" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"benchmark password"}' "$BASE/api/admin/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
admin() { curl -sf -b "$JAR" -H "x-csrf-token: $CSRF" -H 'content-type: application/json' "$@"; }
open_poll() { # slug → "id options"
  local poll id
  poll=$(admin -d "{\"slug\":\"$1\",\"title\":\"Scale\",\"options\":[{\"label\":\"A\"},{\"label\":\"B\"},{\"label\":\"C\"}]}" "$BASE/api/admin/polls")
  id=$(echo "$poll" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  admin -X POST "$BASE/api/admin/polls/$id/open" >/dev/null
  # Every instance learns of it through Redis.
  for port in "${PORTS[@]}"; do
    for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/api/polls/$1" >/dev/null && break; sleep 0.1; done
  done
  echo "$id $(echo "$poll" | python3 -c 'import json,sys; print(",".join(str(o["id"]) for o in json.load(sys.stdin)["options"]))')"
}

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
commits() { psql "$DB_URL" -Atc "select xact_commit from pg_stat_database where datname = '$DB_NAME'"; }
publishes() { redis-cli -u "$REDIS_URL" info commandstats | sed -n 's/^cmdstat_publish:calls=\([0-9]*\).*/\1/p' | tr -d '\r' | grep . || echo 0; }
redis_ops() { redis-cli -u "$REDIS_URL" info stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p' | tr -d '\r'; }
counted() { psql "$DB_URL" -Atc "select coalesce(sum(votes),0) from counters where poll_id = $1"; }
shares() { psql "$DB_URL" -Atc "select string_agg(shard || ' ' || s, ', ' order by shard) from (select shard, sum(votes) s from counters where poll_id = $1 group by shard) x"; }

# One measured run through the balancer with `n` instances behind it.
measure() { # n slug → sets R_* variables
  local n=$1 slug=$2 id options c0 c1 p0 p1 o0 o1 out
  start_haproxy "$n"
  read -r id options <<<"$(open_poll "$slug")"
  URNA_BENCH_MODE=vote URNA_BENCH_OPTIONS="$options" wrk -t2 -c100 -d2s -s bench/wrk.lua \
    "http://127.0.0.1:$LB_PORT/api/polls/$slug/votes" >/dev/null
  local before; before=$(counted "$id")
  c0=$(commits); p0=$(publishes); o0=$(redis_ops)
  out=$(URNA_BENCH_MODE=vote URNA_BENCH_OPTIONS="$options" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s \
    -s bench/wrk.lua "http://127.0.0.1:$LB_PORT/api/polls/$slug/votes" | grep '^URNA')
  sleep 1
  c1=$(commits); p1=$(publishes); o1=$(redis_ops)
  R_RPS=$(echo "$out" | field rps); R_OK=$(echo "$out" | field ok); R_OTHER=$(echo "$out" | field other)
  R_ERR=$(echo "$out" | field errors); R_P99=$(echo "$out" | field p99_ms)
  R_COUNTED=$(( $(counted "$id") - before ))
  R_COMMITS=$((c1 - c0)); R_PUBLISH=$((p1 - p0)); R_REDIS=$((o1 - o0)); R_SHARES=$(shares "$id")
  echo "  $n instance(s): $out counted=$R_COUNTED commits=$R_COMMITS publishes=$R_PUBLISH shards: $R_SHARES"
}

echo "1/3 HTTP ceiling through the balancer: GET /healthz, 3 instances"
start_haproxy 3
CEIL=$(URNA_BENCH_MODE=get wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s bench/wrk.lua \
  "http://127.0.0.1:$LB_PORT/healthz" | grep '^URNA')
CEIL_RPS=$(echo "$CEIL" | field rps)
echo "  $CEIL"
echo "2/3 durable votes through the balancer, 3 instances"
measure 3 scale3
T_RPS=$R_RPS T_OK=$R_OK T_OTHER=$R_OTHER T_ERR=$R_ERR T_P99=$R_P99 T_COUNTED=$R_COUNTED T_COMMITS=$R_COMMITS T_PUBLISH=$R_PUBLISH T_REDIS=$R_REDIS T_SHARES=$R_SHARES
echo "3/3 the same with 1 instance behind the balancer"
measure 1 scale1
O_RPS=$R_RPS O_OK=$R_OK O_OTHER=$R_OTHER O_ERR=$R_ERR O_P99=$R_P99 O_COUNTED=$R_COUNTED O_COMMITS=$R_COMMITS O_PUBLISH=$R_PUBLISH O_REDIS=$R_REDIS

export DURATION CONNECTIONS CEIL_RPS T_RPS T_OK T_OTHER T_ERR T_P99 T_COUNTED T_COMMITS T_PUBLISH T_REDIS T_SHARES \
  O_RPS O_OK O_OTHER O_ERR O_P99 O_COUNTED O_COMMITS O_PUBLISH O_REDIS
export COMMIT_SHA=$(git rev-parse --short HEAD) CORES=$(nproc) PG_VERSION=$(psql "$DB_URL" -Atc 'show server_version' | cut -d' ' -f1)
export SYNC_COMMIT=$(psql "$DB_URL" -Atc 'show synchronous_commit') HAPROXY_VERSION=$(haproxy -v | head -1 | awk '{print $3}')
python3 bench/scale_report.py > docs/SCALING.md
echo "wrote docs/SCALING.md"
