//! One log line per server API, console, LBS and demo app call, at `info`
//! with target `imlogin_server::request`: the method, the route (the
//! router's pattern, never the path a client sent, nor its query), the
//! HTTP status, the NIM code answered and the latency in ms. Nothing of
//! the request's headers or body is logged — no CheckSum, cookie, token
//! or password can reach the line. The same layer counts the server API
//! and console calls for the metrics
//! (`imlogin_server_api_calls_total{action,code}`).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::NimCode;
use crate::metrics::metrics;

/// The `action` label of a server API or console route, or `None` for
/// the other routes.
fn api_action(method: &Method, route: &str) -> Option<&'static str> {
    Some(match route {
        "/nimserver/user/create.action" => "user/create",
        "/nimserver/user/update.action" => "user/update",
        "/nimserver/user/refreshToken.action" => "user/refreshToken",
        "/nimserver/user/block.action" => "user/block",
        "/nimserver/user/unblock.action" => "user/unblock",
        "/nimserver/user/listDeviceTickets.action" => "user/listDeviceTickets",
        "/nimserver/user/revokeDeviceTicket.action" => "user/revokeDeviceTicket",
        "/nimserver/stats/dau.action" => "stats/dau",
        "/console/api/accounts" if method == Method::POST => "console/create",
        "/console/api/accounts" => "console/list",
        "/console/api/block" => "console/block",
        "/console/api/unblock" => "console/unblock",
        _ => return None,
    })
}

/// The middleware (`axum::middleware::from_fn`, as a route layer so that
/// the route is known).
pub async fn request_line(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let code = response
        .extensions()
        .get::<NimCode>()
        .map_or(status, |c| c.0);
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "imlogin_server::request",
        method = %method,
        route = %route,
        status,
        code,
        latency_ms = (latency_ms * 1000.0).round() / 1000.0,
        "request"
    );
    if let Some(action) = api_action(&method, &route) {
        metrics().api_call(action, code);
    }
    response
}
