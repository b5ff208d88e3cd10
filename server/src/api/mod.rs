//! The NIM-compatible server API: signed, form-encoded POSTs under
//! `/nimserver/`, answered with HTTP 200 and `{"code":N,...}`.

use std::sync::Arc;

use axum::routing::post;
use axum::Router;

use crate::state::AppState;

pub mod form;
pub mod nonce_store;
pub mod signing;
pub mod user;

/// The `/nimserver/user/*` routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/nimserver/user/create.action", post(user::create))
        .route("/nimserver/user/update.action", post(user::update))
        .route(
            "/nimserver/user/refreshToken.action",
            post(user::refresh_token),
        )
        .route("/nimserver/user/block.action", post(user::block))
        .route("/nimserver/user/unblock.action", post(user::unblock))
}
