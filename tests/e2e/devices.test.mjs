// Two devices at once (the server allows two web sessions per account
// here): each page lists the other, and "Kick" ends the other session.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  Server,
  imLogin,
  launchBrowser,
  openPage,
  screenshot,
  signIn,
  signUp,
  statusText,
  timeline,
  username,
  waitStatus,
} from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await Server.start("devices", ["--max-sessions", "2"]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the other device is listed, and “Kick” logs it out", async () => {
  const first = await openPage(browser);
  const name = username();
  await signUp(first.page, server.url, name);
  await imLogin(first.page);
  const second = await openPage(browser);
  await signIn(second.page, server.url, name);
  await imLogin(second.page);

  const kick = first.page.getByRole("button", { name: /^Kick the web device/ });
  await kick.waitFor();
  assert.equal(await first.page.locator("#devices li").count(), 1);
  assert.match(await first.page.locator("#devices").innerText(), /web · demo page/);
  await screenshot(first.page, "two-devices");

  await kick.click();
  await waitStatus(second.page, "loggedOut");
  assert.match(await timeline(second.page), /Kicked: byClient — another of your devices signed this one out/);
  await first.page.locator("#timeline").getByText(/Kicked the web device/).waitFor();
  await first.page.getByText("No other device is logged in to this account.").waitFor();
  assert.equal(await statusText(first.page), "loggedIn");
  await screenshot(second.page, "kicked-by-other-device");

  for (const { context, errors } of [first, second]) {
    await context.close();
    assert.deepEqual(errors.map(String), []);
  }
});
