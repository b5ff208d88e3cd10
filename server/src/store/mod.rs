//! Persistent storage behind a small object-safe trait, implemented on
//! SQLite ([`sqlite`], one node) and PostgreSQL ([`postgres`], shared by
//! several nodes); [`open`] picks one from the database URL.

use core::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use imlogin_protocol::ClientType;

pub mod app_users;
pub mod postgres;
pub mod sqlite;

pub use app_users::{AppUser, AppUserStore};

/// A stored ms time (i64) from a `u64`, saturating.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `u64` from a stored i64; a negative value reads as 0.
fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A boxed, `Send` future: what the [`Store`] methods return.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// An IM account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// The account id, lower case.
    pub accid: String,
    /// SHA-256 hex of the token (see [`crate::secret::hash_token`]).
    pub token_hash: String,
    /// Display name (may be empty).
    pub name: String,
    /// Whether logins are refused with 422.
    pub blocked: bool,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("accid", &self.accid)
            .field("token_hash", &"<redacted>")
            .field("name", &self.name)
            .field("blocked", &self.blocked)
            .finish()
    }
}

/// Where an account was created. The console lists only its own
/// ([`AccountSource::Console`]); accounts an app server made through the
/// server API never appear there (the CommsEase console rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSource {
    /// `create.action` or the test hooks.
    Api,
    /// A test account created in `/console`.
    Console,
}

impl AccountSource {
    /// The stored name: `api` or `console`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountSource::Api => "api",
            AccountSource::Console => "console",
        }
    }
}

/// One row of an account list (no token hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    /// The account id, lower case.
    pub accid: String,
    /// Display name (may be empty).
    pub name: String,
    /// Whether logins are refused with 422.
    pub blocked: bool,
    /// When it was created, in ms since the Unix epoch.
    pub created_at: u64,
}

/// A storage failure. Its detail is logged, never sent to a client.
#[derive(Debug)]
pub struct StoreError(pub Box<dyn std::error::Error + Send + Sync>);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage error: {}", self.0)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError(Box::new(e))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError(Box::new(e))
    }
}

/// What the server keeps across restarts. Implementations must be safe to
/// call concurrently; every method is one atomic operation. The demo app
/// server's data is the [`AppUserStore`] part.
pub trait Store: AppUserStore + Send + Sync + 'static {
    /// Creates an account; `Ok(false)` when the accid is already taken.
    fn create_account<'a>(
        &'a self,
        accid: &'a str,
        token_hash: &'a str,
        name: &'a str,
        source: AccountSource,
        now_ms: u64,
    ) -> StoreFuture<'a, bool>;

    /// The newest `limit` accounts created from `source`, newest first.
    fn list_accounts(
        &self,
        source: AccountSource,
        limit: u32,
    ) -> StoreFuture<'_, Vec<AccountSummary>>;

    /// The account, if it exists.
    fn account<'a>(&'a self, accid: &'a str) -> StoreFuture<'a, Option<Account>>;

    /// Replaces the token hash; `Ok(false)` when there is no such account.
    fn set_token<'a>(
        &'a self,
        accid: &'a str,
        token_hash: &'a str,
        now_ms: u64,
    ) -> StoreFuture<'a, bool>;

    /// Blocks or unblocks; `Ok(false)` when there is no such account.
    fn set_blocked<'a>(
        &'a self,
        accid: &'a str,
        blocked: bool,
        now_ms: u64,
    ) -> StoreFuture<'a, bool>;

    /// Whether an auto login from `device_id` passes the device rule's
    /// record: it is the device of the account's last successful login with
    /// this clientType, or one whose session ended without a logout or a
    /// kick (see [`Store::forget_devices`]).
    fn is_known_device<'a>(
        &'a self,
        accid: &'a str,
        client_type: ClientType,
        device_id: &'a str,
    ) -> StoreFuture<'a, bool>;

    /// Forgets devices whose sessions were ended by a logout or a kick, so
    /// that they cannot resume with an auto login. `None` forgets every
    /// device of the account (token change, block).
    fn forget_devices<'a>(
        &'a self,
        accid: &'a str,
        devices: Option<&'a [(ClientType, String)]>,
    ) -> StoreFuture<'a, ()>;

    /// Records a successful login: the last device for (accid, clientType),
    /// the device as resumable, and the account's presence on `day` (UTC,
    /// `YYYY-MM-DD`).
    fn record_login<'a>(
        &'a self,
        accid: &'a str,
        client_type: ClientType,
        device_id: &'a str,
        now_ms: u64,
        day: &'a str,
    ) -> StoreFuture<'a, ()>;

    /// The number of distinct accounts that logged in on `day`.
    fn daily_active<'a>(&'a self, day: &'a str) -> StoreFuture<'a, u64>;

    /// The stored demo app credentials `(app_key, app_secret)`, if any.
    fn app_credentials(&self) -> StoreFuture<'_, Option<(String, String)>>;

    /// Stores demo app credentials.
    fn save_app_credentials<'a>(
        &'a self,
        app_key: &'a str,
        app_secret: &'a str,
        now_ms: u64,
    ) -> StoreFuture<'a, ()>;
}

/// An opened store, and the PostgreSQL pool behind it when there is one.
pub struct Opened {
    /// The store the handlers use.
    pub store: Arc<dyn Store>,
    /// The store's PostgreSQL pool (`None` on SQLite), for the state that
    /// the nodes of a cluster share beside the store: the nonce window,
    /// the rate buckets and the session directory.
    pub pg_pool: Option<sqlx::PgPool>,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("postgres", &self.pg_pool.is_some())
            .finish_non_exhaustive()
    }
}

/// Opens the store a database URL names and runs its embedded migrations:
/// `sqlite://PATH` or `sqlite::memory:` (one node), or
/// `postgres://user@host/db` / `postgresql://…` (shared by any number of
/// nodes). A statement that finds the data locked by another connection
/// waits up to `busy_timeout`, then fails (→ a retryable 500).
///
/// # Errors
/// An unsupported URL, an unreachable database or a failed migration.
pub async fn open(
    database_url: &str,
    busy_timeout: std::time::Duration,
) -> Result<Opened, StoreError> {
    if database_url.starts_with("sqlite:") {
        let store = sqlite::SqliteStore::open(database_url, busy_timeout).await?;
        Ok(Opened {
            store: Arc::new(store),
            pg_pool: None,
        })
    } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        let store = postgres::PgStore::open(database_url, busy_timeout).await?;
        Ok(Opened {
            pg_pool: Some(store.pool().clone()),
            store: Arc::new(store),
        })
    } else {
        Err(StoreError(
            "unsupported database URL: use sqlite://PATH, sqlite::memory: or \
             postgres://USER@HOST/DB (postgresql:// also works)"
                .into(),
        ))
    }
}
