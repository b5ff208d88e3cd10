//! imlogin's reference server: the link server (`GET /link`, WebSocket
//! login with the frames of `imlogin-protocol`), the NIM-compatible server API
//! (`/nimserver/...`, daily-active stats included), link discovery
//! (`/lbs`), the console (`/console`), with `--demo-app` the demo app
//! server (`/app/*`), with `--static-dir`/`--pkg-dir` the demo page and the
//! npm package, and with `--test-hooks` the `/_test/*` endpoints for
//! browser tests.
//!
//! How it is put together: [`backend`] decides once where state lives
//! (SQLite for one node, PostgreSQL for a cluster); [`state`] wires the
//! parts — [`link`], [`api`], [`accounts`], the optional [`demo_app`] and
//! [`test_hooks`] — and [`router`] mounts each part's own router.
//!
//! Start it in-process with [`serve`], which binds, opens the store and
//! returns a [`ServerHandle`] with the real address; [`ServerHandle::shutdown`]
//! closes every link socket with 1012 and stops. The binary
//! (`imlogin-server`) parses a [`Config`], sets up logging (`--log-format`),
//! calls [`serve`], prints `listening on http://ADDR` (`https://` with
//! `--tls-cert`) and shuts down on SIGTERM or Ctrl-C. `/healthz` and
//! `/readyz` ([`health`]) are always served; `/metrics` ([`metrics`]) only
//! on `--metrics-bind`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), imlogin_server::ServeError> {
//! use clap::Parser;
//! let config = imlogin_server::Config::parse_from([
//!     "imlogin-server", "--bind", "127.0.0.1:0", "--database-url", "sqlite::memory:",
//! ]);
//! let server = imlogin_server::serve(config).await?;
//! println!("listening on http://{}", server.local_addr());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::HeaderValue;
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::services::ServeDir;

pub mod accounts;
pub mod api;
pub mod backend;
pub mod binding;
pub mod clock;
pub mod config;
pub mod console;
pub mod demo_app;
pub mod error;
pub mod health;
pub mod lbs;
pub mod link;
pub mod listener;
pub mod metrics;
pub mod rate;
pub mod request_log;
pub mod secret;
pub mod security_headers;
pub mod sessions;
pub mod state;
pub mod test_hooks;
pub mod tls;

pub use config::Config;
pub use error::{ApiError, ServeError};
pub use secret::Secret;
pub use state::AppState;

