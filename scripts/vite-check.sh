#!/usr/bin/env bash
# The npm package works in a fresh Vite project WITHOUT plugins:
#   1. `npm pack` the built package (pkg/, from `npm run build`);
#   2. create a throwaway Vite project that imports `init, { LoginManager }`
#      from "imlogin", install the tarball and Vite there (from the npm
#      registry: the only network this needs);
#   3. `vite build`, and check the output has the .wasm asset;
#   4. serve the build (`vite preview`) and load it in headless Chromium
#      (playwright-core, /usr/bin/chromium): `new LoginManager(...)` must
#      report status "loggedOut".
# VITE_VERSION (default 8) picks the Vite major; 7 works too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VITE_VERSION="${VITE_VERSION:-8}"
PLAYWRIGHT_VERSION="${PLAYWRIGHT_VERSION:-1}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
ROOT=$PWD

header() {
  printf '\n==> %s\n' "$*"
}

[ -f pkg/imlogin_bg.wasm ] && [ -f pkg/imlogin.js ] || {
  echo "pkg/ is missing: run npm run build first" >&2
  exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/imlogin-vite.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

header "npm pack"
tarball=$(npm pack --silent --pack-destination "$WORK" | tail -n 1)
tar -tzf "$WORK/$tarball" | sed 's/^/    /'

header "a fresh Vite $VITE_VERSION project, no plugins"
APP="$WORK/app"
mkdir -p "$APP"
cat >"$APP/package.json" <<'EOF'
{ "name": "imlogin-vite-check", "private": true, "type": "module" }
EOF
cat >"$APP/index.html" <<'EOF'
<!doctype html>
<html>
  <head><meta charset="utf-8"><title>imlogin in Vite</title></head>
  <body>
    <pre id="out">loading</pre>
    <script type="module" src="/main.js"></script>
  </body>
</html>
EOF
cat >"$APP/main.js" <<'EOF'
import init, { LoginManager } from "imlogin";

const out = document.getElementById("out");
try {
  await init();
  const im = new LoginManager({ appKey: "k", linkUrl: "ws://127.0.0.1:1/link" });
  out.textContent = `status=${im.status}`;
  im.free();
} catch (e) {
  out.textContent = `error=${e && e.stack ? e.stack : e}`;
}
EOF
cat >"$APP/check.mjs" <<'EOF'
// Serves dist/ with `vite preview` and loads it in headless Chromium.
import { preview } from "vite";
import { chromium } from "playwright-core";

const server = await preview({ preview: { port: 0, host: "127.0.0.1" }, logLevel: "warn" });
const url = server.resolvedUrls.local[0];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
  ],
});
let failed = false;
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const wasmResponses = [];
  page.on("response", (r) => {
    if (r.url().endsWith(".wasm")) wasmResponses.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(url);
  await page.waitForFunction(
    () => document.getElementById("out")?.textContent !== "loading",
    null,
    { timeout: 20000 },
  );
  const text = await page.textContent("#out");
  console.log(`    page at ${url}: ${text}`);
  console.log(`    wasm fetched: ${wasmResponses.join(", ") || "none"}`);
  if (text !== "status=loggedOut" || errors.length > 0 || wasmResponses.length === 0) {
    console.error("FAILED", { text, errors, wasmResponses });
    failed = true;
  }
} finally {
  await browser.close();
  await new Promise((resolve) => server.httpServer.close(resolve));
}
process.exit(failed ? 1 : 0);
EOF

header "npm install vite@$VITE_VERSION playwright-core@$PLAYWRIGHT_VERSION + the tarball"
(cd "$APP" && npm install --no-audit --no-fund --loglevel=error \
  "vite@$VITE_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" "$WORK/$tarball")
(cd "$APP" && node -e "console.log('    vite', require('vite/package.json').version)")

header "vite build"
(cd "$APP" && npx --no-install vite build --logLevel warn)
wasm=$(find "$APP/dist" -name '*.wasm' | head -n 1)
if [ -z "$wasm" ]; then
  echo "vite build emitted no .wasm asset:" >&2
  find "$APP/dist" -type f >&2
  exit 1
fi
if ! cmp -s "$wasm" "$ROOT/pkg/imlogin_bg.wasm"; then
  echo "the emitted $wasm differs from pkg/imlogin_bg.wasm" >&2
  exit 1
fi
(cd "$APP/dist" && find . -type f | sort | sed 's/^/    /')

header "load the build in headless Chromium"
(cd "$APP" && CHROMIUM="$CHROMIUM" node check.mjs)
echo "ok: the package works in a plain Vite $VITE_VERSION project"
