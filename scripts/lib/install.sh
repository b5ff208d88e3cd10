# shellcheck shell=bash
# Install steps shared by .ci/run (CI, a fresh machine) and scripts/demo.sh
# (`npm run demo` on a fresh clone). Source it from the repository root;
# every function is idempotent, so a warm machine skips the work.

# The wasm-bindgen version Cargo.lock pins (the CLI must match it exactly).
wasm_bindgen_wanted() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

install_wasm_target() {
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "rustup: wasm32-unknown-unknown present"
  else
    rustup target add wasm32-unknown-unknown
  fi
}

install_rust_components() {
  local components component
  components=$(rustup component list --installed)
  for component in rustfmt clippy; do
    grep -q "^$component" <<<"$components" ||
      rustup component add "$component"
  done
  echo "rustup: rustfmt, clippy present"
}

install_wasm_bindgen_cli() {
  local want have
  want=$(wasm_bindgen_wanted)
  if [ -z "$want" ]; then
    echo "Cargo.lock has no wasm-bindgen entry" >&2
    return 1
  fi
  have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }') || true
  if [ "$have" = "$want" ]; then
    echo "wasm-bindgen $have already installed"
    return
  fi
  echo "wasm-bindgen CLI ${have:-missing}, Cargo.lock wants $want (about 2 minutes)"
  # No --locked: the CLI's own lock file pins a crate version the registry
  # lacks (SETUP.md).
  cargo install wasm-bindgen-cli --version "$want"
}

# The size-optimized package build (scripts/build.sh, docs/size.md) rebuilds
# the standard library with -Zbuild-std: a nightly toolchain with rust-src.
# Best effort: where rustup cannot fetch them, build.sh uses stable and says
# so (the package is then about 15 KB larger gzipped).
install_size_toolchain() {
  if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "rustup: installing nightly (minimal) for the package build"
    rustup toolchain install nightly --profile minimal ||
      { echo "cannot install nightly: scripts/build.sh will use stable"; return 0; }
  fi
  if rustup component list --toolchain nightly --installed | grep -q '^rust-src'; then
    echo "rustup: nightly with rust-src present ($(rustup run nightly rustc --version))"
  else
    rustup component add rust-src --toolchain nightly ||
      echo "cannot add rust-src to nightly: scripts/build.sh will use stable"
  fi
}

# Always a clean `npm ci` (CI).
install_npm_packages() {
  npm ci --no-audit --no-fund
}

# `npm ci` only when node_modules is missing or older than the lock file
# (the demo: a second run starts at once).
ensure_npm_packages() {
  if [ -f node_modules/.package-lock.json ] &&
    [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "node_modules up to date"
    return
  fi
  install_npm_packages
}
