//! The server's parts, assembled once at start: the backend's store,
//! directory and limits wired into the link server, the server API's gate,
//! the accounts service, and — only when enabled — the demo app and the
//! test hooks. Routers take the part they need through `FromRef`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;

use crate::accounts::{Accounts, TicketSettings};
use crate::api::Gate;
use crate::backend::{Backend, NodeSettings, Store};
use crate::clock::now_ms;
use crate::config::{origin_of, Config};
use crate::demo_app::server_api_client::{loopback_base, ServerApiClient};
use crate::demo_app::DemoApp;
use crate::error::ServeError;
use crate::link::connections::Connections;
use crate::link::probe::Probe;
use crate::link::{Link, Origins};
use crate::rate::RateGate;
use crate::secret::{random_hex, Secret};
use crate::test_hooks::Hooks;

/// The app's credentials.
#[derive(Debug)]
pub struct App {
    /// The AppKey the server API and link logins accept.
    pub key: String,
    /// The AppSecret that signs server API requests.
    pub secret: Secret,
    /// Whether the pair was generated on this start.
    pub generated: bool,
}

/// Everything the routers share. Cheap to clone. Build it with
/// [`AppState::new`].
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) config: Arc<Config>,
    pub(crate) app: Arc<App>,
    pub(crate) link: Arc<Link>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) accounts: Accounts,
    pub(crate) demo: Option<Arc<DemoApp>>,
    pub(crate) hooks: Option<Arc<Hooks>>,
}

impl FromRef<AppState> for Arc<Link> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.link)
    }
}

impl FromRef<AppState> for Arc<Gate> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.gate)
    }
}

impl FromRef<AppState> for Accounts {
    fn from_ref(state: &AppState) -> Self {
        state.accounts.clone()
    }
}

/// The configured app credentials, or the first stored pair, or a new
/// pair (stored).
async fn app_credentials(config: &Config, store: &Store) -> Result<App, ServeError> {
    let from_file = match &config.app_secret_file {
        Some(path) => Some(read_secret_file(path)?),
        None => None,
    };
    let (key, secret, generated) = match (
        &config.app_key,
        config.app_secret.as_ref().or(from_file.as_ref()),
    ) {
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
                "--app-key goes with --app-secret or --app-secret-file".to_owned(),
            ))
        }
    };
    if key.is_empty() || key.len() > imlogin_protocol::limits::APP_KEY_MAX {
        return Err(ServeError::Config(
            "the AppKey must be 1-64 characters".to_owned(),
        ));
    }
    Ok(App {
        key,
        secret,
        generated,
    })
}

/// The secret in the first line of the file at `path` (a trailing
/// newline or carriage return is not part of it).
fn read_secret_file(path: &std::path::Path) -> Result<Secret, ServeError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ServeError::Config(format!(
            "--app-secret-file {}: cannot read: {e}",
            path.display()
        ))
    })?;
    let secret = text.lines().next().unwrap_or("");
    if secret.is_empty() {
        return Err(ServeError::Config(format!(
            "--app-secret-file {}: the first line is empty",
            path.display()
        )));
    }
    Ok(Secret::new(secret.to_owned()))
}

impl AppState {
    /// Opens the backend, settles the app credentials (configured, stored
    /// or newly generated) and derives the public origin and link URLs
    /// from the configuration and the bound address.
    ///
    /// # Errors
    /// A backend that cannot be opened, a bad `--public-url`, or no
    /// randomness for generated credentials.
    pub async fn new(config: Config, local_addr: SocketAddr) -> Result<AppState, ServeError> {
        let tls = config.tls_cert.is_some();
        if tls && config.demo_app {
            // The demo app calls this server's API over plain http on
            // loopback, which a TLS listener does not speak.
            return Err(ServeError::Config(
                "--demo-app cannot run with --tls-cert: put the demo behind a TLS proxy instead"
                    .to_owned(),
            ));
        }
        let scheme = if tls { "https" } else { "http" };
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{local_addr}"));
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
        let backend = Backend::open(
            &config.database_url,
            Duration::from_millis(config.db_busy_timeout_ms),
            NodeSettings {
                link_urls: link_urls.clone(),
                heartbeat_ms: config.heartbeat_ms,
                max_sessions: usize::try_from(config.max_sessions).unwrap_or(1),
            },
        )
        .await
        .map_err(ServeError::Store)?;
        let app = Arc::new(app_credentials(&config, &backend.store).await?);
        let rate = Arc::new(RateGate::new(&config, &backend));
        let Backend {
            store,
            journal,
            directory,
            nonces,
            ..
        } = backend;
        let nonces = Arc::new(nonces);
        let accounts = Accounts::new(
            store.clone(),
            journal,
            directory.clone(),
            TicketSettings::new(app.key.clone(), config.ticket_ttl_days),
        );
        let probe = config.test_hooks.then(|| Arc::new(Probe::default()));
        let link = Arc::new(Link {
            app_key: app.key.clone(),
            heartbeat_ms: config.heartbeat_ms,
            origins: Origins {
                public: public_origin.clone(),
                allowed: config.allow_origins.clone(),
            },
            urls: link_urls,
            accounts: accounts.clone(),
            directory,
            connections: Connections::default(),
            rate: Arc::clone(&rate),
            nonces: Arc::clone(&nonces),
            probe: probe.clone(),
        });
        let gate = Arc::new(Gate {
            app_key: app.key.clone(),
            app_secret: app.secret.clone(),
            nonces,
            rate,
        });
        // The demo app server calls this server's own API over HTTP.
        let demo = config.demo_app.then(|| {
            Arc::new(DemoApp::new(
                app.key.clone(),
                store,
                ServerApiClient::new(
                    loopback_base(local_addr),
                    app.key.clone(),
                    app.secret.clone(),
                ),
                public_origin.starts_with("https://"),
            ))
        });
        let hooks = probe.map(|probe| {
            Arc::new(Hooks {
                link: Arc::clone(&link),
                probe,
                accounts: accounts.clone(),
            })
        });
        Ok(AppState {
            config: Arc::new(config),
            app,
            link,
            gate,
            accounts,
            demo,
            hooks,
        })
    }

    /// The link server's shared part (harnesses drive a
    /// [`crate::link::session::LinkSession`] with it).
    pub fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// The app's credentials.
    pub fn app(&self) -> &App {
        &self.app
    }
}
