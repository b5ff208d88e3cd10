#!/usr/bin/env bash
# The project's test command (`npm test` runs it; README names it).
#
# Runs every suite in order and stops at the first failure. Each suite is a
# `suite_*` function listed in SUITES; an issue that brings a suite (the wasm
# browser tests in Chromium and Firefox, say) writes one function and
# appends its name. `scripts/test.sh clippy native` runs only the suites
# named; `e2e` needs `build` to have run (it serves pkg/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# start_test_postgres: a throwaway PostgreSQL for the server's tests.
# shellcheck source=lib/postgres.sh
source scripts/lib/postgres.sh

SUITES=(fmt clippy native postgres wasm_build fuzz build types vite browser e2e)

suite_fmt() {
  cargo fmt --all --check
}

suite_clippy() {
  cargo clippy --workspace --all-targets -- -D warnings
  # The browser tests (tests/browser_*.rs) only build for wasm32.
  cargo clippy -p imlogin --target wasm32-unknown-unknown --tests -- -D warnings
}

suite_native() {
  # The server's tests run on SQLite here; the few that always need
  # PostgreSQL (cluster tests) get a database from the throwaway server.
  start_test_postgres
  cargo test --workspace
}

# The whole server suite again, each test on its own PostgreSQL database.
suite_postgres() {
  start_test_postgres
  IMLOGIN_TEST_BACKEND=postgres cargo test -p imlogin-server
}

suite_wasm_build() {
  cargo build -p imlogin --target wasm32-unknown-unknown --release
}

# The publishable package in pkg/ (optimized wasm, minified glue, d.ts).
suite_build() {
  npm run build
}

# tsc --strict on tests/types against pkg/imlogin.d.ts (needs `build`).
suite_types() {
  bash scripts/types-check.sh
}

# `npm pack` installed into a fresh Vite project without plugins, built,
# and loaded in headless Chromium (needs `build`; npm registry only).
suite_vite() {
  bash scripts/vite-check.sh
}

# Headless Chromium and Firefox ESR against the reference server.
suite_browser() {
  bash scripts/browser-tests.sh
}

# The demo in Debian's Chromium (playwright-core), against imlogin-server
# processes the tests start themselves (tests/e2e/; needs `build`).
suite_e2e() {
  cargo build -p imlogin-server
  node --test --test-concurrency=1 --test-reporter=spec tests/e2e/*.test.mjs
}

# The cargo-fuzz targets of fuzz/ (fuzz/README.md), each run briefly from
# its committed seeds: a smoke test that they build and find nothing quick.
# Installs nothing: .ci/run provides cargo-fuzz and, where it can, nightly;
# without nightly, stable with RUSTC_BOOTSTRAP=1 accepts cargo-fuzz's -Z
# flags.
FUZZ_TARGETS=(client_frame server_frame link_session server_api)
FUZZ_SECONDS=${FUZZ_SECONDS:-10}

suite_fuzz() {
  local toolchain=() target_dir corpus log t
  if rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=(+nightly)
  else
    echo "no nightly toolchain: building the fuzz targets with stable + RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
  fi
  target_dir="${CARGO_TARGET_DIR:-$PWD/fuzz/target}/fuzz"
  local flags=(--dev -s none --target-dir "$target_dir")
  (cd fuzz && cargo "${toolchain[@]}" fuzz build "${flags[@]}")
  for t in "${FUZZ_TARGETS[@]}"; do
    corpus=$(mktemp -d)
    log=$(mktemp)
    if ! (cd fuzz && cargo "${toolchain[@]}" fuzz run "${flags[@]}" "$t" "$corpus" "seeds/$t" -- \
      -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 >"$log" 2>&1); then
      tail -n 60 "$log" >&2
      echo "fuzz target $t failed: the input is in fuzz/artifacts/$t" >&2
      return 1
    fi
    printf '%-14s %s s, %s executions\n' "$t" "$FUZZ_SECONDS" \
      "$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    rm -rf "$corpus" "$log"
  done
}

header() {
  printf '\n==> %s\n' "$*"
}

main() {
  local suites=("$@")
  if [ ${#suites[@]} -eq 0 ]; then
    suites=("${SUITES[@]}")
  fi
  local suite start summary=()
  for suite in "${suites[@]}"; do
    if ! declare -F "suite_$suite" >/dev/null; then
      echo "scripts/test.sh: unknown suite '$suite' (known: ${SUITES[*]})" >&2
      exit 2
    fi
  done
  for suite in "${suites[@]}"; do
    header "$suite"
    start=$SECONDS
    "suite_$suite"
    summary+=("$(printf '%-12s ok  %4d s' "$suite" $((SECONDS - start)))")
  done
  header "all suites passed"
  printf '    %s\n' "${summary[@]}"
}

main "$@"
