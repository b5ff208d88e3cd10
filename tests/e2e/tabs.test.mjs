// Shared tabs in a real browser: several tabs of one profile share one
// connection; closing the leader tab — or crashing its renderer (CDP
// Page.crash: no pagehide, no goodbye) — hands the session to another tab,
// which logs in again by itself without a kick; a logout in any tab logs
// out all of them. Also measures the takeover time over 20 trials of each
// (printed and saved, not asserted).

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ARTIFACTS,
  DEADLINE,
  Server,
  imLogin,
  launchBrowser,
  screenshot,
  signUp,
  timeline,
  username,
  waitStatus,
} from "./harness.mjs";

const TRIALS = 20;

describe("shared tabs", () => {
  let server;
  let browser;

  before(async () => {
    server = await Server.start("tabs", ["--test-hooks"]);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function hook(path) {
    return (await fetch(`${server.url}${path}`)).json();
  }

  async function sessions(accid) {
    return (await hook(`/_test/sessions?accid=${accid}`)).sessions;
  }

  async function attempts(accid) {
    return (await hook(`/_test/attempts?accid=${accid}`)).attempts;
  }

  /** Polls the server until `check(sessions)` holds. */
  async function waitSessions(accid, what, check, timeout = DEADLINE) {
    const start = Date.now();
    for (;;) {
      const list = await sessions(accid);
      if (check(list)) return list;
      if (Date.now() - start > timeout) {
        assert.fail(`timed out waiting for ${what}: ${JSON.stringify(list)}`);
      }
      await sleep(10);
    }
  }

  /** A signed-up user logged in to IM in one tab, and a second tab of the same profile. */
  async function twoTabs(viewport = { width: 720, height: 900 }) {
    const context = await browser.newContext({ viewport });
    const errors = [];
    context.on("weberror", (e) => errors.push(e.error()));
    const first = await context.newPage();
    await signUp(first, server.url, username("tabs"));
    await imLogin(first);
    const second = await context.newPage();
    await second.goto(server.url);
    await waitStatus(second, "loggedIn");
    const accid = (await first.locator("#accid").textContent()).trim();
    return { context, first, second, accid, errors };
  }

  test("two tabs of one browser share one connection, and both show loggedIn", async () => {
    const { context, first, second, accid, errors } = await twoTabs();
    await sleep(1_000);
    const live = await sessions(accid);
    assert.equal(live.length, 1, `one session for two tabs: ${JSON.stringify(live)}`);
    assert.equal(await second.locator("#accid").textContent(), accid);
    await screenshot(first, "tabs-first");
    await screenshot(second, "tabs-second");
    await sideBySide(first, second, "tabs");
    assert.deepEqual(errors.map(String), []);
    await context.close();
  });

  /**
   * TRIALS times: the leader tab goes (`end(page)`), and another tab logs
   * in again by itself from the same device, in auto mode, with no kick;
   * returns the times from the leader's end to the new session.
   */
  async function takeovers(end) {
    const { context, first, second, accid, errors } = await twoTabs();
    const times = [];
    let leader = first;
    let follower = second;
    for (let trial = 0; trial < TRIALS; trial++) {
      // The next follower joins before the leader goes.
      const spare = trial < TRIALS - 1 ? await context.newPage() : null;
      if (spare) {
        await spare.goto(server.url);
        await waitStatus(spare, "loggedIn");
      }
      const before = await waitSessions(accid, "one session", (l) => l.length === 1);
      const oldClient = before[0].clientId;
      const start = performance.now();
      await end(context, leader);
      const after = await waitSessions(
        accid,
        "a new session from the same device",
        (l) => l.length === 1 && l[0].clientId !== oldClient,
      );
      times.push(performance.now() - start);
      assert.equal(after[0].mode, "auto", "taken over in auto mode");
      assert.equal(after[0].deviceId, before[0].deviceId, "from the same device id");
      // Whichever tab took over, every remaining tab shows loggedIn.
      await waitStatus(follower, "loggedIn");
      if (spare) await waitStatus(spare, "loggedIn");
      leader = follower;
      follower = spare;
    }
    const log = await timeline(leader);
    assert.doesNotMatch(log, /kicked/i, "no tab was kicked");
    const seen = await attempts(accid);
    assert.ok(seen.every((a) => a.code === 200), `every attempt succeeded: ${JSON.stringify(seen)}`);
    assert.ok(seen.slice(1).every((a) => a.mode === "auto"), "takeovers are auto logins");
    assert.deepEqual(errors.map(String), []);
    await context.close();
    return times;
  }

  test("closing the leader tab: another tab logs in again by itself, no kick; takeover timed", async () => {
    const times = await takeovers((_context, page) => page.close());
    report("closing the leader tab", "tabs-takeover-close.txt", times);
  });

  test("a crashed leader tab (renderer crash, no goodbye): another tab takes over, no kick; timed", async () => {
    const times = await takeovers(async (context, page) => {
      const crashed = page.waitForEvent("crash");
      const cdp = await context.newCDPSession(page);
      // The renderer dies mid-command: the command itself never answers.
      cdp.send("Page.crash").catch(() => {});
      await crashed;
    });
    report("crashing the leader tab's renderer", "tabs-takeover-crash.txt", times);
  });

  test("logout in a follower tab logs out every tab", async () => {
    const { context, first, second, accid } = await twoTabs();
    await second.getByRole("button", { name: "Log out of IM" }).click();
    await waitStatus(first, "loggedOut");
    await waitStatus(second, "loggedOut");
    await waitSessions(accid, "no session", (l) => l.length === 0);
    const record = await first.evaluate(() =>
      Object.keys(localStorage).filter((k) => k.endsWith(":session")),
    );
    assert.deepEqual(record, [], "the session record is gone");
    await context.close();
  });

  /** Both tabs' screenshots next to each other, for the README. */
  async function sideBySide(a, b, name) {
    const [left, right] = await Promise.all([a.screenshot(), b.screenshot()]);
    const page = await browser.newPage({ viewport: { width: 1480, height: 960 } });
    const img = (png, label) =>
      `<figure><figcaption>${label}</figcaption><img src="data:image/png;base64,${png.toString("base64")}"></figure>`;
    await page.setContent(`<!doctype html><style>
      body{margin:0;display:flex;gap:16px;padding:16px;background:#d8dde6;font:15px system-ui}
      figure{margin:0;background:#fff;border-radius:8px;padding:8px;box-shadow:0 1px 4px #0003}
      figcaption{padding:4px 4px 8px;color:#333} img{display:block;width:700px}
    </style>${img(left, "Tab 1 — the leader: holds the only connection")}${img(right, "Tab 2 — a follower: mirrors tab 1, takes over if it closes")}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, `${name}-side-by-side.png`), fullPage: true });
    await page.close();
  }
});

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function report(what, file, times) {
  const sorted = [...times].sort((x, y) => x - y);
  const line =
    `takeover after ${what}, ${times.length} trials: ` +
    `p50 ${percentile(sorted, 50).toFixed(0)} ms, p95 ${percentile(sorted, 95).toFixed(0)} ms, ` +
    `max ${sorted.at(-1).toFixed(0)} ms`;
  console.log(line);
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, file), `${line}\n${times.map((t) => t.toFixed(1)).join("\n")}\n`);
}
