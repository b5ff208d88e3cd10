//! Where the server's state lives, decided once: [`Backend::open`] reads
//! the database URL and returns everything that depends on it — the
//! [`Store`] and its device [`Journal`], the session [`Directory`], the
//! Nonce window and the abuse limits' buckets ([`Backend::limit`]) — in
//! this process's memory beside a SQLite file (one node), or in a
//! PostgreSQL database shared by every node of a cluster. Nothing outside
//! this module sees a connection pool or asks which database runs.
//!
//! The SQL is written once for both databases ([`store`]); the dialects
//! differ only in [`db`]: connecting, the migrations (`server/migrations/`),
//! how one write's statements travel, and PostgreSQL's advisory locks.

pub mod buckets;
pub mod cache;
pub(crate) mod db;
pub mod directory;
pub mod journal;
mod legacy;
pub mod nonces;
pub mod store;
pub mod tickets;

use core::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

pub use self::buckets::{Limit, Refused};
use self::buckets::{MemoryBuckets, PgBuckets, Takes};
use self::cache::AccountCache;
use self::db::Db;
pub use self::db::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
pub use self::directory::Directory;
use self::directory::{Cluster, Registry};
pub use self::journal::{DeviceWrite, Journal, LoginRecord};
pub use self::nonces::NonceWindow;
pub use self::store::{Account, AccountSource, AccountSummary, AppUser, Store};
pub use self::tickets::{Ticket, TicketRecord, TicketSummary};

/// A storage failure. Its detail is logged, never sent to a client.
#[derive(Debug, Clone)]
pub struct StoreError(Arc<dyn std::error::Error + Send + Sync>);

impl StoreError {
    /// A failure described by `message`.
    pub fn msg(message: impl Into<String>) -> Self {
        let boxed: Box<dyn std::error::Error + Send + Sync> = message.into().into();
        StoreError(Arc::from(boxed))
    }
}

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
        crate::metrics::metrics().database_error();
        StoreError(Arc::new(e))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError(Arc::new(e))
    }
}

/// What the session directory needs to know of this node.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// This node's public link URLs (announced by `/lbs` in a cluster).
    pub link_urls: Vec<String>,
    /// The heartbeat interval, in ms (a cluster node's liveness).
    pub heartbeat_ms: u64,
    /// Live sessions allowed per account and clientType.
    pub max_sessions: usize,
}

/// Everything whose place depends on the database. See the module docs.
#[derive(Debug)]
pub struct Backend {
    db: Db,
    /// The batched bucket takes (PostgreSQL).
    takes: Option<Takes>,
    /// Accounts, device records, daily logins, app credentials, demo users.
    pub store: Store,
    /// The writer of the device records (group commit).
    pub journal: Journal,
    /// The live sessions: this node's, or every node's.
    pub directory: Directory,
    /// The server API's Nonce replay window.
    pub nonces: NonceWindow,
}

impl Backend {
    /// Opens the database a URL names — `sqlite://PATH` or
    /// `sqlite::memory:` (one node), `postgres://…` or `postgresql://…`
    /// (shared by any number of nodes) — migrates it, and sets up the rest
    /// on it (joining the cluster on PostgreSQL). A statement that finds
    /// the data locked by another connection waits up to `busy_timeout`,
    /// then fails (→ a retryable 500).
    ///
    /// # Errors
    /// An unsupported URL, an unreachable database, a failed migration, or
    /// no randomness for this node's id.
    pub async fn open(
        url: &str,
        busy_timeout: Duration,
        node: NodeSettings,
    ) -> Result<Backend, StoreError> {
        let db = Db::open(url, busy_timeout).await?;
        let cache = Arc::new(AccountCache::default());
        let store = Store::new(db.clone(), Arc::clone(&cache));
        let journal = Journal::start(store.clone());
        let (directory, nonces) = match &db {
            Db::Sqlite(_) => {
                let prefix = crate::secret::random_hex(3)
                    .map_err(|e| StoreError::msg(format!("no randomness: {e}")))?;
                (
                    Directory::Local(Arc::new(Registry::new(node.max_sessions, prefix))),
                    NonceWindow::memory(),
                )
            }
            Db::Postgres(pool) => (
                Directory::Cluster(
                    Cluster::join(
                        pool.clone(),
                        cache,
                        node.link_urls,
                        node.heartbeat_ms,
                        node.max_sessions,
                    )
                    .await?,
                ),
                NonceWindow::shared(pool.clone()),
            ),
        };
        let takes = match &db {
            Db::Sqlite(_) => None,
            Db::Postgres(pool) => Some(Takes::start(pool.clone())),
        };
        Ok(Backend {
            db,
            takes,
            store,
            journal,
            directory,
            nonces,
        })
    }

    /// Token buckets of `capacity` per `period` for keys `prefix` + key:
    /// in memory with SQLite, shared in the database with PostgreSQL.
    pub fn limit<K: Eq + Hash + Clone>(
        &self,
        prefix: &'static str,
        capacity: u32,
        period: Duration,
    ) -> Limit<K> {
        match (&self.db, &self.takes) {
            (Db::Postgres(pool), Some(takes)) => Limit::Shared(PgBuckets::new(
                pool.clone(),
                takes.clone(),
                prefix,
                capacity,
                period,
            )),
            _ => Limit::Memory(MemoryBuckets::new(capacity, period)),
        }
    }

    /// Whether several nodes may share this state (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }
}
