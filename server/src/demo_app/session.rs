//! Demo app sessions: the cookie `imlogin_demo` holds 128 random bits;
//! it is `HttpOnly` (page scripts — and so XSS — cannot read it),
//! `SameSite=Strict` (never sent on cross-site requests), `Path=/app`, and
//! `Secure` when the public URL is https. The store keeps only its SHA-256,
//! so a leaked database yields no usable session.

use axum::http::{header, HeaderMap, HeaderValue};

use super::DemoApp;
use crate::backend::AppUser;
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::secret::{hash_token, random_hex};

/// The session cookie's name.
pub const COOKIE: &str = "imlogin_demo";
/// How long a session lasts, in ms (30 days).
pub const SESSION_TTL_MS: u64 = 30 * 24 * 3600 * 1000;

/// The session cookie's value in a request, if any.
pub fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value)
}

fn set_cookie(demo: &DemoApp, value: &str, max_age_secs: u64) -> Result<HeaderValue, ApiError> {
    let secure = if demo.secure_cookie { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/app; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .map_err(|e| ApiError::Internal(format!("session cookie: {e}")))
}

/// Starts a session for `uid`: stores it and returns the `Set-Cookie`
/// value.
///
/// # Errors
/// No randomness, or a storage failure.
pub async fn start(demo: &DemoApp, uid: i64) -> Result<HeaderValue, ApiError> {
    let value = random_hex(16).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    let now = now_ms();
    demo.store
        .create_session(&hash_token(&value), uid, now, now + SESSION_TTL_MS)
        .await?;
    set_cookie(demo, &value, SESSION_TTL_MS / 1000)
}

/// The signed-in user of this request.
///
/// # Errors
/// [`ApiError::NotSignedIn`] without a live session; a storage failure.
pub async fn current_user(demo: &DemoApp, headers: &HeaderMap) -> Result<AppUser, ApiError> {
    let value = cookie_value(headers).ok_or(ApiError::NotSignedIn)?;
    demo.store
        .session_user(&hash_token(value), now_ms())
        .await?
        .ok_or(ApiError::NotSignedIn)
}

/// Ends this request's session (if any) and returns the `Set-Cookie`
/// value that clears the cookie.
///
/// # Errors
/// A storage failure.
pub async fn end(demo: &DemoApp, headers: &HeaderMap) -> Result<HeaderValue, ApiError> {
    if let Some(value) = cookie_value(headers) {
        demo.store.delete_session(&hash_token(value)).await?;
    }
    set_cookie(demo, "", 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; imlogin_demo=abc"),
        );
        assert_eq!(cookie_value(&h), Some("abc"));
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("imlogin_demo=; b=2"),
        );
        assert_eq!(cookie_value(&h), None);
    }
}
