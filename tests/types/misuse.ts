// Misuses of the JS API: scripts/types-check.sh requires `tsc --strict` to
// report an error on EVERY line marked `// misuse` (and nowhere else), so
// the declarations are real types, not `any`.
import init, { LoginManager, type LoginError } from "imlogin";

await init();
const linkUrl = "ws://127.0.0.1:1/link";
const im = new LoginManager({ appKey: "k", linkUrl });

new LoginManager({ appKey: "k", linkUrl, retryCount: "3" }); // misuse: number option given a string
new LoginManager({ appKey: "k", linkUrl, retryCoutn: 3 }); // misuse: unknown option key
new LoginManager({ linkUrl }); // misuse: appKey missing
new LoginManager({ appKey: "k", linkUrl, persistence: "disk" }); // misuse: not a persistence
new LoginManager({ appKey: "k", linkUrl, backoff: { initialMs: 1, jitter: true } }); // misuse: unknown backoff key
new LoginManager({ appKey: "k", linkUrl, debug: "yes" }); // misuse: boolean option given a string
im.on("status", (s: number) => s); // misuse: status payload is a string union
im.on("statsu", () => {}); // misuse: unknown event name
im.on("kicked", (d) => { const n: number = d.reason; return n; }); // misuse: reason is a string union
im.on("clients", (list) => list[0].clientId.toFixed()); // misuse: clientId is a string
im.on("reconnecting", (r) => r.delayMs.toUpperCase()); // misuse: delayMs is a number
im.on("loginFailed", (e) => { const c: string = e.code; return c; }); // misuse: code is a number
await im.login("alice", "token", { force: "yes" }); // misuse: force is a boolean
await im.login("alice", "token", { forse: true }); // misuse: unknown login option
await im.login(42, "token"); // misuse: accid is a string
const resumed: string = await im.autoLogin(); // misuse: autoLogin resolves a boolean
const status: number = im.status; // misuse: status is a string union
im.status = "loggedIn"; // misuse: status is read-only
im.kickClient(); // misuse: clientId missing
const e = {} as LoginError;
const retryable: string = e.retryable; // misuse: retryable is a boolean
console.log(resumed, status, retryable);
