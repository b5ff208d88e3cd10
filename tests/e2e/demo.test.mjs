// The demo page end to end: a person signs up, logs in to IM, and the
// session survives a reload, a lost network and a server crash; a second
// browser takes the account over; a wrong password is explained in words.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import {
  DEADLINE,
  LONG_DEADLINE,
  PASSWORD,
  Server,
  imLogin,
  launchBrowser,
  openPage,
  screenshot,
  signIn,
  signUp,
  statusText,
  submitAuth,
  timeline,
  username,
  waitStatus,
} from "./harness.mjs";

describe("demo page", () => {
  let server;
  let browser;
  const opened = [];
  const tokens = [];

  async function open(viewport) {
    const p = await openPage(browser, viewport);
    opened.push(p);
    return p;
  }

  /** The signed-in user's IM token, as the page gets it (for the log check). */
  async function rememberToken(page) {
    const { token } = await page.evaluate(async () => (await fetch("/app/im", { method: "POST" })).json());
    tokens.push(token);
  }

  before(async () => {
    server = await Server.start("demo");
    browser = await launchBrowser();
  });

  afterEach(async () => {
    for (const { context, errors } of opened.splice(0)) {
      await context.close();
      assert.deepEqual(errors.map(String), [], "no uncaught errors in the page");
    }
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test("sign-up, then “Log in to IM” logs in with a new accid unrelated to the username", async () => {
    const { page } = await open();
    const name = username();
    await signUp(page, server.url, name);
    assert.equal(await statusText(page), "loggedOut", "no IM before the user asks for it");
    await imLogin(page);
    const accid = await page.locator("#accid").textContent();
    assert.match(accid, /^im[0-9a-f]{20}$/);
    assert.ok(!accid.includes(name));
    assert.notEqual(await page.locator("#device-id").textContent(), "—");
    assert.match(await timeline(page), /Status: loggedIn/);
    await rememberToken(page);
    await screenshot(page, "sign-up-logged-in");
  });

  test("reload logs in to IM again without typing anything", async () => {
    const { page } = await open();
    await signUp(page, server.url, username());
    await imLogin(page);
    const accid = await page.locator("#accid").textContent();
    await page.reload();
    await waitStatus(page, "loggedIn");
    assert.ok(await page.locator("#auth").isHidden(), "the sign-in form is not shown");
    assert.equal(await page.locator("#accid").textContent(), accid);
    assert.match(await timeline(page), /Status: connecting/);
    await screenshot(page, "reload-logged-in-again");
  });

  test("offline shows `offline`, back online logs in again", async () => {
    const { context, page } = await open();
    await signUp(page, server.url, username());
    await imLogin(page);
    await context.setOffline(true);
    await waitStatus(page, "offline");
    await screenshot(page, "offline");
    await context.setOffline(false);
    await waitStatus(page, "loggedIn");
    assert.match(await timeline(page), /Status: offline/);
  });

  test("server killed and restarted: a countdown while waiting, then logged in again", async () => {
    const { page } = await open();
    await signUp(page, server.url, username());
    await imLogin(page);
    await server.kill();
    const countdown = page.locator("#countdown");
    await countdown.waitFor({ state: "visible", timeout: LONG_DEADLINE });
    assert.match(await countdown.textContent(), /^Next attempt in \d+\.\d s$/);
    await screenshot(page, "server-down-countdown");
    await server.restart();
    await waitStatus(page, "loggedIn", LONG_DEADLINE);
    assert.ok(await countdown.isHidden(), "no countdown once logged in");
    assert.match(await timeline(page), /Reconnecting: attempt \d+/);
    await screenshot(page, "server-restarted-logged-in");
  });

  test("a second browser signs in as the same user: the first is kicked and stays logged out", async () => {
    const first = await open();
    const name = username();
    await signUp(first.page, server.url, name);
    await imLogin(first.page);

    const second = await open();
    await signIn(second.page, server.url, name);
    await imLogin(second.page);

    await waitStatus(first.page, "loggedOut");
    const events = await timeline(first.page);
    assert.match(events, /Kicked: exclusive — another device logged in to this account/);
    assert.match(await first.page.getByRole("alert").filter({ hasText: "logged out of IM" }).textContent(), /another device/);
    // It stays logged out: no reconnect follows a kick.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await statusText(first.page), "loggedOut");
    assert.equal(await statusText(second.page), "loggedIn");
    await screenshot(first.page, "kicked-by-second-browser");
  });

  test("a wrong password is explained on the page", async () => {
    const { page } = await open();
    const name = username();
    await signUp(page, server.url, name);
    await page.getByRole("button", { name: "Sign out" }).click();
    await submitAuth(page, null, name, `${PASSWORD}!`, "Sign in");
    const error = page.locator("#auth-error");
    await error.filter({ hasText: "Wrong username or password." }).waitFor({ timeout: DEADLINE });
    assert.equal(await error.getAttribute("role"), "alert");
    assert.ok(await page.locator("#im").isHidden());
    await screenshot(page, "wrong-password");
  });

  test("at phone width the page fits without sideways scrolling", async () => {
    const { page } = await open({ width: 390, height: 844 });
    await signUp(page, server.url, username());
    await imLogin(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await screenshot(page, "phone-logged-in");
  });

  test("the server log never shows a password or an IM token", () => {
    assert.ok(tokens.length > 0);
    assert.ok(server.log.includes("IM account created on first use"), "the log was captured");
    assert.ok(!server.log.includes(PASSWORD), "a password is in the server log");
    for (const token of tokens) assert.ok(!server.log.includes(token), "a token is in the server log");
  });
});
