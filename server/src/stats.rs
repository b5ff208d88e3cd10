//! `POST /nimserver/stats/dau.action`: distinct accounts that logged in on a
//! UTC day, manual and auto alike, each counted once.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use crate::api::user::signed_params;
use crate::clock::is_valid_day;
use crate::error::ApiError;
use crate::state::AppState;

/// The stats routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/nimserver/stats/dau.action", post(dau))
}

/// `day=YYYY-MM-DD` (signed) → `{"code":200,"dau":N}`.
pub async fn dau(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let p = signed_params(&state, &headers, body).await?;
    let day = p.require("day")?;
    if !is_valid_day(day) {
        return Err(ApiError::BadParam(
            "parameter day must be YYYY-MM-DD".to_owned(),
        ));
    }
    let n = state.store.daily_active(day).await?;
    Ok(Json(json!({ "code": 200, "dau": n })).into_response())
}
