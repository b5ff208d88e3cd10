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
//!
//! Without `accid`, sessions and attempts of every account are listed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use imlogin_protocol::limits::{check_token, normalize_accid};
use imlogin_protocol::{LoginCode, LoginFrame};
use serde::Serialize;
use serde_json::{json, Value};
use tower_http::cors::CorsLayer;

use crate::api::form::Params;
use crate::api::user::{create_account, replace_token};
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::secret::{random_hex, Secret};
use crate::state::AppState;
use crate::store::AccountSource;

/// How many login attempts the log keeps (oldest dropped first).
const ATTEMPTS_KEPT: usize = 10_000;
/// The longest pause `/_test/pause` accepts, in ms.
const MAX_PAUSE_MS: u64 = 600_000;

/// One login attempt seen on the link.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// The account named (lower case), or "" if unreadable.
    pub accid: String,
    /// `manual`, `auto` or "" if unreadable.
    pub mode: String,
    /// The deviceId sent, or "".
    pub device_id: String,
    /// The clientType sent, or "".
    pub client_type: String,
    /// The answer: 200 or the `loginErr` code.
    pub code: u16,
    /// When, in ms since the Unix epoch.
    pub at: u64,
}

/// The login attempts seen, for `/_test/attempts`.
#[derive(Debug, Default)]
pub struct AttemptLog {
    attempts: Mutex<VecDeque<Attempt>>,
}

impl AttemptLog {
    /// Records an attempt: a decoded login frame, or the raw text of one
    /// whose fields were refused (read best-effort).
    pub fn record(&self, frame: &Result<LoginFrame, &str>, code: LoginCode) {
        let attempt = match frame {
            Ok(f) => Attempt {
                accid: f.accid.clone(),
                mode: f.mode.as_str().to_owned(),
                device_id: f.device_id.clone(),
                client_type: f.client_type.as_str().to_owned(),
                code: code.as_u16(),
                at: now_ms(),
            },
            Err(raw) => {
                let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
                let field = |k: &str| {
                    v.get(k)
                        .and_then(Value::as_str)
                        .map(|s| s.chars().take(64).collect::<String>())
                        .unwrap_or_default()
                };
                Attempt {
                    accid: field("accid").to_ascii_lowercase(),
                    mode: field("mode"),
                    device_id: field("deviceId"),
                    client_type: field("clientType"),
                    code: code.as_u16(),
                    at: now_ms(),
                }
            }
        };
        let mut log = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() >= ATTEMPTS_KEPT {
            log.pop_front();
        }
        log.push_back(attempt);
    }

    /// The attempts for `accid` (or all), oldest first.
    pub fn list(&self, accid: Option<&str>) -> Vec<Attempt> {
        let log = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        log.iter()
            .filter(|a| accid.is_none_or(|x| a.accid == x))
            .cloned()
            .collect()
    }
}

/// The `/_test/*` routes with permissive CORS (preflight included).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/_test/accounts", post(accounts))
        .route("/_test/token", post(token))
        .route("/_test/drop", post(drop_all))
        .route("/_test/pause", post(pause))
        .route("/_test/sessions", get(sessions))
        .route("/_test/attempts", get(attempts))
        .layer(CorsLayer::very_permissive())
}

type Q = Query<HashMap<String, String>>;

fn accid_filter(q: &HashMap<String, String>) -> Option<String> {
    q.get("accid")
        .filter(|a| !a.is_empty())
        .map(|a| a.to_ascii_lowercase())
}

async fn accounts(
    State(state): State<Arc<AppState>>,
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
    let c = create_account(
        &state,
        &accid,
        param("token"),
        param("name"),
        AccountSource::Api,
    )
    .await?;
    Ok(Json(json!({ "code": 200, "accid": c.accid, "token": c.token.expose() })).into_response())
}

async fn token(State(state): State<Arc<AppState>>, Query(q): Q) -> Result<Response, ApiError> {
    let param = |k: &str| {
        q.get(k)
            .map(String::as_str)
            .ok_or_else(|| ApiError::BadParam(format!("parameter {k} is required")))
    };
    let accid = normalize_accid(param("accid")?)?;
    let token = param("token")?;
    check_token(token)?;
    replace_token(&state, &accid, &Secret::new(token)).await?;
    Ok(Json(json!({ "code": 200 })).into_response())
}

async fn drop_all(State(state): State<Arc<AppState>>) -> Response {
    let n = state
        .connections
        .close_all(imlogin_protocol::close::SERVICE_RESTART);
    tracing::info!(sockets = n, "test hook: dropping every link socket");
    Json(json!({ "code": 200, "dropped": n })).into_response()
}

async fn pause(State(state): State<Arc<AppState>>, Query(q): Q) -> Result<Response, ApiError> {
    let ms = q
        .get("ms")
        .and_then(|m| m.parse::<u64>().ok())
        .filter(|&m| m <= MAX_PAUSE_MS)
        .ok_or_else(|| ApiError::BadParam("parameter ms must be 0-600000".to_owned()))?;
    let until = Instant::now() + Duration::from_millis(ms);
    *state.link_pause.lock().unwrap_or_else(|e| e.into_inner()) = Some(until);
    tracing::info!(ms, "test hook: pausing link handshakes");
    Ok(Json(json!({ "code": 200, "ms": ms })).into_response())
}

async fn sessions(State(state): State<Arc<AppState>>, Query(q): Q) -> Result<Response, ApiError> {
    let accid = accid_filter(&q);
    let list: Vec<Value> = state
        .sessions
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
    let node = state.sessions.node_id();
    Ok(Json(json!({ "code": 200, "node": node, "sessions": list })).into_response())
}

async fn attempts(State(state): State<Arc<AppState>>, Query(q): Q) -> Response {
    let accid = accid_filter(&q);
    let list = state
        .attempts
        .as_ref()
        .map(|log| log.list(accid.as_deref()))
        .unwrap_or_default();
    Json(json!({ "code": 200, "count": list.len(), "attempts": list })).into_response()
}
