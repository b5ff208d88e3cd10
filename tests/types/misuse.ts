// Misuses of the JS API that the declarations must refuse. Each is marked
// with TypeScript's own `@ts-expect-error`, which fails the check when the
// line below it compiles (TS2578, "unused directive"): so options, events,
// LoginError and Client are real types, not `any`. scripts/types-check.sh
// compiles this file with app.ts under every configuration of its matrix.
import init, { LoginCode, LoginError, LoginManager } from "imlogin";

await init();
const linkUrl = "ws://127.0.0.1:1/link";
const im = new LoginManager({ appKey: "k", linkUrl });

// @ts-expect-error: number option given a string
new LoginManager({ appKey: "k", linkUrl, retryCount: "3" });
// @ts-expect-error: unknown option key
new LoginManager({ appKey: "k", linkUrl, retryCoutn: 3 });
// @ts-expect-error: appKey missing
new LoginManager({ linkUrl });
// @ts-expect-error: not a persistence
new LoginManager({ appKey: "k", linkUrl, persistence: "disk" });
// @ts-expect-error: not a session binding
new LoginManager({ appKey: "k", linkUrl, sessionBinding: "cookie" });
// @ts-expect-error: sessionBinding is read-only
im.sessionBinding = "token";
// @ts-expect-error: unknown backoff key
new LoginManager({ appKey: "k", linkUrl, backoff: { initialMs: 1, jitter: true } });
// @ts-expect-error: boolean option given a string
new LoginManager({ appKey: "k", linkUrl, debug: "yes" });
// @ts-expect-error: status payload is a string union
im.on("status", (s: number) => s);
// @ts-expect-error: unknown event name
im.on("statsu", () => {});
// @ts-expect-error: reason is a string union
im.on("kicked", (d) => { const n: number = d.reason; return n; });
// @ts-expect-error: clientId is a string
im.on("clients", (e) => e.clients[0].clientId.toFixed());
// @ts-expect-error: the clients payload is an object, not the list
im.on("clients", (list) => list.length);
// @ts-expect-error: delayMs is a number
im.on("reconnecting", (r) => r.delayMs.toUpperCase());
// @ts-expect-error: reason is a string union
im.on("reconnecting", (r) => { const n: number = r.reason; return n; });
// @ts-expect-error: code is a number
im.on("loginFailed", (e) => { const c: string = e.code; return c; });
// @ts-expect-error: force is a boolean
await im.login("alice", "token", { force: "yes" });
// @ts-expect-error: unknown login option
await im.login("alice", "token", { forse: true });
// @ts-expect-error: accid is a string
await im.login(42, "token");
// @ts-expect-error: unknown autoLogin option
await im.autoLogin({ acid: "alice" });
// @ts-expect-error: token is a string
await im.autoLogin({ accid: "alice", token: 42 });
// @ts-expect-error: lastKick is read-only
im.lastKick = undefined;
// @ts-expect-error: autoLogin resolves a boolean
const resumed: string = await im.autoLogin();
// @ts-expect-error: status is a string union
const status: number = im.status;
// @ts-expect-error: status is read-only
im.status = "loggedIn";
// @ts-expect-error: clientId missing
im.kickClient();
const e = {} as LoginError;
// @ts-expect-error: retryable is a boolean
const retryable: string = e.retryable;
// @ts-expect-error: on returns a function, not a boolean
const added: boolean = im.on("status", () => {});
// @ts-expect-error: once takes an event name it knows
im.once("statsu", () => {});
// @ts-expect-error: the unsubscribe function takes no arguments
im.on("status", () => {})("status");
// @ts-expect-error: signal is an AbortSignal, not a controller
await im.login("alice", "token", { signal: new AbortController() });
// @ts-expect-error: signal is an AbortSignal, not a boolean
await im.autoLogin({ signal: true });
// @ts-expect-error: LoginCode's values are read-only
LoginCode.TokenMismatch = 303;
// @ts-expect-error: no such code name
console.log(LoginCode.TokenMissmatch);
// @ts-expect-error: TokenMismatch is 302
const wrongCode: 303 = LoginCode.TokenMismatch;
// @ts-expect-error: code is read-only
e.code = 302;
// @ts-expect-error: retryAfterMs is a number when present
const after: number = e.retryAfterMs;
// @ts-expect-error: LoginError needs a code and a message
new LoginError("302");
// @ts-expect-error: create takes the options
await LoginManager.create();
// @ts-expect-error: create resolves a LoginManager, not a boolean
const createdFlag: boolean = await LoginManager.create({ appKey: "k", linkUrl });
// @ts-expect-error: clients is read-only
im.clients.push(im.clients[0]);
console.log(resumed, status, retryable, added, wrongCode, after, createdFlag);
