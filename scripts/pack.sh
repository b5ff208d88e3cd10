#!/usr/bin/env bash
# `npm run package`: packs the npm package as `npm publish` would — `npm
# pack`, whose prepack script builds pkg/ (scripts/build.sh) — into
# target/npm/imlogin.tgz, the tarball that the package checks, the type
# checks, the examples and the bundler projects install (scripts/test.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OUT_DIR=target/npm
mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/imlogin-*.tgz "$OUT_DIR/imlogin.tgz"
npm pack --pack-destination "$OUT_DIR"
name=$(cd "$OUT_DIR" && ls imlogin-*.tgz)
mv "$OUT_DIR/$name" "$OUT_DIR/imlogin.tgz"
printf '\n==> %s (from %s)\n' "$OUT_DIR/imlogin.tgz" "$name"
tar -tvzf "$OUT_DIR/imlogin.tgz" | awk '{ printf "    %8d  %s\n", $3, $6 }'
printf '    %8d  bytes in the tarball\n' "$(wc -c <"$OUT_DIR/imlogin.tgz")"
