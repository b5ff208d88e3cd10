//! The demo app server (`--demo-app`): what a customer's own backend does
//! around imlogin, in the same binary so that the demo needs nothing else.
//! Users register and sign in with a username and password (argon2id); on
//! a user's first IM use it creates an IM account through the signed server
//! API, as a NIM app server would (see [`im`]).
//!
//! Every route answers HTTP 200 with `{"code":200,...}` or NIM-style
//! `{"code":N,"desc"}`. Request bodies are JSON (`Content-Type:
//! application/json`). The session is an `HttpOnly` cookie (see
//! [`session`]).
//!
//! | route | body | success |
//! |---|---|---|
//! | `GET /app/config` | | `{"code":200,"appKey"}` |
//! | `POST /app/register` | `{"username","password"}` | `{"code":200,"user":{"username","accid":null}}` + cookie |
//! | `POST /app/login` | `{"username","password"}` | `{"code":200,"user":{"username","accid"}}` + cookie |
//! | `GET /app/me` | | `{"code":200,"user":{"username","accid"}}` |
//! | `POST /app/im` | | `{"code":200,"accid","token"}` |
//! | `POST /app/logout` | | `{"code":200}`, cookie cleared |
//!
//! Errors: 414 bad parameter or taken username (`already registered`),
//! 302 wrong username or password, 403 not signed in, 500 server error.
//! Passwords, tokens and session cookies are never logged.

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Mutex;

use crate::backend::Store;

pub mod body;
pub mod im;
pub mod password;
pub mod server_api_client;
pub mod session;
pub mod users;

use password::PasswordHasher;
use server_api_client::ServerApiClient;

/// The demo app server's own state: its tables (in the server's
/// database), its password hasher and its client of the server API.
#[derive(Debug)]
pub struct DemoApp {
    pub(crate) app_key: String,
    pub(crate) store: Store,
    pub(crate) hasher: PasswordHasher,
    pub(crate) server_api: ServerApiClient,
    pub(crate) im_lock: Mutex<()>,
    /// Whether the session cookie is `Secure` (the public URL is https).
    pub(crate) secure_cookie: bool,
}

impl DemoApp {
    /// A demo app for `app_key` on `store`, calling the server API through
    /// `server_api`; `secure_cookie` when the public URL is https.
    pub fn new(
        app_key: String,
        store: Store,
        server_api: ServerApiClient,
        secure_cookie: bool,
    ) -> Self {
        DemoApp {
            app_key,
            store,
            hasher: PasswordHasher::default(),
            server_api,
            im_lock: Mutex::new(()),
            secure_cookie,
        }
    }
}

/// The `/app/*` routes with their own state, for any outer router.
pub fn router<S>(demo: Arc<DemoApp>) -> Router<S> {
    Router::new()
        .route("/app/config", get(users::config))
        .route("/app/register", post(users::register))
        .route("/app/login", post(users::login))
        .route("/app/logout", post(users::logout))
        .route("/app/me", get(users::me))
        .route("/app/im", post(im::im_credentials))
        .with_state(demo)
}
