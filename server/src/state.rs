//! The state shared by every handler: configuration, app credentials, the
//! store, the live-session registry, the in-memory caches and the abuse
//! limits (in memory, or shared in PostgreSQL: [`shared_limits`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::api::nonce_store::NonceWindow;
use crate::clock::now_ms;
use crate::config::Config;
use crate::demo_app::server_api_client::{loopback_base, ServerApiClient};
use crate::demo_app::DemoApp;
use crate::error::ServeError;
use crate::link::cluster::Cluster;
use crate::link::connections::Connections;
use crate::link::directory::Directory;
use crate::link::registry::Registry;
use crate::rate::RateGate;
use crate::secret::{random_hex, Secret};
use crate::store::{self, Store};
use crate::test_hooks::AttemptLog;

/// Everything the handlers share. Build it with [`AppState::new`]; the
/// server keeps it in an `Arc`.
pub struct AppState {
    pub(crate) config: Config,
    pub(crate) app_key: String,
    pub(crate) app_secret: Secret,
    pub(crate) generated_credentials: bool,
    pub(crate) store: Arc<dyn Store>,
    /// The PostgreSQL pool the store runs on (`None` on SQLite): the nonce
    /// window, the rate buckets and the cluster's session directory share
    /// it, so that every node sees the same state.
    pub(crate) pg_pool: Option<sqlx::PgPool>,
    pub(crate) sessions: Directory,
    pub(crate) connections: Connections,
    pub(crate) nonces: NonceWindow,
    pub(crate) rate: RateGate,
    pub(crate) attempts: Option<AttemptLog>,
    pub(crate) link_pause: Mutex<Option<Instant>>,
    pub(crate) public_origin: String,
    pub(crate) link_urls: Vec<String>,
    pub(crate) demo: DemoApp,
}

impl core::fmt::Debug for AppState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AppState")
            .field("app_key", &self.app_key)
            .field("public_origin", &self.public_origin)
            .field("link_urls", &self.link_urls)
            .field("sessions", &self.sessions)
            .field("postgres", &self.pg_pool.is_some())
            .finish_non_exhaustive()
    }
}

/// The `scheme://host[:port]` part of a URL, lower case, or `None` when
/// `url` has no `scheme://`.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if scheme.is_empty() || host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{host}").to_ascii_lowercase())
}

/// The Nonce replay window and the rate limits of `config`: in the
/// database of `pool` (PostgreSQL, shared by every node on it; the database
/// must have the `0002_shared_limits` schema) when there is one, else in
/// this node's memory (SQLite, one node). The open-sockets limit per IP is
/// per node either way.
pub(crate) fn shared_limits(pool: Option<&PgPool>, config: &Config) -> (NonceWindow, RateGate) {
    let nonces = match pool {
        Some(pool) => NonceWindow::shared(pool.clone()),
        None => NonceWindow::memory(),
    };
    (nonces, RateGate::with_pool(pool, config))
}

