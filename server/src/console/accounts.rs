//! The console's account API: list, create, block and unblock test
//! accounts, each request signed like the server API.

use axum::extract::State;
use axum::Json;
use imlogin_protocol::limits::normalize_accid;
use serde_json::{json, Value};

use crate::accounts::Accounts;
use crate::api::Signed;
use crate::backend::AccountSource;
use crate::error::ApiError;
use crate::secret::random_hex;

/// How many accounts the list shows (the newest).
pub const LIST_LIMIT: u32 = 200;

/// `GET /console/api/accounts` → the newest console-created accounts.
pub async fn list(State(accounts): State<Accounts>, _: Signed) -> Result<Json<Value>, ApiError> {
    let list: Vec<_> = accounts
        .list(AccountSource::Console, LIST_LIMIT)
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
    Ok(Json(json!({ "code": 200, "accounts": list })))
}

/// `POST /console/api/accounts` (accid?, token?, name?) → the new account
/// with its token; a random `test…` accid when none is given.
pub async fn create(
    State(accounts): State<Accounts>,
    Signed(p): Signed,
) -> Result<Json<Value>, ApiError> {
    let accid = match p.get("accid").filter(|a| !a.is_empty()) {
        Some(a) => a.to_owned(),
        None => format!(
            "test{}",
            random_hex(6).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?
        ),
    };
    let token = p.get("token").filter(|t| !t.is_empty());
    let created = accounts
        .create(&accid, token, p.get("name"), AccountSource::Console)
        .await?;
    Ok(Json(created.answer()))
}

/// `POST /console/api/block` (accid) → `{"code":200}`; live sessions are
/// kicked (`blocked`).
pub async fn block(
    State(accounts): State<Accounts>,
    Signed(p): Signed,
) -> Result<Json<Value>, ApiError> {
    let accid = normalize_accid(p.require("accid")?)?;
    accounts.set_blocked(&accid, true, true).await?;
    Ok(Json(json!({ "code": 200 })))
}

/// `POST /console/api/unblock` (accid) → `{"code":200}`.
pub async fn unblock(
    State(accounts): State<Accounts>,
    Signed(p): Signed,
) -> Result<Json<Value>, ApiError> {
    let accid = normalize_accid(p.require("accid")?)?;
    accounts.set_blocked(&accid, false, false).await?;
    Ok(Json(json!({ "code": 200 })))
}