/// How long shutdown waits for link sockets to finish their close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The full router for `state`: each part's own router — link, server API,
/// LBS, console, health, and the demo app, test hooks and static files
/// when enabled. The server API, LBS, console and demo app calls each log
/// a request line ([`request_log`]).
pub fn router(state: &AppState) -> Router {
    let mut calls = Router::new()
        .merge(api::router())
        .merge(lbs::router())
        .merge(console::router());
    if let Some(demo) = &state.demo {
        calls = calls.merge(demo_app::router(demo.clone()));
    }
    let calls = calls.route_layer(axum::middleware::from_fn(request_log::request_line));
    let mut app = Router::new()
        .merge(link::router())
        .merge(health::router())
        .merge(calls);
    if let Some(hooks) = &state.hooks {
        app = app.merge(test_hooks::router(hooks.clone()));
    }
    if let Some(dir) = &state.config.pkg_dir {
        app = app.nest_service("/pkg", ServeDir::new(dir));
    }
    if let Some(dir) = &state.config.static_dir {
        app = app.fallback_service(ServeDir::new(dir));
    }
    let csp = security_headers::content_security_policy(&state.link.urls);
    // A link URL with characters a header cannot carry leaves the pages
    // without a policy rather than the server without a start.
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        app = app.layer(axum::middleware::map_response(
            move |response: axum::response::Response| {
                let csp = csp.clone();
                async move { security_headers::add_to_pages(&csp, response) }
            },
        ));
    }
    app.with_state(state.clone())
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    metrics: Option<metrics::MetricsServer>,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl ServerHandle {
    /// The address the server listens on (with the real port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server's base URL on its bound address: `https://ADDR` with
    /// `--tls-cert`, else `http://ADDR`.
    pub fn url(&self) -> String {
        let scheme = if self.state.config.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.local_addr)
    }

    /// The address `/metrics` is served on (`--metrics-bind`, with the
    /// real port), if enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.local_addr)
    }

    /// The AppKey the server API and link logins accept.
    pub fn app_key(&self) -> &str {
        &self.state.app.key
    }

    /// The AppSecret that signs server API requests.
    pub fn app_secret(&self) -> &Secret {
        &self.state.app.secret
    }

    /// Whether the AppKey/AppSecret pair was generated on this start (the
    /// binary prints it then).
    pub fn generated_credentials(&self) -> bool {
        self.state.app.generated
    }

    /// The shared state (for harnesses that drive a
    /// [`link::session::LinkSession`] directly: [`AppState::link`]).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The one way the server stops: marks the node draining (`/readyz`
    /// answers 503 from now on), closes every link socket with 1012
    /// (service restart), waits for them briefly, leaves the cluster, then
    /// stops accepting and finishes in-flight requests; `/metrics` stops
    /// last.
    pub async fn shutdown(mut self) {
        let link = &self.state.link;
        // `shut`, not `close_all`: a client that reconnects at once must
        // not log in to a server on its way out (it would then wait for
        // this server's grace period instead of the next server).
        let n = link
            .connections
            .shut(imlogin_protocol::close::SERVICE_RESTART);
        tracing::info!(sockets = n, "shutting down: closing link sockets with 1012");
        if !link.connections.wait_closed(SHUTDOWN_GRACE).await {
            tracing::warn!("some link sockets did not close in time");
        }
        link.directory.leave().await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "server stopped with an error"),
            Ok(Err(e)) => tracing::error!(error = %e, "server task failed"),
            Err(_) => {
                tracing::warn!("in-flight requests did not finish in time");
                self.task.abort();
            }
        }
    }
}

/// Binds `config.bind`, opens the backend (creating and migrating the
/// database) and starts serving in the background.
///
/// # Errors
/// The address cannot be bound, the store cannot be opened, or the
/// configuration is inconsistent.
pub async fn serve(config: Config) -> Result<ServerHandle, ServeError> {
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        (None, None) => None,
        _ => {
            return Err(ServeError::Config(
                "--tls-cert and --tls-key go together".to_owned(),
            ))
        }
    };
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(ServeError::Bind)?;
    let local_addr = listener.local_addr().map_err(ServeError::Bind)?;
    let metrics = match config.metrics_bind {
        Some(bind) => Some(metrics::serve(bind).await.map_err(ServeError::Bind)?),
        None => None,
    };
    let state = AppState::new(config, local_addr).await?;
    if state.hooks.is_some() {
        tracing::warn!(
            "test hooks enabled: /_test/* is open to anyone; never use this in production"
        );
    }
    let app = router(&state);
    let listener = listener::Listener::with_tls(listener, tls);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<listener::PeerAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });
    tracing::info!(%local_addr, "imlogin-server ready");
    Ok(ServerHandle {
        local_addr,
        metrics,
        state,
        stop: Some(stop),
        task,
    })
}

/// A future that resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
///
/// The handlers are installed when this is *called*, not when the future is
/// first polled: call it before announcing the server (the binary does so
/// before printing `listening on`), so that a signal sent right after the
/// announcement stops the server cleanly instead of killing the process.
#[cfg(unix)]
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        match (interrupt, terminate) {
            (Ok(mut interrupt), Ok(mut terminate)) => {
                tokio::select! {
                    _ = interrupt.recv() => {},
                    _ = terminate.recv() => {},
                }
            }
            (Ok(mut only), Err(_)) | (Err(_), Ok(mut only)) => {
                only.recv().await;
            }
            (Err(_), Err(_)) => std::future::pending::<()>().await,
        }
    }
}

/// A future that resolves on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
