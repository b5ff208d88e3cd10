//! TypeScript declarations for option and event objects, the `LoginError`
//! class and `LoginCode` (src/web/api.js), added to the generated `.d.ts`.
//! `on`/`once`/`off` are declared here (merged into the class) so that
//! each event name is tied to its payload type.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** The login status. */
export type LoginStatus = "loggedOut" | "connecting" | "loggedIn" | "waiting" | "offline";

/** The kind of device a session runs on. */
export type ClientType = "web" | "pc" | "mac" | "android" | "ios";

/** Why the server ended a session (`"unknown"`: a reason this version does not know, from a newer server). */
export type KickReason = "exclusive" | "sameDevice" | "byClient" | "server" | "blocked" | "tokenChanged" | "revoked" | "unknown";

/** Options of `new LoginManager(options)`. Unknown keys throw a `TypeError`. */
export interface LoginManagerOptions {
  /** The app's key (required). */
  appKey: string;
  /** The link server's `ws:`/`wss:` URL; required unless `lbsUrl` is set. */
  linkUrl?: string;
  /** Link discovery (`http:`/`https:`), tried before `linkUrl`. */
  lbsUrl?: string;
  /** Where the session record lives; default `"local"`. */
  persistence?: "local" | "session" | "none";
  /** Manual login: connection attempts in total, 1–10; default 3. */
  retryCount?: number;
  /** Manual login: overall deadline in ms, ≥ 1000; default 30000. */
  loginTimeoutMs?: number;
  /** One connection attempt in ms, ≥ 1000; default 10000. */
  connectTimeoutMs?: number;
  /** Reconnect backoff (full jitter); default `{ initialMs: 250, maxMs: 10000 }`. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Shown to the account's other sessions; ≤ 32 printable ASCII characters. */
  customTag?: string;
  /** Log state transitions to the console (tokens redacted); default false. */
  debug?: boolean;
  /** `"shared"` (default): the managers of this appKey in all tabs of the browser profile share one connection (a leader tab holds it; the others mirror it and take over when it closes or crashes). `"perTab"`: each manager connects on its own. Where Web Locks are refused or never answer, a manager falls back to `"perTab"` within 2 s and warns once in the console. */
  tabs?: "shared" | "perTab";
  /** Dynamic tokens: called before every (re)login attempt with the accid; its token is used for that attempt. A throw, rejection or non-string answer fails the attempt, which is retried. It may read the manager (e.g. `status`). */
  tokenProvider?: (accid: string) => string | Promise<string>;
  /** Overrides the backoff delay: return ms; a non-finite or negative answer, or a throw, keeps the default, and the server's `retryAfterMs` stays a floor. It may read the manager. */
  reconnectDelay?: (defaultMs: number, attempt: number) => number;
  /** What the saved session may hold. `"device"` (default): a resume ticket bound to this browser profile's non-extractable device key (WebCrypto, kept in IndexedDB), never the token; a copy of the record is useless elsewhere. Where WebCrypto or IndexedDB is missing the console says so once, `sessionBinding` reads `"none"` and nothing is saved (every page load needs a login). `"token"`: the same where a device key can be kept, else the `{accid, token}` record as before. */
  sessionBinding?: "device" | "token";
}

/** Options of `login()`. */
export interface LoginOptions {
  /** Mandatory login: skips the device rule and may kick another device. */
  force?: boolean;
  /** Aborts the login: the promise rejects with a `LoginError` of code 498 (`LoginCode.Aborted`, its `cause` the signal's `reason`) and the attempt stops. */
  signal?: AbortSignal;
}

/** Options of `autoLogin()`. */
export interface AutoLoginOptions {
  /** Mandatory login: skips the device rule and may kick another device. */
  force?: boolean;
  /** With `token`: credentials your app server has just issued, used instead of the saved session (auto mode; saved on success). */
  accid?: string;
  /** The token of `accid`; may be left out with a `tokenProvider`. */
  token?: string;
  /** Aborts the call: the promise rejects with a `LoginError` of code 498 (`LoginCode.Aborted`) and the login it started stops, unless another call waits on it or the session had logged in before. */
  signal?: AbortSignal;
}

/**
 * The code of every `LoginError`, by name (NIM's numbering; docs/protocol.md): `LoginCode.TokenMismatch === 302`.
 * A newer server may send a number not listed here.
 */
