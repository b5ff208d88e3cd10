# shellcheck shell=bash
# What the project's commands need on the machine, and how to get it.
# Sourced from the repository root by scripts/test.sh (`npm test`),
# scripts/demo.sh (`npm run demo`) and scripts/build.sh.
#
# Each piece of the toolchain has a check and an install step. The steps
# that cargo, rustup and npm can do run as any user; the Debian packages
# (browsers, drivers, PostgreSQL, Xvfb) need root and apt-get. Where a
# piece cannot be installed here (not root, another OS, or IMLOGIN_INSTALL=0)
# `ensure_pieces` names every missing piece with the command that installs
# it, and fails. Every step is idempotent: a warm machine skips it.

IMLOGIN_WASM_PACK_VERSION=0.15.1
IMLOGIN_GECKODRIVER_VERSION=0.37.1

# The wasm-bindgen version Cargo.lock pins (the CLI must match it exactly).
wasm_bindgen_wanted() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

_deb_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# Whether this process may install Debian packages.
_can_apt() {
  [ "${IMLOGIN_INSTALL:-1}" != 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null
}

# Whether this process may run cargo/rustup/npm install steps.
_can_install() {
  [ "${IMLOGIN_INSTALL:-1}" != 0 ]
}

_apt_updated=""
_apt_install() {
  local attempt
  export DEBIAN_FRONTEND=noninteractive
  for attempt in 1 2 3 4 5 6; do
    if { [ -n "$_apt_updated" ] || apt-get update -qq; } &&
      apt-get install -y -qq "$@" >/dev/null; then
      _apt_updated=1
      return 0
    fi
    # Another apt/dpkg may hold the lock for a while.
    echo "apt-get failed (attempt $attempt); retrying in 10 s" >&2
    sleep 10
  done
  return 1
}

# ---- the pieces: have_X checks, install_X installs, how_X says how ------

have_rust() { command -v cargo >/dev/null && command -v rustup >/dev/null; }
how_rust() { echo "install Rust with rustup: https://rustup.rs"; }

have_node() {
  command -v node >/dev/null && command -v npm >/dev/null &&
    [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]
}
how_node() { echo "install Node.js 20 or later (with npm)"; }

have_wasm_target() { rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; }
install_wasm_target() { rustup target add wasm32-unknown-unknown; }
how_wasm_target() { echo "rustup target add wasm32-unknown-unknown"; }

have_rust_components() {
  local c
  c=$(rustup component list --installed 2>/dev/null)
  grep -q '^rustfmt' <<<"$c" && grep -q '^clippy' <<<"$c"
}
install_rust_components() { rustup component add rustfmt clippy; }
how_rust_components() { echo "rustup component add rustfmt clippy"; }

have_wasm_bindgen() {
  [ "$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }')" = "$(wasm_bindgen_wanted)" ]
}
# No --locked: the CLI's own lock file pins a crate version the registry
# lacks.
install_wasm_bindgen() {
  echo "wasm-bindgen-cli $(wasm_bindgen_wanted) (about 2 minutes)"
  cargo install wasm-bindgen-cli --version "$(wasm_bindgen_wanted)"
}
how_wasm_bindgen() { echo "cargo install wasm-bindgen-cli --version $(wasm_bindgen_wanted)"; }

# node_modules matches package-lock.json.
have_npm_packages() {
  [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]
}
install_npm_packages() { npm ci --no-audit --no-fund; }
how_npm_packages() { echo "npm ci"; }

have_chromium() { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }
install_chromium() { _apt_install chromium chromium-driver; }
how_chromium() { echo "apt-get install chromium chromium-driver"; }

have_firefox() { command -v firefox-esr >/dev/null || command -v firefox >/dev/null; }
install_firefox() { _apt_install firefox-esr; }
how_firefox() { echo "apt-get install firefox-esr"; }

have_geckodriver() { command -v geckodriver >/dev/null; }
install_geckodriver() { cargo install geckodriver --version "$IMLOGIN_GECKODRIVER_VERSION"; }
how_geckodriver() { echo "cargo install geckodriver --version $IMLOGIN_GECKODRIVER_VERSION"; }

# The browser tests run through `wasm-pack test`; it uses wasm-bindgen and
# the drivers from PATH, downloading nothing.
have_wasm_pack() { command -v wasm-pack >/dev/null; }
install_wasm_pack() { cargo install wasm-pack --version "$IMLOGIN_WASM_PACK_VERSION" --locked; }
how_wasm_pack() { echo "cargo install wasm-pack --version $IMLOGIN_WASM_PACK_VERSION --locked"; }

# WebKit (WebKitGTK's MiniBrowser through WebKitWebDriver) under Xvfb.
have_webkit() { command -v WebKitWebDriver >/dev/null && command -v Xvfb >/dev/null; }
install_webkit() { _apt_install webkit2gtk-driver xvfb; }
how_webkit() { echo "apt-get install webkit2gtk-driver xvfb"; }

# The server's tests start a throwaway cluster of their own
# (scripts/lib/postgres.sh): only the binaries are needed, not a service.
have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || [ -n "${IMLOGIN_TEST_PG_ADMIN_URL:-}" ]; }
install_postgres() { _apt_install postgresql; }
how_postgres() { echo "apt-get install postgresql"; }

