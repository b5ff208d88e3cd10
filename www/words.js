// Human words for the codes and reasons the IM module and the app server
// report: every error on the page is shown in words, not only logged.

const LOGIN_CODES = {
  302: "the IM token was not accepted (accid/token mismatch)",
  403: "this device may not resume by itself: another device logged in since — log in again",
  404: "that device is no longer logged in",
  408: "the login timed out",
  414: "a parameter was invalid",
  415: "the network is unavailable",
  416: "too many attempts — wait a moment",
  417: "another device is logged in — tick “Forced login” to take over",
  419: "this browser's saved session is no longer valid (device binding refused) — log in again",
  422: "this IM account is blocked",
  499: "cancelled",
  500: "the IM server had a problem",
  503: "the IM server is unavailable",
};

const KICK_REASONS = {
  exclusive: "another device logged in to this account",
  sameDevice: "this browser logged in again in another tab",
  byClient: "another of your devices signed this one out",
  server: "the server ended the session",
  blocked: "the account was blocked",
  tokenChanged: "the account's token was changed",
  revoked: "the app server revoked this device's saved session",
};

/** "302: the IM token was not accepted …" for a LoginError. */
export function loginErrorText(e) {
  const words = LOGIN_CODES[e?.code];
  if (words) return `${e.code}: ${words}`;
  return e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? e);
}

/** Words for a `kicked` reason. */
export function kickText(reason) {
  return KICK_REASONS[reason] ?? reason;
}

/** Words for an app server error `{code, desc}`. */
export function appErrorText(code, desc) {
  if (code === 302) return "Wrong username or password.";
  if (code === 403) return "You are not signed in (the session may have expired).";
  if (code === 414 && desc === "already registered") return "That username is taken.";
  if (code === 414) return `Please check the form: ${desc}.`;
  if (code === 0) return "Cannot reach the server. Is it running?";
  return `The server had a problem (${code}${desc ? `: ${desc}` : ""}).`;
}
