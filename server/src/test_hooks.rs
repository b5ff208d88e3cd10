//! `/_test/*` (only with `--test-hooks`): endpoints that let in-browser
//! tests control the server without a secret, with permissive CORS.
//!
//! - `POST /_test/accounts` (optional `accid`, `token`, `name` in the query
//!   or a form body) → `{"code":200,"accid","token"}`
//! - `POST /_test/token?accid=&token=` → replaces the account's token the
//!   way `update.action` does (live sessions are kicked with
//!   `tokenChanged`) → `{"code":200}`
//! - `POST /_test/drop` → closes every link socket with 1012 →
//!   `{"code":200,"dropped":N}`
//! - `POST /_test/pause?ms=N` → link handshakes get HTTP 503 for N ms →
//!   `{"code":200,"ms":N}`
//! - `GET /_test/sessions?accid=` → `{"code":200,"node":ID|null,"sessions":[{"accid",
//!   "clientId","clientType","deviceId","mode","force","customTag"?,"loginAt"}]}`
//!   (every live node's sessions in a cluster; `node` is the answering
//!   node's id, the prefix of the clientIds it assigns)
//! - `GET /_test/attempts?accid=` → `{"code":200,"count":N,"attempts":[{"accid",
//!   "mode","deviceId","clientType","code","at"}]}`
//! - `POST /_test/clock?advanceMs=N` → moves the server's clock of
//!   device-bound sessions (a resume's `ts` window, the tickets' lifetime,
//!   `loginOk.serverTime`) by N ms, back when negative →
//!   `{"code":200,"now":MS}`
//!
//! Without `accid`, sessions and attempts of every account are listed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use imlogin_protocol::limits::{check_token, normalize_accid};
use serde_json::{json, Value};
use tower_http::cors::CorsLayer;

use crate::accounts::Accounts;
use crate::api::form::Params;
use crate::backend::AccountSource;
use crate::error::ApiError;
use crate::link::probe::Probe;
use crate::link::Link;
use crate::secret::{random_hex, Secret};

/// The longest pause `/_test/pause` accepts, in ms.
const MAX_PAUSE_MS: u64 = 600_000;

/// What the hooks reach: the link (its sockets, sessions and probe) and
/// the accounts.
#[derive(Debug)]
pub struct Hooks {
    /// The link server.
    pub link: Arc<Link>,
    /// The link's probe (the same as `link.probe`).
    pub probe: Arc<Probe>,
    /// The accounts service.
    pub accounts: Accounts,
}

/// The `/_test/*` routes with their own state and permissive CORS
/// (preflight included), for any outer router.
pub fn router<S>(hooks: Arc<Hooks>) -> Router<S> {
    Router::new()
        .route("/_test/accounts", post(accounts))
        .route("/_test/token", post(token))
        .route("/_test/drop", post(drop_all))
        .route("/_test/pause", post(pause))
        .route("/_test/sessions", get(sessions))
        .route("/_test/attempts", get(attempts))
        .route("/_test/clock", post(clock))
        .layer(CorsLayer::very_permissive())
        .with_state(hooks)
}

type Q = Query<HashMap<String, String>>;

fn accid_filter(q: &HashMap<String, String>) -> Option<String> {
    q.get("accid")
        .filter(|a| !a.is_empty())
        .map(|a| a.to_ascii_lowercase())
}

async fn accounts(
    State(hooks): State<Arc<Hooks>>,
    Query(q): Q,
    body: Body,
) -> Result<Response, ApiError> {
    let form = Params::read(body).await?;
    let param = |k: &str| q.get(k).map(String::as_str).or_else(|| form.get(k));
    let accid = match param("accid") {
        Some(a) => a.to_owned(),
        None => format!(
            "t{}",
            random_hex(8).map_err(|e| ApiError::Internal(e.to_string()))?
        ),
    };
    let c = hooks
        .accounts
        .create(&accid, param("token"), param("name"), AccountSource::Api)
        .await?;
    Ok(Json(json!({ "code": 200, "accid": c.accid, "token": c.token.expose() })).into_response())
}

async fn token(State(hooks): State<Arc<Hooks>>, Query(q): Q) -> Result<Response, ApiError> {
    let param = |k: &str| {
        q.get(k)
            .map(String::as_str)
            .ok_or_else(|| ApiError::BadParam(format!("parameter {k} is required")))
    };
    let accid = normalize_accid(param("accid")?)?;
    let token = param("token")?;
    check_token(token)?;
    hooks
        .accounts
        .replace_token(&accid, &Secret::new(token))
        .await?;
    Ok(Json(json!({ "code": 200 })).into_response())
}

async fn drop_all(State(hooks): State<Arc<Hooks>>) -> Response {
    let n = hooks
        .link
        .connections
        .close_all(imlogin_protocol::close::SERVICE_RESTART);
    tracing::info!(sockets = n, "test hook: dropping every link socket");
    Json(json!({ "code": 200, "dropped": n })).into_response()
}

async fn pause(State(hooks): State<Arc<Hooks>>, Query(q): Q) -> Result<Response, ApiError> {
    let ms = q
        .get("ms")
        .and_then(|m| m.parse::<u64>().ok())
        .filter(|&m| m <= MAX_PAUSE_MS)
        .ok_or_else(|| ApiError::BadParam("parameter ms must be 0-600000".to_owned()))?;
    let until = Instant::now() + Duration::from_millis(ms);
    hooks.probe.pause_until(until);
    tracing::info!(ms, "test hook: pausing link handshakes");
    Ok(Json(json!({ "code": 200, "ms": ms })).into_response())
}

async fn sessions(State(hooks): State<Arc<Hooks>>, Query(q): Q) -> Result<Response, ApiError> {
    let accid = accid_filter(&q);
    let list: Vec<Value> = hooks
        .link
        .directory
        .snapshot(accid.as_deref())
        .await?
        .into_iter()
        .map(|(accid, s)| {
            json!({
                "accid": accid,
                "clientId": s.client_id,
                "clientType": s.client_type.as_str(),
                "deviceId": s.device_id,
                "mode": s.mode.as_str(),
                "force": s.force,
                "customTag": s.custom_tag,
                "loginAt": s.login_at,
            })
        })
        .collect();
    let node = hooks.link.directory.node_id();
    Ok(Json(json!({ "code": 200, "node": node, "sessions": list })).into_response())
}

async fn attempts(State(hooks): State<Arc<Hooks>>, Query(q): Q) -> Response {
    let accid = accid_filter(&q);
    let list = hooks.probe.attempts(accid.as_deref());
    Json(json!({ "code": 200, "count": list.len(), "attempts": list })).into_response()
}

async fn clock(State(hooks): State<Arc<Hooks>>, Query(q): Q) -> Result<Response, ApiError> {
    let ms = q
        .get("advanceMs")
        .and_then(|m| m.parse::<i64>().ok())
        .ok_or_else(|| ApiError::BadParam("parameter advanceMs must be an integer".to_owned()))?;
    let now = hooks.accounts.tickets().clock.advance(ms);
    tracing::info!(ms, now, "test hook: moving the server's clock");
    Ok(Json(json!({ "code": 200, "now": now })).into_response())
}
