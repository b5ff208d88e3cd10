//! The error every failed login, auto login or kick request settles with.

use std::borrow::Cow;

use imlogin_protocol::LoginCode;
use serde::{Deserialize, Serialize};

/// A failed login or kick: a protocol code and a human message.
///
/// Becomes an instance of the package's JS `LoginError` class (an `Error`
/// with `name === "LoginError"`, `code`, `message`, `retryable` and, when
/// the server gave one, `retryAfterMs`). Its serde form is
/// `{"code": 302, "message": "…"}`, with `"retryAfterMs"` when set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginError {
    /// The code (docs/protocol.md#login-codes numbering, client-side codes
    /// included).
    pub code: LoginCode,
    /// What happened, for people.
    pub message: Cow<'static, str>,
    /// The server's `retryAfterMs` with a refusal (416), if it gave one.
    #[serde(
        default,
        rename = "retryAfterMs",
        skip_serializing_if = "Option::is_none"
    )]
    pub retry_after_ms: Option<u64>,
}

impl LoginError {
    /// An error with the code's default description as message.
    pub fn from_code(code: LoginCode) -> Self {
        LoginError {
            code,
            message: Cow::Borrowed(code.description()),
            retry_after_ms: None,
        }
    }

    /// An error with a specific message.
    pub fn new(code: LoginCode, message: impl Into<Cow<'static, str>>) -> Self {
        LoginError {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// The same error with the server's `retryAfterMs`.
    #[must_use]
    pub fn with_retry_after(mut self, retry_after_ms: Option<u64>) -> Self {
        self.retry_after_ms = retry_after_ms;
        self
    }

    /// Whether trying again later may succeed (408, 415, 416, 5xx).
    pub fn retryable(&self) -> bool {
        self.code.is_retryable()
    }
}

impl core::fmt::Display for LoginError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoginError {}
