// The package's JS entry as an app imports it, in Node (no browser needed
// for these: nothing here reaches a server): the error before `init`,
// `LoginManager.create`, the exported `LoginError` class and `LoginCode`
// constants, `on`/`once` and their unsubscribe functions, and the
// `signal` of `login`. scripts/package-check.mjs runs it against the
// unpacked tarball (IMLOGIN_PACKAGE_DIR); by hand:
//   IMLOGIN_PACKAGE_DIR=. node --test tests/package/api.test.mjs
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";

const dir = resolve(process.env.IMLOGIN_PACKAGE_DIR ?? ".");
const entry = join(dir, "pkg/imlogin.js");
const wasm = { module_or_path: readFileSync(join(dir, "pkg/imlogin_bg.wasm")) };
const { default: init, LoginManager, LoginError, LoginCode } = await import(entry);
// A port nothing listens on: the attempts fail, which these tests never wait for.
const options = { appKey: "app-key", linkUrl: "ws://127.0.0.1:9/link", persistence: "none", tabs: "perTab" };

// Runs first: the module is not initialised yet.
test("new LoginManager before init throws an Error that says what to do", () => {
  assert.throws(() => new LoginManager(options), (e) => {
    assert.ok(e instanceof Error);
    assert.match(e.message, /^imlogin: the WebAssembly module is not initialised\./);
    assert.match(e.message, /await init\(\)/);
    assert.match(e.message, /LoginManager\.create\(options\)/);
    return true;
  });
});

test("LoginManager.create initialises once, however many calls race, then constructs", async () => {
  const managers = await Promise.all([LoginManager.create(options, wasm), LoginManager.create(options, wasm)]);
  for (const im of managers) {
    assert.ok(im instanceof LoginManager);
    assert.equal(im.status, "loggedOut");
    im.free();
  }
  // Afterwards both ways work, and init again is harmless.
  await init(wasm);
  new LoginManager(options).free();
  (await LoginManager.create(options)).free();
});

test("LoginCode names every code; LoginError is an Error class with code, retryable, retryAfterMs", () => {
  assert.deepEqual(
    { ...LoginCode },
    {
      TokenMismatch: 302, Forbidden: 403, NotFound: 404, Timeout: 408, BadParameter: 414,
      NetworkUnavailable: 415, RateLimited: 416, DevicePolicy: 417, DeviceBindingRefused: 419, Blocked: 422,
      Aborted: 498, Cancelled: 499, ServerError: 500, Unavailable: 503,
    },
  );
  assert.ok(Object.isFrozen(LoginCode));
  const limited = new LoginError(LoginCode.RateLimited, "slow down", { retryAfterMs: 5000 });
  assert.ok(limited instanceof Error && limited instanceof LoginError);
  assert.equal(limited.name, "LoginError");
  assert.equal(limited.code, 416);
  assert.equal(limited.retryable, true);
  assert.equal(limited.retryAfterMs, 5000);
  const mismatch = new LoginError(LoginCode.TokenMismatch, "no");
  assert.equal(mismatch.retryable, false);
  assert.ok(!("retryAfterMs" in mismatch));
});

test("rejections and loginFailed payloads are instances of the exported LoginError", async () => {
  const im = await LoginManager.create(options, wasm);
  const failed = [];
  im.on("loginFailed", (e) => failed.push(e));
  const e = await im.login(42, "token").then(() => assert.fail("resolved"), (e) => e);
  assert.ok(e instanceof LoginError, "rejection instanceof LoginError");
  assert.equal(e.code, LoginCode.BadParameter);
  assert.equal(e.retryable, false);
  assert.equal(failed.length, 1);
  assert.ok(failed[0] instanceof LoginError, "loginFailed payload instanceof LoginError");
  im.free();
});

test("on returns an unsubscribe function; once fires once", async () => {
  const im = await LoginManager.create(options, wasm);
  const refuse = () => im.login(42, "token").catch(() => {});
  let onCalls = 0;
  let onceCalls = 0;
  const unsubscribe = im.on("loginFailed", () => onCalls++);
  assert.equal(typeof unsubscribe, "function");
  assert.equal(typeof im.once("loginFailed", () => onceCalls++), "function");
  await refuse();
  await refuse();
  assert.equal(onCalls, 2);
  assert.equal(onceCalls, 1);
  unsubscribe();
  unsubscribe();
  await refuse();
  assert.equal(onCalls, 2);
  im.free();
});

test("an aborted signal rejects login with LoginError 498 whose cause is the signal's reason", async () => {
  const im = await LoginManager.create(options, wasm);
  const before = AbortSignal.abort("changed my mind");
  const e = await im.login("alice", "token", { signal: before }).then(() => assert.fail("resolved"), (e) => e);
  assert.ok(e instanceof LoginError);
  assert.equal(e.code, LoginCode.Aborted);
  assert.equal(e.cause, "changed my mind");
  assert.equal(im.status, "loggedOut");

  const controller = new AbortController();
  const pending = im.login("alice", "token", { signal: controller.signal });
  assert.notEqual(im.status, "loggedOut");
  controller.abort();
  const during = await pending.then(() => assert.fail("resolved"), (e) => e);
  assert.ok(during instanceof LoginError);
  assert.equal(during.code, LoginCode.Aborted);
  assert.equal(im.status, "loggedOut", "the attempt is stopped");

  await assert.rejects(im.login("alice", "token", { signal: "nope" }), (e) => e instanceof TypeError && /signal must be an AbortSignal/.test(e.message));
  im.free();
});

test("clients is the same frozen array on every read while unchanged", async () => {
  const im = await LoginManager.create(options, wasm);
  const clients = im.clients;
  assert.equal(im.clients, clients);
  assert.ok(Object.isFrozen(clients));
  assert.equal(im.lastKick, undefined);
  im.free();
});
