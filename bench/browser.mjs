// Browser benchmarks in headless Chromium on loopback, writing JSON to argv[2]:
//  - login latency: imlogin login() vs a hand-written WebSocket login;
//  - reconnect after the network returns (setOffline) and after a server
//    restart alone, imlogin vs socket.io-client, default settings, one page.
// Needs IMLOGIN_SERVER_BIN (the release imlogin-server). Rounds run in
// parallel lanes (one browser context + one imlogin server + one socket.io
// server each, started at staggered times) so that 20 rounds of 10 s fit.
import { chromium } from "playwright-core";
import { Server as IoServer } from "socket.io";
import http from "node:http";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";

const bench = dirname(fileURLToPath(import.meta.url));
const root = dirname(bench);
const SERVER_BIN = process.env.IMLOGIN_SERVER_BIN;
const EXTRA = (process.env.IMLOGIN_SERVER_ARGS || "").split(/\s+/).filter(Boolean);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 20);
const LANES = Number(process.env.BENCH_LANES || 4);
const LAT_ROUNDS = Number(process.env.BENCH_LATENCY_ROUNDS || 60);
const LAT_WARMUP = 5;
const DOWN_MS = 10_000; // how long the network / servers stay away
const BACK_DEADLINE_MS = 45_000; // a round gives up waiting after this
const APP_KEY = "bench-app";
const tmp = mkdtempSync(join(tmpdir(), "imlogin-bench-browser-"));

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const log = (...a) => console.error("browser:", ...a);

// ---- a static file server for the page, the package and socket.io's ESM build
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm" };
const ALLOWED = ["/pkg/", "/bench/page.html", "/bench/node_modules/socket.io-client/dist/"];
const statics = http.createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
  if (!ALLOWED.some((p) => path.startsWith(p))) return res.writeHead(404).end();
  try {
    const body = readFileSync(join(root, path));
    res.writeHead(200, { "content-type": TYPES[extname(path)] || "application/octet-stream" }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => statics.listen(0, "127.0.0.1", r));
const staticUrl = `http://127.0.0.1:${statics.address().port}`;

// ---- imlogin-server processes
function startIm(port, db) {
  return new Promise((resolve, reject) => {
    const proc = spawn(SERVER_BIN, [
      "--bind", `127.0.0.1:${port}`, "--database-url", `sqlite://${db}`,
      "--app-key", APP_KEY, "--app-secret", "bench-secret", "--test-hooks",
      "--allow-origin", "*", ...EXTRA,
    ], { env: { ...process.env, RUST_LOG: "error" }, stdio: ["ignore", "pipe", "inherit"] });
    let buf = "";
    const timer = setTimeout(() => reject(new Error("imlogin-server did not start")), 30_000);
    proc.stdout.on("data", (d) => {
      buf += d;
      const m = buf.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]), db, upAt: now() });
      }
    });
    proc.on("error", reject);
  });
}
function stopIm(s) {
  return new Promise((resolve) => {
    if (s.proc.exitCode !== null) return resolve();
    const kill = setTimeout(() => s.proc.kill("SIGKILL"), 15_000);
    s.proc.once("exit", () => { clearTimeout(kill); resolve(); });
    s.proc.kill("SIGTERM");
  });
}

// ---- socket.io servers (in this process), default settings plus CORS for the page
async function startIo(port) {
  const httpServer = http.createServer();
  const sockets = new Set();
  httpServer.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
  const io = new IoServer(httpServer, { cors: { origin: "*" } });
  await new Promise((r) => httpServer.listen(port, "127.0.0.1", r));
  return { io, sockets, port: httpServer.address().port, upAt: now() };
}
function stopIo(s) {
  s.io.close();
  for (const x of s.sockets) x.destroy();
}

async function newAccount(port) {
  const r = await fetch(`http://127.0.0.1:${port}/_test/accounts`, { method: "POST" });
  return r.json();
}

// ---- the browser
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
    // Several pages run at once: keep every one's timers unthrottled, as
    // for the one visible tab a user has.
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
  ],
});

async function openPage() {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on("pageerror", (e) => log("page error:", e.message));
  await page.goto(`${staticUrl}/bench/page.html`);
  await page.waitForFunction(() => window.ready === true);
  return { ctx, page };
}

// Page clock minus this process's clock, from the round trip with the
// smallest delay (error ≤ half of it, well under 1 ms on loopback).
async function clockOffset(page) {
  let best = { rtt: Infinity, off: 0 };
  for (let i = 0; i < 9; i++) {
    const a = now();
    const p = await page.evaluate(() => window.now());
    const b = now();
    if (b - a < best.rtt) best = { rtt: b - a, off: p - (a + b) / 2 };
  }
  return best.off;
}

