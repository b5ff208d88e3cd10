// Browser benchmarks in headless Chromium, writing JSON to argv[2]:
//  - login latency: imlogin login() vs a hand-written WebSocket login;
//  - reconnect, imlogin vs socket.io-client, default settings, one page:
//    after the network returns (setOffline, or a real link flap), and after
//    the servers alone restart (SIGTERM or SIGKILL, down 10 s or 2 s).
//
//   node bench/browser.mjs OUT.json [--net loopback|lossy|flapping]
//
// loopback (default): latency, then the offline + restart lanes, then the
// graceful + kill lanes. lossy and flapping run inside bench/lib/netns.sh:
// Chromium in its namespace, the servers on the host end of its veth pair;
// lossy runs offline + restart lanes, flapping runs flap + restart lanes.
// Needs IMLOGIN_SERVER_BIN (the release imlogin-server). Rounds run in
// parallel lanes (one browser context + one imlogin server + one socket.io
// server each, started at staggered times) so that 20 rounds fit.
import { chromium } from "playwright-core";
import http from "node:http";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
const BACK_DEADLINE_MS = 45_000; // a round gives up waiting after this
const APP_KEY = "bench-app";
const tmp = mkdtempSync(join(tmpdir(), "imlogin-bench-browser-"));

const [outFile, ...flags] = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = flags.indexOf(`--${name}`);
  return i >= 0 ? flags[i + 1] : dflt;
};
const NET = flag("net", "loopback");
if (!["loopback", "lossy", "flapping"].includes(NET)) throw new Error(`--net ${NET}: loopback, lossy or flapping`);
const NETNS = process.env.IMLOGIN_NETNS;
if (NET !== "loopback" && !NETNS) throw new Error(`--net ${NET} runs inside bench/lib/netns.sh`);
// Where every server listens: loopback, or the host end of the veth pair
// (the only address the namespace can reach).
const HOST = NET === "loopback" ? "127.0.0.1" : process.env.IMLOGIN_NETNS_HOST_ADDR;

// The reconnect cases. `stop`: the signal both servers get; `downMs`: how
// long both stay down once both have exited; `offline`: the page goes
// offline first and comes back online once both listen again (timed from
// that); otherwise each library is timed from its own server listening.
const CASES = {
  offline: { stop: "SIGTERM", downMs: 10_000, offline: true },
  restart: { stop: "SIGTERM", downMs: 10_000 },
  graceful: { stop: "SIGTERM", downMs: 2_000 },
  kill: { stop: "SIGKILL", downMs: 2_000 },
  // No server action: the link itself goes down and up (netns.sh --link
  // flapping); timed from the link coming up.
  flap: { flap: true },
};
// Kinds in one phase run at once; phases run one after the other.
// BENCH_CASES=graceful,kill keeps only those kinds (for experiments).
const ONLY = process.env.BENCH_CASES?.split(",");
const PHASES = {
  loopback: [["offline", "restart"], ["graceful", "kill"]],
  lossy: [["offline", "restart"]],
  flapping: [["flap", "restart"]],
}[NET].map((kinds) => kinds.filter((k) => !ONLY || ONLY.includes(k))).filter((kinds) => kinds.length);

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const log = (...a) => console.error(`browser (${NET}):`, ...a);

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
await new Promise((r) => statics.listen(0, HOST, r));
const staticUrl = `http://${HOST}:${statics.address().port}`;

// ---- server processes: imlogin-server and bench/lib/io-server.mjs, each
// printing `listening on http://ADDR:PORT` once it accepts connections.
function startProcess(cmd, args, what) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { env: { ...process.env, RUST_LOG: "error" }, stdio: ["ignore", "pipe", "inherit"] });
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not start`)), 30_000);
    proc.stdout.on("data", (d) => {
      buf += d;
      const m = buf.match(/listening on http:\/\/[^\s]*:(\d+)/);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]), upAt: now() });
      }
    });
    proc.on("error", reject);
  });
}
const startIm = (port, db) =>
  startProcess(SERVER_BIN, [
    "--bind", `${HOST}:${port}`, "--database-url", `sqlite://${db}`,
    "--app-key", APP_KEY, "--app-secret", "bench-secret", "--test-hooks",
    "--allow-origin", "*", ...EXTRA,
  ], "imlogin-server");
const startIo = (port) => startProcess(process.execPath, [join(bench, "lib/io-server.mjs"), HOST, String(port)], "socket.io server");
// Stops a server with `signal` and resolves once it has exited (SIGKILL
// after 15 s if a SIGTERM is not enough).
function stop(s, signal) {
  return new Promise((resolve) => {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) return resolve();
    const kill = setTimeout(() => s.proc.kill("SIGKILL"), 15_000);
    s.proc.once("exit", () => { clearTimeout(kill); resolve(); });
    s.proc.kill(signal);
  });
}

