//! `/nimserver/user/*.action`: create, update, refreshToken, block,
//! unblock, and the resume tickets of device-bound sessions:
//! listDeviceTickets, revokeDeviceTicket.

use axum::extract::State;
use axum::Json;
use imlogin_protocol::limits::{check_device_id, check_token, normalize_accid};
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

/// `listDeviceTickets.action`: accid →
/// `{"code":200,"tickets":[{"deviceId","clientType","createdAt","lastUsedAt"}]}`,
/// the account's live resume tickets, oldest first.
pub async fn list_device_tickets(
    State(accounts): State<Accounts>,
    Signed(p): Signed,
) -> Result<Json<Value>, ApiError> {
    let accid = accid_param(&p)?;
    let tickets: Vec<Value> = accounts
        .list_tickets(&accid)
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "deviceId": t.device_id,
                "clientType": t.client_type,
                "createdAt": t.created_at,
                "lastUsedAt": t.last_used_at,
            })
        })
        .collect();
    Ok(Json(json!({ "code": 200, "tickets": tickets })))
}

/// `revokeDeviceTicket.action`: accid, deviceId? → `{"code":200,"revoked":N}`;
/// the revoked devices' live sessions are kicked (`revoked`).
pub async fn revoke_device_ticket(
    State(accounts): State<Accounts>,
    Signed(p): Signed,
) -> Result<Json<Value>, ApiError> {
    let accid = accid_param(&p)?;
    let device_id = p.get("deviceId");
    if let Some(device_id) = device_id {
        check_device_id(device_id)?;
    }
    let revoked = accounts.revoke_tickets(&accid, device_id).await?;
    Ok(Json(json!({ "code": 200, "revoked": revoked })))
}
