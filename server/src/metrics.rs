//! The server's metrics, served in the Prometheus text format (OpenMetrics)
//! at `/metrics` on `--metrics-bind` only ([`router`]).
//!
//! The metrics are the process's: one set, counted wherever the event
//! happens ([`metrics`]), whether or not anything scrapes them (a counter
//! is one atomic add). No label ever carries an accid, a token, a client
//! id, a device id or an IP address: every label value comes from a small
//! fixed set (a login code, a client type, a kick reason, a limit's name,
//! a server API action).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `imlogin_logins_total` | counter | `code`: the login's outcome (200, 302, 403, 414, 416, 417, 419, 422, 500) |
//! | `imlogin_login_duration_seconds` | histogram | — (from the login frame to the decision, success or refusal) |
//! | `imlogin_sessions` | gauge | `client_type`: live sessions on this node |
//! | `imlogin_link_sockets` | gauge | — (open link sockets on this node, logged in or not) |
//! | `imlogin_kicks_total` | counter | `reason`: the `kicked` frame's reason, counted where the socket is |
//! | `imlogin_abuse_refusals_total` | counter | `limit`: `login_attempts`, `sockets_per_ip`, `server_api` |
//! | `imlogin_server_api_calls_total` | counter | `action` (`user/create`, …, `console/block`), `code` (the NIM code answered) |
//! | `imlogin_database_errors_total` | counter | — |
//! | `imlogin_cluster_notices_sent_total` | counter | — (queued on a committing transaction) |
//! | `imlogin_cluster_notices_received_total` | counter | — |

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use imlogin_protocol::{ClientType, KickReason, LoginCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The content type of the OpenMetrics text format, which Prometheus
/// scrapes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClientTypeLabel {
    client_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabel {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabel {
    action: &'static str,
    code: u16,
}

/// An abuse limit that refused something (the `limit` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbuseLimit {
    /// Login attempts per account or per IP (`--login-rate-per-*`).
    LoginAttempts,
    /// Open link sockets per IP (`--max-sessions-per-ip`).
    SocketsPerIp,
    /// Server API and console calls per AppKey (`--api-rate-per-app-key`).
    ServerApi,
    /// Logins beyond the node's admission pacing (`--login-capacity`).
    Capacity,
}

impl AbuseLimit {
    const fn label(self) -> &'static str {
        match self {
            AbuseLimit::LoginAttempts => "login_attempts",
            AbuseLimit::SocketsPerIp => "sockets_per_ip",
            AbuseLimit::ServerApi => "server_api",
            AbuseLimit::Capacity => "capacity",
        }
    }
}

