// The package's error class and its codes, exported from the package entry
// next to LoginManager (scripts/lib/glue.mjs re-exports them from the
// generated glue), and used by the module for every rejection and every
// `loginFailed` payload, so that `error instanceof LoginError` holds.

// Every code a LoginError may carry, by name (docs/protocol.md, "Login
// codes"). A newer server may send a number not listed here.
export const LoginCode = Object.freeze({
  TokenMismatch: 302,
  Forbidden: 403,
  NotFound: 404,
  Timeout: 408,
  BadParameter: 414,
  NetworkUnavailable: 415,
  RateLimited: 416,
  DevicePolicy: 417,
  DeviceBindingRefused: 419,
  Blocked: 422,
  Aborted: 498,
  Cancelled: 499,
  ServerError: 500,
  Unavailable: 503,
});

// A failed login, auto login, kick or call: an Error with the protocol's
// numeric `code`, whether a later try may succeed (`retryable`), and the
// server's `retryAfterMs` when it gave one.
export class LoginError extends Error {
  constructor(code, message, options) {
    super(message, options && "cause" in options ? { cause: options.cause } : undefined);
    this.name = "LoginError";
    this.code = code;
    this.retryable = options?.retryable ?? (code === 408 || code === 415 || code === 416 || (code >= 500 && code < 600));
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}