export declare const LoginCode: {
  /** 302: the accid/token pair does not match (also: unknown accid). */
  readonly TokenMismatch: 302;
  /** 403: an auto login from a device other than the last one (log in with `force`). */
  readonly Forbidden: 403;
  /** 404: `kickClient` named no session of the account. */
  readonly NotFound: 404;
  /** 408: a manual login ran past `loginTimeoutMs`. */
  readonly Timeout: 408;
  /** 414: a missing, malformed or out-of-limits argument. */
  readonly BadParameter: 414;
  /** 415: the network is unavailable (offline, or not connected). */
  readonly NetworkUnavailable: 415;
  /** 416: rate limited; see `retryAfterMs`. */
  readonly RateLimited: 416;
  /** 417: the account's device policy refuses this login without `force`. */
  readonly DevicePolicy: 417;
  /** 419: device binding refused: the saved resume ticket is unknown, revoked or expired, or not bound to this browser's device key (a copied record). Never retried; the saved session is cleared. */
  readonly DeviceBindingRefused: 419;
  /** 422: the account is blocked. */
  readonly Blocked: 422;
  /** 498: the call's `AbortSignal` was aborted. */
  readonly Aborted: 498;
  /** 499: cancelled by `logout()`, a newer login, a kick, or `free()`. */
  readonly Cancelled: 499;
  /** 500: server error. */
  readonly ServerError: 500;
  /** 503: service unavailable. */
  readonly Unavailable: 503;
};
/** One of the numbers of `LoginCode`. */
export type LoginCode = (typeof LoginCode)[keyof typeof LoginCode];

/** Options of the `LoginError` constructor. */
export interface LoginErrorOptions {
  /** Default: true for 408, 415, 416 and 5xx. */
  retryable?: boolean;
  /** The server's `retryAfterMs`. */
  retryAfterMs?: number;
  /** What caused it (an aborted signal's `reason`). */
  cause?: unknown;
}

/** Every rejection and every `loginFailed` payload: `error instanceof LoginError` tells it from other errors. */
export declare class LoginError extends Error {
  constructor(code: number, message: string, options?: LoginErrorOptions);
  readonly name: "LoginError";
  /** One of `LoginCode` (302, 403, 404, 408, 414, 415, 416, 417, 419, 422, 498, 499, 500, 503), or another code a newer server sends. */
  readonly code: LoginCode | (number & {});
  /** True for 408, 415, 416 and 5xx: a later try may succeed without anything changing. */
  readonly retryable: boolean;
  /** With 416, when the server said how long to wait: ms before the next try. */
  readonly retryAfterMs?: number;
  /** With 498: the aborted signal's `reason` (declared here too for apps whose library predates ES2022). */
  cause?: unknown;
}

/** One of the account's other live sessions. */
export interface Client {
  clientId: string;
  clientType: ClientType;
  deviceId: string;
  customTag?: string;
  /** ms since the Unix epoch. */
  loginAt: number;
}

/** Payload of `kicked`. */
export interface KickedEvent {
  reason: KickReason;
  clientType?: ClientType;
}

/** The last kick, as `lastKick` keeps it. */
export interface LastKick extends KickedEvent {
  /** When it was reported, in ms since the Unix epoch. */
  at: number;
}

/**
 * Why the connection was lost or the attempt failed: `"unreachable"` (the link server could not be reached), `"closed"`
 * (an open connection closed: see `closeCode`), `"timeout"` (no answer within `connectTimeoutMs`), `"noPong"` (a heartbeat
 * went unanswered), `"refused"` (the server refused with a retryable `code`: 416, 5xx), `"badFrame"` (the server sent
 * something unreadable), `"tokenProvider"` (it gave no token).
 */
export type ReconnectReason = "unreachable" | "closed" | "timeout" | "noPong" | "refused" | "badFrame" | "tokenProvider";

/** Payload of `reconnecting`. */
export interface ReconnectingEvent {
  /** Failed attempts in a row, from 1. */
  attempt: number;
  /** ms until the next attempt. */
  delayMs: number;
  /** Why the connection was lost or the attempt failed. */
  reason: ReconnectReason;
  /** With `"closed"`: the WebSocket close code (1006: the connection broke; 1012: the server restarted). */
  closeCode?: number;
  /** With `"refused"`: the server's login code. */
  code?: number;
}

/** Payload of `clients`. */
export interface ClientsEvent {
  /** The account's other live sessions, after the change: the array `clients` returns from now on. */
  clients: readonly Client[];
  /** `"login"` or `"logout"`: another session came or went (`client`, when the lists tell which); `"list"`: the whole list as it stands (at this session's login, or emptied when it ends). */
  change: "login" | "logout" | "list";
  /** The session that logged in or out. */
  client?: Client;
}

/** Event names and their payloads. */
export interface LoginManagerEvents {
  status: LoginStatus;
  loginFailed: LoginError;
  kicked: KickedEvent;
  reconnecting: ReconnectingEvent;
  clients: ClientsEvent;
}

export interface LoginManager {
  /** Adds a listener; returns a function that removes it. The same function added again for the same event changes nothing. */
  on<K extends keyof LoginManagerEvents>(name: K, listener: (payload: LoginManagerEvents[K]) => void): () => void;
  /** Adds a listener called at most once (it is removed as it is called); returns a function that removes it before then. */
  once<K extends keyof LoginManagerEvents>(name: K, listener: (payload: LoginManagerEvents[K]) => void): () => void;
  /** Removes a listener added with `on` or `once`. */
  off<K extends keyof LoginManagerEvents>(name: K, listener: (payload: LoginManagerEvents[K]) => void): void;
}
"#;
