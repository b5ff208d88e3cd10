// The packed package in real apps: each example (examples/) and a fresh
// project per bundler (tests/bundlers/) installs the tarball with its own
// committed lock file, builds, and its page logs in against ONE real
// imlogin-server in headless Chromium:
//
//   examples   vanilla (no bundler, an import map), react (a useImLogin hook
//              on useSyncExternalStore), vue (a composable): log in, reload
//              (auto login from the saved session), log out;
//   bundlers   Vite build, Vite dev server, webpack 5, esbuild, Rollup: log
//              in, and the .wasm that the page fetched is the package's.
//
//   node scripts/apps-check.mjs [target/npm/imlogin.tgz] [--only a,b]
//   node scripts/apps-check.mjs --relock     # rewrite the projects' locks
//
// Needs target/debug/imlogin-server (cargo build -p imlogin-server), the
// tarball (scripts/pack.sh), npm (the projects' dependencies come from the
// npm registry, or its cache) and Debian's Chromium.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, relative, resolve, sep } from "node:path";
import { chromium } from "playwright-core";

const ROOT = resolve(import.meta.dirname, "..");
const TARGET_DIR = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, "target");
const SERVER_BIN = join(TARGET_DIR, "debug/imlogin-server");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const APP_KEY = "apps-check-app-key";
const APP_SECRET = "apps-check-app-secret";
const PAGE_TIMEOUT_MS = 30_000;
/** Where every project expects the tarball (its package.json says file:…). */
const TARBALL_IN_TREE = "target/npm/imlogin.tgz";

/**
 * build: the npm script that builds, if any; serve: what the static server
 * serves ("dist" or the project root); dev: also run `vite` (dev server);
 * flow: "example" (log in, reload, log out) or "login".
 */
const PROJECTS = [
  { name: "vanilla", dir: "examples/vanilla", build: null, serve: ".", flow: "example" },
  { name: "react", dir: "examples/react", build: "build", serve: "dist", flow: "example" },
  { name: "vue", dir: "examples/vue", build: "build", serve: "dist", flow: "example" },
  { name: "vite", dir: "tests/bundlers/vite", build: "build", serve: "dist", dev: true, flow: "login" },
  { name: "webpack", dir: "tests/bundlers/webpack", build: "build", serve: ".", flow: "login" },
  { name: "esbuild", dir: "tests/bundlers/esbuild", build: "build", serve: ".", flow: "login" },
  { name: "rollup", dir: "tests/bundlers/rollup", build: "build", serve: ".", flow: "login" },
];
const SHARED_PAGE = "tests/bundlers/app.js";

const args = process.argv.slice(2);
const only = args.includes("--only") ? args[args.indexOf("--only") + 1].split(",") : null;
const tarball = resolve(args.find((a) => a.endsWith(".tgz")) ?? join(ROOT, TARBALL_IN_TREE));

function header(text) {
  console.log(`\n==> ${text}`);
}

function run(command, argv, cwd, extraEnv = {}) {
  const result = spawnSync(command, argv, {
    cwd,
    stdio: "inherit",
    env: { ...process.env, ...extraEnv, NO_COLOR: "1", npm_config_update_notifier: "false" },
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${argv.join(" ")} failed in ${cwd} (exit ${result.status})`);
  }
}

/**
 * The tarball changes with every build while its path does not: an
 * integrity hash in the lock would make npm take a stale copy from its
 * cache. Locks therefore carry no integrity for imlogin.
 */
function stripImloginIntegrity(lockPath) {
  const lock = JSON.parse(readFileSync(lockPath, "utf8"));
  const entry = lock.packages?.["node_modules/imlogin"];
  if (!entry) throw new Error(`${lockPath} has no node_modules/imlogin entry`);
  delete entry.integrity;
  writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
}

if (args.includes("--relock")) {
  for (const p of PROJECTS) {
    header(`relock ${p.dir}`);
    const dir = join(ROOT, p.dir);
    rmSync(join(dir, "package-lock.json"), { force: true });
    run("npm", ["install", "--package-lock-only", "--no-audit", "--no-fund"], dir);
    stripImloginIntegrity(join(dir, "package-lock.json"));
  }
  process.exit(0);
}

// ---- the reference server ------------------------------------------------

async function startServer(work) {
  if (!existsSync(SERVER_BIN)) throw new Error(`${SERVER_BIN} is missing: cargo build -p imlogin-server`);
  const child = spawn(
    SERVER_BIN,
    [
      "--bind", "127.0.0.1:0",
      "--database-url", `sqlite://${join(work, "imlogin.db")}`,
      "--app-key", APP_KEY,
      "--app-secret", APP_SECRET,
      // The apps are served from other origins (their own ports).
      "--allow-origin", "*",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const log = [];
  child.stderr.on("data", (d) => log.push(String(d)));
  const url = await new Promise((resolvePromise, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("imlogin-server did not start within 30 s")), 30_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`imlogin-server exited (${code}): ${log.join("")}`)));
  });
  return { child, url, log };
}

