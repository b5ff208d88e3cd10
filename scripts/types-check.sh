#!/usr/bin/env bash
# Type-checks the packed package's declarations the way apps compile them:
# the tarball is unpacked into node_modules/imlogin of a fresh ESM project
# that holds tests/types/*.ts, and `tsc --strict` — with skipLibCheck OFF
# and TypeScript's default libraries for the target — must accept
#   - app.ts: the API used correctly;
#   - misuse.ts: misuses, each marked `@ts-expect-error` (an error on a
#     marked line is required, an unused marker fails: TS2578);
# for every cell of the matrix
#   TypeScript 5.x and 7.x × target ES2020, ES2022, ESNext
#   × moduleResolution bundler, node16, nodenext;
# and, where the library has Symbol.dispose (ESNext), disposable.ts
# (`using`).
#
# Usage: scripts/types-check.sh [target/npm/imlogin.tgz]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROOT=$PWD
TARBALL=${1:-target/npm/imlogin.tgz}
declare -A TSC=(
  [5]="$ROOT/node_modules/typescript-5/bin/tsc"
  [7]="$ROOT/node_modules/typescript/bin/tsc"
)

[ -f "$TARBALL" ] || {
  echo "$TARBALL is missing: run npm run package (or scripts/test.sh pack) first" >&2
  exit 1
}
for major in "${!TSC[@]}"; do
  [ -f "${TSC[$major]}" ] || {
    echo "${TSC[$major]} is missing: run npm ci" >&2
    exit 1
  }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/imlogin-types.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/node_modules/imlogin"
tar -xzf "$TARBALL" -C "$WORK/node_modules/imlogin" --strip-components=1
cp tests/types/*.ts "$WORK/"
cat >"$WORK/package.json" <<'EOF'
{ "name": "imlogin-types-check", "private": true, "type": "module" }
EOF

failed=0
cells=0
printf '    %-10s %-8s %-10s %s\n' typescript target resolution result
for major in 5 7; do
  version=$(node "${TSC[$major]}" --version | awk '{ print $2 }')
  for target in es2020 es2022 esnext; do
    for resolution in bundler node16 nodenext; do
      module=$resolution
      [ "$resolution" = bundler ] && module=esnext
      files='"app.ts", "misuse.ts"'
      [ "$target" = esnext ] && files="$files, \"disposable.ts\""
      config="tsconfig.$major.$target.$resolution.json"
      cat >"$WORK/$config" <<EOF
{
  "compilerOptions": {
    "strict": true,
    "noEmit": true,
    "target": "$target",
    "module": "$module",
    "moduleResolution": "$resolution",
    "types": [],
    "skipLibCheck": false
  },
  "files": [$files]
}
EOF
      cells=$((cells + 1))
      if out=$(cd "$WORK" && node "${TSC[$major]}" -p "$config" 2>&1); then
        printf '    %-10s %-8s %-10s ok\n' "$version" "$target" "$resolution"
      else
        printf '    %-10s %-8s %-10s FAILED\n' "$version" "$target" "$resolution"
        sed 's/^/        /' <<<"$out"
        failed=$((failed + 1))
      fi
    done
  done
done

misuses=$(grep -c '@ts-expect-error' tests/types/misuse.ts)
if [ "$failed" -gt 0 ]; then
  echo "types: $failed of $cells configurations failed" >&2
  exit 1
fi
echo "ok: $cells configurations accept app.ts and refuse all $misuses misuses"
