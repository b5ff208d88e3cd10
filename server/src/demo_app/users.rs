//! `/app/register`, `/app/login`, `/app/logout`, `/app/me`, `/app/config`:
//! the demo app's own accounts (username + password) and sessions.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::read_json;
use super::session;
use super::DemoApp;
use crate::backend::AppUser;
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::secret::Secret;

/// Username length in characters.
pub const USERNAME_LEN: core::ops::RangeInclusive<usize> = 3..=32;
/// Password length in characters.
pub const PASSWORD_LEN: core::ops::RangeInclusive<usize> = 8..=128;

/// The body of `register` and `login`.
#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: Secret,
}

/// The username, lower case, if it is 3–32 of `[A-Za-z0-9_.-]`.
fn normalize_username(name: &str) -> Result<String, ApiError> {
    let ok = USERNAME_LEN.contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(ApiError::BadParam(
            "username must be 3-32 letters, digits, '_', '.' or '-'".to_owned(),
        ))
    }
}

/// `{"username","accid"}`; `accid` is null until the user first uses IM.
pub(crate) fn user_view(user: &AppUser) -> Value {
    json!({
        "username": user.username,
        "accid": user.im.as_ref().map(|(accid, _)| accid),
    })
}

fn signed_in(user: &AppUser, cookie: HeaderValue) -> Response {
    (
        [(header::SET_COOKIE, cookie)],
        Json(json!({ "code": 200, "user": user_view(user) })),
    )
        .into_response()
}

/// `POST /app/register` `{"username","password"}` → `{"code":200,"user"}`
/// and a session cookie; 414 for a bad username, a password outside 8–128
/// characters, or a taken username ("already registered").
pub async fn register(
    State(demo): State<Arc<DemoApp>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c: Credentials = read_json(&headers, body).await?;
    let username = normalize_username(&c.username)?;
    if !PASSWORD_LEN.contains(&c.password.expose().chars().count()) {
        return Err(ApiError::BadParam(
            "password must be 8-128 characters".to_owned(),
        ));
    }
    let hash = demo.hasher.hash(c.password).await?;
    let uid = demo
        .store
        .create_user(&username, &hash, now_ms())
        .await?
        .ok_or(ApiError::AlreadyRegistered)?;
    tracing::info!(uid, "app user registered");
    let cookie = session::start(&demo, uid).await?;
    let user = AppUser {
        uid,
        username,
        password_hash: hash,
        im: None,
    };
    Ok(signed_in(&user, cookie))
}

/// `POST /app/login` `{"username","password"}` → `{"code":200,"user"}`
/// and a session cookie; 302 for an unknown username or a wrong password
/// (the answer does not say which, and takes as long either way).
pub async fn login(
    State(demo): State<Arc<DemoApp>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c: Credentials = read_json(&headers, body).await?;
    let user = match normalize_username(&c.username) {
        Ok(name) => demo.store.user_by_name(&name).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = demo.hasher.verify(c.password, stored).await?;
    let Some(user) = user.filter(|_| ok) else {
        tracing::info!("app sign-in refused");
        return Err(ApiError::WrongPassword);
    };
    tracing::info!(uid = user.uid, "app user signed in");
    let cookie = session::start(&demo, user.uid).await?;
    Ok(signed_in(&user, cookie))
}

/// `POST /app/logout` → `{"code":200}`, ends the session and clears the
/// cookie (signed in or not).
pub async fn logout(
    State(demo): State<Arc<DemoApp>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let cookie = session::end(&demo, &headers).await?;
    Ok(([(header::SET_COOKIE, cookie)], Json(json!({ "code": 200 }))).into_response())
}

/// `GET /app/me` → `{"code":200,"user"}`, or 403 when not signed in.
pub async fn me(
    State(demo): State<Arc<DemoApp>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = session::current_user(&demo, &headers).await?;
    Ok(Json(json!({ "code": 200, "user": user_view(&user) })).into_response())
}

/// `GET /app/config` → `{"code":200,"appKey"}`: what the page needs to
/// build its `LoginManager` (the AppKey is public; the link URL is the
/// page's own origin + `/link`).
pub async fn config(State(demo): State<Arc<DemoApp>>) -> Response {
    Json(json!({ "code": 200, "appKey": demo.app_key })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_checked_and_lower_cased() {
        assert_eq!(normalize_username("Alice_1").unwrap(), "alice_1");
        assert!(normalize_username("al").is_err());
        assert!(normalize_username("a b c").is_err());
        assert!(normalize_username(&"a".repeat(33)).is_err());
    }
}
