#!/usr/bin/env bash
# Makes sure Postgres and Redis run on this machine, installing them from
# Debian's packages if they are missing. Sourced by test.sh and bench.sh;
# exports URNA_TEST_PG_URL, the URL of a Postgres database the tests can use.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "installing PostgreSQL…"
  apt_install postgresql
fi
if ! pg_ready; then
  echo "starting PostgreSQL…"
  for v in $(ls /etc/postgresql); do
    as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  done
  for _ in $(seq 1 30); do pg_ready && break; sleep 0.5; done
  pg_ready || { echo "PostgreSQL did not start" >&2; exit 1; }
fi

# Trust auth on 127.0.0.1 (this project's machines) or Debian's default,
# which asks for a password there: then give user postgres a known one.
if [ -z "${URNA_TEST_PG_URL:-}" ]; then
  if psql -h 127.0.0.1 -U postgres -w -Atc 'select 1' postgres >/dev/null 2>&1; then
    export URNA_TEST_PG_URL="postgres://postgres@127.0.0.1:5432/postgres"
  else
    as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
    export URNA_TEST_PG_URL="postgres://postgres:postgres@127.0.0.1:5432/postgres"
  fi
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing Redis…"
  apt_install redis-server
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis…"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/urna.log
  for _ in $(seq 1 20); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.25; done
fi
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

# A new, empty and migrated database NAME on the test Postgres, for a
# benchmark run: `DB_URL=$(fresh_database urna_bench "$URNA")`.
fresh_database() {
  local name="$1" urna="$2" url="${URNA_TEST_PG_URL%/*}/$1"
  psql "$URNA_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >&2
  psql "$URNA_TEST_PG_URL" -qc "CREATE DATABASE $name" >&2
  "$urna" migrate --database-url "$url" >/dev/null
  echo "$url"
}