/// Every metric of the process. Get it with [`metrics`].
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    logins: Family<CodeLabel, Counter>,
    login_duration: Histogram,
    sessions: Family<ClientTypeLabel, Gauge>,
    link_sockets: Gauge,
    kicks: Family<ReasonLabel, Counter>,
    abuse_refusals: Family<LimitLabel, Counter>,
    api_calls: Family<ActionLabel, Counter>,
    database_errors: Counter,
    notices_sent: Counter,
    notices_received: Counter,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("imlogin");
        let logins = Family::<CodeLabel, Counter>::default();
        registry.register(
            "logins",
            "Link logins decided, by login code (200 = logged in)",
            logins.clone(),
        );
        // 1 ms to ~16 s.
        let login_duration = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register_with_unit(
            "login_duration",
            "Time from a login frame to its decision (success or refusal)",
            prometheus_client::registry::Unit::Seconds,
            login_duration.clone(),
        );
        let sessions = Family::<ClientTypeLabel, Gauge>::default();
        registry.register(
            "sessions",
            "Logged-in link sessions on this node, by client type",
            sessions.clone(),
        );
        let link_sockets = Gauge::default();
        registry.register(
            "link_sockets",
            "Open link sockets on this node, logged in or not",
            link_sockets.clone(),
        );
        let kicks = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "kicks",
            "Sessions on this node ended by a kicked frame, by reason",
            kicks.clone(),
        );
        let abuse_refusals = Family::<LimitLabel, Counter>::default();
        registry.register(
            "abuse_refusals",
            "Logins and calls refused with 416 by an abuse limit, by limit",
            abuse_refusals.clone(),
        );
        let api_calls = Family::<ActionLabel, Counter>::default();
        registry.register(
            "server_api_calls",
            "Server API and console API calls, by action and the NIM code answered",
            api_calls.clone(),
        );
        let database_errors = Counter::default();
        registry.register(
            "database_errors",
            "Database statements or connections that failed",
            database_errors.clone(),
        );
        let notices_sent = Counter::default();
        registry.register(
            "cluster_notices_sent",
            "Notices to other nodes queued on a committing transaction (PostgreSQL NOTIFY)",
            notices_sent.clone(),
        );
        let notices_received = Counter::default();
        registry.register(
            "cluster_notices_received",
            "Notices received from the cluster (PostgreSQL LISTEN)",
            notices_received.clone(),
        );
        Metrics {
            registry,
            logins,
            login_duration,
            sessions,
            link_sockets,
            kicks,
            abuse_refusals,
            api_calls,
            database_errors,
            notices_sent,
            notices_received,
        }
    }

    /// A login was decided with `code` after `seconds`.
    pub fn login(&self, code: LoginCode, seconds: f64) {
        self.logins
            .get_or_create(&CodeLabel {
                code: code.as_u16(),
            })
            .inc();
        self.login_duration.observe(seconds);
    }

    /// A session of `client_type` logged in (`+1`) or ended (`-1`) on this
    /// node.
    pub fn session(&self, client_type: ClientType, delta: i64) {
        self.sessions
            .get_or_create(&ClientTypeLabel {
                client_type: client_type.as_str(),
            })
            .inc_by(delta);
    }

    /// A link socket opened (`+1`) or closed (`-1`).
    pub fn link_socket(&self, delta: i64) {
        self.link_sockets.inc_by(delta);
    }

    /// A session on this node was sent `kicked` for `reason`.
    pub fn kick(&self, reason: KickReason) {
        self.kicks
            .get_or_create(&ReasonLabel {
                reason: reason.as_str(),
            })
            .inc();
    }

    /// `limit` refused a login or a call with 416.
    pub fn abuse_refusal(&self, limit: AbuseLimit) {
        self.abuse_refusals
            .get_or_create(&LimitLabel {
                limit: limit.label(),
            })
            .inc();
    }

    /// A server API or console call of `action` was answered with `code`.
    pub fn api_call(&self, action: &'static str, code: u16) {
        self.api_calls
            .get_or_create(&ActionLabel { action, code })
            .inc();
    }

    /// A database statement or connection failed.
    pub fn database_error(&self) {
        self.database_errors.inc();
    }

    /// `n` cluster notices were queued for other nodes.
    pub fn notices_sent(&self, n: usize) {
        self.notices_sent
            .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }

    /// A cluster notice arrived.
    pub fn notice_received(&self) {
        self.notices_received.inc();
    }

    /// Every metric in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// `GET /metrics`: the process's metrics, for the `--metrics-bind`
/// listener only (never on the public one).
pub fn router() -> Router {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape() -> Response {
    (
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        metrics().render(),
    )
        .into_response()
}

/// The metrics listener's handle: stops it on drop.
#[derive(Debug)]
pub(crate) struct MetricsServer {
    pub(crate) local_addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves [`router`] on `bind` until the returned handle is dropped.
pub(crate) async fn serve(bind: std::net::SocketAddr) -> std::io::Result<MetricsServer> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let local_addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = router();
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "metrics listener failed");
        }
    });
    tracing::info!(%local_addr, "metrics at /metrics");
    Ok(MetricsServer {
        local_addr,
        stop: Some(stop),
    })
}
