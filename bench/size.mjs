// Size: what a browser loads to log in, gzip -9, every library bundled the
// same way (esbuild --bundle --minify --platform=browser --format=esm).
// imlogin: its release package (pkg/, built by scripts/build.sh): the JS
// entry bundled like the peers, plus the .wasm it fetches.
// Writes JSON to argv[2].
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const bench = dirname(fileURLToPath(import.meta.url));
const root = dirname(bench);
const work = join(bench, ".size");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const gz = (file) => execFileSync("gzip", ["-9c", file], { maxBuffer: 1 << 30 }).length;
const raw = (file) => readFileSync(file).length;
const version = (pkg) =>
  JSON.parse(readFileSync(join(bench, "node_modules", pkg, "package.json"), "utf8")).version;

function bundle(name, source) {
  const entry = join(work, `${name}.entry.mjs`);
  const out = join(work, `${name}.bundle.js`);
  writeFileSync(entry, source);
  execFileSync(join(bench, "node_modules/.bin/esbuild"), [
    entry, "--bundle", "--minify", "--platform=browser", "--format=esm",
    "--log-level=error", `--outfile=${out}`,
  ], { cwd: bench });
  return out;
}

// Each entry imports what a page needs to log in and keeps it alive with
// an export, so that tree shaking cannot drop it. `im`: an IM SDK (the size
// goal is set against the smallest of them, docs/size.md).
const peers = [
  {
    name: "socket.io-client", pkg: "socket.io-client",
    what: "io()",
    src: `export { io } from "socket.io-client";`,
  },
  {
    name: "partysocket", pkg: "partysocket",
    what: "PartySocket (reconnecting WebSocket)",
    src: `export { PartySocket } from "partysocket";`,
  },
  {
    name: "@supabase/auth-js", pkg: "@supabase/auth-js",
    what: "GoTrueClient",
    src: `export { GoTrueClient } from "@supabase/auth-js";`,
  },
  {
    name: "firebase app+auth", pkg: "firebase",
    what: "initializeApp, getAuth, signInWithCustomToken, onAuthStateChanged",
    src: `export { initializeApp } from "firebase/app";
export { getAuth, signInWithCustomToken, onAuthStateChanged } from "firebase/auth";`,
  },
  {
    name: "Tencent Cloud Chat", pkg: "@tencentcloud/chat", im: true,
    what: "TencentCloudChat (index.js, the package's main)",
    src: `import TencentCloudChat from "@tencentcloud/chat";
export default TencentCloudChat;`,
  },
  {
    name: "nim-web-sdk-ng", pkg: "nim-web-sdk-ng", im: true,
    what: "NIM browser SDK (dist/v2/NIM_BROWSER_SDK.js, the package's main)",
    src: `import NIM from "nim-web-sdk-ng/dist/v2/NIM_BROWSER_SDK.js";
export default NIM;`,
  },
];

const rows = [];
{
  const wasm = join(root, "pkg/imlogin_bg.wasm");
  const js = bundle("imlogin", `export { default, LoginManager } from ${JSON.stringify(join(root, "pkg/imlogin.js"))};`);
  const pkgVersion = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  rows.push({
    name: "imlogin", version: pkgVersion, what: "LoginManager (wasm + glue)",
    rawBytes: raw(js) + raw(wasm), gzipBytes: gz(js) + gz(wasm),
    parts: { jsGzip: gz(js), wasmGzip: gz(wasm), packageGlueGzip: gz(join(root, "pkg/imlogin.js")) },
  });
}
for (const p of peers) {
  const out = bundle(p.name.replace(/[^a-z0-9]+/gi, "_"), p.src);
  rows.push({ name: p.name, version: version(p.pkg), what: p.what, im: Boolean(p.im), rawBytes: raw(out), gzipBytes: gz(out) });
}
rmSync(work, { recursive: true, force: true });
writeFileSync(process.argv[2], JSON.stringify({ rows }, null, 2));
for (const r of rows) console.error(`size: ${r.name.padEnd(20)} ${(r.gzipBytes / 1000).toFixed(1)} kB gzip`);