impl AppState {
    /// Opens the store, settles the app credentials (configured, stored or
    /// newly generated) and derives the public origin and link URLs from
    /// the configuration and the bound address.
    ///
    /// # Errors
    /// A store that cannot be opened, a bad `--public-url`, or no
    /// randomness for generated credentials.
    pub async fn new(config: Config, local_addr: SocketAddr) -> Result<Arc<Self>, ServeError> {
        let busy_timeout = Duration::from_millis(config.db_busy_timeout_ms);
        let store::Opened { store, pg_pool } = store::open(&config.database_url, busy_timeout)
            .await
            .map_err(ServeError::Store)?;
        let (app_key, app_secret, generated) = match (&config.app_key, &config.app_secret) {
            (Some(k), Some(s)) => (k.clone(), s.clone(), false),
            (None, None) => match store.app_credentials().await.map_err(ServeError::Store)? {
                Some((k, s)) => (k, Secret::new(s), false),
                None => {
                    let k = random_hex(16).map_err(ServeError::Random)?;
                    let s = random_hex(16).map_err(ServeError::Random)?;
                    store
                        .save_app_credentials(&k, &s, now_ms())
                        .await
                        .map_err(ServeError::Store)?;
                    // Nodes starting together on an empty shared database
                    // may each have saved a pair: all use the first one
                    // stored, so that they agree.
                    match store.app_credentials().await.map_err(ServeError::Store)? {
                        Some((first, secret)) if first != k => (first, Secret::new(secret), false),
                        _ => (k, Secret::new(s), true),
                    }
                }
            },
            _ => {
                return Err(ServeError::Config(
                    "--app-key and --app-secret go together".to_owned(),
                ))
            }
        };
        if app_key.is_empty() || app_key.len() > imlogin_protocol::limits::APP_KEY_MAX {
            return Err(ServeError::Config(
                "the AppKey must be 1-64 characters".to_owned(),
            ));
        }
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}"));
        let public_origin = origin_of(&public_url)
            .ok_or_else(|| ServeError::Config(format!("--public-url {public_url} is not a URL")))?;
        let link_urls = if config.link_urls.is_empty() {
            let ws = if let Some(rest) = public_origin.strip_prefix("https://") {
                format!("wss://{rest}")
            } else if let Some(rest) = public_origin.strip_prefix("http://") {
                format!("ws://{rest}")
            } else {
                public_origin.clone()
            };
            vec![format!("{ws}/link")]
        } else {
            config.link_urls.clone()
        };
        let max_sessions = usize::try_from(config.max_sessions).unwrap_or(1);
        let sessions = match &pg_pool {
            Some(pool) => Directory::Cluster(
                Cluster::join(
                    pool.clone(),
                    link_urls.clone(),
                    config.heartbeat_ms,
                    max_sessions,
                )
                .await
                .map_err(ServeError::Store)?,
            ),
            None => Directory::Local(Registry::new(
                max_sessions,
                random_hex(3).map_err(ServeError::Random)?,
            )),
        };
        let attempts = config.test_hooks.then(AttemptLog::default);
        // The demo app server calls this server's own API over HTTP.
        let demo = DemoApp::new(ServerApiClient::new(
            loopback_base(local_addr),
            app_key.clone(),
            app_secret.clone(),
        ));
        let (nonces, rate) = shared_limits(pg_pool.as_ref(), &config);
        Ok(Arc::new(AppState {
            app_key,
            app_secret,
            generated_credentials: generated,
            store,
            pg_pool,
            sessions,
            connections: Connections::default(),
            nonces,
            rate,
            attempts,
            link_pause: Mutex::new(None),
            public_origin,
            link_urls,
            demo,
            config,
        }))
    }

    /// The heartbeat interval suggested to clients and used for pings.
    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.config.heartbeat_ms)
    }

    /// The live-session directory (harnesses check it for lost or leaked
    /// sessions).
    pub fn sessions(&self) -> &Directory {
        &self.sessions
    }

    /// The configured AppKey.
    pub fn app_key(&self) -> &str {
        &self.app_key
    }

    /// Whether `/link` handshakes are currently answered with 503 (test hook).
    pub(crate) fn link_paused(&self) -> bool {
        let mut pause = self.link_pause.lock().unwrap_or_else(|e| e.into_inner());
        match *pause {
            Some(until) if Instant::now() < until => true,
            Some(_) => {
                *pause = None;
                false
            }
            None => false,
        }
    }

    /// Whether a browser handshake from `origin` may open `/link`: the
    /// public origin, the origin the request was addressed to (`Host`), or
    /// an allowed one.
    pub(crate) fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if origin == self.public_origin {
            return true;
        }
        if let Some(host) = host {
            let host = host.to_ascii_lowercase();
            if origin == format!("http://{host}") || origin == format!("https://{host}") {
                return true;
            }
        }
        self.config
            .allow_origins
            .iter()
            .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(&origin))
    }
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origin_strips_path_and_lowercases() {
        assert_eq!(
            origin_of("HTTPS://Im.Example.com:8443/x?y").as_deref(),
            Some("https://im.example.com:8443")
        );
        assert_eq!(origin_of("nope"), None);
    }
}
