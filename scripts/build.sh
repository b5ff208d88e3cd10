#!/usr/bin/env bash
# Builds the npm package into pkg/: the release wasm, wasm-bindgen's `web`
# target glue, then wasm-opt -Oz from the npm `binaryen` package (Debian's
# wasm-opt 108 produces modules that break at run time), the minified glue
# and declarations that type-check under TypeScript's default libraries.
# `npm run build` runs it, and so does `npm pack` / `npm publish` (prepack).
#
# The wasm is built on nightly with the standard library rebuilt for size
# (-Zbuild-std, the immediate-abort panic strategy, std's optimize_for_size)
# and without the text of `{:?}` formatting and of panic locations: about
# 15 KB less gzipped (docs/size.md). Neither text ever reaches a user: a
# panic traps either way (the package has no panic hook), and every message
# the package shows is its own. Without nightly and its rust-src
# (scripts/lib/install.sh: the size_toolchain piece), or if that build
# fails, it is built with stable, and the build says so.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
WASM_IN="$TARGET_DIR/wasm32-unknown-unknown/release/imlogin.wasm"
SIZE_TARGET_DIR="$TARGET_DIR/size"
OUT=pkg
WASM_OPT=node_modules/.bin/wasm-opt

# shellcheck source=lib/install.sh
source scripts/lib/install.sh

header() {
  printf '\n==> %s\n' "$*"
}

# Fails loudly, naming each missing piece and its install command, rather
# than building a package without code (`npm pack` runs this as prepack).
check_tools() {
  IMLOGIN_INSTALL=0 ensure_pieces rust wasm_target wasm_bindgen npm_packages || {
    echo "scripts/build.sh: cannot build the npm package into $OUT/ without the pieces above" >&2
    exit 1
  }
}

build_wasm() {
  if have_size_toolchain; then
    header "cargo +nightly build (wasm32, release, std rebuilt for size)"
    # RUSTFLAGS reach the target's crates only (with --target), not build
    # scripts; its own target directory keeps stable's artifacts apart.
    if RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none" \
      cargo +nightly build -p imlogin --target wasm32-unknown-unknown --release \
      --target-dir "$SIZE_TARGET_DIR" \
      -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size; then
      WASM_IN="$SIZE_TARGET_DIR/wasm32-unknown-unknown/release/imlogin.wasm"
      return
    fi
    echo "WARNING: the nightly size build failed; building with stable instead" >&2
  else
    echo "WARNING: no nightly toolchain with rust-src ($(how_size_toolchain)):" \
      "building with stable, ~15 KB larger gzipped" >&2
  fi
  header "cargo build (wasm32, release, stable)"
  cargo build -p imlogin --target wasm32-unknown-unknown --release
}

bind() {
  header "wasm-bindgen --target web"
  rm -rf "$OUT"
  wasm-bindgen --target web --out-dir "$OUT" "$WASM_IN"
}

declarations() {
  header "finish the TypeScript declarations"
  node scripts/lib/declarations.mjs "$OUT"
}

optimize() {
  header "wasm-opt -Oz"
  # Features are read from the module's target_features section (kept
  # because the release profile does not strip); wasm-opt validates its
  # input and output, so a feature mismatch fails here, not in a browser.
  "$WASM_OPT" -Oz --strip-debug --strip-producers \
    "$OUT/imlogin_bg.wasm" -o "$OUT/imlogin_bg.opt.wasm"
  mv "$OUT/imlogin_bg.opt.wasm" "$OUT/imlogin_bg.wasm"
}

minify_glue() {
  header "esbuild --minify the JS glue"
  # Bundlers minify the glue anyway; a plain <script type="module"> user
  # gets it small too. Exports, import.meta.url and the TypeScript
  # declarations (a separate file) are unchanged.
  local f
  for f in "$OUT/imlogin.js" $(find "$OUT/snippets" -name '*.js' 2>/dev/null); do
    node_modules/.bin/esbuild "$f" --minify --format=esm \
      --log-level=warning --outfile="$f.min"
    mv "$f.min" "$f"
  done
}

smoke_load() {
  header "instantiate the optimized module with its glue (node)"
  # The `web` glue's initSync takes the bytes, so node can load it without
  # fetch(); importing the glue must not touch `window`.
  node --input-type=module -e "
    import { readFileSync } from 'node:fs';
    const glue = await import('./$OUT/imlogin.js');
    glue.initSync({ module: readFileSync('./$OUT/imlogin_bg.wasm') });
    console.log('loaded: exports', Object.keys(glue).sort().join(', '));
  "
}

report_sizes() {
  header "sizes (raw / gzip -9)"
  local f raw=0 gz=0 shipped
  shipped=("$OUT/imlogin_bg.wasm" "$OUT/imlogin.js" $(find "$OUT/snippets" -name '*.js' 2>/dev/null | sort))
  printf '    %-60s %8d B %8d B\n' "$WASM_IN" "$(wc -c <"$WASM_IN")" "$(gzip -9c "$WASM_IN" | wc -c)"
  for f in "${shipped[@]}"; do
    printf '    %-60s %8d B %8d B\n' "$f" "$(wc -c <"$f")" "$(gzip -9c "$f" | wc -c)"
    raw=$((raw + $(wc -c <"$f")))
    gz=$((gz + $(gzip -9c "$f" | wc -c)))
  done
  printf '    %-60s %8d B %8d B\n' "package total (.wasm + .js + snippets)" "$raw" "$gz"
}

check_tools
build_wasm
bind
declarations
optimize
minify_glue
smoke_load
report_sizes
