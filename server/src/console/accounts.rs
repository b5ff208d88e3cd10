//! The console's account API: list, create, block and unblock test
//! accounts, each request signed like the server API.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use imlogin_protocol::limits::normalize_accid;
use serde_json::json;

use crate::api::signing;
use crate::api::user::{create_account, set_blocked, signed_params};
use crate::clock::now_secs;
use crate::error::ApiError;
use crate::secret::random_hex;
use crate::state::AppState;
use crate::store::AccountSource;

/// How many accounts the list shows (the newest).
pub const LIST_LIMIT: u32 = 200;

/// `GET /console/api/accounts` → the newest console-created accounts.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    signing::verify(&state, &headers, now_secs()).await?;
    let accounts: Vec<_> = state
        .store
        .list_accounts(AccountSource::Console, LIST_LIMIT)
        .await?
        .into_iter()
        .map(|a| {
            json!({
                "accid": a.accid,
                "name": a.name,
                "blocked": a.blocked,
                "createdAt": a.created_at,
            })
        })
        .collect();
    Ok(Json(json!({ "code": 200, "accounts": accounts })).into_response())
}

/// `POST /console/api/accounts` (accid?, token?, name?) → the new account
/// with its token; a random `test…` accid when none is given.
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let p = signed_params(&state, &headers, body).await?;
    let accid = match p.get("accid").filter(|a| !a.is_empty()) {
        Some(a) => a.to_owned(),
        None => format!(
            "test{}",
            random_hex(6).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?
        ),
    };
    let token = p.get("token").filter(|t| !t.is_empty());
    let c = create_account(&state, &accid, token, p.get("name"), AccountSource::Console).await?;
    Ok(Json(json!({
        "code": 200,
        "info": { "accid": c.accid, "token": c.token.expose(), "name": c.name }
    }))
    .into_response())
}

async fn block_state(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    blocked: bool,
) -> Result<Response, ApiError> {
    let p = signed_params(state, headers, body).await?;
    let accid = normalize_accid(p.require("accid")?)?;
    set_blocked(state, &accid, blocked, blocked).await?;
    Ok(Json(json!({ "code": 200 })).into_response())
}

/// `POST /console/api/block` (accid) → `{"code":200}`; live sessions are
/// kicked (`blocked`).
pub async fn block(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    block_state(&state, &headers, body, true).await
}

/// `POST /console/api/unblock` (accid) → `{"code":200}`.
pub async fn unblock(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    block_state(&state, &headers, body, false).await
}
