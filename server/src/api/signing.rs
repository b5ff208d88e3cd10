//! NIM request signing: the `AppKey`, `Nonce`, `CurTime` and `CheckSum`
//! headers, and the in-memory cache that refuses a Nonce seen within
//! 600 s (the shared, PostgreSQL one is in [`super::nonce_store`]).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::HeaderMap;
use imlogin_protocol::checksum::verify_checksum;

use crate::error::ApiError;
use crate::state::AppState;

/// How far `CurTime` may be from the server's clock, in seconds.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;
/// How long a Nonce is remembered, in seconds.
pub const NONCE_TTL_SECS: u64 = 600;
/// The longest accepted Nonce, in characters.
pub const NONCE_MAX: usize = 128;

/// Below this many remembered nonces, expired ones are left in place.
const PRUNE_FLOOR: usize = 4096;

#[derive(Debug, Default)]
struct Seen {
    /// Nonce → the time (unix seconds) it expires.
    expires: HashMap<String, u64>,
    /// Size at which expired nonces are next swept out.
    prune_at: usize,
}

/// Nonces seen recently, with the time (unix seconds) they expire.
#[derive(Debug, Default)]
pub struct NonceCache {
    seen: Mutex<Seen>,
}

impl NonceCache {
    /// Records `nonce` at `now`; `false` if it was seen within the TTL.
    pub fn check_and_insert(&self, nonce: &str, now: u64) -> bool {
        let mut guard = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let Seen {
            expires: seen,
            prune_at,
        } = &mut *guard;
        // Sweeping only when the map has doubled since the last sweep keeps
        // the cost per request constant on average: sweeping at a fixed
        // size made every request scan every live nonce once more than
        // that many were live (a busy app server, well within the rate
        // limit).
        if seen.len() >= (*prune_at).max(PRUNE_FLOOR) {
            seen.retain(|_, &mut expires| expires > now);
            *prune_at = seen.len() * 2;
        }
        match seen.get(nonce) {
            Some(&expires) if expires > now => false,
            _ => {
                seen.insert(nonce.to_owned(), now + NONCE_TTL_SECS);
                true
            }
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized("missing or non-ASCII auth header"))
}

/// Checks a server API request's signature headers at `now` (unix
/// seconds). Every failure of the request is [`ApiError::Unauthorized`]
/// (403); a Nonce window that cannot be consulted (the shared one's
/// database) is [`ApiError::Store`] (500, retryable).
pub async fn verify(state: &AppState, headers: &HeaderMap, now: u64) -> Result<(), ApiError> {
    let app_key = header(headers, "appkey")?;
    let nonce = header(headers, "nonce")?;
    let cur_time = header(headers, "curtime")?;
    let check_sum = header(headers, "checksum")?;
    if app_key != state.app_key {
        return Err(ApiError::Unauthorized("unknown AppKey"));
    }
    let nonce_len = nonce.chars().count();
    if nonce_len == 0 || nonce_len > NONCE_MAX {
        return Err(ApiError::Unauthorized("Nonce length out of 1-128"));
    }
    let Some(t) = (!cur_time.is_empty() && cur_time.bytes().all(|b| b.is_ascii_digit()))
        .then(|| cur_time.parse::<u64>().ok())
        .flatten()
    else {
        return Err(ApiError::Unauthorized("CurTime is not a number"));
    };
    if t.abs_diff(now) > MAX_CLOCK_SKEW_SECS {
        return Err(ApiError::Unauthorized(
            "CurTime too far from the server's clock",
        ));
    }
    if !verify_checksum(state.app_secret.expose(), nonce, cur_time, check_sum) {
        return Err(ApiError::Unauthorized("bad CheckSum"));
    }
    // Only a correctly signed request may use up a nonce.
    if !state.nonces.check_and_insert(nonce, now).await? {
        return Err(ApiError::Unauthorized("Nonce reused"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_is_refused_within_ttl_and_accepted_after() {
        let c = NonceCache::default();
        assert!(c.check_and_insert("n", 1000));
        assert!(!c.check_and_insert("n", 1000 + NONCE_TTL_SECS - 1));
        assert!(c.check_and_insert("n", 1000 + NONCE_TTL_SECS));
    }

    #[test]
    fn many_live_nonces_are_kept_and_expired_ones_swept() {
        let c = NonceCache::default();
        for i in 0..3 * PRUNE_FLOOR {
            assert!(c.check_and_insert(&i.to_string(), 1000));
        }
        assert!(!c.check_and_insert("0", 1001), "still remembered");
        let later = 1000 + NONCE_TTL_SECS;
        for i in 0..2 * PRUNE_FLOOR {
            assert!(c.check_and_insert(&format!("x{i}"), later));
        }
        let len = c.seen.lock().unwrap().expires.len();
        assert!(len <= 3 * PRUNE_FLOOR, "expired nonces were swept: {len}");
    }
}
