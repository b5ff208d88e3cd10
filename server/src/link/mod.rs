//! The link server: `GET /link` upgrades to a WebSocket carrying the JSON
//! frames of `imlogin-protocol`, after the Origin allow-list and the
//! test-hook pause. [`Link`] is everything a link connection needs.

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRef, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use crate::accounts::Accounts;
use crate::backend::{Directory, NonceWindow};
use crate::listener::PeerAddr;
use crate::rate::RateGate;

pub mod connections;
pub mod login;
pub mod probe;
pub mod session;
pub mod socket;

use connections::Connections;
use probe::Probe;

/// The largest message the WebSocket layer buffers. Larger than the
/// protocol's 4096-byte frame limit so that an oversize frame reaches the
/// decoder and is answered with 1009 rather than cut off unseen.
pub const MAX_WS_MESSAGE: usize = 64 * 1024;

/// The WebSocket read buffer of one link socket, in bytes.
pub const LINK_READ_BUFFER: usize = 4 * 1024;

/// The browser origins that may open `/link`.
#[derive(Debug, Clone)]
pub struct Origins {
    /// The server's public origin (`scheme://host[:port]`, lower case).
    pub public: String,
    /// More allowed origins; `*` allows every origin.
    pub allowed: Vec<String>,
}

impl Origins {
    /// Whether a browser handshake from `origin` may open `/link`: the
    /// public origin, the origin the request was addressed to (`Host`), or
    /// an allowed one.
    pub fn allow(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if origin == self.public {
            return true;
        }
        if let Some(host) = host {
            let host = host.to_ascii_lowercase();
            if origin == format!("http://{host}") || origin == format!("https://{host}") {
                return true;
            }
        }
        self.allowed
            .iter()
            .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(&origin))
    }
}

/// What the link server shares between its connections.
#[derive(Debug)]
pub struct Link {
    /// The AppKey a login must name.
    pub app_key: String,
    /// The heartbeat suggested to clients and used for pings, in ms.
    pub heartbeat_ms: u64,
    /// Who may open `/link` from a browser.
    pub origins: Origins,
    /// This node's public link URLs (`/lbs`).
    pub urls: Vec<String>,
    /// Credentials and the device rule's records.
    pub accounts: Accounts,
    /// The live sessions.
    pub directory: Directory,
    /// Every open link socket.
    pub connections: Connections,
    /// The login abuse limits.
    pub rate: Arc<RateGate>,
    /// The Nonce window a resume's nonce is checked in (the server API's,
    /// in its own namespace).
    pub nonces: Arc<NonceWindow>,
    /// The test hooks' view, when they are enabled.
    pub probe: Option<Arc<Probe>>,
}

impl Link {
    /// The heartbeat interval suggested to clients and used for pings.
    pub fn heartbeat(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.heartbeat_ms)
    }
}

/// The `/link` route, on any router state that holds the [`Link`].
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Link>: FromRef<S>,
{
    Router::new().route("/link", get(link))
}

async fn link(
    State(link): State<Arc<Link>>,
    peer: Option<Extension<ConnectInfo<PeerAddr>>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let paused = link.probe.as_ref().is_some_and(|p| p.paused());
    if paused || link.connections.is_shut() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let allowed = origin.to_str().is_ok_and(|o| link.origins.allow(o, host));
        if !allowed {
            tracing::info!(origin = ?origin, "link handshake from a foreign origin refused");
            return StatusCode::FORBIDDEN.into_response();
        }
    }
    let peer_ip = peer.map(|Extension(ConnectInfo(PeerAddr(addr)))| addr.ip());
    ws.max_message_size(MAX_WS_MESSAGE)
        .max_frame_size(MAX_WS_MESSAGE)
        // Link frames are small: a 4 KiB read buffer (tungstenite's default
        // is 128 KiB) takes the server from ~139 kB to ~12 kB per idle
        // session (bench/README.md), and no write buffer is kept.
        .read_buffer_size(LINK_READ_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let (session, control) = session::LinkSession::new(Arc::clone(&link), peer_ip);
            let _guard = link.connections.register(session.control_sender(), peer_ip);
            socket::run(socket, session, control, link.heartbeat()).await;
        })
}
