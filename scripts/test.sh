#!/usr/bin/env bash
# The project's test command (`npm test` runs it; README names it).
#
# First installs what the chosen suites need and is missing (as root on
# Debian: everything; otherwise what cargo, rustup and npm can install, and
# a list of the rest with the commands that install them — see
# scripts/lib/install.sh; IMLOGIN_INSTALL=0 installs nothing). Then runs
# every suite in order and stops at the first failure. Each suite is a
# `suite_*` function listed in SUITES, and the pieces it needs are in
# suite_needs. `scripts/test.sh clippy native` runs only the suites named;
# `e2e` needs pkg/ (`build` or `pack`), `types` and `apps` the tarball of
# `pack` (they pack it when it is missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PATH="$HOME/.cargo/bin:$PATH"

# start_test_postgres: a throwaway PostgreSQL for the server's tests.
# shellcheck source=lib/postgres.sh
source scripts/lib/postgres.sh
# ensure_pieces, show_versions: the toolchain.
# shellcheck source=lib/install.sh
source scripts/lib/install.sh

SUITES=(fmt clippy native postgres wasm_build fuzz pack types docs browser apps e2e)

# The packed package that the types and apps suites install.
TARBALL=target/npm/imlogin.tgz

# suite_needs SUITE: the toolchain pieces (scripts/lib/install.sh) it needs.
suite_needs() {
  case "$1" in
    fmt) echo rust rust_components ;;
    clippy) echo rust rust_components wasm_target ;;
    native | postgres) echo rust postgres ;;
    wasm_build) echo rust wasm_target ;;
    fuzz) echo rust cargo_fuzz ;;
    build | pack | types | docs) echo rust node wasm_target wasm_bindgen size_toolchain npm_packages ;;
    browser) echo rust wasm_target wasm_bindgen chromium firefox webkit geckodriver wasm_pack ;;
    apps | e2e) echo rust node wasm_target wasm_bindgen size_toolchain npm_packages chromium ;;
  esac
}

# The pieces of all the given suites, in install order (the Debian packages
# together, then the cargo installs).
pieces_for() {
  local wanted piece suite
  wanted=" $(for suite in "$@"; do suite_needs "$suite"; done | tr '\n' ' ') "
  for piece in rust node rust_components wasm_target npm_packages chromium firefox webkit \
    postgres wasm_bindgen geckodriver wasm_pack cargo_fuzz; do
    [[ "$wanted" == *" $piece "* ]] && echo "$piece"
  done
}

# The tarball, packed now if no earlier suite did.
ensure_tarball() {
  [ -f "$TARBALL" ] || bash scripts/pack.sh
}

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

# The package in pkg/ (optimized wasm, minified glue, d.ts), without
# packing it (`npm run test:e2e` = build e2e).
suite_build() {
  npm run build
}

# The npm package as `npm publish` would ship it: pkg/ removed, then `npm
# pack`, whose prepack must rebuild it; the tarball's contents, publint,
# attw, an import in Node, the size budget (scripts/package-check.mjs); and
# prepack fails loudly, naming what is missing, without the toolchain.
suite_pack() {
  rm -rf pkg
  bash scripts/pack.sh
  node scripts/package-check.mjs "$TARBALL"
  printf '\n==> npm pack without the Rust toolchain must fail loudly\n'
  local bare out
  bare="$(dirname "$(command -v node)"):/usr/bin:/bin"
  if PATH=$bare command -v wasm-bindgen >/dev/null || PATH=$bare command -v cargo >/dev/null; then
    echo "    skipped: cargo or wasm-bindgen is in /usr/bin here"
    return
  fi
  if out=$(PATH=$bare npm pack --dry-run 2>&1); then
    echo "npm pack succeeded without cargo and wasm-bindgen on PATH" >&2
    return 1
  fi
  grep -q 'wasm-bindgen-cli' <<<"$out" || {
    echo "npm pack failed without naming the missing wasm-bindgen-cli:" >&2
    echo "$out" >&2
    return 1
  }
  echo "    ok: prepack names the missing pieces and npm pack fails"
  [ -f pkg/imlogin_bg.wasm ] || {
    echo "the failed prepack removed pkg/" >&2
    return 1
  }
}

# The declarations, from the packed package, compiled by an app under
# TypeScript 5 and 7 × targets × module resolutions, without skipLibCheck;
# misuses must be refused (tests/types, scripts/types-check.sh).
suite_types() {
  ensure_tarball
  bash scripts/types-check.sh "$TARBALL"
}

# docs/api/ (TypeDoc, from the built declarations) matches pkg/imlogin.d.ts.
suite_docs() {
  [ -f pkg/imlogin.d.ts ] || npm run build
  bash scripts/docs.sh --check
}

# The wasm browser tests against the reference server, in headless
# Chromium, Firefox ESR and WebKit (scripts/browser-tests.sh).
suite_browser() {
  bash scripts/browser-tests.sh
}

# The example apps (examples/) and a fresh project per bundler
# (tests/bundlers/: Vite build and dev server, webpack, esbuild, Rollup),
# each installing the packed package, built, and logging in against one
# reference server in headless Chromium (scripts/apps-check.mjs).
suite_apps() {
  ensure_tarball
  cargo build -p imlogin-server
  node scripts/apps-check.mjs "$TARBALL"
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
  local suite start summary=() pieces
  for suite in "${suites[@]}"; do
    if ! declare -F "suite_$suite" >/dev/null; then
      echo "scripts/test.sh: unknown suite '$suite' (known: ${SUITES[*]} build)" >&2
      exit 2
    fi
  done
  header "toolchain"
  start=$SECONDS
  mapfile -t pieces < <(pieces_for "${suites[@]}")
  ensure_pieces "${pieces[@]}" || exit 1
  show_versions
  summary+=("$(printf '%-12s ok  %4d s' toolchain $((SECONDS - start)))")
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
