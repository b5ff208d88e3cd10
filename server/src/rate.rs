//! Abuse limits (416, docs/abuse-limits.md): login attempts per account and per IP,
//! open link sockets per IP, and server API calls per AppKey. The limits
//! come from [`crate::Config`] and default far above real use; each is a
//! token bucket or a count, and a refusal carries the time after which a
//! retry may pass (`retryAfterMs`).
//!
//! Where the buckets live (docs/abuse-limits.md) is the backend's choice
//! ([`crate::backend::buckets`]):
//! - with SQLite (one node) in this node's memory;
//! - with PostgreSQL in the database, shared by every node, so that
//!   spreading attempts over nodes gains nothing.
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

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::backend::buckets::take_both;
pub use crate::backend::Refused;
use crate::backend::{Backend, Limit};
use crate::config::Config;
use crate::metrics::{metrics, AbuseLimit};

/// The period over which the per-minute limits refill.
const MINUTE: Duration = Duration::from_secs(60);

/// What a login from a peer with too many open link sockets is told to
/// wait: sockets close on their own time, so this is a polite guess.
pub const SESSIONS_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Decides whether a login attempt or a server API call may proceed.
#[derive(Debug)]
pub struct RateGate {
    per_account: Limit<String>,
    per_ip: Limit<IpAddr>,
    per_app_key: Limit<String>,
    max_sessions_per_ip: usize,
}

impl RateGate {
    /// The limits of `config`, with their buckets where `backend` keeps
    /// them (memory on one node, PostgreSQL for a cluster).
    pub fn new(config: &Config, backend: &Backend) -> Self {
        RateGate {
            per_account: backend.limit("acct:", config.login_rate_per_account, MINUTE),
            per_ip: backend.limit("ip:", config.login_rate_per_ip, MINUTE),
            per_app_key: backend.limit("app:", config.api_rate_per_app_key, MINUTE),
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
            metrics().abuse_refusal(AbuseLimit::SocketsPerIp);
            return Err(Refused::RetryAfter(SESSIONS_RETRY_AFTER));
        }
        let taken = match (peer, accid) {
            (Some(ip), Some(accid)) => {
                take_both(&self.per_ip, &ip, &self.per_account, &accid.to_owned(), now).await
            }
            (Some(ip), None) => self.per_ip.take(&ip, now).await,
            (None, Some(accid)) => self.per_account.take(&accid.to_owned(), now).await,
            (None, None) => Ok(()),
        };
        if let Err(Refused::RetryAfter(_)) = taken {
            metrics().abuse_refusal(AbuseLimit::LoginAttempts);
        }
        taken
    }

    /// Whether a (correctly signed) server API call with `app_key` must be
    /// refused: with 416 ([`Refused::RetryAfter`]) when the AppKey's calls
    /// are spent, with 500 ([`Refused::Store`]) when the shared buckets
    /// cannot be asked.
    ///
    /// # Errors
    /// [`Refused`], as above.
    pub async fn check_api(&self, app_key: &str, now: Instant) -> Result<(), Refused> {
        let taken = self.per_app_key.take(&app_key.to_owned(), now).await;
        if let Err(Refused::RetryAfter(_)) = taken {
            metrics().abuse_refusal(AbuseLimit::ServerApi);
        }
        taken
    }
}
