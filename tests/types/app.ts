// The JS API used correctly, as an app would: scripts/types-check.sh
// compiles it with `tsc --strict` and no skipLibCheck against the packed
// package, under every configuration of its matrix.
import init, {
  LoginCode,
  LoginError,
  LoginManager,
  type Client,
  type ClientsEvent,
  type KickedEvent,
  type LastKick,
  type LoginErrorOptions,
  type LoginManagerOptions,
  type LoginStatus,
  type ReconnectingEvent,
} from "imlogin";
import wasmUrl from "imlogin/imlogin_bg.wasm";

await init();
// The module's URL from a bundler's file loader (esbuild, webpack).
await init({ module_or_path: wasmUrl });

const options: LoginManagerOptions = {
  appKey: "app-key",
  linkUrl: "wss://im.example.com/link",
  lbsUrl: "https://im.example.com/lbs",
  persistence: "session",
  retryCount: 3,
  loginTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  backoff: { initialMs: 1_000, maxMs: 30_000 },
  customTag: "web-tab",
  debug: false,
  tabs: "perTab",
  tokenProvider: async (accid: string) => `token-for-${accid}`,
  reconnectDelay: (defaultMs: number, attempt: number) => defaultMs * attempt,
  sessionBinding: "device",
};
const im = new LoginManager(options);
const minimal = new LoginManager({ appKey: "k", linkUrl: "ws://127.0.0.1:1/link" });
const binding: "device" | "token" | "none" = minimal.sessionBinding;
const refused: 419 = LoginCode.DeviceBindingRefused;
console.log(binding, refused);
minimal.free();
// Initialise once and construct, in one step.
const created: LoginManager = await LoginManager.create(options);
const createdFrom: LoginManager = await LoginManager.create(options, { module_or_path: wasmUrl });
created.free();
createdFrom.free();

// Every event's payload is typed.
const onStatus = (s: LoginStatus) => {
  const known: "loggedOut" | "connecting" | "loggedIn" | "waiting" | "offline" = s;
  console.log(known);
};
im.on("status", onStatus);
im.off("status", onStatus);
// on and once return a function that removes the listener.
const unsubscribe: () => void = im.on("status", onStatus);
unsubscribe();
const cancelOnce: () => void = im.once("loginFailed", (e: LoginError) => e.code);
cancelOnce();
im.once("clients", ({ clients }) => clients.length);
im.on("loginFailed", (e) => {
  const name: "LoginError" = e.name;
  const code: number = e.code;
  const message: string = e.message;
  const retryable: boolean = e.retryable;
  const retryAfterMs: number | undefined = e.retryAfterMs;
  const asError: Error = e;
  console.log(name, code, message, retryable, retryAfterMs, asError);
});
im.on("kicked", (d) => d.reason);
im.on("kicked", (d: KickedEvent) => {
  const reason:
    | "exclusive"
    | "sameDevice"
    | "byClient"
    | "server"
    | "blocked"
    | "tokenChanged"
    | "revoked"
    | "unknown" = d.reason;
  console.log(reason, d.clientType ?? "unknown");
});
im.on("reconnecting", (r: ReconnectingEvent) => {
  const attempt: number = r.attempt;
  const delayMs: number = r.delayMs;
  const reason: "unreachable" | "closed" | "timeout" | "noPong" | "refused" | "badFrame" | "tokenProvider" =
    r.reason;
  const closeCode: number | undefined = r.closeCode;
  const code: number | undefined = r.code;
  console.log(attempt, delayMs, reason, closeCode, code);
});
im.on("clients", ({ clients, change, client }) => {
  const what: "login" | "logout" | "list" = change;
  const who: Client | undefined = client;
  for (const c of clients) {
    const id: string = c.clientId;
    const tag: string | undefined = c.customTag;
    const at: number = c.loginAt;
    console.log(id, c.clientType, c.deviceId, tag, at);
  }
  console.log(what, who?.clientId);
});
im.on("clients", (e: ClientsEvent) => e.clients.length);

// Methods and getters.
try {
  await im.login("alice", "token");
  await im.login("alice", "token", { force: true });
  const resumed: boolean = await im.autoLogin();
  const forced: boolean = await im.autoLogin({ force: false });
  // Credentials the app server has just issued (CommsEase's recipe).
  const issued: boolean = await im.autoLogin({ accid: "alice", token: "fresh", force: true });
  console.log(resumed, forced, issued);
  const others: readonly Client[] = im.clients;
  if (others.length > 0) {
    await im.kickClient(others[0].clientId);
  }
  await im.logout();
} catch (err) {
  // The class narrows an unknown error; the codes have names.
  if (err instanceof LoginError) {
    if (err.code === LoginCode.TokenMismatch) console.log("wrong token", err.message);
    if (err.code === LoginCode.Aborted) console.log("aborted", err.cause);
    if (err.retryable) console.log(err.code, err.retryAfterMs ?? 0);
  }
}

// An AbortSignal cancels a login or an auto login.
const controller = new AbortController();
const pending = im.login("alice", "token", { signal: controller.signal, force: false });
controller.abort();
await pending.catch((e: unknown) => e instanceof LoginError && e.code === 498);
await im.autoLogin({ signal: AbortSignal.timeout(5_000) }).catch(() => false);
await im.autoLogin({ accid: "alice", token: "fresh", signal: controller.signal }).catch(() => false);

// LoginCode: a const object and the union of its numbers.
const tokenMismatch: 302 = LoginCode.TokenMismatch;
const aborted: 498 = LoginCode.Aborted;
const someCode: LoginCode = LoginCode.RateLimited;
const errorOptions: LoginErrorOptions = { retryAfterMs: 1_000, cause: "server" };
const made = new LoginError(LoginCode.RateLimited, "slow down", errorOptions);
const madeCode: number = made.code;
console.log(tokenMismatch, aborted, someCode, madeCode);
const status: LoginStatus = im.status;
const accid: string | undefined = im.accid;
const deviceId: string = im.deviceId;
const kick: LastKick | undefined = im.lastKick;
console.log(status, accid, deviceId, kick?.reason, kick?.at);
im.free();
