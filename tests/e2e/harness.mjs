// Shared harness of the end-to-end tests: a real imlogin-server process
// (port 0, a temporary SQLite file, the built package, the demo page and
// the demo app server), Debian's Chromium through playwright-core, and
// page helpers that act as a person would (labels and button names).

import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "../..");
/** Screenshots and server logs (gitignored). */
export const ARTIFACTS = join(ROOT, "tests/e2e/screenshots");
export const APP_KEY = "e2eappkey";
export const APP_SECRET = "e2eappsecret";
/** The one password every test user has; the log check looks for it. */
export const PASSWORD = "correct horse battery";
/** Generous deadline for anything that should happen "soon". */
export const DEADLINE = 30_000;
/** For reconnects that wait out a backoff. */
export const LONG_DEADLINE = 90_000;

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

function serverBinary() {
  if (process.env.IMLOGIN_SERVER_BIN) return process.env.IMLOGIN_SERVER_BIN;
  const target = resolve(ROOT, process.env.CARGO_TARGET_DIR ?? "target");
  return join(target, "debug", "imlogin-server");
}

/** A unique test username. */
export function username(prefix = "user") {
  return `${prefix}${randomBytes(4).toString("hex")}`;
}

/** An imlogin-server child process that can be killed and restarted. */
export class Server {
  constructor(name, extraArgs) {
    this.name = name;
    this.extraArgs = extraArgs;
    this.dir = mkdtempSync(join(tmpdir(), "imlogin-e2e-"));
    this.port = 0;
    this.log = "";
    this.child = null;
  }

  /** Starts a server; `extraArgs` are more flags (e.g. --max-sessions). */
  static async start(name, extraArgs = []) {
    for (const p of [serverBinary(), join(ROOT, "pkg/imlogin.js")]) {
      if (!existsSync(p)) {
        throw new Error(`${p} is missing: run \`bash scripts/test.sh build e2e\` (builds the package and the server)`);
      }
    }
    const server = new Server(name, extraArgs);
    await server.spawn();
    return server;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async spawn() {
    const child = spawn(
      serverBinary(),
      [
        "--bind", `127.0.0.1:${this.port}`,
        "--database-url", `sqlite://${join(this.dir, "e2e.db")}`,
        "--app-key", APP_KEY,
        "--app-secret", APP_SECRET,
        "--static-dir", join(ROOT, "www"),
        "--pkg-dir", join(ROOT, "pkg"),
        "--demo-app",
        ...this.extraArgs,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "info" } },
    );
    this.child = child;
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => (this.log += chunk));
    child.stdout.setEncoding("utf8");
    let stdout = "";
    let timer;
    const listening = new Promise((ok, fail) => {
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        const m = stdout.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
        if (m) ok(Number(m[1]));
      });
      child.once("exit", (code) => fail(new Error(`imlogin-server exited (${code}):\n${this.log}`)));
      timer = setTimeout(() => fail(new Error(`imlogin-server did not start:\n${this.log}`)), DEADLINE);
    });
    try {
      this.port = await listening;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: a crash, no goodbye to the clients. */
  async kill() {
    const exited = once(this.child, "exit");
    this.child.kill("SIGKILL");
    await exited;
  }

  /** Starts again on the same port with the same database. */
  async restart() {
    await this.spawn();
  }

  async stop() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, "exit");
      this.child.kill("SIGTERM");
      await exited;
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, `${this.name}.server.log`), this.log);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A signed server API call, as an app server makes it. */
  async serverApi(path, params) {
    const nonce = randomBytes(8).toString("hex");
    const curTime = String(Math.floor(Date.now() / 1000));
    const checkSum = createHash("sha1").update(APP_SECRET + nonce + curTime).digest("hex");
    const res = await fetch(`${this.url}${path}`, {
      method: "POST",
      headers: { AppKey: APP_KEY, Nonce: nonce, CurTime: curTime, CheckSum: checkSum },
      body: new URLSearchParams(params),
    });
    return res.json();
  }
}

export function launchBrowser() {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/**
 * A fresh browser profile (its own localStorage, cookies and deviceId) and
 * a page in it. Uncaught page errors are collected in `errors`.
 */
export async function openPage(browser, viewport = { width: 1200, height: 860 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  return { context, page, errors };
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The text of the status badge (the `role="status"` live region). */
export function statusText(page) {
  return page.getByRole("status").textContent();
}

/** Waits until the status badge reads `status`. */
export async function waitStatus(page, status, timeout = DEADLINE) {
  await page.waitForFunction(
    (s) => document.querySelector('#status[role="status"]')?.textContent === s,
    status,
    { timeout },
  );
}

/** Fills the sign-in form and presses `button` ("Sign in" or "Create account"). */
export async function submitAuth(page, url, name, password, button) {
  if (url) await page.goto(url);
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: button }).click();
}

/** Registers `name` through the page and waits for the IM panel. */
export async function signUp(page, url, name) {
  await submitAuth(page, url, name, PASSWORD, "Create account");
  await page.locator("#im").waitFor({ state: "visible", timeout: DEADLINE });
}

/** Signs in as `name` through the page and waits for the IM panel. */
export async function signIn(page, url, name) {
  await submitAuth(page, url, name, PASSWORD, "Sign in");
  await page.locator("#im").waitFor({ state: "visible", timeout: DEADLINE });
}

/** Presses "Log in to IM" and waits for `loggedIn`. */
export async function imLogin(page) {
  await page.getByRole("button", { name: "Log in to IM" }).click();
  await waitStatus(page, "loggedIn");
}

/** The timeline's text, newest first. */
export function timeline(page) {
  return page.locator("#timeline").innerText();
}
