//! The error every failed login, auto login or kick request settles with.

use std::borrow::Cow;

use imlogin_protocol::LoginCode;
use serde::{Deserialize, Serialize};

/// A failed login or kick: a protocol code and a human message.
///
/// Becomes a JS `Error` with `name === "LoginError"`, `code`, `message` and
/// `retryable`. Its serde form is `{"code": 302, "message": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginError {
    /// The code (DESIGN §3 numbering, client-side codes included).
    pub code: LoginCode,
    /// What happened, for people.
    pub message: Cow<'static, str>,
}

impl LoginError {
    /// An error with the code's default description as message.
    pub fn from_code(code: LoginCode) -> Self {
        LoginError {
            code,
            message: Cow::Borrowed(code.description()),
        }
    }

    /// An error with a specific message.
    pub fn new(code: LoginCode, message: impl Into<Cow<'static, str>>) -> Self {
        LoginError {
            code,
            message: message.into(),
        }
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
