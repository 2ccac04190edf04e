# Sourced by the benchmarks once their server answers on $BASE: logs in as
# the benchmark's admin ("bench", made with create-admin) and defines
#   admin ARGS…              curl with the admin's session and CSRF token
#   open_poll SLUG [FIELDS]  creates a poll with options A, B and C (and the
#                            extra JSON FIELDS, e.g. ',"receipts":false'),
#                            opens it, and prints its id and its option ids
#                            ("7 21,22,23")
# The session's cookie jar is removed when the sourcing script exits.
ADMIN_JAR=$(mktemp)
ADMIN_CSRF=$(curl -sf -c "$ADMIN_JAR" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"benchmark password"}' "$BASE/api/admin/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
admin() { curl -sf -b "$ADMIN_JAR" -H "x-csrf-token: $ADMIN_CSRF" -H 'content-type: application/json' "$@"; }
open_poll() {
  local poll id options
  poll=$(admin -d "{\"slug\":\"$1\",\"title\":\"Benchmark\",\"options\":[{\"label\":\"A\"},{\"label\":\"B\"},{\"label\":\"C\"}]${2:-}}" \
    "$BASE/api/admin/polls")
  read -r id options < <(echo "$poll" |
    python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["id"], ",".join(str(o["id"]) for o in p["options"]))')
  admin -X POST "$BASE/api/admin/polls/$id/open" >/dev/null
  echo "$id $options"
}
