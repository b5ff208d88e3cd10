//! TypeScript declarations for option and event objects, added to the
//! generated `.d.ts`. `on`/`off` are declared here (merged into the class)
//! so that each event name is tied to its payload type.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** The login status. */
export type LoginStatus = "loggedOut" | "connecting" | "loggedIn" | "waiting" | "offline";

/** The kind of device a session runs on. */
export type ClientType = "web" | "pc" | "mac" | "android" | "ios";

/** Why the server ended a session (`"unknown"`: a reason this version does not know, from a newer server). */
export type KickReason = "exclusive" | "sameDevice" | "byClient" | "server" | "blocked" | "tokenChanged" | "unknown";

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
  /** Reconnect backoff (full jitter); default `{ initialMs: 1000, maxMs: 30000 }`. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Shown to the account's other sessions; ≤ 32 printable ASCII characters. */
  customTag?: string;
  /** Log state transitions to the console (tokens redacted); default false. */
  debug?: boolean;
  /** `"shared"` (default): the managers of this appKey in all tabs of the browser profile share one connection (a leader tab holds it; the others mirror it and take over when it closes). `"perTab"`: each manager connects on its own. */
  tabs?: "shared" | "perTab";
  /** Dynamic tokens: called before every (re)login attempt with the accid; its token is used for that attempt. A throw, rejection or non-string answer fails the attempt, which is retried. */
  tokenProvider?: (accid: string) => string | Promise<string>;
  /** Overrides the backoff delay: return ms; a non-finite answer keeps the default. Must not call the manager. */
  reconnectDelay?: (defaultMs: number, attempt: number) => number;
}

/** Options of `login()` and `autoLogin()`. */
export interface LoginOptions {
  /** Mandatory login: skips the device rule and may kick another device. */
  force?: boolean;
}

/** Every rejection and every `loginFailed` payload. */
export interface LoginError extends Error {
  name: "LoginError";
  /** 302, 403, 404, 408, 414, 415, 416, 417, 422, 499, 500, 503 (NIM's numbering; `LoginCode` in imlogin-protocol), or another code a newer server sends. */
  code: number;
  /** True for 408, 415, 416 and 5xx. */
  retryable: boolean;
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

/** Payload of `reconnecting`. */
export interface ReconnectingEvent {
  /** Failed attempts in a row, from 1. */
  attempt: number;
  /** ms until the next attempt. */
  delayMs: number;
}

/** Event names and their payloads. */
export interface LoginManagerEvents {
  status: LoginStatus;
  loginFailed: LoginError;
  kicked: KickedEvent;
  reconnecting: ReconnectingEvent;
  clients: Client[];
}

export interface LoginManager {
  /** Adds a listener. */
  on<K extends keyof LoginManagerEvents>(name: K, listener: (payload: LoginManagerEvents[K]) => void): void;
  /** Removes a listener added with `on`. */
  off<K extends keyof LoginManagerEvents>(name: K, listener: (payload: LoginManagerEvents[K]) => void): void;
}
"#;
