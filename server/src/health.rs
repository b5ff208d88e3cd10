//! `GET /healthz` and `GET /readyz`, for load balancers and orchestrators.
//! Neither needs credentials, and neither tells more than its one word.
//!
//! | route | 200 | 503 |
//! |---|---|---|
//! | `/healthz` | `ok`: the process answers HTTP | — |
//! | `/readyz` | `ready`: the database answers and the node is not draining | `draining`: shutdown has begun (link sockets are closing with 1012, new ones are refused); `unavailable`: the database did not answer within [`DB_CHECK_TIMEOUT`] |
//!
//! A rolling restart waits for a restarted node's `/readyz` before it
//! stops the next one (docs/deploy.md).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::accounts::Accounts;
use crate::link::Link;

/// How long `/readyz` waits for the database.
pub const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The health routes, on any router state that holds the [`Link`] and
/// the [`Accounts`].
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Link>: FromRef<S>,
    Accounts: FromRef<S>,
{
    Router::new()
        .route("/healthz", get(|| async { answer(StatusCode::OK, "ok") }))
        .route("/readyz", get(readyz))
}

fn answer(status: StatusCode, word: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        format!("{word}\n"),
    )
        .into_response()
}

async fn readyz(State(link): State<Arc<Link>>, State(accounts): State<Accounts>) -> Response {
    if link.connections.is_shut() {
        return answer(StatusCode::SERVICE_UNAVAILABLE, "draining");
    }
    match tokio::time::timeout(DB_CHECK_TIMEOUT, accounts.store().ping()).await {
        Ok(Ok(())) => answer(StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: the database failed");
            answer(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
        Err(_) => {
            tracing::warn!("not ready: the database did not answer in time");
            answer(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
    }
}