// ---- 1. login latency
async function latency() {
  const im = await startIm(0, join(tmp, "latency.db"));
  const a = await newAccount(im.port);
  const b = await newAccount(im.port);
  const { ctx, page } = await openPage();
  await page.evaluate((o) => window.setupLatency(o), { appKey: APP_KEY, linkUrl: `ws://127.0.0.1:${im.port}/link` });
  const out = { imlogin: [], raw: [] };
  for (let i = 0; i < LAT_WARMUP + LAT_ROUNDS; i++) {
    // Alternate which goes first so that drift favours neither.
    const order = i % 2 ? ["raw", "imlogin"] : ["imlogin", "raw"];
    for (const who of order) {
      const ms = who === "imlogin"
        ? await page.evaluate(([x, t]) => window.imLoginOnce(x, t), [a.accid, a.token])
        : await page.evaluate(([x, t]) => window.rawLoginOnce(x, t), [b.accid, b.token]);
      if (i >= LAT_WARMUP) out[who].push(ms);
      await sleep(20); // let the server finish the previous session
    }
  }
  await ctx.close();
  await stopIm(im);
  return out;
}

// ---- 2. reconnect lanes
async function lane(kind, k, rounds) {
  const db = join(tmp, `${kind}-${k}.db`);
  let im = await startIm(0, db);
  let sio = await startIo(0);
  const acct = await newAccount(im.port);
  const { ctx, page } = await openPage();
  await page.evaluate((o) => window.setup(o), {
    appKey: APP_KEY, linkUrl: `ws://127.0.0.1:${im.port}/link`,
    accid: acct.accid, token: acct.token, ioUrl: `http://127.0.0.1:${sio.port}`,
  });
  const offset = await clockOffset(page);
  const results = [];
  const waitBack = async (after) => {
    const end = now() + BACK_DEADLINE_MS;
    for (;;) {
      const r = await page.evaluate((t) => window.backAfter(t), after + offset);
      if ((r.im && r.io) || now() > end) return r;
      await sleep(100);
    }
  };
  for (let r = 0; r < rounds; r++) {
    if (kind === "offline") {
      await ctx.setOffline(true);
      await Promise.all([stopIm(im), stopIo(sio)]);
      await sleep(DOWN_MS);
      [im, sio] = await Promise.all([startIm(im.port, db), startIo(sio.port)]);
      const t0 = now();
      await ctx.setOffline(false);
      const back = await waitBack(t0);
      results.push({
        im: back.im === null ? null : back.im - offset - t0,
        io: back.io === null ? null : back.io - offset - t0,
      });
    } else {
      await Promise.all([stopIm(im), stopIo(sio)]);
      await sleep(DOWN_MS);
      [im, sio] = await Promise.all([startIm(im.port, db), startIo(sio.port)]);
      // Each library is timed from the moment its own server listens.
      const back = await waitBack(Math.min(im.upAt, sio.upAt));
      results.push({
        im: back.im === null ? null : back.im - offset - im.upAt,
        io: back.io === null ? null : back.io - offset - sio.upAt,
      });
    }
    const last = results.at(-1);
    log(`${kind} lane ${k} round ${r + 1}/${rounds}: imlogin ${fmt(last.im)} ms, socket.io ${fmt(last.io)} ms`);
  }
  await ctx.close();
  await stopIm(im);
  stopIo(sio);
  return results;
}
const fmt = (x) => (x === null ? "timeout" : x.toFixed(1));

const started = now();
log(`login latency: ${LAT_ROUNDS} rounds each after ${LAT_WARMUP} warm-up`);
const lat = await latency();
const perLane = Math.ceil(ROUNDS / LANES);
log(`reconnect: ${LANES} offline + ${LANES} restart lanes × ${perLane} rounds, ${DOWN_MS / 1000} s down`);
// Stagger the lanes across one round so that their measurements rarely
// coincide (the sensitive one, imlogin after `online`, lasts milliseconds).
const stagger = (DOWN_MS + 2_000) / (2 * LANES);
const lanes = [];
for (let k = 0; k < LANES; k++) {
  lanes.push(sleep(2 * k * stagger).then(() => lane("offline", k, perLane)));
  lanes.push(sleep((2 * k + 1) * stagger).then(() => lane("restart", k, perLane)));
}
const done = await Promise.all(lanes);
const chromiumVersion = browser.version();
const offline = done.filter((_, i) => i % 2 === 0).flat();
const restart = done.filter((_, i) => i % 2 === 1).flat();
await browser.close();
statics.close();
rmSync(tmp, { recursive: true, force: true });
writeFileSync(process.argv[2], JSON.stringify({
  latency: lat, offline, restart,
  config: { rounds: offline.length, lanes: LANES, downMs: DOWN_MS, latencyRounds: LAT_ROUNDS,
            chromium: chromiumVersion, socketIo: JSON.parse(readFileSync(join(bench, "node_modules/socket.io-client/package.json"))).version },
  seconds: (now() - started) / 1000,
}, null, 2));
log(`done in ${((now() - started) / 1000).toFixed(0)} s`);
