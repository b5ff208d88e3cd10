//! The HTTP-side error type: every failure of the server API, LBS, stats,
//! test hooks, the demo app server and the console, answered NIM-style
//! (HTTP 200, `{"code":N,"desc":"..."}`).

use axum::response::{IntoResponse, Response};
use axum::Json;
use imlogin_protocol::LoginCode;
use serde_json::json;

use crate::backend::StoreError;
use crate::sessions::Unavailable;

/// A failed HTTP request. The `IntoResponse` impl sends the code and a
/// short fixed description; internal detail is logged, never sent.
#[derive(Debug)]
pub enum ApiError {
    /// 414: a missing or invalid parameter (the description names it).
    BadParam(String),
    /// 414: `create` of an accid that exists.
    AlreadyRegistered,
    /// 414: an accid that does not exist.
    NotRegistered,
    /// 414: the request body is larger than 64 KiB.
    BodyTooLarge,
    /// 403: a missing auth header, unknown AppKey, bad CheckSum, stale
    /// CurTime or reused Nonce. Which one is logged, not told.
    Unauthorized(&'static str),
    /// 302: the demo app's sign-in with an unknown username or a wrong
    /// password (which one is not told).
    WrongPassword,
    /// 403: a demo app request without a live session cookie.
    NotSignedIn,
    /// 416: rate limited.
    RateLimited,
    /// 500: a storage failure.
    Store(StoreError),
    /// 500: any other internal failure.
    Internal(String),
}

impl ApiError {
    /// The NIM code this error is answered with (the protocol's codes:
    /// 302, 403, 414, 416, 500).
    pub fn code(&self) -> LoginCode {
        match self {
            ApiError::BadParam(_)
            | ApiError::AlreadyRegistered
            | ApiError::NotRegistered
            | ApiError::BodyTooLarge => LoginCode::BadParameter,
            ApiError::WrongPassword => LoginCode::TokenMismatch,
            ApiError::Unauthorized(_) | ApiError::NotSignedIn => LoginCode::Forbidden,
            ApiError::RateLimited => LoginCode::RateLimited,
            ApiError::Store(_) | ApiError::Internal(_) => LoginCode::ServerError,
        }
    }

    fn desc(&self) -> String {
        match self {
            ApiError::BadParam(what) => what.clone(),
            ApiError::AlreadyRegistered => "already registered".to_owned(),
            ApiError::NotRegistered => "not registered".to_owned(),
            ApiError::BodyTooLarge => "request body too large".to_owned(),
            ApiError::Unauthorized(_) => "unauthorized".to_owned(),
            ApiError::WrongPassword => "wrong username or password".to_owned(),
            ApiError::NotSignedIn => "not signed in".to_owned(),
            ApiError::RateLimited => "rate limited".to_owned(),
            ApiError::Store(_) | ApiError::Internal(_) => "server error".to_owned(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

impl From<Unavailable> for ApiError {
    fn from(_: Unavailable) -> Self {
        ApiError::Internal("the shared session directory is unavailable".to_owned())
    }
}

impl From<imlogin_protocol::FieldError> for ApiError {
    fn from(e: imlogin_protocol::FieldError) -> Self {
        ApiError::BadParam(format!("parameter {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Store(e) => tracing::error!(error = %e, "request failed"),
            ApiError::Internal(e) => tracing::error!(error = %e, "request failed"),
            ApiError::Unauthorized(why) => tracing::info!(why, "server API request refused"),
            _ => {}
        }
        let code = self.code().as_u16();
        let mut response = Json(json!({ "code": code, "desc": self.desc() })).into_response();
        response.extensions_mut().insert(NimCode(code));
        response
    }
}

/// The NIM code an error response carries in its body, for the request
/// line and the metrics ([`crate::request_log`]); a response without it
/// answered HTTP 200 with code 200, or carries no NIM code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NimCode(pub u16);

/// Why the server could not start.
#[derive(Debug)]
pub enum ServeError {
    /// The listening socket could not be bound.
    Bind(std::io::Error),
    /// The database could not be opened or migrated.
    Store(StoreError),
    /// The configuration is inconsistent (the message says how).
    Config(String),
    /// The OS has no randomness for the demo credentials.
    Random(getrandom::Error),
}

impl core::fmt::Display for ServeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ServeError::Bind(e) => write!(f, "cannot bind: {e}"),
            ServeError::Store(e) => write!(f, "{e}"),
            ServeError::Config(e) => write!(f, "bad configuration: {e}"),
            ServeError::Random(e) => write!(f, "no randomness: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}
