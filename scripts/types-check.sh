#!/usr/bin/env bash
# Type-checks the built package's declarations (pkg/imlogin.d.ts, from
# `npm run build`) with `tsc --strict`, as an app would import them:
#   - tests/types/good.ts uses the API correctly and must compile;
#   - tests/types/misuse.ts must fail, with an error on every line marked
#     `// misuse:` and on no other line (so options, events, LoginError and
#     Client are real types, not `any`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TSC=node_modules/.bin/tsc
DIR=tests/types

[ -x "$TSC" ] || {
  echo "$TSC is missing: run npm ci" >&2
  exit 1
}
[ -f pkg/imlogin.d.ts ] || {
  echo "pkg/imlogin.d.ts is missing: run npm run build first" >&2
  exit 1
}

printf '\n==> tsc --strict %s (must compile)\n' "$DIR/good.ts"
"$TSC" --version
"$TSC" -p "$DIR/tsconfig.json"
echo "ok"

printf '\n==> tsc --strict %s (must fail on every misuse line)\n' "$DIR/misuse.ts"
out=$("$TSC" -p "$DIR/tsconfig.misuse.json" 2>&1) && {
  echo "misuse.ts compiled: the declarations accept what they must refuse" >&2
  exit 1
}
expected=$(grep -n '// misuse:' "$DIR/misuse.ts" | cut -d: -f1 | sort -n)
actual=$(sed -n 's|^tests/types/misuse\.ts(\([0-9]*\),.*error TS.*|\1|p' <<<"$out" | sort -un)
other=$(grep 'error TS' <<<"$out" | grep -v '^tests/types/misuse\.ts(' || true)
if [ -n "$other" ]; then
  echo "errors outside misuse.ts (the declarations themselves?):" >&2
  echo "$other" >&2
  exit 1
fi
missed=$(comm -23 <(echo "$expected") <(echo "$actual"))
extra=$(comm -13 <(echo "$expected") <(echo "$actual"))
if [ -n "$missed" ] || [ -n "$extra" ]; then
  [ -z "$missed" ] || {
    echo "accepted, but must be type errors:" >&2
    for line in $missed; do sed -n "${line}p" "$DIR/misuse.ts" >&2; done
  }
  [ -z "$extra" ] || {
    echo "unexpected errors on unmarked lines:" >&2
    grep 'error TS' <<<"$out" >&2
  }
  exit 1
fi
echo "ok: all $(wc -l <<<"$expected") misuses refused"
