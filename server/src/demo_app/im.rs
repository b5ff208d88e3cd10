//! `POST /app/im`: the signed-in user's IM credentials, created on first
//! use — on-demand integration of existing app accounts. The first call
//! makes a random accid (unrelated to the username), creates it through the
//! signed server API, and keeps `uid → (accid, token)`; later calls return
//! what was kept. A user who never calls it never gets an IM account.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::session;
use super::DemoApp;
use crate::backend::AppUser;
use crate::error::ApiError;
use crate::secret::{random_hex, Secret};

fn credentials(accid: &str, token: &Secret) -> Response {
    Json(json!({ "code": 200, "accid": accid, "token": token.expose() })).into_response()
}

/// `POST /app/im` → `{"code":200,"accid","token"}`; 403 when not signed
/// in.
pub async fn im_credentials(
    State(demo): State<Arc<DemoApp>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = session::current_user(&demo, &headers).await?;
    if let Some((accid, token)) = &user.im {
        return Ok(credentials(accid, token));
    }
    // One creation at a time, so that two tabs opening IM at once do not
    // make two IM accounts for one user.
    let _guard = demo.im_lock.lock().await;
    let user = reload(&demo, user).await?;
    if let Some((accid, token)) = &user.im {
        return Ok(credentials(accid, token));
    }
    let random = random_hex(10).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    let (accid, token) = demo
        .server_api
        .create_user(&format!("im{random}"), &user.username)
        .await?;
    if !demo
        .store
        .set_im_account(user.uid, &accid, token.expose())
        .await?
    {
        return Err(ApiError::Internal(
            "the user got an IM account meanwhile".to_owned(),
        ));
    }
    tracing::info!(uid = user.uid, accid, "IM account created on first use");
    Ok(credentials(&accid, &token))
}

async fn reload(demo: &DemoApp, user: AppUser) -> Result<AppUser, ApiError> {
    Ok(demo
        .store
        .user_by_name(&user.username)
        .await?
        .unwrap_or(user))
}
