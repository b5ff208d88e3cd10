// What device binding costs at login time, in headless Chromium against a
// real imlogin-server, both ways measured in the same run and page,
// alternating rounds so that drift favours neither:
//  - autoLogin() → loggedIn after a reload: resuming with the saved ticket
//    (the device key loaded from IndexedDB, a signature) vs the token
//    record with binding off (no WebCrypto: sessionBinding "token");
//  - login() → resolved: binding (the public key exported and sent) vs off.
// Each round makes a new LoginManager, as a page load does, and frees it
// after. Prints numbers, asserts nothing.
//
//   node bench/binding.mjs OUT.json
//
// Needs pkg/ (scripts/build.sh) and an imlogin-server binary
// (IMLOGIN_SERVER_BIN, default target/debug/imlogin-server).
import { chromium } from "playwright-core";
import http from "node:http";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const bench = dirname(fileURLToPath(import.meta.url));
const root = dirname(bench);
const SERVER_BIN = process.env.IMLOGIN_SERVER_BIN || join(root, process.env.CARGO_TARGET_DIR || "target", "debug/imlogin-server");
const ROUNDS = Number(process.env.BENCH_BINDING_ROUNDS || 40);
const WARMUP = 5;
const APP_KEY = "bench-binding";
const RAISED = ["--max-sessions-per-ip", "1000000", "--login-rate-per-ip", "100000000", "--login-rate-per-account", "100000"];
const [outFile = "/dev/stdout"] = process.argv.slice(2);
const tmp = mkdtempSync(join(tmpdir(), "imlogin-bench-binding-"));
const log = (...a) => console.error("binding:", ...a);

// The page and the package, from one static origin (a secure context:
// 127.0.0.1).
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
const statics = http.createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
  if (path === "/") return res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>binding bench</title>");
  if (!path.startsWith("/pkg/")) return res.writeHead(404).end();
  try {
    res.writeHead(200, { "content-type": TYPES[extname(path)] || "application/octet-stream" }).end(readFileSync(join(root, path)));
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => statics.listen(0, "127.0.0.1", r));

const server = spawn(SERVER_BIN, [
  "--bind", "127.0.0.1:0", "--database-url", `sqlite://${join(tmp, "bench.db")}`,
  "--app-key", APP_KEY, "--app-secret", "bench-secret", "--test-hooks", "--allow-origin", "*", ...RAISED,
], { env: { ...process.env, RUST_LOG: "error" }, stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise((resolve, reject) => {
  let buf = "";
  server.stdout.on("data", (d) => {
    const m = (buf += d).match(/listening on http:\/\/[^\s]*:(\d+)/);
    if (m) resolve(Number(m[1]));
  });
  server.on("exit", (code) => reject(new Error(`imlogin-server exited (${code})`)));
});
const account = await (await fetch(`http://127.0.0.1:${port}/_test/accounts`, { method: "POST" })).json();

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});
const page = await browser.newPage();
page.on("pageerror", (e) => log("page error:", e.message));
await page.goto(`http://127.0.0.1:${statics.address().port}/`);
await page.evaluate(async ({ appKey, linkUrl }) => {
  const { default: init, LoginManager } = await import("/pkg/imlogin.js");
  await init();
  const key = `imlogin:${appKey}:session`;
  // A manager made as a page load makes it; "off": without WebCrypto, so
  // that sessionBinding "token" keeps today's token record.
  const make = (binding) => {
    const subtle = Object.getOwnPropertyDescriptor(Crypto.prototype, "subtle");
    if (binding === "off") Object.defineProperty(Crypto.prototype, "subtle", { get: () => undefined, configurable: true });
    try {
      return new LoginManager({ appKey, linkUrl, tabs: "perTab", sessionBinding: binding === "off" ? "token" : "device" });
    } finally {
      Object.defineProperty(Crypto.prototype, "subtle", subtle);
    }
  };
  const loggedIn = (im) => new Promise((ok) => im.on("status", (s) => s === "loggedIn" && ok()));
  // autoLogin() → loggedIn with `record` saved.
  window.autoLoginOnce = async (binding, record) => {
    localStorage.setItem(key, record);
    const im = make(binding);
    const t = performance.now();
    const done = loggedIn(im);
    await im.autoLogin();
    await done;
    const ms = performance.now() - t;
    const saved = localStorage.getItem(key);
    im.free();
    return { ms, saved };
  };
  // login() → resolved.
  window.loginOnce = async (binding, accid, token) => {
    localStorage.removeItem(key);
    const im = make(binding);
    const t = performance.now();
    await im.login(accid, token);
    const ms = performance.now() - t;
    const saved = localStorage.getItem(key);
    im.free();
    return { ms, saved };
  };
}, { appKey: APP_KEY, linkUrl: `ws://127.0.0.1:${port}/link` });

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, median: +q(0.5).toFixed(2), p90: +q(0.9).toFixed(2), min: +s[0].toFixed(2), max: +s.at(-1).toFixed(2) };
};

const { accid, token } = account;
const tokenRecord = JSON.stringify({ v: 1, accid, token, savedAt: 1 });
// The first bound login makes the device key and earns the ticket record.
const first = await page.evaluate(([a, t]) => window.loginOnce("on", a, t), [accid, token]);
if (!first.saved?.includes('"ticket"')) throw new Error(`no ticket record after a bound login: ${first.saved}`);
let ticketRecord = first.saved;

const out = { autoLogin: { on: [], off: [] }, login: { on: [], off: [] } };
for (let i = 0; i < WARMUP + ROUNDS; i++) {
  const order = i % 2 ? ["off", "on"] : ["on", "off"];
  for (const b of order) {
    const r = await page.evaluate(([b, rec]) => window.autoLoginOnce(b, rec), [b, b === "on" ? ticketRecord : tokenRecord]);
    if (b === "on") {
      if (!r.saved?.includes('"ticket"')) throw new Error(`the resume lost its ticket record: ${r.saved}`);
      ticketRecord = r.saved;
    }
    if (i >= WARMUP) out.autoLogin[b].push(r.ms);
  }
  for (const b of order) {
    const r = await page.evaluate(([b, a, t]) => window.loginOnce(b, a, t), [b, accid, token]);
    if (b === "on") ticketRecord = r.saved;
    if (i >= WARMUP) out.login[b].push(r.ms);
  }
}

const result = {
  rounds: ROUNDS,
  server: SERVER_BIN,
  autoLogin: { bindingOn: stats(out.autoLogin.on), bindingOff: stats(out.autoLogin.off) },
  login: { bindingOn: stats(out.login.on), bindingOff: stats(out.login.off) },
};
result.autoLogin.addedMedianMs = +(result.autoLogin.bindingOn.median - result.autoLogin.bindingOff.median).toFixed(2);
result.login.addedMedianMs = +(result.login.bindingOn.median - result.login.bindingOff.median).toFixed(2);
log(`autoLogin → loggedIn, median: binding on ${result.autoLogin.bindingOn.median} ms, off ${result.autoLogin.bindingOff.median} ms`);
log(`login() → resolved, median: binding on ${result.login.bindingOn.median} ms, off ${result.login.bindingOff.median} ms`);
writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");

await browser.close();
server.kill("SIGTERM");
statics.close();
rmSync(tmp, { recursive: true, force: true });
