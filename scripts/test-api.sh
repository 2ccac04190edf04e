#!/usr/bin/env bash
# Holds the running server to its OpenAPI document: schemathesis (from
# PyPI, pinned) generates requests for every route from
# /api/openapi.json, logged in as an admin, and checks every answer
# against the document (--checks all: no 5xx, documented statuses, content
# types and headers, schemas, 405s with Allow, bad input refused, good
# input accepted), then follows the document's links in its stateful
# phase. Bounded in time; stops the server on every exit path.
#
# Usage: scripts/test-api.sh [URNA_BIN]   (default: the debug binary that
# `cargo test` built). URNA_API_TEST_SECS bounds the run (default 150).
# URNA_API_TEST_SEED picks the generator's seed: fixed by default, so that
# the test command fails for a change in the server and not for a new roll
# of the dice; `random` explores (do, now and then, and fix what it finds).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}"
bin="${1:-$CARGO_TARGET_DIR/debug/urna}"
budget="${URNA_API_TEST_SECS:-150}"
seed="${URNA_API_TEST_SEED:-20261130}"
version=4.32.5

venv="$HOME/.cache/urna-schemathesis-$version"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$version"
fi

dir=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

password="schemathesis-password-long"
export URNA_DATA_DIR="$dir" URNA_ADMIN_PASSWORD="$password"
unset DATABASE_URL REDIS_URL
"$bin" create-admin admin >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# Limits off: the generator is one client sending thousands of requests.
RUST_LOG=error "$bin" serve --bind "127.0.0.1:$port" --rate-limit-ip-per-min 0 --rate-limit-voter-per-min 0 &
pid=$!
for _ in $(seq 1 100); do curl -fs "$base/readyz" >/dev/null && break; sleep 0.1; done
curl -fs "$base/readyz" >/dev/null

login=$(curl -fs -D - -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}" "$base/api/admin/login")
cookie=$(printf '%s\n' "$login" | tr -d '\r' | awk -F'[ ;]' 'tolower($1) == "set-cookie:" { print $2; exit }')
csrf=$(printf '%s\n' "$login" | tail -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')

# A poll to aim at, so that routes under /api/polls/{slug} and
# /api/admin/polls/{id} are reached with real names too.
fuzz=$(curl -fs -H 'content-type: application/json' -H "cookie: $cookie" -H "x-csrf-token: $csrf" \
  -d '{"slug":"fuzz","title":"Fuzz","options":[{"label":"A"},{"label":"B"}]}' "$base/api/admin/polls")
fuzz_id=$(printf '%s' "$fuzz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -fs -X POST -H "cookie: $cookie" -H "x-csrf-token: $csrf" "$base/api/admin/polls/$fuzz_id/open" >/dev/null

# The session goes in as the document's `session` scheme (see
# scripts/schemathesis.toml). Logout and the account routes would end or
# change the session under test.
export URNA_ST_SESSION="${cookie#*=}" URNA_ST_CSRF="$csrf"
"$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run "$base/api/openapi.json" \
  --checks all \
  --exclude-path /api/admin/logout \
  --exclude-path /api/admin/password \
  --exclude-path-regex '^/api/admin/totp' \
  --max-time "$budget" \
  $([ "$seed" = random ] || echo "--seed $seed") \
  --request-timeout 10 \
  --workers 1 \
  --no-color
