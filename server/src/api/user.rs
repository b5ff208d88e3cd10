//! `/nimserver/user/*.action`: create, update, refreshToken, block, unblock.

use axum::extract::State;
use axum::Json;
use imlogin_protocol::limits::{check_token, normalize_accid};
use serde_json::{json, Value};

use super::form::Params;
use super::Signed;
use crate::accounts::{new_token, Accounts};
use crate::backend::AccountSource;
use crate::error::ApiError;
use crate::secret::Secret;

fn accid_param(p: &Params) -> Result<String, ApiError> {
    Ok(normalize_accid(p.require("accid")?)?)
}

/// `create.action`: accid, token?, name? →
/// `{"code":200,"info":{"accid","token","name"}}`.
pub async fn create(
    State(accounts): State<Accounts>,
    Signed(p): Signed,
) -> Result<Json<Value>, ApiError> {
    let created = accounts
        .create(
            p.require("accid")?,
            p.get("token"),
            p.get("name"),
            AccountSource::Api,
        )
        .await?;
    Ok(Json(created.answer()))
}

/// `update.action`: accid, token → `{"code":200}`; live sessions are
/// kicked (`tokenChanged`).
pub async fn update(
    State(accounts): State<Accounts>,
    Signed(p): Signed,
) -> Result<Json<Value>, ApiError> {
    let accid = accid_param(&p)?;
    let token = p.require("token")?;
    check_token(token)?;
    accounts.replace_token(&accid, &Secret::new(token)).await?;
    Ok(Json(json!({ "code": 200 })))
}

/// `refreshToken.action`: accid → `{"code":200,"info":{"accid","token"}}`;
/// live sessions are kicked (`tokenChanged`).
pub async fn refresh_token(
    State(accounts): State<Accounts>,
    Signed(p): Signed,
) -> Result<Json<Value>, ApiError> {
    let accid = accid_param(&p)?;
    let token = new_token()?;
    accounts.replace_token(&accid, &token).await?;
    Ok(Json(json!({
        "code": 200,
        "info": { "accid": accid, "token": token.expose() }
    })))
}

/// `block.action`: accid, needkick? → `{"code":200}`; with
/// `needkick=true` live sessions are kicked (`blocked`).
pub async fn block(
    State(accounts): State<Accounts>,
    Signed(p): Signed,
) -> Result<Json<Value>, ApiError> {
    let accid = accid_param(&p)?;
    let needkick = p.flag("needkick", false)?;
    accounts.set_blocked(&accid, true, needkick).await?;
    Ok(Json(json!({ "code": 200 })))
}

/// `unblock.action`: accid → `{"code":200}`.
pub async fn unblock(
    State(accounts): State<Accounts>,
    Signed(p): Signed,
) -> Result<Json<Value>, ApiError> {
    let accid = accid_param(&p)?;
    accounts.set_blocked(&accid, false, false).await?;
    Ok(Json(json!({ "code": 200 })))
}
