#!/usr/bin/env bash
# `npm run demo`: from a fresh clone (Node and Rust present) to the demo
# page in one command. Installs what is missing (the wasm32 target,
# wasm-bindgen-cli at the Cargo.lock version, nightly with rust-src for the
# size-optimized package build, the npm packages), builds the
# npm package into pkg/ and imlogin-server, then runs the server with:
#   - an embedded SQLite database in .demo/ (delete .demo/ to start over),
#   - a demo AppKey/AppSecret generated once into .demo/app.env,
#   - the demo app server (/app/*), the demo page (www/) at / and the
#     package (pkg/) at /pkg/.
# Ctrl-C stops the server (it closes IM sessions with 1012 and exits).
# IMLOGIN_DEMO_PORT (default 8080) and any IMLOGIN_* server setting (see
# `imlogin-server --help`, e.g. IMLOGIN_MAX_SESSIONS=2) apply.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PATH="$HOME/.cargo/bin:$PATH"
PORT="${IMLOGIN_DEMO_PORT:-8080}"
DEMO_DIR=.demo
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

# shellcheck source=lib/install.sh
source scripts/lib/install.sh

header() {
  printf '\n==> %s\n' "$*"
}

demo_credentials() {
  mkdir -p "$DEMO_DIR"
  if [ ! -f "$DEMO_DIR/app.env" ]; then
    local key secret
    key=demo$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    umask 077
    printf 'IMLOGIN_APP_KEY=%s\nIMLOGIN_APP_SECRET=%s\n' "$key" "$secret" >"$DEMO_DIR/app.env"
  fi
  set -a
  # shellcheck source=/dev/null
  source "$DEMO_DIR/app.env"
  set +a
}

header "toolchain"
# Rust and Node must be there; the rest is installed when missing.
ensure_pieces rust node wasm_target wasm_bindgen npm_packages || exit 1
# The size-optimized build's nightly is optional: without it the package is
# built with stable (larger, and it works the same).
ensure_pieces size_toolchain || echo "continuing: scripts/build.sh will use stable"

header "npm package (scripts/build.sh)"
bash scripts/build.sh

header "imlogin-server"
cargo build -p imlogin-server

demo_credentials
URL="http://127.0.0.1:$PORT"
header "demo"
cat <<INFO
    page     $URL/
    console  $URL/console   AppKey $IMLOGIN_APP_KEY   AppSecret $IMLOGIN_APP_SECRET
    data     $DEMO_DIR/imlogin.db  (delete $DEMO_DIR/ to start over)
    stop     Ctrl-C

INFO
exec "$TARGET_DIR/debug/imlogin-server" \
  --bind "127.0.0.1:$PORT" \
  --database-url "sqlite://$DEMO_DIR/imlogin.db" \
  --static-dir www \
  --pkg-dir pkg \
  --demo-app
