//! `GET /lbs?appKey=`: link discovery, always with CORS headers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRef, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tower_http::cors::CorsLayer;

use crate::link::Link;

/// The `/lbs` route, wrapped in permissive CORS (browsers call it from the
/// app's own origin), on any router state that holds the [`Link`].
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Link>: FromRef<S>,
{
    Router::new()
        .route("/lbs", get(lbs))
        .layer(CorsLayer::permissive())
}

/// `{"code":200,"links":[...]}`: this node's link URLs, or in a cluster
/// every live node's, rotated per call — never a draining node's;
/// `{"code":414}` for an unknown appKey.
pub async fn lbs(
    State(link): State<Arc<Link>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    match q.get("appKey") {
        Some(k) if *k == link.app_key => {
            let draining = link.connections.is_shut();
            let links = link.directory.link_urls(&link.urls, draining).await;
            Json(json!({ "code": 200, "links": links }))
        }
        _ => Json(json!({ "code": 414, "desc": "unknown appKey" })),
    }
}
