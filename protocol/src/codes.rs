//! Login outcome codes (NIM numbering), server-sent and client-side.

use serde::{Deserialize, Serialize};

/// The outcome of a login, a kick request or a server API call.
///
/// Numbers follow NIM (419 is imlogin's own). The server sends 200, 302,
/// 403, 414, 416, 417, 419, 422, 500 and 503; 408, 415, 498 and 499 are produced by the client only. Any other
/// number received from a server is kept as [`LoginCode::Other`] so that a
/// newer server never breaks an older client (an unknown 5xx is retryable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "u16", into = "u16")]
pub enum LoginCode {
    /// 200: success.
    Ok,
    /// 302: the accid/token pair does not match (also: unknown accid).
    TokenMismatch,
    /// 403: forbidden — an auto login from a device other than the last one.
    Forbidden,
    /// 404: the target of a `kick` is not one of the account's other sessions.
    NotFound,
    /// 408 (client-side): a manual login ran past `loginTimeoutMs`.
    Timeout,
    /// 414: a missing, malformed or out-of-limits parameter.
    BadParameter,
    /// 415 (client-side): the network is unavailable.
    NetworkUnavailable,
    /// 416: rate limited; the server says when to retry (`retryAfterMs`).
    RateLimited,
    /// 417: the login would exceed the account's device policy without `force`.
    DevicePolicy,
    /// 419: a resume was refused: its ticket is unknown, revoked or expired
    /// or belongs to another device, or its signature, timestamp or nonce
    /// does not check (imlogin's own code: device-bound sessions).
    DeviceBindingRefused,
    /// 422: the account is blocked.
    Blocked,
    /// 498 (client-side): the call's `AbortSignal` was aborted.
    Aborted,
    /// 499 (client-side): cancelled by `logout()` or a newer `login()`.
    Cancelled,
    /// 500: server error.
    ServerError,
    /// 503: service unavailable.
    Unavailable,
    /// Any other number, kept as received.
    Other(u16),
}

impl LoginCode {
    /// The code's number on the wire and in JS `LoginError.code`.
    pub const fn as_u16(self) -> u16 {
        match self {
            LoginCode::Ok => 200,
            LoginCode::TokenMismatch => 302,
            LoginCode::Forbidden => 403,
            LoginCode::NotFound => 404,
            LoginCode::Timeout => 408,
            LoginCode::BadParameter => 414,
            LoginCode::NetworkUnavailable => 415,
            LoginCode::RateLimited => 416,
            LoginCode::DevicePolicy => 417,
            LoginCode::DeviceBindingRefused => 419,
            LoginCode::Blocked => 422,
            LoginCode::Aborted => 498,
            LoginCode::Cancelled => 499,
            LoginCode::ServerError => 500,
            LoginCode::Unavailable => 503,
            LoginCode::Other(n) => n,
        }
    }

    /// Whether a later attempt may succeed without anything changing:
    /// 408, 415, 416 and every 5xx.
    pub const fn is_retryable(self) -> bool {
        matches!(self.as_u16(), 408 | 415 | 416 | 500..=599)
    }

    /// Whether the failure invalidates the persisted session, so that it must
    /// be cleared and never retried: 302, 403, 414, 419 and 422.
    ///
    /// 417 is neither retryable nor clearing: the credentials are good, the
    /// device policy just refused this attempt.
    pub const fn clears_session(self) -> bool {
        matches!(self.as_u16(), 302 | 403 | 414 | 419 | 422)
    }

    /// A short English description, used as the default error message.
    pub const fn description(self) -> &'static str {
        match self {
            LoginCode::Ok => "ok",
            LoginCode::TokenMismatch => "accid and token do not match",
            LoginCode::Forbidden => "auto login from a device other than the last one is forbidden",
            LoginCode::NotFound => "no such client",
            LoginCode::Timeout => "login timed out",
            LoginCode::BadParameter => "bad parameter",
            LoginCode::NetworkUnavailable => "network unavailable",
            LoginCode::RateLimited => "too many attempts, retry later",
            LoginCode::DevicePolicy => "the account's device limit is reached; use force to log in",
            LoginCode::DeviceBindingRefused => "device binding refused: the resume ticket is unknown, revoked or expired, or its device, key, signature, timestamp or nonce does not match",
            LoginCode::Blocked => "account blocked",
            LoginCode::Aborted => "aborted by the caller's AbortSignal",
            LoginCode::Cancelled => "cancelled by logout or a newer login",
            LoginCode::ServerError => "server error",
            LoginCode::Unavailable => "service unavailable",
            LoginCode::Other(_) => "login failed",
        }
    }
}

impl From<u16> for LoginCode {
    fn from(n: u16) -> Self {
        match n {
            200 => LoginCode::Ok,
            302 => LoginCode::TokenMismatch,
            403 => LoginCode::Forbidden,
            404 => LoginCode::NotFound,
            408 => LoginCode::Timeout,
            414 => LoginCode::BadParameter,
            415 => LoginCode::NetworkUnavailable,
            416 => LoginCode::RateLimited,
            417 => LoginCode::DevicePolicy,
            419 => LoginCode::DeviceBindingRefused,
            422 => LoginCode::Blocked,
            498 => LoginCode::Aborted,
            499 => LoginCode::Cancelled,
            500 => LoginCode::ServerError,
            503 => LoginCode::Unavailable,
            other => LoginCode::Other(other),
        }
    }
}

impl From<LoginCode> for u16 {
    fn from(c: LoginCode) -> u16 {
        c.as_u16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for n in [
            200, 302, 403, 404, 408, 414, 415, 416, 417, 419, 422, 498, 499, 500, 503, 502, 999,
        ] {
            assert_eq!(LoginCode::from(n).as_u16(), n);
        }
        assert_eq!(LoginCode::from(502), LoginCode::Other(502));
    }

    #[test]
    fn retryable_codes_are_408_415_416_and_5xx() {
        let retryable: Vec<u16> = (100..1000)
            .filter(|&n| LoginCode::from(n).is_retryable())
            .collect();
        let mut expected = vec![408, 415, 416];
        expected.extend(500..=599);
        assert_eq!(retryable, expected);
    }

    #[test]
    fn clearing_codes_are_302_403_414_419_422_and_417_is_neither() {
        let clearing: Vec<u16> = (100..1000)
            .filter(|&n| LoginCode::from(n).clears_session())
            .collect();
        assert_eq!(clearing, vec![302, 403, 414, 419, 422]);
        assert!(!LoginCode::DeviceBindingRefused.is_retryable());
        assert!(!LoginCode::DevicePolicy.is_retryable());
        assert!(!LoginCode::DevicePolicy.clears_session());
    }
}
