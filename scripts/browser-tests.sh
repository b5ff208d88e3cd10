#!/usr/bin/env bash
# Headless-browser tests (tests/browser_*.rs) against the real reference
# server, in three engines: Chromium and Firefox ESR the way this crate's
# users run them (`wasm-pack test --headless --chrome` / `--firefox`), and
# WebKit — WebKitGTK's MiniBrowser, driven by Debian's WebKitWebDriver
# through wasm-bindgen-test-runner's Safari path (SAFARIDRIVER) under a
# virtual X display (xvfb-run).
#
#   scripts/browser-tests.sh                 # all three
#   scripts/browser-tests.sh webkit          # one
#   BROWSER_TESTS_RUNNER=cargo scripts/browser-tests.sh   # without wasm-pack
#
# Starts `imlogin-server` on a free port with the test hooks and a throwaway
# SQLite file, passes its URL and app key to the tests at compile time
# (IMLOGIN_TEST_SERVER, IMLOGIN_TEST_APP_KEY, read with option_env!), and
# always stops it. wasm-pack uses wasm-bindgen, chromedriver and geckodriver
# from PATH: nothing is downloaded.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
APP_KEY=browser-test-app-key
APP_SECRET=browser-test-app-secret
BROWSERS=("$@")
[ ${#BROWSERS[@]} -gt 0 ] || BROWSERS=(chrome firefox webkit)
RUNNER="${BROWSER_TESTS_RUNNER:-wasm-pack}"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-90}"

header() {
  printf '\n==> %s\n' "$*"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/imlogin-browser.XXXXXX")
SERVER_PID=""

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

cleanup() {
  local status=$?
  stop_server
  if [ "$status" -ne 0 ] && [ -s "$WORK/server.log" ]; then
    echo "--- last lines of the server log ---" >&2
    tail -n 40 "$WORK/server.log" >&2
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check_tools() {
  local tool
  for tool in wasm-bindgen-test-runner chromedriver geckodriver WebKitWebDriver xvfb-run; do
    command -v "$tool" >/dev/null || {
      echo "$tool is missing: run npm test as root, or see scripts/lib/install.sh" >&2
      exit 1
    }
  done
  if [ "$RUNNER" = wasm-pack ] && ! command -v wasm-pack >/dev/null; then
    echo "wasm-pack is missing: cargo install wasm-pack --locked (or run .ci/run)" >&2
    exit 1
  fi
}

start_server() {
  header "build and start imlogin-server (test hooks, free port)"
  cargo build -p imlogin-server
  # Created here, not by the background redirect, so that the first read
  # below cannot race the server's start (set -e would end the script).
  : >"$WORK/server.out"
  "$TARGET_DIR/debug/imlogin-server" \
    --bind 127.0.0.1:0 \
    --database-url "sqlite://$WORK/imlogin.db" \
    --app-key "$APP_KEY" --app-secret "$APP_SECRET" \
    --test-hooks \
    --max-sessions 2 \
    --heartbeat-ms 3000 \
    --allow-origin '*' \
    >"$WORK/server.out" 2>"$WORK/server.log" &
  SERVER_PID=$!
  local i addr=""
  for i in $(seq 1 300); do
    addr=$(sed -n 's|^listening on http://||p' "$WORK/server.out" | head -n 1)
    [ -n "$addr" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || {
      echo "imlogin-server exited before listening" >&2
      exit 1
    }
    sleep 0.1
  done
  if [ -z "$addr" ]; then
    echo "imlogin-server did not print 'listening on' within 30 s" >&2
    exit 1
  fi
  export IMLOGIN_TEST_SERVER="http://$addr"
  export IMLOGIN_TEST_APP_KEY="$APP_KEY"
  echo "server at $IMLOGIN_TEST_SERVER (pid $SERVER_PID)"
}

# The browser test targets, from tests/browser_*.rs.
test_args() {
  local f
  for f in tests/browser_*.rs; do
    f=${f#tests/}
    printf -- '--test\n%s\n' "${f%.rs}"
  done
}

run_browser() {
  local browser=$1 start=$SECONDS args
  mapfile -t args < <(test_args)
  if [ "$browser" = webkit ]; then
    # wasm-pack has no WebKitGTK driver option: the test runner's Safari
    # path speaks W3C WebDriver, which WebKitWebDriver answers with its
    # MiniBrowser; it needs an X display, so xvfb-run gives it one.
    header "browser tests in webkit (cargo, WebKitWebDriver under Xvfb)"
    SAFARIDRIVER=$(command -v WebKitWebDriver) xvfb-run -a -s "-screen 0 1280x800x24" \
      cargo test -p imlogin --target wasm32-unknown-unknown "${args[@]}"
    TIMES+=("$(printf '%-8s ok  %4d s' "$browser" $((SECONDS - start)))")
    return
  fi
  header "browser tests in $browser ($RUNNER)"
  case "$RUNNER" in
    wasm-pack)
      # --mode no-install: use the tools on PATH, never download any.
      local driver_flag=--chromedriver driver=chromedriver
      if [ "$browser" = firefox ]; then
        driver_flag=--geckodriver driver=geckodriver
      fi
      wasm-pack test --mode no-install --headless "--$browser" \
        "$driver_flag" "$(command -v "$driver")" \
        -- "${args[@]}"
      ;;
    cargo)
      # The runner from .cargo/config.toml picks the browser from which
      # driver variable is set.
      if [ "$browser" = chrome ]; then
        CHROMEDRIVER=$(command -v chromedriver) \
          cargo test -p imlogin --target wasm32-unknown-unknown "${args[@]}"
      else
        GECKODRIVER=$(command -v geckodriver) \
          cargo test -p imlogin --target wasm32-unknown-unknown "${args[@]}"
      fi
      ;;
    *)
      echo "BROWSER_TESTS_RUNNER must be wasm-pack or cargo" >&2
      exit 2
      ;;
  esac
  TIMES+=("$(printf '%-8s ok  %4d s' "$browser" $((SECONDS - start)))")
}

TIMES=()
check_tools
start_server
for browser in "${BROWSERS[@]}"; do
  case "$browser" in
    chrome | firefox | webkit) run_browser "$browser" ;;
    *)
      echo "unknown browser '$browser' (chrome, firefox, webkit)" >&2
      exit 2
      ;;
  esac
done
stop_server
header "browser tests passed"
printf '    %s\n' "${TIMES[@]}"