/** Creates an IM account through the signed server API, as an app server would. */
async function createAccount(serverUrl, accid) {
  const nonce = randomBytes(8).toString("hex");
  const curTime = String(Math.floor(Date.now() / 1000));
  const checkSum = createHash("sha1").update(APP_SECRET + nonce + curTime).digest("hex");
  const response = await fetch(`${serverUrl}/nimserver/user/create.action`, {
    method: "POST",
    headers: {
      AppKey: APP_KEY,
      Nonce: nonce,
      CurTime: curTime,
      CheckSum: checkSum,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ accid }),
  });
  const body = await response.json();
  if (body.code !== 200) throw new Error(`create.action ${accid}: ${JSON.stringify(body)}`);
  return body.info;
}

// ---- serving the built apps -------------------------------------------------

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
};

function serveStatic(root) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = resolve(root, `.${path}`);
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": MIME[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise) => {
    server.listen(0, "127.0.0.1", () => {
      resolvePromise({ url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() });
    });
  });
}

/** `vite` (the dev server) on a free port; resolves once it answers. */
async function startViteDev(dir) {
  const probe = createServer();
  const port = await new Promise((r) => probe.listen(0, "127.0.0.1", () => r(probe.address().port)));
  await new Promise((r) => probe.close(r));
  const child = spawn(join(dir, "node_modules/.bin/vite"), ["--host", "127.0.0.1", "--port", String(port), "--strictPort"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  const output = [];
  child.stdout.on("data", (d) => output.push(String(d)));
  child.stderr.on("data", (d) => output.push(String(d)));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vite exited: ${output.join("")}`);
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`vite dev server did not answer within 60 s: ${output.join("")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    close: () =>
      new Promise((r) => {
        child.once("exit", r);
        child.kill("SIGTERM");
      }),
  };
}

// ---- the page checks ------------------------------------------------------------

async function waitForStatus(page, wanted) {
  try {
    await page.waitForFunction(
      (w) => {
        const text = document.getElementById("status")?.textContent ?? "";
        return text === w || text.startsWith("error");
      },
      wanted,
      { timeout: PAGE_TIMEOUT_MS },
    );
  } catch {
    // fall through to the comparison, which reports what the page showed
  }
  const text = await page.textContent("#status").catch(() => null);
  if (text !== wanted) throw new Error(`#status is ${JSON.stringify(text)}, expected ${JSON.stringify(wanted)}`);
}

async function checkPage(browser, url, project, account, linkUrl, expectedWasm) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  const wasm = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    // Failed loads are judged by their responses below.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(`console: ${m.text()}`);
  });
  page.on("response", async (r) => {
    const path = new URL(r.url()).pathname;
    if (r.status() >= 400 && path !== "/favicon.ico") errors.push(`${r.status()} ${r.url()}`);
    if (path.endsWith(".wasm")) {
      wasm.push({ url: r.url(), status: r.status(), body: await r.body().catch(() => null) });
    }
  });
  const query = new URLSearchParams({ appKey: APP_KEY, linkUrl, accid: account.accid, token: account.token });
  try {
    await page.goto(`${url}?${query}`);
    if (project.flow === "login") {
      await waitForStatus(page, "loggedIn");
    } else {
      // Nothing saved yet: autoLogin resolves false, status loggedOut.
      await waitForStatus(page, "loggedOut");
      await page.click("#login");
      await waitForStatus(page, "loggedIn");
      // A reload resumes the saved session by itself (auto login).
      await page.reload();
      await waitForStatus(page, "loggedIn");
      await page.click("#logout");
      await waitForStatus(page, "loggedOut");
    }
    if (wasm.length === 0) throw new Error("the page fetched no .wasm");
    const fetched = wasm.find((w) => w.status === 200 && w.body);
    if (!fetched || !fetched.body.equals(expectedWasm)) {
      throw new Error(`the .wasm fetched (${wasm.map((w) => `${w.status} ${w.url}`).join(", ")}) is not the package's`);
    }
    if (errors.length > 0) throw new Error(`errors on the page: ${errors.join(" | ")}`);
    return new URL(fetched.url).pathname;
  } catch (e) {
    const shots = join(ROOT, "target/apps-check");
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, `${project.name}.png`) }).catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
}

