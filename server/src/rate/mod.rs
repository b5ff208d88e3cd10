//! Abuse limits (416, DESIGN §4): login attempts per account and per IP,
//! open link sockets per IP, and server API calls per AppKey. The limits
//! come from [`crate::Config`] and default far above real use; each is a
//! token bucket or a count, and a refusal carries the time after which a
//! retry may pass (`retryAfterMs`).
//!
//! Where the buckets live (docs/abuse-limits.md):
//! - with SQLite (one node) in this node's memory ([`bucket::Buckets`]);
//! - with PostgreSQL in the database ([`pg_buckets::PgBuckets`]), shared by
//!   every node, so that spreading attempts over nodes gains nothing.
//!
//! The open-sockets count per IP always stays per node: it counts this
//! node's sockets, which only this node knows (see
//! [`crate::link::connections::Connections`]).
//!
//! A shared bucket that cannot be consulted (the database is down or
//! refuses) fails closed: the failure is logged and the attempt refused
//! with a retryable 500 ([`Refused::Store`]), never let through. Letting it
//! through would silently switch the abuse limits off exactly while the
//! database is struggling, which is when a flood hurts most; the login or
//! call would most likely fail on the same database a moment later anyway.

pub mod bucket;
pub mod pg_buckets;

use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bucket::Buckets;
use pg_buckets::PgBuckets;
use sqlx::PgPool;

use crate::config::Config;
use crate::store::StoreError;

/// The period over which the per-minute limits refill.
const MINUTE: Duration = Duration::from_secs(60);

/// What a login from a peer with too many open link sockets is told to
/// wait: sockets close on their own time, so this is a polite guess.
pub const SESSIONS_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Why a login attempt or a server API call may not proceed.
#[derive(Debug)]
pub enum Refused {
    /// Rate limited (416): retry after this long (at least 1 ms).
    RetryAfter(Duration),
    /// A shared bucket's database could not be asked: refuse with a
    /// retryable 500 (fail closed, see the module docs).
    Store(StoreError),
}

impl From<sqlx::Error> for Refused {
    fn from(e: sqlx::Error) -> Self {
        Refused::Store(e.into())
    }
}

/// The buckets of one kind of key: in this node's memory, or shared in
/// PostgreSQL.
#[derive(Debug)]
enum Limit<K> {
    Memory(Buckets<K>),
    Shared(PgBuckets),
}

impl<K: Eq + Hash + Clone + core::fmt::Display> Limit<K> {
    fn new(pool: Option<&PgPool>, prefix: &'static str, capacity: u32) -> Self {
        match pool {
            None => Limit::Memory(Buckets::new(capacity, MINUTE)),
            Some(pool) => Limit::Shared(PgBuckets::new(pool.clone(), prefix, capacity, MINUTE)),
        }
    }

    /// `now` drives the memory buckets; the shared ones use the database
    /// clock.
    async fn take(&self, key: &K, now: Instant) -> Result<(), Refused> {
        match self {
            Limit::Memory(b) => b.take(key, now).map_err(Refused::RetryAfter),
            // Boxed: the database round trip's state would otherwise be
            // part of every link socket task, idle or not.
            Limit::Shared(b) => Box::pin(b.take(&key.to_string())).await,
        }
    }
}

/// Decides whether a login attempt or a server API call may proceed.
#[derive(Debug)]
pub struct RateGate {
    per_account: Limit<String>,
    per_ip: Limit<IpAddr>,
    per_app_key: Limit<String>,
    max_sessions_per_ip: usize,
}

impl RateGate {
    /// The limits of `config`, in this node's memory.
    pub fn new(config: &Config) -> Self {
        Self::with_pool(None, config)
    }

    /// The limits of `config`: shared in `pool`'s database (which must have
    /// the `0002_shared_limits` schema) when there is one, else in this
    /// node's memory.
    pub fn with_pool(pool: Option<&PgPool>, config: &Config) -> Self {
        RateGate {
            per_account: Limit::new(pool, "acct:", config.login_rate_per_account),
            per_ip: Limit::new(pool, "ip:", config.login_rate_per_ip),
            per_app_key: Limit::new(pool, "app:", config.api_rate_per_app_key),
            max_sessions_per_ip: usize::try_from(config.max_sessions_per_ip).unwrap_or(usize::MAX),
        }
    }

    /// Whether a login must be refused: with 416 and `retryAfterMs`
    /// ([`Refused::RetryAfter`]) when the peer has more than the allowed
    /// open link sockets on this node (`open_from_peer` counts this one),
    /// or the peer's or the account's attempts are spent; with 500
    /// ([`Refused::Store`]) when the shared buckets cannot be asked.
    /// `accid` is `None` for a login whose fields are invalid (only the
    /// peer is charged).
    ///
    /// # Errors
    /// [`Refused`], as above.
    pub async fn check_login(
        &self,
        peer: Option<IpAddr>,
        open_from_peer: usize,
        accid: Option<&str>,
        now: Instant,
    ) -> Result<(), Refused> {
        if peer.is_some() && open_from_peer > self.max_sessions_per_ip {
            return Err(Refused::RetryAfter(SESSIONS_RETRY_AFTER));
        }
        if let Some(ip) = peer {
            self.per_ip.take(&ip, now).await?;
        }
        if let Some(accid) = accid {
            self.per_account.take(&accid.to_owned(), now).await?;
        }
        Ok(())
    }

    /// Whether a (correctly signed) server API call with `app_key` must be
    /// refused: with 416 ([`Refused::RetryAfter`]) when the AppKey's calls
    /// are spent, with 500 ([`Refused::Store`]) when the shared buckets
    /// cannot be asked.
    ///
    /// # Errors
    /// [`Refused`], as above.
    pub async fn check_api(&self, app_key: &str, now: Instant) -> Result<(), Refused> {
        self.per_app_key.take(&app_key.to_owned(), now).await
    }
}
