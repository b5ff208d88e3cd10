//! The console (`/console`): a page for the app's developers to create
//! test accounts, list them and block or unblock them. Its JSON API
//! (`/console/api/*`) is guarded by the AppSecret exactly as the server API
//! is — every request carries `AppKey`, `Nonce`, `CurTime` and `CheckSum`
//! headers, which the page computes in the browser, so the secret never
//! travels. Accounts created through the server API never appear in its
//! list (the CommsEase console rule).
//!
//! | route | params (form-encoded) | success |
//! |---|---|---|
//! | `GET /console` | | the page |
//! | `GET /console/api/accounts` | | `{"code":200,"accounts":[{"accid","name","blocked","createdAt"}]}` |
//! | `POST /console/api/accounts` | accid?, token?, name? | `{"code":200,"info":{"accid","token","name"}}` |
//! | `POST /console/api/block` | accid | `{"code":200}` (live sessions kicked: `blocked`) |
//! | `POST /console/api/unblock` | accid | `{"code":200}` |
//!
//! Errors are those of the server API (403 unsigned, 414 bad parameter,
//! 416 over the AppKey's rate limit, which console calls count against).

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::accounts::Accounts;
use crate::api::Gate;

pub mod accounts;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("console.js");
const STYLE: &str = include_str!("console.css");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The `/console` page, its assets and its API, on any router state that
/// holds the server API's [`Gate`] and the [`Accounts`].
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Gate>: FromRef<S>,
    Accounts: FromRef<S>,
{
    Router::new()
        .route(
            "/console",
            get(|| async { asset("text/html; charset=utf-8", PAGE) }),
        )
        .route(
            "/console/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/console/console.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/console/api/accounts",
            get(accounts::list).post(accounts::create),
        )
        .route("/console/api/block", post(accounts::block))
        .route("/console/api/unblock", post(accounts::unblock))
}