// ---- main ---------------------------------------------------------------------

if (!existsSync(tarball)) {
  console.error(`${tarball} is missing: run npm run package first`);
  process.exit(1);
}
const expectedWasm = spawnSync("tar", ["-xzOf", tarball, "package/pkg/imlogin_bg.wasm"], { maxBuffer: 1 << 26 }).stdout;
const work = mkdtempSync(join(tmpdir(), "imlogin-apps-"));
mkdirSync(join(work, dirname(TARBALL_IN_TREE)), { recursive: true });
cpSync(tarball, join(work, TARBALL_IN_TREE));

const selected = PROJECTS.filter((p) => !only || only.includes(p.name) || (p.dev && only.includes("vite-dev")));
const results = [];
let server;
let browser;
try {
  header("imlogin-server (one for every app) and Chromium");
  server = await startServer(work);
  const linkUrl = `${server.url.replace(/^http/, "ws")}/link`;
  console.log(`    server ${server.url}, link ${linkUrl}`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    ],
  });

  for (const project of selected) {
    const started = Date.now();
    const timings = {};
    const stage = async (name, fn) => {
      const t = Date.now();
      const value = await fn();
      timings[name] = Date.now() - t;
      return value;
    };
    const record = (name, error, detail = "") => {
      results.push({ name, ok: !error, seconds: (Date.now() - started) / 1000, timings: { ...timings }, detail, error });
      console.log(error ? `    FAILED ${name}: ${error.message}` : `    ok ${name} ${detail}`);
    };
    header(`${project.name} (${project.dir})`);
    const dir = join(work, project.dir);
    try {
      await stage("install", () => {
        cpSync(join(ROOT, project.dir), dir, {
          recursive: true,
          filter: (src) => !/(^|\/)(node_modules|dist)(\/|$)/.test(relative(ROOT, src)),
        });
        if (project.dir.startsWith("tests/bundlers/")) cpSync(join(ROOT, SHARED_PAGE), join(dir, "src/app.js"));
        stripImloginIntegrity(join(dir, "package-lock.json"));
        run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], dir);
      });
      if (project.build) await stage("build", () => run("npm", ["run", "--silent", project.build], dir));
      const account = await createAccount(server.url, `${project.name}_${Date.now().toString(36)}`);
      const site = await serveStatic(join(dir, project.serve));
      try {
        const wasmPath = await stage("browser", () => checkPage(browser, site.url, project, account, linkUrl, expectedWasm));
        record(project.build ? `${project.name} (build)` : project.name, null, `wasm ${wasmPath}`);
      } finally {
        site.close();
      }
    } catch (e) {
      record(project.build ? `${project.name} (build)` : project.name, e);
    }
    if (project.dev) {
      const devStarted = Date.now();
      try {
        const account = await createAccount(server.url, `vitedev_${Date.now().toString(36)}`);
        const dev = await startViteDev(dir);
        try {
          const wasmPath = await checkPage(browser, dev.url, project, account, linkUrl, expectedWasm);
          results.push({ name: "vite (dev server)", ok: true, seconds: (Date.now() - devStarted) / 1000, timings: {}, detail: `wasm ${wasmPath}` });
          console.log(`    ok vite (dev server) wasm ${wasmPath}`);
        } finally {
          await dev.close();
        }
      } catch (e) {
        results.push({ name: "vite (dev server)", ok: false, seconds: (Date.now() - devStarted) / 1000, timings: {}, error: e });
        console.log(`    FAILED vite (dev server): ${e.message}`);
      }
    }
  }
} finally {
  await browser?.close();
  server?.child.kill("SIGTERM");
}

header("apps: examples and bundlers against one imlogin-server");
for (const r of results) {
  const t = Object.entries(r.timings)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
    .join(", ");
  console.log(`    ${r.ok ? "ok    " : "FAILED"} ${r.name.padEnd(20)} ${r.seconds.toFixed(1).padStart(6)} s  ${t}`);
}
const failed = results.filter((r) => !r.ok);
if (failed.length > 0 || results.length === 0) {
  if (server && failed.length > 0) console.error(`--- server log (last lines) ---\n${server.log.join("").split("\n").slice(-30).join("\n")}`);
  console.error(`${failed.length} of ${results.length} apps failed (screenshots in target/apps-check/)`);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
}
rmSync(work, { recursive: true, force: true });
console.log(`${results.length} passed, 0 failed`);