async function newAccount(port) {
  const r = await fetch(`http://${HOST}:${port}/_test/accounts`, { method: "POST" });
  return r.json();
}

// ---- the browser, inside the namespace when there is one
let executablePath = "/usr/bin/chromium";
if (NETNS) {
  executablePath = join(tmp, "chromium-in-netns");
  writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec '${NETNS}' /usr/bin/chromium "$@"\n`);
  chmodSync(executablePath, 0o755);
}
const browser = await chromium.launch({
  executablePath,
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
  await page.goto(`${staticUrl}/bench/page.html`, { timeout: 60_000 });
  await page.waitForFunction(() => window.ready === true, null, { timeout: 60_000 });
  return { ctx, page };
}

// Page clock minus this process's clock, from the round trip with the
// smallest delay (error ≤ half of it, well under 1 ms: this is the
// DevTools pipe, not the benchmark's network).
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

// ---- the link's flaps (netns.sh --link flapping), on this process's clock
const wallToNow = now() - Date.now();
function flaps() {
  const file = process.env.IMLOGIN_NETNS_FLAP_LOG;
  if (!file || !existsSync(file)) return [];
  const out = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [t, what] = line.split(" ");
    if (what === "down") out.push({ down: Number(t) + wallToNow, up: null });
    else if (what === "up" && out.length) out.at(-1).up = Number(t) + wallToNow;
  }
  return out;
}

// Runs `f` up to 5 times: on a flapping link a page load or the first
// login may meet the link down.
async function retry(what, f) {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i === 5) throw e;
      log(`${what} failed (${e.message.split("\n")[0]}); again in 3 s`);
      await sleep(3_000);
    }
  }
}

// ---- 1. login latency
async function latency() {
  const im = await startIm(0, join(tmp, "latency.db"));
  const a = await newAccount(im.port);
  const b = await newAccount(im.port);
  const { ctx, page } = await openPage();
  await page.evaluate((o) => window.setupLatency(o), { appKey: APP_KEY, linkUrl: `ws://${HOST}:${im.port}/link` });
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
  await stop(im, "SIGTERM");
  return out;
}

// ---- 2. reconnect lanes
async function lane(kind, k, rounds) {
  const c = CASES[kind];
  const db = join(tmp, `${kind}-${k}.db`);
  let [im, sio] = await Promise.all([startIm(0, db), startIo(0)]);
  const acct = await newAccount(im.port);
  const { ctx, page } = await retry(`${kind} lane ${k}: page setup`, async () => {
    const opened = await openPage();
    try {
      await opened.page.evaluate((o) => window.setup(o), {
        appKey: APP_KEY, linkUrl: `ws://${HOST}:${im.port}/link`,
        accid: acct.accid, token: acct.token, ioUrl: `http://${HOST}:${sio.port}`,
      });
    } catch (e) {
      await opened.ctx.close();
      throw e;
    }
    return opened;
  });
  const offset = await clockOffset(page);
  const results = [];
  // The first `loggedIn` / `connect` after `after` (this process's clock),
  // polled until both are there or `until()` has passed.
  const waitBack = async (after, until) => {
    for (;;) {
      const r = await page.evaluate((t) => window.backAfter(t), after + offset);
      if ((r.im !== null && r.io !== null) || now() > until()) {
        return { im: r.im === null ? null : r.im - offset, io: r.io === null ? null : r.io - offset };
      }
      await sleep(100);
    }
  };
  let seen = flaps().length;
  for (let r = 0; r < rounds; r++) {
    let stoppedAt;
    if (c.flap) {
      // The next flap that ends after this lane is ready.
      const end = now() + 60_000;
      let f;
      while (!(f = flaps()[seen])?.up && now() < end) await sleep(100);
      if (!f?.up) throw new Error("the link did not flap within 60 s");
      seen += 1;
      // Back before the link goes down again, or not back.
      const nextDown = () => flaps()[seen]?.down ?? Infinity;
      const back = await waitBack(f.up, () => Math.min(f.up + BACK_DEADLINE_MS, nextDown()));
      const lost = await page.evaluate(([a, b]) => window.lostBetween(a, b), [f.down + offset, f.up + offset]);
      const since = (t) => (t !== null && t < nextDown() ? t - f.up : null);
      // A library that kept its connection through the flap counts 0 ms.
      results.push({ im: lost.im ? since(back.im) : 0, io: lost.io ? since(back.io) : 0, imKept: !lost.im, ioKept: !lost.io, downMs: f.up - f.down });
    } else {
      stoppedAt = now();
      if (c.offline) await ctx.setOffline(true);
      await Promise.all([stop(im, c.stop), stop(sio, c.stop)]);
      await sleep(c.downMs);
      [im, sio] = await Promise.all([startIm(im.port, db), startIo(sio.port)]);
      if (c.offline) {
        const t0 = now();
        await ctx.setOffline(false);
        const back = await waitBack(t0, () => t0 + BACK_DEADLINE_MS);
        results.push({ im: back.im === null ? null : back.im - t0, io: back.io === null ? null : back.io - t0 });
      } else {
        // Each library is timed from the moment its own server listens.
        const from = Math.min(im.upAt, sio.upAt);
        const back = await waitBack(from, () => from + BACK_DEADLINE_MS);
        results.push({ im: back.im === null ? null : back.im - im.upAt, io: back.io === null ? null : back.io - sio.upAt });
      }
    }
    const last = results.at(-1);
    log(`${kind} lane ${k} round ${r + 1}/${rounds}: imlogin ${fmt(last.im)} ms, socket.io ${fmt(last.io)} ms`);
    if (last.im === null && stoppedAt !== undefined) {
      // What imlogin did instead: its status and `reconnecting` events
      // since the stop, in ms from the stop (upAfterStopMs: when its
      // server listened again).
      last.imTrace = await page.evaluate((t) => window.events.filter((e) => e[0] === "im" && e[2] > t).map((e) => [e[1], e[2] - t]), stoppedAt + offset);
      log(`${kind} lane ${k}: imlogin not back; its statuses (ms after the stop, server listening again at ${(im.upAt - stoppedAt).toFixed(0)} ms): ` +
        last.imTrace.map(([st, t]) => `${st}@${t.toFixed(0)}`).join(" "));
      last.upAfterStopMs = im.upAt - stoppedAt;
    }
  }
  await ctx.close();
  await Promise.all([stop(im, "SIGTERM"), stop(sio, "SIGTERM")]);
  return results;
}
const fmt = (x) => (x === null ? "timeout" : x.toFixed(1));

