// The JS API used correctly, as an app would: scripts/types-check.sh
// compiles it with `tsc --strict` and no skipLibCheck against the packed
// package, under every configuration of its matrix.
import init, {
  LoginManager,
  type Client,
  type KickedEvent,
  type LoginError,
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
};
const im = new LoginManager(options);
const minimal = new LoginManager({ appKey: "k", linkUrl: "ws://127.0.0.1:1/link" });
minimal.free();

// Every event's payload is typed.
const onStatus = (s: LoginStatus) => {
  const known: "loggedOut" | "connecting" | "loggedIn" | "waiting" | "offline" = s;
  console.log(known);
};
im.on("status", onStatus);
im.off("status", onStatus);
im.on("loginFailed", (e) => {
  const name: "LoginError" = e.name;
  const code: number = e.code;
  const message: string = e.message;
  const retryable: boolean = e.retryable;
  const asError: Error = e;
  console.log(name, code, message, retryable, asError);
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
    | "unknown" = d.reason;
  console.log(reason, d.clientType ?? "unknown");
});
im.on("reconnecting", (r: ReconnectingEvent) => {
  const attempt: number = r.attempt;
  const delayMs: number = r.delayMs;
  console.log(attempt, delayMs);
});
im.on("clients", (list) => {
  for (const c of list) {
    const id: string = c.clientId;
    const tag: string | undefined = c.customTag;
    const at: number = c.loginAt;
    console.log(id, c.clientType, c.deviceId, tag, at);
  }
});

// Methods and getters.
try {
  await im.login("alice", "token");
  await im.login("alice", "token", { force: true });
  const resumed: boolean = await im.autoLogin();
  const forced: boolean = await im.autoLogin({ force: false });
  console.log(resumed, forced);
  const others: Client[] = im.clients;
  if (others.length > 0) {
    await im.kickClient(others[0].clientId);
  }
  await im.logout();
} catch (err) {
  const e = err as LoginError;
  if (e.name === "LoginError" && e.retryable) {
    console.log(e.code, e.message);
  }
}
const status: LoginStatus = im.status;
const accid: string | undefined = im.accid;
const deviceId: string = im.deviceId;
console.log(status, accid, deviceId);
im.free();
