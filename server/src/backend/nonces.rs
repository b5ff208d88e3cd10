//! Where the server API's Nonce replay window lives: in this node's memory
//! ([`NonceCache`], with SQLite: one node) or in PostgreSQL ([`PgNonces`],
//! shared by every node on the database, so that a request replayed to
//! another node is refused too).
//!
//! The shared window uses the database clock (`clock_timestamp()`), not
//! the node's: nodes whose clocks differ still agree on when a Nonce
//! expires. A database failure is an error, never an acceptance: the
//! request is then answered with a retryable 500 (see
//! [`crate::error::ApiError::Store`]), because accepting it would let a
//! replay through and refusing it with 403 would blame the caller.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use sqlx::PgPool;

use super::StoreError;

/// How long a Nonce is remembered, in seconds.
pub const NONCE_TTL_SECS: u64 = 600;

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

/// A shared window prunes expired rows once per this many inserts (per
/// node).
pub const PRUNE_EVERY: u64 = 1024;
/// The most expired rows one prune deletes: bounded work, and more than
/// [`PRUNE_EVERY`] so that pruning outpaces growth.
const PRUNE_LIMIT: i64 = 4 * PRUNE_EVERY as i64;

/// Records the Nonce unless a live row has it; a row back means fresh. An
/// expired row is replaced in the same statement. `$2` is the TTL; the
/// statement's one clock reading is `EXCLUDED.expires_at - $2`.
const CHECK_AND_INSERT: &str = "\
INSERT INTO api_nonces AS n (nonce, expires_at)
VALUES ($1, floor(extract(epoch FROM clock_timestamp()))::bigint + $2)
ON CONFLICT (nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
WHERE n.expires_at <= EXCLUDED.expires_at - $2
RETURNING 1";

/// Deletes up to `$1` expired rows. The outer expiry test is re-checked
/// against a row updated concurrently, so a Nonce just recorded again is
/// never deleted.
const PRUNE: &str = "\
DELETE FROM api_nonces WHERE nonce IN (
    SELECT nonce FROM api_nonces
    WHERE expires_at <= floor(extract(epoch FROM clock_timestamp()))::bigint
    LIMIT $1)
AND expires_at <= floor(extract(epoch FROM clock_timestamp()))::bigint";

/// The Nonce replay window of PostgreSQL table `api_nonces`
/// (`server/migrations/postgres/0004_shared_limits.sql`).
#[derive(Debug)]
pub struct PgNonces {
    pool: PgPool,
    ttl_secs: i64,
    inserts: AtomicU64,
}

impl PgNonces {
    /// The window in `pool`'s database, remembering a Nonce for
    /// [`NONCE_TTL_SECS`].
    fn new(pool: PgPool) -> Self {
        PgNonces {
            pool,
            ttl_secs: i64::try_from(NONCE_TTL_SECS).unwrap_or(i64::MAX),
            inserts: AtomicU64::new(0),
        }
    }

    /// Records `nonce` at the database's current time; `Ok(false)` if any
    /// node recorded it within the TTL.
    ///
    /// # Errors
    /// The database cannot be reached or refuses the statement.
    pub async fn check_and_insert(&self, nonce: &str) -> Result<bool, StoreError> {
        let fresh = sqlx::query(CHECK_AND_INSERT)
            .bind(nonce)
            .bind(self.ttl_secs)
            .fetch_optional(&self.pool)
            .await?
            .is_some();
        if fresh && self.inserts.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.spawn_prune();
        }
        Ok(fresh)
    }

    /// Deletes a bounded number of expired rows in the background; a
    /// failure is only logged (the rows are deleted by a later prune, and
    /// an expired row never refuses a Nonce meanwhile).
    fn spawn_prune(&self) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            match sqlx::query(PRUNE).bind(PRUNE_LIMIT).execute(&pool).await {
                Ok(done) => tracing::debug!(rows = done.rows_affected(), "expired nonces pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning expired nonces failed"),
            }
        });
    }
}

/// The Nonce replay window: this node's memory, or PostgreSQL shared by
/// every node.
#[derive(Debug)]
pub enum NonceWindow {
    /// In this node's memory (SQLite, one node).
    Memory(NonceCache),
    /// In PostgreSQL, shared by every node on the database.
    Shared(PgNonces),
}

impl NonceWindow {
    /// An empty in-memory window.
    pub fn memory() -> Self {
        NonceWindow::Memory(NonceCache::default())
    }

    /// The window in `pool`'s database.
    pub(crate) fn shared(pool: PgPool) -> Self {
        NonceWindow::Shared(PgNonces::new(pool))
    }

    /// Records `nonce`; `Ok(false)` if it was seen within the TTL. The
    /// memory window's clock is `now` (unix seconds); the shared window's
    /// is the database's.
    ///
    /// # Errors
    /// Only the shared window fails: the database cannot be reached or
    /// refuses the statement.
    pub async fn check_and_insert(&self, nonce: &str, now: u64) -> Result<bool, StoreError> {
        match self {
            NonceWindow::Memory(cache) => Ok(cache.check_and_insert(nonce, now)),
            NonceWindow::Shared(pg) => pg.check_and_insert(nonce).await,
        }
    }
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
