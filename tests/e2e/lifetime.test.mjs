// A LoginManager that holds a session survives the app dropping its last
// reference to it: the garbage collector is forced (Chromium with
// --js-flags=--expose-gc) and the session must go on — still live at the
// server, and reconnecting by itself after the server drops it — until
// logout(), after which the manager may be collected. A manager without a
// session is collected as any object is.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium } from "playwright-core";
import { APP_KEY, DEADLINE, Server } from "./harness.mjs";

describe("a manager's lifetime", () => {
  let server;
  let browser;

  before(async () => {
    server = await Server.start("lifetime", ["--test-hooks"]);
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--js-flags=--expose-gc",
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function hook(method, path) {
    return (await fetch(`${server.url}${path}`, { method })).json();
  }

  async function waitSessions(accid, what, check) {
    const start = Date.now();
    for (;;) {
      const { sessions } = await hook("GET", `/_test/sessions?accid=${accid}`);
      if (check(sessions)) return sessions;
      if (Date.now() - start > DEADLINE) {
        assert.fail(`timed out waiting for ${what}: ${JSON.stringify(sessions)}`);
      }
      await sleep(50);
    }
  }

  /** A page of the server's origin with the package loaded, nothing else. */
  async function blankPage() {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e));
    // A file of the package: same origin, no demo app running.
    await page.goto(`${server.url}/pkg/imlogin.js`);
    await page.evaluate(async () => {
      const module = await import("/pkg/imlogin.js");
      await module.default();
      window.imlogin = module;
    });
    return { context, page, errors };
  }

  /** Collects garbage until nothing more goes, letting finalizers run. */
  function collect(page) {
    return page.evaluate(async () => {
      for (let i = 0; i < 10; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
  }

  test("a logged-in manager the app dropped keeps its session until logout(), then is collected", async () => {
    const { accid, token } = await hook("POST", "/_test/accounts");
    const { context, page, errors } = await blankPage();
    const options = { appKey: APP_KEY, linkUrl: `ws://127.0.0.1:${server.port}/link`, tabs: "perTab" };

    await page.evaluate(
      async ({ options, accid, token }) => {
        // The app keeps nothing but a weak reference (to see what the
        // collector does) and a listener that holds no reference either.
        window.statuses = [];
        let im = new window.imlogin.LoginManager({ ...options, backoff: { initialMs: 100, maxMs: 500 } });
        im.on("status", (s) => window.statuses.push(s));
        await im.login(accid, token);
        window.held = new WeakRef(im);
        im = null;
        // And one without a session, dropped the same way.
        window.idle = new WeakRef(new window.imlogin.LoginManager(options));
      },
      { options, accid, token },
    );
    await collect(page);
    assert.equal(await page.evaluate(() => window.idle.deref() === undefined), true, "an idle manager is collected");
    assert.equal(await page.evaluate(() => window.held.deref() !== undefined), true, "a logged-in one is not");

    // The session goes on: live at the server, and back by itself after
    // the server drops it.
    const [first] = await waitSessions(accid, "the session", (l) => l.length === 1);
    await hook("POST", "/_test/drop");
    await waitSessions(accid, "a new session", (l) => l.length === 1 && l[0].clientId !== first.clientId);
    await collect(page);
    assert.equal(await page.evaluate(() => window.held.deref()?.status), "loggedIn");

    // logout() lets go of it.
    await page.evaluate(() => window.held.deref().logout());
    await waitSessions(accid, "no session", (l) => l.length === 0);
    await collect(page);
    assert.equal(await page.evaluate(() => window.held.deref() === undefined), true, "collected after logout()");
    assert.deepEqual(errors.map(String), []);
    await context.close();
  });

  test("free() releases a logged-in manager at once, without logging out", async () => {
    const { accid, token } = await hook("POST", "/_test/accounts");
    const { context, page } = await blankPage();
    const options = { appKey: APP_KEY, linkUrl: `ws://127.0.0.1:${server.port}/link`, tabs: "perTab" };
    await page.evaluate(
      async ({ options, accid, token }) => {
        const im = new window.imlogin.LoginManager(options);
        await im.login(accid, token);
        im.free();
      },
      { options, accid, token },
    );
    await waitSessions(accid, "the socket closed", (l) => l.length === 0);
    const record = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.endsWith(":session")));
    assert.equal(record.length, 1, "the saved session stays");
    await context.close();
  });
});
