//! `POST /nimserver/stats/dau.action`: distinct accounts that logged in on a
//! UTC day, manual and auto alike, each counted once.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::Signed;
use crate::accounts::Accounts;
use crate::clock::is_valid_day;
use crate::error::ApiError;

/// `day=YYYY-MM-DD` (signed) → `{"code":200,"dau":N}`.
pub async fn dau(
    State(accounts): State<Accounts>,
    Signed(p): Signed,
) -> Result<Json<Value>, ApiError> {
    let day = p.require("day")?;
    if !is_valid_day(day) {
        return Err(ApiError::BadParam(
            "parameter day must be YYYY-MM-DD".to_owned(),
        ));
    }
    let n = accounts.daily_active(day).await?;
    Ok(Json(json!({ "code": 200, "dau": n })))
}
