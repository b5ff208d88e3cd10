//! `/nimserver/user/*.action`: create, update, refreshToken, block, unblock.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use imlogin_protocol::limits::{check_token, normalize_accid};
use imlogin_protocol::KickReason;
use serde_json::json;

use super::form::{check_content_type, Params};
use super::signing;
use crate::clock::{now_ms, now_secs};
use crate::error::ApiError;
use crate::rate::Refused;
use crate::secret::{generate_token, hash_token, Secret};
use crate::state::AppState;
use crate::store::AccountSource;

/// The longest account name, in characters.
pub const NAME_MAX: usize = 64;

/// Verifies the signature, charges the AppKey's rate limit (416), checks
/// the content type, then reads the form body.
pub(crate) async fn signed_params(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Params, ApiError> {
    signing::verify(state, headers, now_secs()).await?;
    match state.rate.check_api(&state.app_key, Instant::now()).await {
        Ok(()) => {}
        Err(Refused::RetryAfter(retry_after)) => {
            tracing::info!(
                retry_after_ms = retry_after.as_millis(),
                "server API rate limited"
            );
            return Err(ApiError::RateLimited);
        }
        // Fail closed: a limit that cannot be checked is not skipped.
        Err(Refused::Store(e)) => return Err(ApiError::Store(e)),
    }
    check_content_type(headers)?;
    Params::read(body).await
}

fn accid_param(p: &Params) -> Result<String, ApiError> {
    Ok(normalize_accid(p.require("accid")?)?)
}

fn new_token() -> Result<Secret, ApiError> {
    generate_token().map_err(|e| ApiError::Internal(format!("no randomness: {e}")))
}

/// A newly created account, as returned to its creator.
#[derive(Debug)]
pub(crate) struct Created {
    pub accid: String,
    pub token: Secret,
    pub name: String,
}

/// Creates an account: `accid` is normalized, `token` (if given) checked,
/// otherwise generated. Shared by `create.action`, the console and the test
/// hook; `source` says which.
pub(crate) async fn create_account(
    state: &AppState,
    accid: &str,
    token: Option<&str>,
    name: Option<&str>,
    source: AccountSource,
) -> Result<Created, ApiError> {
    let accid = normalize_accid(accid)?;
    let token = match token {
        Some(t) => {
            check_token(t)?;
            Secret::new(t)
        }
        None => new_token()?,
    };
    let name = name.unwrap_or("");
    if name.chars().count() > NAME_MAX {
        return Err(ApiError::BadParam("parameter name is too long".to_owned()));
    }
    let created = state
        .store
        .create_account(&accid, &hash_token(token.expose()), name, source, now_ms())
        .await?;
    if !created {
        return Err(ApiError::AlreadyRegistered);
    }
    tracing::info!(accid, source = source.as_str(), "account created");
    Ok(Created {
        accid,
        token,
        name: name.to_owned(),
    })
}

/// `create.action`: accid, token?, name? →
/// `{"code":200,"info":{"accid","token","name"}}`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let p = signed_params(&state, &headers, body).await?;
    let c = create_account(
        &state,
        p.require("accid")?,
        p.get("token"),
        p.get("name"),
        AccountSource::Api,
    )
    .await?;
    Ok(Json(json!({
        "code": 200,
        "info": { "accid": c.accid, "token": c.token.expose(), "name": c.name }
    }))
    .into_response())
}

/// Ends every live session of the account with `kicked{reason}`, on every
/// node, and forgets all its devices so that none can resume with an auto
/// login; returns how many sessions were ended.
async fn end_every_session(
    state: &AppState,
    accid: &str,
    reason: KickReason,
) -> Result<usize, ApiError> {
    let n = state.sessions.kick_account(accid, reason).await?;
    state.store.forget_devices(accid, None).await?;
    Ok(n)
}

/// Stores a new token and kicks the account's live sessions
/// (`tokenChanged`), so that only the new token logs in from now on.
/// Shared by `update.action`, `refreshToken.action` and the test hook.
pub(crate) async fn replace_token(
    state: &AppState,
    accid: &str,
    token: &Secret,
) -> Result<(), ApiError> {
    if !state
        .store
        .set_token(accid, &hash_token(token.expose()), now_ms())
        .await?
    {
        return Err(ApiError::NotRegistered);
    }
    let n = end_every_session(state, accid, KickReason::TokenChanged).await?;
    tracing::info!(accid, kicked = n, "token changed");
    Ok(())
}

/// `update.action`: accid, token → `{"code":200}`.
pub async fn update(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let p = signed_params(&state, &headers, body).await?;
    let accid = accid_param(&p)?;
    let token = p.require("token")?;
    check_token(token)?;
    replace_token(&state, &accid, &Secret::new(token)).await?;
    Ok(Json(json!({ "code": 200 })).into_response())
}

/// `refreshToken.action`: accid → `{"code":200,"info":{"accid","token"}}`.
pub async fn refresh_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let p = signed_params(&state, &headers, body).await?;
    let accid = accid_param(&p)?;
    let token = new_token()?;
    replace_token(&state, &accid, &token).await?;
    Ok(Json(json!({
        "code": 200,
        "info": { "accid": accid, "token": token.expose() }
    }))
    .into_response())
}

/// Blocks or unblocks an account; blocking with `needkick` kicks its live
/// sessions at once (`blocked`). Shared by `block.action`,
/// `unblock.action` and the console.
pub(crate) async fn set_blocked(
    state: &AppState,
    accid: &str,
    blocked: bool,
    needkick: bool,
) -> Result<(), ApiError> {
    if !state.store.set_blocked(accid, blocked, now_ms()).await? {
        return Err(ApiError::NotRegistered);
    }
    if blocked && needkick {
        let n = end_every_session(state, accid, KickReason::Blocked).await?;
        tracing::info!(accid, kicked = n, "account blocked");
    } else {
        state.sessions.bump_epoch(accid);
        tracing::info!(accid, blocked, "account block state set");
    }
    Ok(())
}

/// `block.action`: accid, needkick? → `{"code":200}`; with
/// `needkick=true` live sessions are kicked (`blocked`).
pub async fn block(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let p = signed_params(&state, &headers, body).await?;
    let accid = accid_param(&p)?;
    let needkick = p.flag("needkick", false)?;
    set_blocked(&state, &accid, true, needkick).await?;
    Ok(Json(json!({ "code": 200 })).into_response())
}

/// `unblock.action`: accid → `{"code":200}`.
pub async fn unblock(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let p = signed_params(&state, &headers, body).await?;
    let accid = accid_param(&p)?;
    set_blocked(&state, &accid, false, false).await?;
    Ok(Json(json!({ "code": 200 })).into_response())
}
