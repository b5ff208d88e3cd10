//! The link server: `GET /link` upgrades to a WebSocket carrying the JSON
//! frames of DESIGN §3, after the Origin allow-list and the test-hook pause.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use crate::state::AppState;

pub mod cluster;
pub mod connections;
pub mod directory;
pub mod login;
pub mod policy;
pub mod registry;
pub mod session;
pub mod socket;

/// The largest message the WebSocket layer buffers. Larger than the
/// protocol's 4096-byte frame limit so that an oversize frame reaches the
/// decoder and is answered with 1009 rather than cut off unseen.
pub const MAX_WS_MESSAGE: usize = 64 * 1024;

/// The WebSocket read buffer of one link socket, in bytes.
pub const LINK_READ_BUFFER: usize = 4 * 1024;

/// The `/link` route.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/link", get(link))
}

async fn link(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if state.link_paused() || state.connections.is_shut() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let allowed = origin.to_str().is_ok_and(|o| state.origin_allowed(o, host));
        if !allowed {
            tracing::info!(origin = ?origin, "link handshake from a foreign origin refused");
            return StatusCode::FORBIDDEN.into_response();
        }
    }
    let peer_ip = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    ws.max_message_size(MAX_WS_MESSAGE)
        .max_frame_size(MAX_WS_MESSAGE)
        // Link frames are small: a 4 KiB read buffer (tungstenite's default
        // is 128 KiB) takes the server from ~139 kB to ~12 kB per idle
        // session (bench/README.md), and no write buffer is kept.
        .read_buffer_size(LINK_READ_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let (session, control) = session::LinkSession::new(Arc::clone(&state), peer_ip);
            let _guard = state
                .connections
                .register(session.control_sender(), peer_ip);
            socket::run(socket, session, control, state.heartbeat()).await;
        })
}
