//! Abuse limits (416, DESIGN §4): login attempts per account and per IP,
//! open link sockets per IP, and server API calls per AppKey. The limits
//! come from [`crate::Config`] and default far above real use; each is a
//! token bucket ([`bucket::Buckets`]) or a count, and a refusal carries the
//! time after which a retry may pass (`retryAfterMs`).

pub mod bucket;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use bucket::Buckets;

use crate::config::Config;

/// The period over which the per-minute limits refill.
const MINUTE: Duration = Duration::from_secs(60);

/// What a login from a peer with too many open link sockets is told to
/// wait: sockets close on their own time, so this is a polite guess.
pub const SESSIONS_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Decides whether a login attempt or a server API call may proceed.
#[derive(Debug)]
pub struct RateGate {
    per_account: Buckets<String>,
    per_ip: Buckets<IpAddr>,
    per_app_key: Buckets<String>,
    max_sessions_per_ip: usize,
}

impl RateGate {
    /// The limits of `config`.
    pub fn new(config: &Config) -> Self {
        RateGate {
            per_account: Buckets::new(config.login_rate_per_account, MINUTE),
            per_ip: Buckets::new(config.login_rate_per_ip, MINUTE),
            per_app_key: Buckets::new(config.api_rate_per_app_key, MINUTE),
            max_sessions_per_ip: usize::try_from(config.max_sessions_per_ip).unwrap_or(usize::MAX),
        }
    }

    /// `Err(retry_after)` when a login must be refused with 416 and
    /// `retryAfterMs`: the peer has more than the allowed open link sockets
    /// (`open_from_peer` counts this one), or the peer's or the account's
    /// attempts are spent. `accid` is `None` for a login whose fields are
    /// invalid (only the peer is charged).
    pub fn check_login(
        &self,
        peer: Option<IpAddr>,
        open_from_peer: usize,
        accid: Option<&str>,
        now: Instant,
    ) -> Result<(), Duration> {
        if peer.is_some() && open_from_peer > self.max_sessions_per_ip {
            return Err(SESSIONS_RETRY_AFTER);
        }
        if let Some(ip) = peer {
            self.per_ip.take(&ip, now)?;
        }
        if let Some(accid) = accid {
            self.per_account.take(&accid.to_owned(), now)?;
        }
        Ok(())
    }

    /// `Err(retry_after)` when a (correctly signed) server API call with
    /// `app_key` must be refused with 416.
    pub fn check_api(&self, app_key: &str, now: Instant) -> Result<(), Duration> {
        self.per_app_key.take(&app_key.to_owned(), now)
    }
}
