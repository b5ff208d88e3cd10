// Device-bound sessions across browser profiles: the whole localStorage of
// a logged-in profile (session record and device id) copied into a second
// browser context cannot log in there — the server refuses the resume with
// 419 and that profile's record is cleared — while the first profile
// still resumes with the same record.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { APP_KEY, DEADLINE, Server, launchBrowser, openPage, username } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await Server.start("binding");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A document of the server's origin that runs no app code of its own
 * (the package's JS shown as text), so that the demo page's own manager
 * stays out of the way. */
async function blankPage(page) {
  await page.goto(`${server.url}/pkg/imlogin.js`);
}

/**
 * Makes a manager in the page (the package as the server serves it) and
 * runs `call` on it: "login" or "autoLogin". Resolves with what the
 * promise settled with, and the manager's status and sessionBinding.
 */
function run(page, call, accid, token) {
  return page.evaluate(
    async ({ call, accid, token, appKey, deadline }) => {
      const { default: init, LoginManager } = await import("/pkg/imlogin.js");
      await init();
      const linkUrl = `ws://${location.host}/link`;
      const im = new LoginManager({ appKey, linkUrl });
      window.im = im;
      let outcome;
      try {
        const value = call === "login" ? await im.login(accid, token) : await im.autoLogin();
        outcome = { ok: true, value };
      } catch (e) {
        outcome = { ok: false, code: e.code, message: e.message };
      }
      // autoLogin settles on its first outcome; wait for the status to
      // settle too.
      const start = Date.now();
      while (im.status === "connecting" && Date.now() - start < deadline) {
        await new Promise((ok) => setTimeout(ok, 50));
      }
      return { ...outcome, status: im.status, binding: im.sessionBinding };
    },
    { call, accid, token, appKey: APP_KEY, deadline: DEADLINE },
  );
}

const localStorageOf = (page) => page.evaluate(() => Object.entries(localStorage));

test("a localStorage copied into another profile is refused with 419 and cleared; the original still resumes", async () => {
  const accid = username("bind");
  const created = await server.serverApi("/nimserver/user/create.action", { accid });
  assert.equal(created.code, 200, JSON.stringify(created));
  const token = created.info.token;

  // Profile A logs in: its record holds a ticket, never the token.
  const a = await openPage(browser);
  await blankPage(a.page);
  const login = await run(a.page, "login", accid, token);
  assert.deepEqual([login.ok, login.status, login.binding], [true, "loggedIn", "device"], JSON.stringify(login));
  const copied = await localStorageOf(a.page);
  const record = Object.fromEntries(copied)[`imlogin:${APP_KEY}:session`];
  assert.match(record, /"ticket":"[A-Za-z0-9_-]{43}"/);
  assert.ok(!copied.some(([k, v]) => k.includes(token) || v.includes(token)), "localStorage holds the token");

  // Profile B gets all of A's localStorage (record and device id) but not
  // A's device key: its autoLogin is refused and its copy cleared.
  const b = await openPage(browser);
  await blankPage(b.page);
  await b.page.evaluate((entries) => {
    for (const [k, v] of entries) localStorage.setItem(k, v);
  }, copied);
  const stolen = await run(b.page, "autoLogin");
  assert.deepEqual([stolen.ok, stolen.code, stolen.status], [false, 419, "loggedOut"], JSON.stringify(stolen));
  assert.equal(
    await b.page.evaluate((key) => localStorage.getItem(key), `imlogin:${APP_KEY}:session`),
    null,
    "the copied record is cleared",
  );

  // Profile A reloads and resumes with its record.
  await a.page.reload();
  const resumed = await run(a.page, "autoLogin");
  assert.deepEqual([resumed.ok, resumed.value, resumed.status], [true, true, "loggedIn"], JSON.stringify(resumed));
  await a.page.evaluate(() => window.im.logout());

  for (const { context, errors } of [a, b]) {
    await context.close();
    assert.deepEqual(errors.map(String), []);
  }
});
