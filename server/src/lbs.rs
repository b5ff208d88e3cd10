//! `GET /lbs?appKey=`: link discovery, always with CORS headers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::cors::CorsLayer;

use crate::state::AppState;

/// The `/lbs` route, wrapped in permissive CORS (browsers call it from the
/// app's own origin).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/lbs", get(lbs))
        .layer(CorsLayer::permissive())
}

/// `{"code":200,"links":[...]}`, or `{"code":414}` for an unknown appKey.
pub async fn lbs(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match q.get("appKey") {
        Some(k) if *k == state.app_key => {
            let links = state.sessions.link_urls(&state.link_urls).await;
            Json(json!({ "code": 200, "links": links })).into_response()
        }
        _ => Json(json!({ "code": 414, "desc": "unknown appKey" })).into_response(),
    }
}