have_cargo_fuzz() { cargo fuzz --version >/dev/null 2>&1; }
install_cargo_fuzz() {
  cargo install cargo-fuzz --locked
  # Optional: without nightly, the fuzz suite uses stable + RUSTC_BOOTSTRAP.
  rustup run nightly rustc --version >/dev/null 2>&1 ||
    rustup toolchain install nightly --profile minimal ||
    echo "cannot install nightly: the fuzz suite will use stable"
}
how_cargo_fuzz() { echo "cargo install cargo-fuzz --locked"; }

# The size-optimized package build (scripts/build.sh, docs/size.md) rebuilds
# the standard library with -Zbuild-std: a nightly toolchain with rust-src.
# Without it build.sh falls back to stable, and the package is about 15 KB
# larger gzipped (over the size budget that the pack suite checks).
have_size_toolchain() {
  rustup run nightly rustc --version >/dev/null 2>&1 &&
    rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'
}
install_size_toolchain() {
  rustup run nightly rustc --version >/dev/null 2>&1 ||
    rustup toolchain install nightly --profile minimal
  rustup component add rust-src --toolchain nightly
}
how_size_toolchain() {
  echo "rustup toolchain install nightly --profile minimal && rustup component add rust-src --toolchain nightly"
}

# Where each piece is installed from: "apt" needs root and apt-get, "user"
# runs as anyone, "manual" is never installed by a script.
_piece_kind() {
  case "$1" in
    rust | node) echo manual ;;
    chromium | firefox | webkit | postgres) echo apt ;;
    *) echo user ;;
  esac
}

# The piece whose tool installs PIECE (rustup/cargo, npm), if any.
_piece_tool() {
  case "$1" in
    rust_components | wasm_target | wasm_bindgen | geckodriver | wasm_pack | cargo_fuzz | size_toolchain) echo rust ;;
    npm_packages) echo node ;;
  esac
}

# ensure_pieces PIECE...: installs what is missing where it may, in order;
# otherwise prints each missing piece with its command and returns 1.
# Prints how long each install took.
ensure_pieces() {
  local piece kind tool missing=() start
  for piece in "$@"; do
    if "have_$piece"; then
      continue
    fi
    kind=$(_piece_kind "$piece")
    tool=$(_piece_tool "$piece")
    if [ -n "$tool" ] && ! "have_$tool"; then
      missing+=("$piece") # its installer is missing too: listed, not tried
      continue
    fi
    if { [ "$kind" = apt ] && _can_apt; } || { [ "$kind" = user ] && _can_install; }; then
      printf '\n==> install %s\n' "$piece"
      start=$SECONDS
      if "install_$piece" && "have_$piece"; then
        printf '    %s installed in %d s\n' "$piece" $((SECONDS - start))
        continue
      fi
      echo "installing $piece failed" >&2
    fi
    missing+=("$piece")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  {
    echo
    echo "Missing (install them, then run the command again):"
    for piece in "${missing[@]}"; do
      printf '  %-18s %s\n' "$piece" "$("how_$piece")"
    done
    if ! _can_apt; then
      echo "(As root on Debian or Ubuntu, npm test installs all of them by itself;"
      echo " on another system use its own package manager for the apt-get lines.)"
    fi
  } >&2
  return 1
}

# The versions of what is installed, for the CI log.
show_versions() {
  local line
  for line in "rustc --version" "cargo --version" "node --version" "npm --version" \
    "wasm-bindgen --version" "node_modules/.bin/wasm-opt --version" \
    "chromium --version" "chromedriver --version" "firefox-esr --version" \
    "geckodriver --version" "wasm-pack --version" "cargo fuzz --version"; do
    printf '    %-40s %s\n' "$line" "$($line 2>/dev/null | grep -v '^\[' | head -n 1 || true)"
  done
  printf '    %-40s %s\n' "WebKitGTK (WebKitWebDriver)" \
    "$(dpkg-query -W -f='${Version}' libwebkit2gtk-4.1-0 2>/dev/null || echo missing)"
}

# `npm ci` only when node_modules is missing or older than the lock file
# (`npm run demo`: a second run starts at once).
ensure_npm_packages() {
  if have_npm_packages; then
    echo "node_modules up to date"
    return
  fi
  install_npm_packages
}
