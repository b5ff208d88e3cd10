//! The NIM-compatible server API: signed, form-encoded POSTs under
//! `/nimserver/`, answered with HTTP 200 and `{"code":N,...}`.

use std::sync::Arc;

use axum::extract::FromRef;
use axum::routing::post;
use axum::Router;

use crate::accounts::Accounts;

pub mod form;
pub mod signed;
pub mod stats;
pub mod user;

pub use signed::{Gate, Signed};

/// The `/nimserver/user/*` and `/nimserver/stats/*` routes, on any router
/// state that holds the [`Gate`] and the [`Accounts`].
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Gate>: FromRef<S>,
    Accounts: FromRef<S>,
{
    Router::new()
        .route("/nimserver/user/create.action", post(user::create))
        .route("/nimserver/user/update.action", post(user::update))
        .route(
            "/nimserver/user/refreshToken.action",
            post(user::refresh_token),
        )
        .route("/nimserver/user/block.action", post(user::block))
        .route("/nimserver/user/unblock.action", post(user::unblock))
        .route(
            "/nimserver/user/listDeviceTickets.action",
            post(user::list_device_tickets),
        )
        .route(
            "/nimserver/user/revokeDeviceTicket.action",
            post(user::revoke_device_ticket),
        )
        .route("/nimserver/stats/dau.action", post(stats::dau))
}
