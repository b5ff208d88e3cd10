// The console end to end: guarded by the AppSecret, it creates and lists
// test accounts, blocks and unblocks them, and never lists accounts an app
// server created through the server API.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  APP_KEY,
  APP_SECRET,
  DEADLINE,
  Server,
  imLogin,
  launchBrowser,
  openPage,
  screenshot,
  signUp,
  username,
} from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await Server.start("console");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("console lists its test accounts, never API-created ones, and blocks and unblocks", async () => {
  // Two accounts made through the server API: one directly, one by the
  // demo app server on a user's first IM use.
  const apiAccid = username("api");
  const created = await server.serverApi("/nimserver/user/create.action", { accid: apiAccid });
  assert.equal(created.code, 200);
  const { context: userContext, page: userPage } = await openPage(browser);
  await signUp(userPage, server.url, username());
  await imLogin(userPage);
  const appAccid = await userPage.locator("#accid").textContent();
  await userContext.close();

  const { context, page, errors } = await openPage(browser);
  await page.goto(`${server.url}/console`);
  await page.getByLabel("AppKey").fill(APP_KEY);
  await page.getByLabel("AppSecret").fill("not the secret");
  await page.getByRole("button", { name: "Open console" }).click();
  await page.getByRole("alert").filter({ hasText: "AppKey or AppSecret is wrong" }).waitFor({ timeout: DEADLINE });

  await page.getByLabel("AppSecret").fill(APP_SECRET);
  await page.getByRole("button", { name: "Open console" }).click();
  await page.getByText("No test accounts yet.").waitFor({ timeout: DEADLINE });

  const testAccid = username("test");
  await page.getByLabel(/^accid/).fill(testAccid);
  await page.getByLabel(/^Name/).fill("Console tester");
  await page.getByRole("button", { name: "Create" }).click();
  const row = page.locator(`tr[data-accid="${testAccid}"]`);
  await row.waitFor({ timeout: DEADLINE });
  const createdText = await page.locator("#created").textContent();
  const token = createdText.match(new RegExp(`^Created ${testAccid} — token ([0-9a-f]{32})`))?.[1];
  assert.ok(token, createdText);
  await page.getByLabel(/^accid/).fill("");
  await page.getByRole("button", { name: "Create" }).click();
  await page.locator("tbody tr").nth(1).waitFor({ timeout: DEADLINE });

  const listed = await page.locator("tbody").innerText();
  assert.ok(listed.includes(testAccid));
  assert.ok(!listed.includes(apiAccid), "an account created by create.action is listed");
  assert.ok(!listed.includes(appAccid), "the demo app server's account is listed");

  await page.getByRole("button", { name: `Block ${testAccid}` }).click();
  await row.getByText("blocked", { exact: true }).waitFor({ timeout: DEADLINE });
  const answer = await page.evaluate(
    ([accid, token, appKey]) =>
      new Promise((resolve) => {
        // A login of the blocked account is refused with 422.
        const ws = new WebSocket(`ws://${location.host}/link`);
        ws.onopen = () =>
          ws.send(JSON.stringify({ t: "login", appKey, accid, token, deviceId: "console-e2e", clientType: "web", mode: "manual", force: false, sdk: "e2e/1" }));
        ws.onmessage = (m) => resolve(JSON.parse(m.data));
      }),
    [testAccid, token, APP_KEY],
  );
  assert.deepEqual([answer.t, answer.code], ["loginErr", 422], "a blocked account cannot log in");
  await screenshot(page, "console");
  await page.getByRole("button", { name: `Unblock ${testAccid}` }).click();
  await row.getByText("active", { exact: true }).waitFor({ timeout: DEADLINE });

  await context.close();
  assert.deepEqual(errors.map(String), []);
});