// The link's round trip as a page sees it: the median of 10 small fetches
// on one kept-alive connection (1 round trip each, plus losses).
function linkRtt() {
  return retry("link round trip", async () => {
    const { ctx, page } = await openPage();
    try {
      return await page.evaluate((u) => window.fetchRtt(u, 10), `${staticUrl}/bench/page.html`);
    } finally {
      await ctx.close();
    }
  });
}

const started = now();
const out = { net: NET };
if (NET === "loopback" && !ONLY) {
  log(`login latency: ${LAT_ROUNDS} rounds each after ${LAT_WARMUP} warm-up`);
  out.latency = await latency();
}
const rtt = await linkRtt();
log(`link round trip (median of 10 fetches): ${rtt.toFixed(1)} ms`);
const perLane = Math.ceil(ROUNDS / LANES);
for (const kinds of PHASES) {
  log(`reconnect: ${kinds.map((k) => `${LANES} ${k}`).join(" + ")} lanes × ${perLane} rounds`);
  // Stagger the lanes across one round so that their measurements rarely
  // coincide (the sensitive one, imlogin after `online`, lasts milliseconds).
  const slots = kinds.length * LANES;
  const spread = Math.max(...kinds.map((k) => CASES[k].downMs ?? 0)) + 2_000;
  const lanes = [];
  for (let k = 0; k < LANES; k++) {
    kinds.forEach((kind, j) => {
      lanes.push(sleep(((k * kinds.length + j) * spread) / slots).then(() => lane(kind, k, perLane)));
    });
  }
  const done = await Promise.all(lanes);
  kinds.forEach((kind, j) => { out[kind] = done.filter((_, i) => i % kinds.length === j).flat(); });
}
const chromiumVersion = browser.version();
await browser.close();
statics.close();
rmSync(tmp, { recursive: true, force: true });
out.config = {
  rounds: perLane * LANES, lanes: LANES, latencyRounds: LAT_ROUNDS,
  cases: Object.fromEntries(PHASES.flat().map((k) => [k, CASES[k]])),
  link: NET === "loopback" ? "loopback" : process.env.IMLOGIN_NETNS_LINK, linkRttMs: rtt,
  chromium: chromiumVersion,
  socketIo: JSON.parse(readFileSync(join(bench, "node_modules/socket.io-client/package.json"))).version,
};
out.seconds = (now() - started) / 1000;
writeFileSync(outFile, JSON.stringify(out, null, 2));
log(`done in ${out.seconds.toFixed(0)} s`);
